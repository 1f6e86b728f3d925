# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Which iterations end in an optimiser step, under gradient accumulation.

MONAI's ``SupervisedTrainer(accumulation_steps=N)`` does the accumulation itself: it divides each mini-batch loss by
``N``, zeroes the gradients at the start of a group and steps the optimiser at its end, and also at the end of an
epoch whose length ``N`` does not divide (a "flush"), so that no gradient is dropped. With a mean-reduced loss and
equal mini-batches the accumulated gradient is then exactly the gradient of one ``N`` times larger batch (layers
that look across the batch, such as BatchNorm in training mode, see the smaller batch; a flushed group of ``m < N``
mini-batches is scaled by ``m / N``).

What MONAI lacks is a way for handlers to know whether the current iteration steps the optimiser. Gradient clipping
must clip the whole accumulated gradient once, right before the step; EMA and the learning-rate schedule must advance
once per step. :func:`optimizer_steps_now` answers that with MONAI's own rule, and a test checks it against the
optimiser's real ``step`` calls so the two cannot drift apart.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["optimizer_steps_now", "optimizer_steps_per_epoch"]


def optimizer_steps_now(engine: Any, *_: Any) -> bool:
    """Whether the current iteration of ``engine`` ends with ``optimizer.step()``.

    Valid from the iteration's start to its ``ITERATION_COMPLETED`` event (``engine.state.iteration`` already counts
    it). The extra positional arguments let it serve as an ignite event filter ``(engine, event_count)``.

    Args:
        engine: a MONAI trainer (anything with ``state.iteration``, ``state.epoch_length`` and, optionally,
            ``accumulation_steps``; without it every iteration steps).

    Returns:
        True on the last mini-batch of each accumulation group and on the last iteration of an epoch.
    """
    acc = int(getattr(engine, "accumulation_steps", 1) or 1)
    if acc <= 1:
        return True
    iteration = engine.state.iteration
    epoch_length = engine.state.epoch_length
    if epoch_length is None:
        return iteration % acc == 0
    position = (iteration - 1) % epoch_length + 1  # 1-based position within the epoch
    return position % acc == 0 or position == epoch_length


def optimizer_steps_per_epoch(num_batches: int, accumulation_steps: int = 1) -> int:
    """Optimiser steps in one epoch of ``num_batches`` mini-batches: ``ceil(num_batches / accumulation_steps)``.

    Args:
        num_batches: mini-batches per epoch (``len(train_dataloader)``).
        accumulation_steps: mini-batches per optimiser step. Defaults to 1.

    Returns:
        The number of steps, counting the end-of-epoch flush.

    Raises:
        ValueError: if ``num_batches`` < 1 or ``accumulation_steps`` < 1.
    """
    if num_batches < 1 or accumulation_steps < 1:
        raise ValueError(
            f"num_batches and accumulation_steps must be >= 1, got num_batches={num_batches} "
            f"accumulation_steps={accumulation_steps}."
        )
    return math.ceil(num_batches / accumulation_steps)
