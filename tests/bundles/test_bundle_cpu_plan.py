# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves a bundle training run decides its torch threads and DataLoader workers from the usable cores: with the
shipped ``"auto"`` ids on a process pinned to 1 or 2 cores the run logs one plan line, sets torch's threads to it,
gives both DataLoaders its workers and never exceeds the cores; explicit ids beyond the cores are kept and warned
about with both numbers."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import torch
from monai.bundle import ConfigWorkflow

from monai_lite.bundle.runner import BUNDLES_DIR
from monai_lite.engine import cpu_plan

CONFIGS = BUNDLES_DIR / "medlitenet" / "configs"
#: One short epoch: 4 training and 2 validation cases at 32x32, plain recipe.
TINY = {"image_size": [32, 32], "batch_size": 2, "epochs": 1, "ema_decay": 0, "progressive_sizes": [],
        "device": "$torch.device('cpu')", "train#dataset#data": "$@data[0][:4]",
        "validate#dataset#data": "$@data[1][:2]"}


@pytest.fixture()
def pinned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Pin the planner's view of this process to ``n`` idle cores, without OMP_NUM_THREADS or a cgroup quota."""
    before = torch.get_num_threads()
    monkeypatch.setattr(cpu_plan, "CGROUP_CPU_MAX", tmp_path / "no-cpu.max")
    monkeypatch.setattr(cpu_plan, "busy_cores", lambda: 0.0)  # whatever else this machine runs meanwhile
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)

    def pin(n: int) -> None:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(n)), raising=False)

    yield pin
    torch.set_num_threads(before)


def _workflow(tmp_path: Path, **overrides) -> ConfigWorkflow:
    workflow = ConfigWorkflow(config_file=str(CONFIGS / "train.json"), meta_file=str(CONFIGS / "metadata.json"),
                              logging_file=False, workflow_type="train", bundle_root=str(tmp_path),
                              **{**TINY, **overrides})
    workflow.initialize()
    return workflow


def _plan_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("CPU plan")]


def test_a_run_on_one_core_logs_its_plan_and_stays_on_the_core(tmp_path: Path, pinned,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    pinned(1)
    with caplog.at_level(logging.INFO, logger="monai_lite.train"):
        workflow = _workflow(tmp_path)
        workflow.run()
        workflow.finalize()
    lines = _plan_lines(caplog)
    assert lines == ["CPU plan: 1 torch thread(s) (auto) + 0 DataLoader worker(s) (auto) on 1 usable core(s) "
                     "(CPU affinity): CPU training: the network gets the cores, augmentation runs in the main "
                     "process between steps."], "exactly one decision line per run"
    assert torch.get_num_threads() == 1
    assert workflow.parser.get_parsed_content("train#dataloader").num_workers == 0
    assert (tmp_path / "models" / "model.pt").is_file(), "the run trained and validated"


def test_two_cores_give_both_loaders_the_planned_workers(tmp_path: Path, pinned,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    pinned(2)
    with caplog.at_level(logging.INFO, logger="monai_lite.train"):
        parser = _workflow(tmp_path).parser
        plan = parser.get_parsed_content("cpu_plan")
        loaders = [parser.get_parsed_content(f"{part}#dataloader") for part in ("train", "validate")]
    assert plan.num_threads + plan.num_workers <= 2 and torch.get_num_threads() == plan.num_threads
    assert [loader.num_workers for loader in loaders] == [plan.num_workers] * 2
    assert len(_plan_lines(caplog)) == 1, "the plan is decided once for both loaders"


def test_explicit_oversubscription_warns_with_both_numbers(tmp_path: Path, pinned,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    pinned(1)
    with caplog.at_level(logging.INFO, logger="monai_lite.train"):
        plan = _workflow(tmp_path, num_threads=2, num_workers=2).parser.get_parsed_content("cpu_plan")
    assert (plan.num_threads, plan.num_workers) == (2, 2), "the user's numbers are kept"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("num_threads=2" in w and "num_workers=2" in w and "1 usable core(s)" in w for w in warnings), warnings
