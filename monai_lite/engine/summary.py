# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""One summary line per epoch: loss, metrics, validation, learning rate, input size and time.

MONAI's ``StatsHandler`` writes several lines per epoch from the trainer and from the evaluator separately.
:class:`EpochSummary` writes one, after validation, with everything a person watching a run needs, e.g.::

    Epoch 7/15: loss 0.3121, train_mean_dice 0.8012 | val_mean_dice 0.8315, val_mean_iou 0.7201 (best 0.8315 at 7,
    new best saved) | EMA decay 0.9890 (warm-up to 0.999) | lr 6.10e-04 | input 96x96 | 14.2 s (train 12.0 s)

With EMA on, validation scores the averaged weights; early in a run they are still close to the random initial
ones, so the line shows the decay while it ramps up. A best validation of 0 (nothing segmented yet) is saved, so
the run has weights, but the line and the final message say so instead of calling it a best model. The final message
also names the CPU training precision and memory format when :class:`~monai_lite.engine.TrainingPrecision` chose
them (its own line at the start of training says why).
It records the mean loss in ``engine.state.epoch_loss`` for other handlers.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from ignite.engine import Events
from monai.utils import CommonKeys

from monai_lite.engine.progress import loss_of

__all__ = ["EpochSummary"]


def _format(value: Any) -> str:
    try:
        return f"{float(value):.4f}"
    except (TypeError, ValueError):
        return str(value)


def _above_zero(value: Any) -> bool:
    try:
        return float(value) > 0.0
    except (TypeError, ValueError):
        return False


class EpochSummary:
    """Log one line per training epoch, including the validation that ran in that epoch.

    Args:
        evaluator: the validation evaluator; its metrics are added to the line of the epochs it ran in.
            ``None`` logs training only. Defaults to None.
        name: logger name. Defaults to "monai_lite.train".
        quiet_engines: raise the trainer's and evaluator's own ignite loggers to WARNING, whose INFO messages
            ("Epoch[3] Complete", "Engine run resuming", "Got new best metric", ...) this line replaces; their
            warnings and errors still show. Defaults to True.

    Examples::

        trainer = SupervisedTrainer(..., train_handlers=[ValidationHandler(...), EpochSummary(evaluator)])
    """

    #: Multi-process runs (monai_lite.engine.distributed) run it on rank 0 only: it prints progress.
    every_rank = False

    def __init__(self, evaluator: Any = None, name: str = "monai_lite.train", quiet_engines: bool = True) -> None:
        self.evaluator = evaluator
        self.quiet_engines = quiet_engines
        self.logger = logging.getLogger(name)
        self._losses: list[float] = []
        self._shape: tuple[int, ...] | None = None
        self._started = 0.0

    def attach(self, engine: Any) -> None:
        """Collect the loss per iteration and log at ``EPOCH_COMPLETED``.

        Args:
            engine: the trainer; attach after the ``ValidationHandler`` to include that epoch's validation.
        """
        if self.quiet_engines:
            for quiet in (engine, self.evaluator):
                if quiet is not None and hasattr(quiet, "logger"):
                    quiet.logger.setLevel(logging.WARNING)
        engine.add_event_handler(Events.EPOCH_STARTED, self._on_epoch_started)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self._on_iteration_completed)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self._on_epoch_completed)
        engine.add_event_handler(Events.COMPLETED, self._on_completed)

    def _on_epoch_started(self, engine: Any) -> None:
        self._losses = []
        self._shape = None
        self._started = time.perf_counter()

    def _on_iteration_completed(self, engine: Any) -> None:
        output = engine.state.output
        loss = loss_of(output).get("loss")
        if loss is not None:
            self._losses.append(loss)
        if self._shape is None:
            first = output[0] if isinstance(output, (list, tuple)) and output else output
            image = first.get(CommonKeys.IMAGE) if isinstance(first, dict) else None
            if image is not None and hasattr(image, "shape"):
                # decollated outputs are per sample (C, *spatial); a batch output is (B, C, *spatial)
                self._shape = tuple(image.shape[1:] if isinstance(output, (list, tuple)) else image.shape[2:])

    def line(self, engine: Any) -> str:
        """The summary line of the epoch that just completed.

        Args:
            engine: the trainer.

        Returns:
            The text that :meth:`attach` logs.
        """
        state = engine.state
        loss = sum(self._losses) / len(self._losses) if self._losses else math.nan
        engine.state.epoch_loss = loss
        parts = [f"loss {loss:.4f}"] + [f"{k} {_format(v)}" for k, v in state.metrics.items()]
        text = f"Epoch {state.epoch}/{state.max_epochs}: " + ", ".join(parts)
        ev = self.evaluator
        if ev is not None and getattr(ev.state, "epoch", None) == state.epoch and ev.state.metrics:
            val = ", ".join(f"{k} {_format(v)}" for k, v in ev.state.metrics.items())
            new = ""
            if ev.state.best_metric_epoch == state.epoch:
                new = ", new best saved" if _above_zero(ev.state.best_metric) else ", saved but segments nothing yet"
            text += f" | {val} (best {_format(ev.state.best_metric)} at {ev.state.best_metric_epoch}{new})"
        decay, target = getattr(state, "ema_decay", None), getattr(state, "ema_target_decay", None)
        if decay is not None:
            warming = target is not None and decay < target
            text += f" | EMA decay {decay:.4f}" + (f" (warm-up to {target:g})" if warming else "")
        lr = getattr(state, "learning_rate", None)
        if lr is None and hasattr(engine, "optimizer"):
            lr = engine.optimizer.param_groups[0]["lr"]
        if lr is not None:
            text += f" | lr {lr:.2e}"
        if self._shape:
            text += " | input " + "x".join(str(s) for s in self._shape)
        elapsed = time.perf_counter() - self._started
        train_time = state.times.get(Events.EPOCH_COMPLETED.name)
        text += f" | {elapsed:.1f} s" + (f" (train {train_time:.1f} s)" if train_time else "")
        return text

    def _on_epoch_completed(self, engine: Any) -> None:
        self.logger.info(self.line(engine))

    def _on_completed(self, engine: Any) -> None:
        text = f"Training finished at epoch {engine.state.epoch}/{engine.state.max_epochs}"
        precision = getattr(engine.state, "training_precision", None)  # set by monai_lite.engine.TrainingPrecision
        if isinstance(precision, dict) and precision.get("device_type") == "cpu":
            text += f" ({precision['precision']}, {precision['memory_format']})"
        ev = self.evaluator
        if ev is not None and getattr(ev.state, "best_metric_epoch", -1) > 0:
            best = _format(ev.state.best_metric)
            text += f": best {ev.state.key_metric_name} {best} at epoch {ev.state.best_metric_epoch}"
            if not _above_zero(ev.state.best_metric):
                ema = " (with EMA, validation used weights still close to the initial ones)" if getattr(
                    engine.state, "ema_decay", None) is not None else ""
                self.logger.warning(
                    f"{text}: no validation scored above 0{ema}; the saved model segments nothing. "
                    "Train for more epochs (or with ema_decay 0 for very short runs)."
                )
                return
        self.logger.info(text + ".")
