# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the learning-rate schedule: a linear warm-up then a cosine to ``end_lr`` over the whole run, advanced once
per optimiser step (so accumulation does not shorten it), ending at the end of the last epoch; bad lengths are
refused."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from engine_tiny import build_run

from monai_lite.engine import cosine_with_warmup


def _lrs(scheduler, steps: int) -> list[float]:
    out = []
    for _ in range(steps):
        out.append(scheduler.optimizer.param_groups[0]["lr"])
        scheduler.optimizer.step()
        scheduler.step()
    return out


def _optimizer(lr: float = 1.0) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_warmup_then_cosine() -> None:
    scheduler = cosine_with_warmup(_optimizer(), epochs=5, steps_per_epoch=4, warmup_epochs=1, warmup_start=0.1)
    lrs = _lrs(scheduler, 20)
    assert lrs[:4] == pytest.approx([0.1, 0.325, 0.55, 0.775]), "linear ramp over the 4 warm-up steps"
    assert lrs[4] == pytest.approx(1.0)
    expected = [0.5 * (1 + math.cos(math.pi * (s - 4) / 16)) for s in range(4, 20)]
    assert lrs[4:] == pytest.approx(expected)
    assert all(a >= b for a, b in zip(lrs[4:], lrs[5:])), "monotone decay after the warm-up"


def test_no_warmup_starts_at_the_full_rate_and_ends_near_zero() -> None:
    scheduler = cosine_with_warmup(_optimizer(2.0), epochs=3, steps_per_epoch=10)
    lrs = _lrs(scheduler, 30)
    assert lrs[0] == pytest.approx(2.0)
    assert lrs[-1] < 0.01


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 0, "steps_per_epoch": 3}, "epochs and steps_per_epoch must be >= 1"),
        ({"epochs": 3, "steps_per_epoch": 3, "warmup_epochs": 3}, "warmup_epochs must be >= 0 and < epochs"),
        ({"epochs": 3, "steps_per_epoch": 3, "warmup_start": 2.0}, r"warmup_start .* in \[0, 1\]"),
    ],
)
def test_bad_lengths_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cosine_with_warmup(_optimizer(), **kwargs)


def test_trainer_steps_the_schedule_once_per_optimiser_step(tmp_path: Path) -> None:
    run = build_run(tmp_path, epochs=3, accumulation_steps=2)  # 3 batches per epoch -> 2 optimiser steps
    run["trainer"].run()
    assert run["scheduler"].last_epoch == 3 * 2
    assert run["trainer"].state.learning_rate > 0
    assert run["optimizer"].param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12), "the run ends at end_lr"
