# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Stop a training run after a time budget, cleanly, with a validated best checkpoint.

Benchmarks compare networks "under the same time budget": each gets the same minutes of training, whatever its
speed. Two clocks measure the minutes:

- :class:`WallClockBudget`: wall-clock (monotonic) seconds, what a user waits for. It charges a network for
  everything else the machine does meanwhile, so it compares only runs made alone on a quiet machine.
- :class:`CpuTimeBudget`: CPU seconds (user + system) of this process, all its threads, and its descendant
  processes (the DataLoader workers), read by :class:`ProcessTreeCpuClock`. Other programs on the same cores do
  not count, and neither do cores that stand idle, so "10 CPU-minutes" is the same amount of computation on a
  loaded machine, on 2 cores or on 16 (up to the threads' spinning and parallel overhead, which a network that
  parallelises badly pays for: that is part of its cost).

ignite's own ``TimeLimit`` handler does not fit the job, for three reasons:

- its clock starts when the handler is *created*, so the time a bundle spends building and caching its datasets
  before ``trainer.run()`` would be charged to the first network only;
- it calls ``engine.terminate()`` mid-epoch, which skips ``EPOCH_COMPLETED``: the partial epoch is never validated,
  so a budget shorter than one epoch leaves no best checkpoint at all;
- it takes whole seconds only, and reads ``time.time()`` (which jumps with the system clock) with no way to pass a
  test clock.

A budget starts at the trainer's ``STARTED`` and, once it is spent, ends the current epoch early with
``engine.terminate_epoch()``. ignite then still fires ``EPOCH_COMPLETED``, so the bundle's ``ValidationHandler``,
``BestCheckpoint``, ``TrainingCheckpoint`` and ``EpochSummary`` run as after any epoch. If that epoch's validation
was skipped (``val_interval`` > 1) the handler runs the evaluator itself, so the best checkpoint always reflects the
last weights trained. Then it terminates the run. The stop rule is the same for both clocks (checked after every
iteration and every epoch). In a multi-process (DDP) run, rank 0's clock decides for every rank (a broadcast per
iteration), so all ranks stop at the same iteration; a CPU-time budget there counts rank 0's process tree only.

Why the CPU clock reads ``/proc`` rather than ``getrusage(RUSAGE_SELF) + getrusage(RUSAGE_CHILDREN)``: the
children's usage counts a child only once it has exited *and been reaped*. A DataLoader's workers (not persistent)
live for one pass over the data and are joined at its end, so with ``getrusage`` alone the workers' CPU time of
the epoch under way is invisible until the epoch ends, and the stop check after an iteration undercounts by up to
one epoch of data loading; with the ``forkserver`` start method (Python 3.14's default on Linux) the workers are
children of the fork server, not of this process, and never appear in ``RUSAGE_CHILDREN`` at all. On Linux
:class:`ProcessTreeCpuClock` therefore adds, for every live descendant (found through
``/proc/<pid>/task/<tid>/children``), its own and its reaped children's CPU time from ``/proc/<pid>/stat``; a
descendant that has exited is counted by its parent's reaped-children total once reaped, so every process counts
once. Where ``/proc`` is missing it falls back to ``getrusage`` (documented lag: the running workers are not
seen), and where ``resource`` is missing (Windows) to :func:`time.process_time` (this process only); ``method``
says which.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
from ignite.engine import Events

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

__all__ = ["TimeBudget", "WallClockBudget", "CpuTimeBudget", "ProcessTreeCpuClock"]


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


class ProcessTreeCpuClock:
    """CPU seconds (user + system) used so far by this process, its threads and its descendant processes.

    Call it for a reading; differences between two readings are the CPU time spent in between (DataLoader workers
    included). Readings never decrease (a process caught between its exit and its reaping could otherwise make one
    reading dip below the last). See the module docstring for why ``/proc`` is read on Linux.

    Args:
        proc: the proc file system's folder; tests pass a fake one. Defaults to "/proc".

    Attributes:
        method: how it measures: ``"proc"`` (this process by ``getrusage``, live descendants by ``/proc``, exact to
            the kernel's 10 ms ticks), ``"rusage"`` (this process and its reaped children: the workers of the epoch
            under way are missed until they exit), or ``"process_time"`` (this process only, no workers).

    Example::

        clock = ProcessTreeCpuClock()
        before = clock()
        trainer.run()
        print(f"{clock() - before:.0f} CPU seconds ({clock.method})")
    """

    def __init__(self, proc: str = "/proc") -> None:
        self.proc = proc
        self._tick = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0
        self._last = 0.0
        if resource is None:
            self.method = "process_time"
        elif os.path.isfile(os.path.join(proc, str(os.getpid()), "task", str(os.getpid()), "children")):
            self.method = "proc"
        else:
            self.method = "rusage"

    def description(self) -> str:
        """One sentence saying what the readings count, for reports."""
        return {
            "proc": "CPU time (user + system) of the training process, its threads and its live descendant "
            "processes (DataLoader workers; /proc/<pid>/stat, including their reaped children), plus the "
            "reaped children of the training process (getrusage RUSAGE_SELF + RUSAGE_CHILDREN)",
            "rusage": "CPU time (user + system) of the training process and its threads plus its reaped children "
            "(getrusage RUSAGE_SELF + RUSAGE_CHILDREN; running DataLoader workers are counted only once they exit, "
            "at the end of each pass over the data)",
            "process_time": "CPU time (user + system) of the training process and its threads only "
            "(time.process_time; DataLoader workers are not counted)",
        }[self.method]

    def _children(self, pid: int) -> list[int]:
        found: list[int] = []
        try:
            tasks = os.listdir(os.path.join(self.proc, str(pid), "task"))
        except OSError:
            return found
        for task in tasks:
            try:
                with open(os.path.join(self.proc, str(pid), "task", task, "children")) as handle:
                    found.extend(int(x) for x in handle.read().split())
            except (OSError, ValueError):
                continue  # the thread or process ended meanwhile
        return found

    def _stat_seconds(self, pid: int) -> float:
        """utime + stime + cutime + cstime of one process, from ``/proc/<pid>/stat``; 0 if it ended meanwhile."""
        try:
            with open(os.path.join(self.proc, str(pid), "stat")) as handle:
                text = handle.read()
        except OSError:
            return 0.0
        # The command name (field 2) is in parentheses and may hold spaces: fields count from the last ")".
        fields = text[text.rfind(")") + 2:].split()
        try:
            return sum(int(fields[i]) for i in (11, 12, 13, 14)) / self._tick
        except (IndexError, ValueError):
            return 0.0

    def __call__(self) -> float:
        if self.method == "process_time":
            value = time.process_time()
        else:
            own = resource.getrusage(resource.RUSAGE_SELF)
            reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
            value = own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime
            if self.method == "proc":
                pending, seen = self._children(os.getpid()), set()
                while pending:
                    pid = pending.pop()
                    if pid in seen:
                        continue
                    seen.add(pid)
                    value += self._stat_seconds(pid)
                    pending.extend(self._children(pid))
        self._last = max(self._last, value)
        return self._last


class TimeBudget:
    """End training once ``seconds`` have passed on ``clock`` since the trainer started (see the module docstring).

    The budget covers the training iterations and the per-epoch validations; it does not cover dataset caching
    before the run, nor the one final validation that a stop may add. A run that reaches its ``max_epochs`` first
    simply ends as usual. Use :class:`WallClockBudget` or :class:`CpuTimeBudget`, which choose the clock.

    Attach it after the ``ValidationHandler`` (e.g. last in ``train#handlers``), so that on ``EPOCH_COMPLETED`` it
    can see whether the epoch was validated.

    Args:
        seconds: the budget in seconds (fractions allowed).
        evaluator: the validation evaluator; when the stopping epoch was not validated, it is run once more so that
            the best checkpoint includes the last weights. ``None`` skips that. Defaults to None.
        clock: a non-decreasing clock in seconds; tests pass a fake one.
        name: logger name. Defaults to "monai_lite.train".

    Attributes:
        kind: what the clock measures, for messages ("wall-clock", "CPU-time").
        exhausted: whether the budget stopped the run.
        stopped_mid_epoch: whether the stop cut an epoch short.
        elapsed: seconds from the trainer's start to the stop (or to the last check).

    Raises:
        ValueError: if ``seconds`` is not a positive finite number.
    """

    #: For multi-process runs (monai_lite.engine.distributed): every rank must stop at the same iteration
    #: (rank 0 decides).
    every_rank = True
    kind = "time"

    def __init__(
        self,
        seconds: float,
        evaluator: Any = None,
        clock: Callable[[], float] = time.monotonic,
        name: str = "monai_lite.train",
    ) -> None:
        if (
            not isinstance(seconds, (int, float))
            or isinstance(seconds, bool)
            or not math.isfinite(seconds)
            or seconds <= 0
        ):
            raise ValueError(f"the {self.kind} budget must be a positive number of seconds, got {seconds!r}.")
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
            f"{self.kind[0].upper()}{self.kind[1:]} budget of {self.seconds:g} s spent ({self.elapsed:.1f} s) "
            f"{where} epoch {epoch}; stopping after its validation."
        )
        engine.terminate()


class WallClockBudget(TimeBudget):
    """End training once ``seconds`` of wall-clock time have passed since the trainer started.

    Args:
        seconds: the budget in seconds (fractions allowed).
        evaluator: see :class:`TimeBudget`. Defaults to None.
        clock: a monotonic clock in seconds; tests pass a fake one. Defaults to ``time.monotonic``.
        name: logger name. Defaults to "monai_lite.train".

    Examples::

        budget = WallClockBudget(15 * 60, evaluator=evaluator)
        budget.attach(trainer)   # after ValidationHandler
        trainer.run()
        print(budget.exhausted, trainer.state.epoch)
    """

    kind = "wall-clock"


class CpuTimeBudget(TimeBudget):
    """End training once ``seconds`` of CPU time (this process tree, DataLoader workers included) have been used
    since the trainer started.

    Args:
        seconds: the budget in CPU seconds (fractions allowed); 10 CPU-minutes is 600 whatever the core count.
        evaluator: see :class:`TimeBudget`. Defaults to None.
        clock: a non-decreasing CPU clock in seconds; tests pass a fake one. Defaults to a new
            :class:`ProcessTreeCpuClock`.
        name: logger name. Defaults to "monai_lite.train".

    Examples::

        budget = CpuTimeBudget(10 * 60, evaluator=evaluator)
        budget.attach(trainer)   # after ValidationHandler
        trainer.run()
        print(budget.exhausted, budget.elapsed)   # CPU seconds used
    """

    kind = "CPU-time"

    def __init__(
        self,
        seconds: float,
        evaluator: Any = None,
        clock: Callable[[], float] | None = None,
        name: str = "monai_lite.train",
    ) -> None:
        super().__init__(seconds, evaluator=evaluator, clock=clock or ProcessTreeCpuClock(), name=name)
