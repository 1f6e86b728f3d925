# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Torch threads and DataLoader workers that fit the cores this process may use.

A training process runs the network on ``torch.get_num_threads()`` OpenMP threads, and each DataLoader worker is one
more busy process. Together they must fit the cores, or every OpenMP barrier waits for a thread the scheduler has
parked: four trainings sharing two cores ran 20x slower per epoch than one alone, and on a 2-core machine whose
other core was busy with other work, MedLiteNet trained at 2.0 images/s on 2 threads against 19.8 on 1 (Kvasir-SEG,
128 x 128, batch 8; docs/benchmarks.md, "Threads and workers"). So at the start of a bundle run
:func:`plan_training_cpu` finds the usable cores (:func:`usable_cores`: CPU affinity, cgroup CPU quota) and how many
of them other processes keep busy (:func:`busy_cores`, half a second of ``/proc/stat``), decides both numbers with
:func:`plan_cpu` (a pure function, tested on its own), sets torch's thread count, and logs one line saying what it
chose and why. The bundle ids ``num_threads`` and ``num_workers`` are ``"auto"`` by default; an integer is the
user's choice and is kept, with a warning naming both numbers when the two together exceed the free cores.
``OMP_NUM_THREADS`` set in the environment counts as the user's choice of threads.

DataLoader workers always run torch on one thread: ``torch.utils.data`` sets it in each worker.

Rules for ``"auto"`` (``F`` free cores per training process: the usable cores less those other processes keep
busy, at least 1; torchrun's ``LOCAL_WORLD_SIZE`` processes share the machine's cores):

- CPU training with both automatic: ``F`` threads and no worker below :data:`CPU_WORKER_FROM_CORES` free cores (the
  augmentation, about 7 % of a step, runs between steps in the main process), else one worker and ``F - 1``
  threads (modelled, not measured: many threads shorten the step until the serial augmentation matters).
- CUDA training with both automatic: the network runs on the GPU, so the cores go to workers: ``min(F - 1, 8)``
  workers, the rest (at least 1) torch threads.
- One of the two fixed (by the user or ``OMP_NUM_THREADS``): the other takes what is left, at least 1 thread or 0
  workers; on CPU the automatic workers follow the rule above.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from monai_lite.errors import SettingError

__all__ = ["AUTO", "CPU_WORKER_FROM_CORES", "CUDA_MAX_WORKERS", "CpuPlan", "busy_cores", "plan_cpu",
           "plan_training_cpu", "usable_cores"]

AUTO = "auto"
#: Free cores from which CPU training gets one DataLoader worker. Below it the network takes every core: on one or
#: two cores a worker takes a core from the network for augmentation that costs about 7 % of a step (Kvasir-SEG,
#: MedLiteNet 128 x 128, batch 8: 30 ms of augmentation per 400 ms step on one thread).
CPU_WORKER_FROM_CORES = 4
#: Most DataLoader workers chosen automatically for CUDA training: more rarely helps a 2D bundle and each costs
#: memory.
CUDA_MAX_WORKERS = 8
#: cgroup v2 CPU quota of this process's container: "<quota> <period>" or "max <period>".
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
#: Per-CPU time counters of Linux, read twice by :func:`busy_cores`.
PROC_STAT = Path("/proc/stat")
#: How long :func:`busy_cores` watches the cores: long enough to average a scheduler's time slices, short beside a
#: training's start-up.
BUSY_SAMPLE_SECONDS = 0.5

logger = logging.getLogger("monai_lite.train")


@dataclass(frozen=True)
class CpuPlan:
    """What :func:`plan_cpu` decided.

    Attributes:
        cores: usable cores for this process (after sharing with the other local DDP processes).
        cores_source: where ``cores`` came from, e.g. ``"CPU affinity"`` or ``"cgroup cpu.max"``.
        busy: cores' worth of CPU time other processes were using when the plan was made.
        free: ``cores`` less the busy ones (a core more than half busy counts), at least 1.
        num_threads: torch intra-op threads of the training process.
        num_workers: DataLoader worker processes.
        threads_from: ``"auto"``, ``"num_threads"`` (the bundle id) or ``"OMP_NUM_THREADS"``.
        workers_from: ``"auto"`` or ``"num_workers"``.
        reason: why, in a few words.
        oversubscribed: True when threads + workers exceed ``free`` (only possible by the user's choice).
    """

    cores: int
    cores_source: str
    busy: float
    free: int
    num_threads: int
    num_workers: int
    threads_from: str
    workers_from: str
    reason: str
    oversubscribed: bool

    def _cores_text(self) -> str:
        busy = f", {self.cores - self.free} busy with other processes" if self.free < self.cores else ""
        return f"{self.cores} usable core(s) ({self.cores_source}){busy}"

    def line(self) -> str:
        """The one log line of the decision."""
        return (f"CPU plan: {self.num_threads} torch thread(s) ({self.threads_from}) + {self.num_workers} DataLoader "
                f"worker(s) ({self.workers_from}) on {self._cores_text()}: {self.reason}.")

    def warning(self) -> str:
        """The warning of an oversubscribed plan ("" when it fits)."""
        if not self.oversubscribed:
            return ""
        return (f"num_threads={self.num_threads} + num_workers={self.num_workers} = "
                f"{self.num_threads + self.num_workers} busy threads/processes on {self._cores_text()}: the cores "
                "are oversubscribed and training will be several times slower (four trainings on two cores ran 20x "
                "slower per epoch); set num_threads and num_workers to \"auto\" or lower them.")

    def apply(self) -> CpuPlan:
        """Set torch's thread count to the plan and log the decision (a warning too when oversubscribed).

        Returns:
            The plan itself, so a bundle config can build, apply and keep it in one expression.
        """
        torch.set_num_threads(self.num_threads)
        logger.info(self.line())
        if self.oversubscribed:
            logger.warning(self.warning())
        return self

    def as_dict(self) -> dict[str, Any]:
        """The plan as plain values, for a results file."""
        return asdict(self)


def _cgroup_quota_cores(path: Path) -> int | None:
    """Whole cores allowed by the cgroup v2 quota in ``path`` (rounded up), or None without a quota or file."""
    try:
        quota, period = path.read_text().split()[:2]
        if quota == "max":
            return None
        return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        return None


def usable_cores(cgroup_cpu_max: Path | None = None) -> tuple[int, str]:
    """The cores this process may use, and where that number came from.

    The CPU affinity mask (``os.sched_getaffinity``: ``taskset``, Slurm, container cpusets) where the platform has
    one, else ``os.cpu_count()``; a cgroup v2 CPU quota (``cpu.max``, e.g. ``docker --cpus``) lowers it further.

    Args:
        cgroup_cpu_max: the ``cpu.max`` file to read; None reads :data:`CGROUP_CPU_MAX`. Defaults to None.

    Returns:
        ``(cores, source)``, cores at least 1.
    """
    if hasattr(os, "sched_getaffinity"):
        cores, source = len(os.sched_getaffinity(0)), "CPU affinity"
    else:
        cores, source = os.cpu_count() or 1, "os.cpu_count"
    quota = _cgroup_quota_cores(CGROUP_CPU_MAX if cgroup_cpu_max is None else cgroup_cpu_max)
    if quota is not None and quota < cores:
        cores, source = quota, "cgroup cpu.max"
    return max(1, cores), source


def _cpu_counters(text: str, cpus: Iterable[int]) -> dict[int, tuple[int, int]]:
    """``{cpu: (idle, total)}`` jiffies of ``cpus`` from the text of ``/proc/stat`` (idle includes I/O wait)."""
    wanted, counters = set(cpus), {}
    for row in text.splitlines():
        name, *values = row.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in wanted and len(values) >= 4:
            numbers = [int(v) for v in values[:8]]
            counters[int(name[3:])] = (numbers[3] + (numbers[4] if len(numbers) > 4 else 0), sum(numbers))
    return counters


def busy_between(before: str, after: str, cpus: Iterable[int]) -> float:
    """Cores' worth of CPU time used on ``cpus`` between two readings of ``/proc/stat`` (0 for a CPU not in both).

    Args:
        before: the text of ``/proc/stat`` at the start.
        after: its text at the end.
        cpus: the CPU numbers to count (this process's affinity).
    """
    first, second = _cpu_counters(before, cpus), _cpu_counters(after, cpus)
    busy = 0.0
    for cpu, (idle_after, total_after) in second.items():
        idle_before, total_before = first.get(cpu, (idle_after, total_after))
        elapsed = total_after - total_before
        if elapsed > 0:
            busy += 1.0 - (idle_after - idle_before) / elapsed
    return max(0.0, busy)


def busy_cores(seconds: float = BUSY_SAMPLE_SECONDS, stat: Path | None = None) -> float:
    """Cores' worth of CPU time other processes use on this process's CPUs, watched for ``seconds``.

    This process sleeps meanwhile, so everything counted is someone else's: other trainings, benchmarks, builds.

    Args:
        seconds: how long to watch. Defaults to :data:`BUSY_SAMPLE_SECONDS`.
        stat: the counters file; None reads :data:`PROC_STAT`. Defaults to None.

    Returns:
        The busy cores (0.0 where there is no ``/proc/stat`` or no affinity mask to read, e.g. macOS, Windows).
    """
    path = PROC_STAT if stat is None else stat
    if not hasattr(os, "sched_getaffinity"):
        return 0.0
    try:
        before = path.read_text()
        time.sleep(seconds)
        after = path.read_text()
    except OSError:
        return 0.0
    return busy_between(before, after, os.sched_getaffinity(0))


def _requested(value: Any, name: str, minimum: int) -> int | None:
    """``value`` as an int >= ``minimum``, or None for ``"auto"``.

    Raises:
        SettingError: anything else (naming the id and what is allowed).
    """
    if isinstance(value, str) and value.strip().lower() == AUTO:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SettingError(f"bundle setting '{name}' = {value!r} is not allowed: \"auto\" or an integer >= {minimum}.")
    return value


def _positive_int(text: Any) -> int | None:
    """``text`` as a positive integer, the first level of a list like ``OMP_NUM_THREADS="4,2"``; else None."""
    first = str(text or "").split(",")[0].strip()
    return int(first) if first.isdigit() and int(first) > 0 else None


def plan_cpu(
    cores: int,
    num_threads: int | str = AUTO,
    num_workers: int | str = AUTO,
    device: str | torch.device = "cpu",
    env: Mapping[str, str] | None = None,
    cores_source: str = "given",
    busy: float = 0.0,
) -> CpuPlan:
    """Decide torch threads and DataLoader workers for a training process (pure: no side effect).

    Args:
        cores: usable cores of the machine (or of this container/affinity mask), at least 1.
        num_threads: torch intra-op threads, ``"auto"`` or an integer >= 1. Defaults to "auto".
        num_workers: DataLoader workers, ``"auto"`` or an integer >= 0. Defaults to "auto".
        device: the training device; ``cuda`` moves the automatic choice towards workers. Defaults to "cpu".
        env: the environment to read ``OMP_NUM_THREADS`` (a user's choice of threads when ``num_threads`` is
            ``"auto"``) and torchrun's ``LOCAL_WORLD_SIZE`` (processes sharing the cores) from; None is an empty
            one. Defaults to None.
        cores_source: where ``cores`` came from, for the log line. Defaults to "given".
        busy: cores' worth of CPU time other processes use (:func:`busy_cores`); a core more than half busy is
            not free. Defaults to 0.0.

    Returns:
        The :class:`CpuPlan`. Automatic choices never make threads + workers exceed the free cores per process;
        the user's may, and the plan then says ``oversubscribed``.

    Raises:
        SettingError: for a value that is neither ``"auto"`` nor an integer in range.
    """
    env = env or {}
    threads = _requested(num_threads, "num_threads", 1)
    workers = _requested(num_workers, "num_workers", 0)
    local = _positive_int(env.get("LOCAL_WORLD_SIZE")) or 1
    per_process = max(1, int(cores) // local)
    free = max(1, per_process - math.floor(max(0.0, float(busy)) / local + 0.5))
    source = cores_source if local == 1 else f"{cores_source}, shared by {local} local processes"
    threads_from = "num_threads" if threads is not None else "auto"
    workers_from = "num_workers" if workers is not None else "auto"
    if threads is None and _positive_int(env.get("OMP_NUM_THREADS")) is not None:
        threads, threads_from = _positive_int(env.get("OMP_NUM_THREADS")), "OMP_NUM_THREADS"
    cuda = torch.device(device).type == "cuda"

    if threads is None and workers is None:
        if cuda:
            workers = min(free - 1, CUDA_MAX_WORKERS)
            threads = max(1, free - workers)
            reason = "CUDA training: the cores feed the GPU through the workers"
        elif free >= CPU_WORKER_FROM_CORES:
            workers, threads = 1, free - 1
            reason = "CPU training: the network gets the cores but one, a worker augments alongside"
        else:
            workers, threads = 0, free
            reason = "CPU training: the network gets the cores, augmentation runs in the main process between steps"
    elif threads is None:
        threads = max(1, free - workers)
        reason = "threads take the cores the workers leave"
    elif workers is None:
        spare = max(0, free - threads)
        workers = spare if cuda else (1 if spare and free >= CPU_WORKER_FROM_CORES else 0)
        reason = "workers take the cores the threads leave" if cuda else (
            "a worker augments alongside" if workers else "augmentation runs in the main process between steps")
    else:
        reason = "as set"
    oversubscribed = threads + workers > free
    if oversubscribed:
        reason = f"{reason}; OVERSUBSCRIBED, {threads + workers} > {free} free"
    return CpuPlan(cores=per_process, cores_source=source, busy=round(float(busy), 2), free=free,
                   num_threads=threads, num_workers=workers, threads_from=threads_from, workers_from=workers_from,
                   reason=reason, oversubscribed=oversubscribed)


def plan_training_cpu(num_threads: int | str = AUTO, num_workers: int | str = AUTO,
                      device: str | torch.device = "cpu") -> CpuPlan:
    """Plan for this process (:func:`usable_cores`, :func:`busy_cores`, ``os.environ``) and apply it: what a bundle's
    train config calls.

    Args:
        num_threads: the bundle's ``num_threads``: ``"auto"`` or an integer >= 1. Defaults to "auto".
        num_workers: the bundle's ``num_workers``: ``"auto"`` or an integer >= 0. Defaults to "auto".
        device: the bundle's training ``device``. Defaults to "cpu".

    Returns:
        The applied :class:`CpuPlan`; ``plan.num_workers`` is what the DataLoaders get.
    """
    cores, source = usable_cores()
    return plan_cpu(cores, num_threads, num_workers, device, os.environ, source, busy=busy_cores()).apply()
