# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""One rank of the tiny DDP run of test_distributed_training.py (started by torchrun, not collected by pytest).

12 cases, 2 per batch, 2 ranks: 3 iterations per rank and epoch; gradient accumulation over 2 micro-batches, so the
optimiser steps at iterations 2, 3, 5, 6, ...; EMA, clipping and a wall-clock budget whose clock runs 5 times faster
on rank 1 than on rank 0. Every gradient all-reduce is recorded (a DDP communication hook), and each rank saves its
weights, its EMA and what it saw to ``OUT/rank<r>.pt``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from monai.data import DataLoader, Dataset, DistributedSampler
from monai.engines import SupervisedTrainer
from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_tiny import TinyNet, cases  # noqa: E402

from monai_lite.engine import GradientClipping, ModelEMA, WallClockBudget, WeightedDiceCELoss  # noqa: E402
from monai_lite.engine import distributed  # noqa: E402


def main(out: Path) -> None:
    device = distributed.setup("auto")
    rank = distributed.this_rank()
    distributed.seed_this_rank(0)
    network = distributed.wrap_network(TinyNet(), device)
    dataset = Dataset(cases(12))
    loader = DataLoader(dataset, batch_size=2, sampler=DistributedSampler(dataset, shuffle=True), num_workers=0)
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-2)
    ema = ModelEMA(network, decay=0.9)
    state: dict = {"trainer": None, "allreduce_iterations": []}

    def counting_allreduce(process_group, bucket):
        state["allreduce_iterations"].append(state["trainer"].state.iteration)
        return allreduce_hook(process_group, bucket)

    network.register_comm_hook(None, counting_allreduce)
    speed = 1.0 if rank == 0 else 5.0
    budget = WallClockBudget(4.5, clock=lambda: speed * (state["trainer"].state.iteration if state["trainer"] else 0))
    trainer = SupervisedTrainer(
        device=device, max_epochs=3, train_data_loader=loader, network=network, optimizer=optimizer,
        loss_function=WeightedDiceCELoss(), accumulation_steps=2,
        train_handlers=[distributed.DistributedTraining(network, ema), GradientClipping(0.5), ema, budget],
    )
    state["trainer"] = trainer
    trainer.run()
    torch.save(
        {
            "network": distributed.unwrap(network).state_dict(),
            "ema": ema.state_dict(),
            "allreduce_iterations": sorted(set(state["allreduce_iterations"])),
            "stopped_at": trainer.state.iteration,
            "seed": torch.initial_seed(),
        },
        out / f"rank{rank}.pt",
    )
    distributed.cleanup()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
