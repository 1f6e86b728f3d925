# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves a run logs exactly one summary line per epoch (loss, validation Dice, best, EMA warm-up, learning rate,
input size, time) plus one closing line, silences the engines' own per-epoch INFO chatter, that a best validation
of 0 is never announced as a best model (line, closing warning, checkpoint warning), and that the progress bar reads
the loss from MONAI's decollated output."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from engine_tiny import build_run

from monai_lite.engine import BestCheckpoint, EpochSummary
from monai_lite.engine.progress import loss_of


def test_one_line_per_epoch(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    build_run(tmp_path, epochs=3)["trainer"].run()
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    epochs = [line for line in lines if line.startswith("Epoch ")]
    assert len(epochs) == 3, lines
    pattern = (r"Epoch 1/3: loss \d\.\d{4} \| val_mean_dice \d\.\d{4} \(best \d\.\d{4} at \d"
               r"(, new best saved|, saved but segments nothing yet)?\) "
               r"\| EMA decay 0\.\d{4} \(warm-up to 0\.9\) \| lr \d\.\d\de-\d\d \| input 8x8 \| \d+\.\d s \(train \d+\.\d s\)")
    assert re.fullmatch(pattern, epochs[0]), epochs[0]
    assert "input 16x16" in epochs[2]
    finished = [line for line in lines if line.startswith("Training finished at epoch 3/3: best val_mean_dice")]
    assert len(finished) == 1, lines
    zero_warnings = [line for line in lines if "segment nothing" in line and not line.startswith("Epoch ")]
    assert len(lines) == 4 + len(zero_warnings), f"only the summary lines may be logged at INFO, got {lines}"


def test_loss_of_reads_decollated_and_batch_outputs() -> None:
    assert loss_of([{"loss": torch.tensor(0.25)}, {"loss": torch.tensor(0.25)}]) == {"loss": 0.25}
    assert loss_of({"loss": 1.5, "pred": None}) == {"loss": 1.5}
    assert loss_of(None) == {} and loss_of([]) == {}


def _evaluator(epoch: int, best: float, best_epoch: int) -> SimpleNamespace:
    state = SimpleNamespace(epoch=epoch, metrics={"val_mean_dice": best}, best_metric=best, best_metric_epoch=best_epoch,
                            key_metric_name="val_mean_dice")
    return SimpleNamespace(state=state)


def _trainer(epoch: int, ema_decay: float | None = None) -> SimpleNamespace:
    state = SimpleNamespace(epoch=epoch, max_epochs=2, metrics={}, times={}, learning_rate=1e-3)
    if ema_decay is not None:
        state.ema_decay, state.ema_target_decay = ema_decay, 0.999
    return SimpleNamespace(state=state)


@pytest.mark.parametrize("best, words", [(0.0, "saved but segments nothing yet"), (0.42, "new best saved")])
def test_a_zero_best_is_not_called_a_best_model(best: float, words: str) -> None:
    line = EpochSummary(_evaluator(1, best, 1)).line(_trainer(1))
    assert words in line and "EMA" not in line


def test_ema_warm_up_is_shown_until_the_target_decay() -> None:
    summary = EpochSummary(_evaluator(1, 0.5, 1))
    assert "| EMA decay 0.8000 (warm-up to 0.999) |" in summary.line(_trainer(1, ema_decay=0.8))
    assert "| EMA decay 0.9990 |" in summary.line(_trainer(1, ema_decay=0.999))


def test_closing_line_warns_when_nothing_was_learned(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    EpochSummary(_evaluator(2, 0.0, 1))._on_completed(_trainer(2, ema_decay=0.5))
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "no validation scored above 0 (with EMA" in record.getMessage()


@pytest.mark.parametrize("best, warned", [(0.0, True), (0.3, False)])
def test_best_checkpoint_says_when_the_saved_weights_segment_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, best: float, warned: bool
) -> None:
    caplog.set_level(logging.WARNING)
    BestCheckpoint(tmp_path, {"model.pt": torch.nn.Linear(2, 1)})(_evaluator(1, best, 1))
    assert (tmp_path / "model.pt").is_file()  # saved either way, so a short run still has weights
    assert any("segment nothing yet" in r.getMessage() for r in caplog.records) == warned
