# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Stop a training run after a wall-clock budget, cleanly, with a validated best checkpoint.

Benchmarks compare networks "under the same time budget": each gets the same minutes of training, whatever its
speed. ignite's own ``TimeLimit`` handler does not fit that job, for three reasons:

- its clock starts when the handler is *created*, so the time a bundle spends building and caching its datasets
  before ``trainer.run()`` would be charged to the first network only;
- it calls ``engine.terminate()`` mid-epoch, which skips ``EPOCH_COMPLETED``: the partial epoch is never validated,
  so a budget shorter than one epoch leaves no best checkpoint at all;
- it takes whole seconds only, and reads ``time.time()`` (which jumps with the system clock) with no way to pass a
  test clock.

:class:`WallClockBudget` starts at the trainer's ``STARTED`` and, once the budget is spent, ends the current epoch
early with ``engine.terminate_epoch()``. ignite then still fires ``EPOCH_COMPLETED``, so the bundle's
``ValidationHandler``, ``BestCheckpoint``, ``TrainingCheckpoint`` and ``EpochSummary`` run as after any epoch. If
that epoch's validation was skipped (``val_interval`` > 1) the handler runs the evaluator itself, so the best
checkpoint always reflects the last weights trained. Then it terminates the run. In a multi-process (DDP) run, rank
0's clock decides for every rank (a broadcast per iteration), so all ranks stop at the same iteration.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
from ignite.engine import Events

__all__ = ["WallClockBudget"]


def _rank_zero_decides(spent: bool) -> bool:
    """In a multi-process run, rank 0's answer on every rank: their clocks differ, yet DDP needs every rank to
    stop at the same iteration (a rank that runs one more iteration waits forever for the others' gradients)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return spent
    flag = torch.tensor([1 if spent else 0], dtype=torch.int32)
    if dist.get_backend() == "nccl":
        flag = flag.cuda()
    dist.broadcast(flag, src=0)
    return bool(flag.item())


class WallClockBudget:
    """End training once ``seconds`` of wall-clock time have passed since the trainer started.

    The budget covers the training iterations and the per-epoch validations (what a user waits for); it does not
    cover dataset caching before the run, nor the one final validation that a stop may add. A run that reaches its
    ``max_epochs`` first simply ends as usual.

    Attach it after the ``ValidationHandler`` (e.g. last in ``train#handlers``), so that on ``EPOCH_COMPLETED`` it
    can see whether the epoch was validated.

    Args:
        seconds: the budget in seconds (fractions allowed).
        evaluator: the validation evaluator; when the stopping epoch was not validated, it is run once more so that
            the best checkpoint includes the last weights. ``None`` skips that. Defaults to None.
        clock: a monotonic clock in seconds; tests pass a fake one. Defaults to ``time.monotonic``.
        name: logger name. Defaults to "monai_lite.train".

    Attributes:
        exhausted: whether the budget stopped the run.
        stopped_mid_epoch: whether the stop cut an epoch short.
        elapsed: seconds from the trainer's start to the stop (or to the last check).

    Raises:
        ValueError: if ``seconds`` is not a positive finite number.

    Examples::

        budget = WallClockBudget(15 * 60, evaluator=evaluator)
        budget.attach(trainer)   # after ValidationHandler
        trainer.run()
        print(budget.exhausted, trainer.state.epoch)
    """

    #: For multi-process runs (monai_lite.engine.distributed): every rank must stop at the same iteration
    #: (rank 0 decides).
    every_rank = True

    def __init__(
        self,
        seconds: float,
        evaluator: Any = None,
        clock: Callable[[], float] = time.monotonic,
        name: str = "monai_lite.train",
    ) -> None:
        if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"the wall-clock budget must be a positive number of seconds, got {seconds!r}.")
        self.seconds = float(seconds)
        self.evaluator = evaluator
        self.clock = clock
        self.logger = logging.getLogger(name)
        self.exhausted = False
        self.stopped_mid_epoch = False
        self.elapsed = 0.0
        self._start: float | None = None

    def attach(self, engine: Any) -> None:
        """Start the clock on ``STARTED``, check it after every iteration and at the end of every epoch.

        Args:
            engine: the trainer.
        """
        engine.add_event_handler(Events.STARTED, self._on_started)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self._on_iteration_completed)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self._on_epoch_completed)

    def spent(self) -> bool:
        """Whether the budget is used up (``False`` before the trainer started)."""
        if self._start is None:
            return False
        self.elapsed = self.clock() - self._start
        return _rank_zero_decides(self.elapsed >= self.seconds)

    def _on_started(self, engine: Any) -> None:
        self._start = self.clock()
        self.exhausted = self.stopped_mid_epoch = False
        self.elapsed = 0.0

    def _on_iteration_completed(self, engine: Any) -> None:
        if self.exhausted or not self.spent():
            return
        self.exhausted = True
        length = engine.state.epoch_length
        self.stopped_mid_epoch = length is None or engine.state.iteration % length != 0
        # Ends the epoch here but still fires EPOCH_COMPLETED, so validation and checkpoints run as usual.
        engine.terminate_epoch()

    def _on_epoch_completed(self, engine: Any) -> None:
        if not self.exhausted and not self.spent():
            return
        self.exhausted = True
        epoch = engine.state.epoch
        evaluator = self.evaluator
        if evaluator is not None and getattr(evaluator.state, "epoch", None) != epoch:
            # ValidationHandler skipped this epoch (val_interval > 1): validate the weights the run stops with.
            evaluator.run(epoch)
        where = "during" if self.stopped_mid_epoch else "at the end of"
        self.logger.info(
            f"Wall-clock budget of {self.seconds:g} s spent ({self.elapsed:.1f} s) {where} epoch {epoch}; "
            "stopping after its validation."
        )
        engine.terminate()
