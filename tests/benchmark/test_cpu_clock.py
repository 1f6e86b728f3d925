# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves that :class:`monai_lite.engine.budget.ProcessTreeCpuClock` counts the CPU time of a process tree once.

- (Linux) a forked worker's CPU time is counted while the worker still runs, which ``getrusage(RUSAGE_CHILDREN)``
  alone does not see, and is not counted a second time once the worker has exited and been reaped (the readings
  before and after the join agree);
- the ``/proc`` reading walks descendants (a worker's own children too) and parses ``stat`` lines whose command
  name holds spaces and parentheses, on a fake ``/proc``;
- without ``/proc`` it falls back to ``getrusage`` and says so; readings never decrease.

Only CPU accounting is asserted, never speed: the worker burns a fixed amount of its own CPU time.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from monai_lite.engine.budget import ProcessTreeCpuClock

BURN = 0.4  # CPU seconds the worker spends


def _burn(burned: Any, release: Any) -> None:
    start = time.process_time()
    while time.process_time() - start < BURN:
        sum(i * i for i in range(1000))
    burned.set()
    release.wait(60)


def _reaped_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the live worker reading needs Linux's /proc")
def test_live_worker_counted_once() -> None:
    clock = ProcessTreeCpuClock()
    assert clock.method == "proc"
    context = multiprocessing.get_context("fork")  # as a DataLoader's workers on Linux
    burned, release = context.Event(), context.Event()
    before, reaped_before = clock(), _reaped_children()
    worker = context.Process(target=_burn, args=(burned, release))
    worker.start()
    try:
        assert burned.wait(120), "the worker did not finish burning"
        running, reaped_running = clock(), _reaped_children()
    finally:
        release.set()
        worker.join(60)
    after = clock()
    assert running - before >= BURN - 0.05, "the running worker's CPU time is counted"
    assert reaped_running - reaped_before < 0.05, "getrusage alone would not have seen it yet"
    assert _reaped_children() - reaped_before >= BURN - 0.05, "after the join the kernel has it as a reaped child"
    assert after - running < 0.25, "and the clock does not count it a second time"


def _fake_proc(root: Path, tick: float) -> None:
    """/proc with this process -> worker 777 ("my (odd) worker") -> its child 888."""
    me = str(os.getpid())
    (root / me / "task" / me).mkdir(parents=True)
    (root / me / "task" / me / "children").write_text("777 ")
    stat = "{pid} ({name}) R 1 1 1 0 -1 0 0 0 0 0 {ut} {st} {cut} {cst} 20 0 1 0 0 0 0\n"
    for pid, name, times, children in ((777, "my (odd) worker", (250, 50, 100, 0), "888"),
                                       (888, "helper", (100, 0, 0, 0), "")):
        (root / str(pid) / "task" / str(pid)).mkdir(parents=True)
        (root / str(pid) / "task" / str(pid) / "children").write_text(children)
        ut, st, cut, cst = (int(t * tick / 100) for t in times)
        (root / str(pid) / "stat").write_text(stat.format(pid=pid, name=name, ut=ut, st=st, cut=cut, cst=cst))


def test_descendants_are_read_from_proc(tmp_path: Path) -> None:
    _fake_proc(tmp_path, os.sysconf("SC_CLK_TCK"))
    clock = ProcessTreeCpuClock(proc=str(tmp_path))
    assert clock.method == "proc"
    own = resource.getrusage(resource.RUSAGE_SELF)
    own_seconds = own.ru_utime + own.ru_stime + _reaped_children()
    # 777: (250 + 50 + 100 + 0) ticks = 4 s; 888: 1 s
    assert clock() - own_seconds == pytest.approx(5.0, abs=0.2)


def test_fallback_without_proc_and_monotone(tmp_path: Path) -> None:
    clock = ProcessTreeCpuClock(proc=str(tmp_path / "none"))
    assert clock.method == "rusage" and "RUSAGE_CHILDREN" in clock.description()
    readings = [clock() for _ in range(50)]
    assert readings == sorted(readings) and readings[0] > 0
