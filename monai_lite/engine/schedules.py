# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Cosine learning-rate schedule with linear warm-up, stepped once per optimiser step.

Both papers anneal the learning rate with a cosine from its initial value to near zero. MONAI's
``WarmupCosineSchedule`` is that schedule (a ``LambdaLR``, so its position is saved by ``state_dict``);
:func:`cosine_with_warmup` builds it from epochs, which is how bundle configs speak, and
:class:`StepLrScheduleHandler` advances it after every optimiser step. Per-step rather than per-epoch stepping
makes the warm-up a ramp over iterations (an epoch-level warm-up would spend the whole first epoch at a learning
rate of ~0), and counting optimiser steps rather than iterations keeps gradient accumulation from advancing the
schedule on iterations that change no weight.
"""

from __future__ import annotations

from typing import Any

from ignite.engine import Events
from monai.handlers import LrScheduleHandler
from monai.optimizers import WarmupCosineSchedule
from torch.optim import Optimizer

from monai_lite.engine.steps import optimizer_steps_now

__all__ = ["cosine_with_warmup", "StepLrScheduleHandler"]


def cosine_with_warmup(
    optimizer: Optimizer,
    epochs: int,
    steps_per_epoch: int,
    warmup_epochs: float = 0.0,
    warmup_start: float = 0.0,
    end_lr: float = 0.0,
) -> WarmupCosineSchedule:
    """A linear warm-up over ``warmup_epochs`` then a half cosine to ``end_lr`` at the end of ``epochs``.

    Args:
        optimizer: the optimiser whose learning rate (its initial ``lr``) is scheduled.
        epochs: length of the whole run in epochs.
        steps_per_epoch: optimiser steps per epoch (see :func:`monai_lite.engine.optimizer_steps_per_epoch`).
        warmup_epochs: warm-up length in epochs (fractions allowed); 0 starts the cosine at once. Defaults to 0.
        warmup_start: learning rate at the first step as a fraction of the initial one. Defaults to 0.
        end_lr: floor of the learning rate after the warm-up. Defaults to 0.

    Returns:
        MONAI's ``WarmupCosineSchedule``, to be stepped once per optimiser step.

    Raises:
        ValueError: if ``epochs`` or ``steps_per_epoch`` < 1, ``warmup_epochs`` is negative or not shorter than
            ``epochs``, or ``warmup_start`` is not in [0, 1].
    """
    if epochs < 1 or steps_per_epoch < 1:
        raise ValueError(
            f"epochs and steps_per_epoch must be >= 1, got epochs={epochs} steps_per_epoch={steps_per_epoch}."
        )
    if not 0 <= warmup_epochs < epochs:
        raise ValueError(f"warmup_epochs must be >= 0 and < epochs, got warmup_epochs={warmup_epochs} epochs={epochs}.")
    if not 0.0 <= warmup_start <= 1.0:
        raise ValueError(f"warmup_start is a fraction of the learning rate in [0, 1], got {warmup_start}.")
    return WarmupCosineSchedule(
        optimizer,
        warmup_steps=round(warmup_epochs * steps_per_epoch),
        t_total=epochs * steps_per_epoch,
        end_lr=end_lr,
        warmup_multiplier=warmup_start,
    )


class StepLrScheduleHandler(LrScheduleHandler):
    """MONAI's ``LrScheduleHandler`` stepped after every optimiser step (not every iteration or epoch).

    Takes ``LrScheduleHandler``'s arguments; ``epoch_level`` is ignored. Records the learning rate of the step in
    ``engine.state.learning_rate`` for logging.
    """

    #: For multi-process runs (monai_lite.engine.distributed): every rank's optimiser follows the schedule.
    every_rank = True

    def attach(self, engine: Any) -> None:
        """Step the schedule on ``ITERATION_COMPLETED`` of iterations that stepped the optimiser.

        Args:
            engine: a MONAI trainer.
        """
        if self._name is None:
            self.logger = engine.logger
        engine.add_event_handler(Events.ITERATION_COMPLETED(event_filter=optimizer_steps_now), self)

    def __call__(self, engine: Any) -> None:
        """Record the learning rate just used, then advance the schedule.

        Args:
            engine: the trainer.
        """
        engine.state.learning_rate = float(self.lr_scheduler.optimizer.param_groups[0]["lr"])
        super().__call__(engine)
