# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves gradient accumulation over N mini-batches gives the update of one N-times larger batch, and that
:func:`optimizer_steps_now` names exactly the iterations on which MONAI's trainer steps the optimiser.

The first is checked through MONAI's ``SupervisedTrainer(accumulation_steps=N)`` with the bundle loss (Dice per
sample + mean cross-entropy, so linear in the samples) on a network without BatchNorm (BatchNorm in training mode
normalises over the mini-batch, so it sees the smaller batch by design). The second counts the optimiser's real
``step`` calls, including the flush at the end of an epoch that N does not divide.
"""

from __future__ import annotations

import pytest
import torch
from engine_tiny import TinyNet, cases
from ignite.engine import Events
from monai.data import DataLoader, Dataset
from monai.engines import SupervisedTrainer

from monai_lite.engine import WeightedDiceCELoss, optimizer_steps_now, optimizer_steps_per_epoch


def _train(batch_size: int, accumulation_steps: int, optimizer_name: str, n_cases: int = 8, epochs: int = 1):
    torch.manual_seed(0)
    network = TinyNet(norm=False)
    optimizer = (
        torch.optim.SGD(network.parameters(), lr=0.1)
        if optimizer_name == "sgd"
        else torch.optim.Adam(network.parameters(), lr=1e-2)
    )
    grads: list[list[torch.Tensor]] = []
    optimizer.register_step_pre_hook(
        lambda opt, *_: grads.append([p.grad.clone() for g in opt.param_groups for p in g["params"]])
    )
    loader = DataLoader(Dataset(cases(n_cases)), batch_size=batch_size, shuffle=False, num_workers=0)
    trainer = SupervisedTrainer(
        device="cpu", max_epochs=epochs, train_data_loader=loader, network=network, optimizer=optimizer,
        loss_function=WeightedDiceCELoss(class_weights=[1.0, 3.0]), accumulation_steps=accumulation_steps,
    )
    trainer.run()
    return network, grads


@pytest.mark.parametrize("optimizer_name", ["sgd", "adam"])
def test_accumulation_equals_large_batch(optimizer_name: str) -> None:
    big, big_grads = _train(batch_size=4, accumulation_steps=1, optimizer_name=optimizer_name)
    acc, acc_grads = _train(batch_size=2, accumulation_steps=2, optimizer_name=optimizer_name)
    assert len(big_grads) == len(acc_grads) == 2, "8 cases: two steps of 4 either way"
    for step, (g_big, g_acc) in enumerate(zip(big_grads, acc_grads)):
        for a, b in zip(g_big, g_acc):
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-7, msg=f"gradient of step {step} differs")
    for (name, a), b in zip(big.state_dict().items(), acc.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6, msg=f"{name} differs after the same two updates")


@pytest.mark.parametrize("accumulation_steps, batches", [(1, 5), (2, 4), (3, 7), (4, 2)])
def test_steps_now_matches_monai_optimizer_steps(accumulation_steps: int, batches: int) -> None:
    torch.manual_seed(0)
    network = TinyNet(norm=False)
    optimizer = torch.optim.SGD(network.parameters(), lr=0.01)
    stepped: list[int] = []
    loader = DataLoader(Dataset(cases(batches)), batch_size=1, shuffle=False, num_workers=0)
    trainer = SupervisedTrainer(
        device="cpu", max_epochs=2, train_data_loader=loader, network=network, optimizer=optimizer,
        loss_function=WeightedDiceCELoss(), accumulation_steps=accumulation_steps,
    )
    optimizer.register_step_post_hook(lambda *_: stepped.append(trainer.state.iteration))
    predicted: list[int] = []
    trainer.add_event_handler(
        Events.ITERATION_COMPLETED, lambda e: predicted.append(e.state.iteration) if optimizer_steps_now(e) else None
    )
    trainer.run()
    assert predicted == stepped
    assert len(stepped) == 2 * optimizer_steps_per_epoch(batches, accumulation_steps)


def test_steps_per_epoch() -> None:
    assert optimizer_steps_per_epoch(7, 2) == 4
    assert optimizer_steps_per_epoch(8, 2) == 4
    assert optimizer_steps_per_epoch(3, 1) == 3
    with pytest.raises(ValueError, match="num_batches=0"):
        optimizer_steps_per_epoch(0, 2)
