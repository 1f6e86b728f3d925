# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the CPU planner gives torch threads and DataLoader workers that fit the free cores: automatic choices
never exceed them (1, 2, 3, 16 cores, CPU and CUDA, DDP processes sharing a machine, cores busy with other
processes), a user's OMP_NUM_THREADS or explicit numbers are kept and an oversubscription among them is warned about
with both numbers, bad values are refused naming the setting, the usable cores follow the CPU affinity mask and a
cgroup CPU quota, and the busy cores are read from two /proc/stat samples of this process's CPUs."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import torch

from monai_lite.engine import cpu_plan
from monai_lite.engine.cpu_plan import CPU_WORKER_FROM_CORES, busy_between, plan_cpu, plan_training_cpu, usable_cores
from monai_lite.errors import SettingError


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    """``apply`` sets torch's process-wide thread count; put it back for the tests that follow."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("cores", [1, 2, 3, 16])
@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("local", ["", "2"])
@pytest.mark.parametrize("busy", [0.0, 0.9, 20.0])
def test_auto_fits_the_free_cores(cores: int, device: str, local: str, busy: float) -> None:
    plan = plan_cpu(cores, device=device, env={"LOCAL_WORLD_SIZE": local} if local else {}, busy=busy)
    per_process = max(1, cores // (int(local) if local else 1))
    assert plan.cores == per_process and 1 <= plan.free <= per_process
    assert plan.num_threads >= 1 and plan.num_workers >= 0
    assert plan.num_threads + plan.num_workers <= plan.free
    assert not plan.oversubscribed and "OVERSUBSCRIBED" not in plan.line()


def test_cpu_training_gives_the_cores_to_the_network_and_cuda_to_the_workers() -> None:
    assert (plan_cpu(2).num_threads, plan_cpu(2).num_workers) == (2, 0)
    many = plan_cpu(CPU_WORKER_FROM_CORES)
    assert (many.num_threads, many.num_workers) == (CPU_WORKER_FROM_CORES - 1, 1)
    cuda = plan_cpu(4, device=torch.device("cuda:0"))
    assert (cuda.num_threads, cuda.num_workers) == (1, 3)
    assert plan_cpu(64, device="cuda").num_workers == cpu_plan.CUDA_MAX_WORKERS


def test_cores_busy_with_other_processes_are_left_to_them() -> None:
    plan = plan_cpu(2, busy=0.93)  # the other core ran someone else's benchmark
    assert (plan.free, plan.num_threads, plan.num_workers) == (1, 1, 0)
    assert "2 usable core(s) (given), 1 busy with other processes" in plan.line()
    assert plan_cpu(2, busy=0.3).free == 2, "a core less than half busy still counts as free"
    assert plan_cpu(4, busy=9.0).free == 1, "at least one core, however loaded the machine"
    assert plan_cpu(2, num_threads=2, busy=1.0).oversubscribed, "the user's 2 threads on 1 free core"


def test_busy_cores_come_from_the_idle_time_of_this_process_cpus() -> None:
    before = "cpu  10 0 10 80 0 0 0 0\ncpu0 0 0 0 100 0 0 0 0\ncpu1 0 0 0 100 0 0 0 0\ncpu2 0 0 0 100 0 0 0 0\n"
    after = "cpu  90 0 10 100 0 0 0 0\ncpu0 90 0 0 110 0 0 0 0\ncpu1 0 0 0 200 0 0 0 0\ncpu2 50 0 0 150 0 0 0 0\n"
    assert busy_between(before, after, {0, 1}) == pytest.approx(0.9)  # cpu0 90 % busy, cpu1 idle
    assert busy_between(before, after, {0, 1, 2}) == pytest.approx(1.4)
    assert busy_between(before, after, {5}) == 0.0, "a CPU missing from the file counts as idle"


def test_omp_num_threads_is_the_users_choice_and_workers_take_the_rest() -> None:
    plan = plan_cpu(4, env={"OMP_NUM_THREADS": "1"}, device="cuda")
    assert (plan.num_threads, plan.threads_from, plan.num_workers) == (1, "OMP_NUM_THREADS", 3)
    assert plan_cpu(4, env={"OMP_NUM_THREADS": "3,1"}).num_threads == 3
    assert plan_cpu(4, env={"OMP_NUM_THREADS": "many"}).threads_from == "auto", "an unreadable value is not a choice"
    assert plan_cpu(4, num_threads=2, env={"OMP_NUM_THREADS": "1"}).num_threads == 2, "the bundle id wins"


def test_explicit_workers_leave_the_threads_the_rest() -> None:
    plan = plan_cpu(4, num_workers=3)
    assert (plan.num_threads, plan.num_workers, plan.workers_from) == (1, 3, "num_workers")
    assert plan_cpu(2, num_workers="1").num_workers == 1, "an integer given as text on the command line"


def test_explicit_oversubscription_is_kept_and_warned_with_both_numbers(caplog: pytest.LogCaptureFixture) -> None:
    plan = plan_cpu(2, num_threads=2, num_workers=2)
    assert (plan.num_threads, plan.num_workers, plan.oversubscribed) == (2, 2, True)
    with caplog.at_level(logging.INFO, logger="monai_lite.train"):
        plan.apply()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "num_threads=2" in warnings[0] and "num_workers=2" in warnings[0] and "2 usable core(s)" in warnings[0]
    assert torch.get_num_threads() == 2
    # Workers alone beyond the cores: the automatic threads cannot go below 1, so this is oversubscribed too.
    assert plan_cpu(1, num_workers=2).oversubscribed


@pytest.mark.parametrize("setting, value", [("num_threads", 0), ("num_threads", "fast"), ("num_workers", -1),
                                            ("num_workers", True), ("num_workers", 1.5)])
def test_bad_values_are_refused_naming_the_setting(setting: str, value: object) -> None:
    with pytest.raises(SettingError, match=f"'{setting}'.*auto"):
        plan_cpu(2, **{setting: value})


def test_usable_cores_follow_the_affinity_and_the_cgroup_quota(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    quota = tmp_path / "cpu.max"
    quota.write_text("max 100000\n")
    assert usable_cores(quota) == (4, "CPU affinity")
    quota.write_text("150000 100000\n")  # 1.5 CPUs: two cores busy part of the time
    assert usable_cores(quota) == (2, "cgroup cpu.max")
    quota.write_text("garbage")
    assert usable_cores(quota) == (4, "CPU affinity")
    assert usable_cores(tmp_path / "absent") == (4, "CPU affinity")


@pytest.mark.parametrize("cores", [1, 2])
def test_training_plan_on_a_pinned_process_never_exceeds_its_cores(cores: int, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    monkeypatch.setattr(cpu_plan, "CGROUP_CPU_MAX", tmp_path / "none")
    monkeypatch.setattr(cpu_plan, "busy_cores", lambda: 0.0)  # whatever else this machine runs meanwhile
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    with caplog.at_level(logging.INFO, logger="monai_lite.train"):
        plan = plan_training_cpu("auto", "auto", "cpu")
    assert plan.num_threads + plan.num_workers <= cores
    assert torch.get_num_threads() == plan.num_threads
    assert [r.getMessage() for r in caplog.records] == [plan.line()]
    assert f"on {cores} usable core(s) (CPU affinity)" in plan.line()


def test_training_plan_leaves_the_busy_cores_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_busy_cores = cpu_plan.busy_cores
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(cpu_plan, "CGROUP_CPU_MAX", tmp_path / "none")
    monkeypatch.setattr(cpu_plan, "busy_cores", lambda: 1.0)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    plan = plan_training_cpu("auto", "auto", "cpu")
    assert (plan.num_threads, plan.num_workers, plan.busy) == (1, 0, 1.0)
    stat = tmp_path / "stat"
    stat.write_text("cpu0 5 0 5 90 0 0 0 0\ncpu1 5 0 5 90 0 0 0 0\n")
    assert real_busy_cores(seconds=0.0, stat=stat) == 0.0, "unchanged counters: nothing ran"
    assert real_busy_cores(seconds=0.0, stat=tmp_path / "absent") == 0.0
