# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the training recipe holds under DDP on two gloo processes (the tiny run of ``ddp_tiny_worker.py``).

- gradient accumulation all-reduces only on the micro-batches that step the optimiser (DDP ``no_sync`` on the
  others): iterations 2, 3 and 5, never 1 or 4;
- the wall-clock budget stops both ranks at the same iteration although rank 1's clock runs 5 times faster (rank
  0's decision is broadcast; without it rank 1 would stop alone and the run would hang);
- after training with clipping and EMA, both ranks hold bit-identical weights, BatchNorm statistics and EMA;
- each rank was seeded with ``seed + rank``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("ddp_tiny_worker.py")


@pytest.mark.slow
def test_two_ranks_accumulate_stop_and_average_alike(tmp_path: Path) -> None:
    command = [str(Path(sys.executable).with_name("torchrun")), "--standalone", "--nproc_per_node=2", str(WORKER),
               str(tmp_path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    for rank, saved in enumerate(ranks):
        assert saved["allreduce_iterations"] == [2, 3, 5], f"rank {rank}"
        assert saved["stopped_at"] == 5, f"rank {rank}"
        assert saved["seed"] == rank
        assert saved["ema"]["steps"] == 3
    for key, value in ranks[0]["network"].items():
        assert torch.equal(ranks[1]["network"][key], value), f"network {key} differs between ranks"
    for key, value in ranks[0]["ema"]["ema_model"].items():
        assert torch.equal(ranks[1]["ema"]["ema_model"][key], value), f"EMA {key} differs between ranks"
