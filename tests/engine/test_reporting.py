# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves a run logs exactly one summary line per epoch (loss, validation Dice, best, learning rate, input size,
time) plus one closing line, silences the engines' own per-epoch INFO chatter, and that the progress bar reads the
loss from MONAI's decollated output."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import torch
from engine_tiny import build_run

from monai_lite.engine.progress import loss_of


def test_one_line_per_epoch(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    build_run(tmp_path, epochs=3)["trainer"].run()
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    epochs = [line for line in lines if line.startswith("Epoch ")]
    assert len(epochs) == 3, lines
    pattern = (r"Epoch 1/3: loss \d\.\d{4} \| val_mean_dice \d\.\d{4} \(best \d\.\d{4} at \d(, new best saved)?\) "
               r"\| lr \d\.\d\de-\d\d \| input 8x8 \| \d+\.\d s \(train \d+\.\d s\)")
    assert re.fullmatch(pattern, epochs[0]), epochs[0]
    assert "input 16x16" in epochs[2]
    assert lines[-1].startswith("Training finished at epoch 3/3: best val_mean_dice")
    assert len(lines) == 4, f"only the summary lines may be logged at INFO, got {lines}"


def test_loss_of_reads_decollated_and_batch_outputs() -> None:
    assert loss_of([{"loss": torch.tensor(0.25)}, {"loss": torch.tensor(0.25)}]) == {"loss": 0.25}
    assert loss_of({"loss": 1.5, "pred": None}) == {"loss": 1.5}
    assert loss_of(None) == {} and loss_of([]) == {}
