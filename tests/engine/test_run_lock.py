# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves RunFolderLock keeps one training per run folder, with real processes: while another process holds
``models/training.lock`` a second acquire fails at once naming the folder and the holder's pid; after that process
is killed with SIGKILL its stale lock is taken over with a warning; a lock written on another host is refused with
the advice to delete it; release removes the file; a later run in the same process (one that raised before
``finalize``) takes over its own lock. Through a generated bundle, ``python -m monai.bundle run training`` on a
``--bundle_root`` that another training holds fails before reading any data, and the lock is listed first in the
bundle's ``run`` and released in ``finalize``."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monai_lite.bundle.runner import BUNDLES_DIR
import monai_lite.engine.run_lock as run_lock_module
from monai_lite.engine import RunFolderLock, RunFolderLockedError

_HOLDER = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("run_lock", sys.argv[1])  # the module alone: no torch import
run_lock = importlib.util.module_from_spec(spec); spec.loader.exec_module(run_lock)
run_lock.RunFolderLock(sys.argv[2]).acquire()
print("locked", flush=True)
time.sleep(120)
"""


def _holder(run_dir: Path) -> subprocess.Popen:
    """Another process that holds ``run_dir`` (as a running training would) until it is killed."""
    module = Path(run_lock_module.__file__)
    process = subprocess.Popen([sys.executable, "-c", _HOLDER, str(module), str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "locked"
    return process


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def test_a_live_holder_refuses_then_a_killed_one_is_taken_over(tmp_path: Path, caplog) -> None:
    run_dir = tmp_path / "models"
    holder = _holder(run_dir)
    try:
        started = time.perf_counter()
        with pytest.raises(RunFolderLockedError) as info:
            RunFolderLock(run_dir).acquire()
        assert time.perf_counter() - started < 2.0  # at once, no waiting
        message = str(info.value)
        assert f"run folder {run_dir} is in use by another training (pid {holder.pid} on {socket.gethostname()}" in message
        assert "train into another folder" in message
    finally:
        _stop(holder)  # SIGKILL: no release, the lock file stays behind
    assert (run_dir / "training.lock").is_file()
    caplog.set_level(logging.WARNING, logger="monai_lite.engine.run_lock")
    lock = RunFolderLock(run_dir).acquire()
    assert "is no longer running" in caplog.text and f"pid {holder.pid}" in caplog.text
    assert json.loads((run_dir / "training.lock").read_text())["pid"] == os.getpid()
    lock.release()
    assert not (run_dir / "training.lock").exists()


def test_a_lock_from_another_host_is_not_taken_over(tmp_path: Path) -> None:
    run_dir = tmp_path / "models"
    run_dir.mkdir()
    record = {"pid": 12345, "host": "some-other-node", "started": "2026-01-01T00:00:00+00:00", "command": "train"}
    (run_dir / "training.lock").write_text(json.dumps(record))
    with pytest.raises(RunFolderLockedError, match=rf"pid 12345 on some-other-node.*if it is gone, delete {run_dir / 'training.lock'}"):
        RunFolderLock(run_dir).acquire()


def test_the_same_process_takes_over_its_own_lock(tmp_path: Path) -> None:
    first = RunFolderLock(tmp_path / "models").acquire()  # a run that raised: no finalize, no release
    second = RunFolderLock(tmp_path / "models").acquire()
    assert second.held and not first.held
    second.release()
    assert not (tmp_path / "models" / "training.lock").exists()


def test_the_bundle_takes_the_lock_first_and_releases_it_last() -> None:
    config = json.loads((BUNDLES_DIR / "medlitenet" / "configs" / "train.json").read_text())
    assert config["run_lock"] == {"_target_": "monai_lite.engine.RunFolderLock", "run_dir": "@ckpt_dir"}
    assert config["run"][0] == "$@run_lock.acquire()" and config["run"][-1] == "$@train#trainer.run()"
    assert config["finalize"][-1] == "$@run_lock.release()"


@pytest.mark.slow  # imports MONAI and parses the bundle in a subprocess: 10-60 s depending on the machine's load
def test_second_bundle_training_on_one_bundle_root_fails_at_once(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "models")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "monai.bundle", "run", "training", "--config_file",
             str(BUNDLES_DIR / "medlitenet" / "configs" / "train.json"), "--bundle_root", str(tmp_path),
             "--epochs", "1", "--num_workers", "0"],
            capture_output=True, text=True, timeout=300,
        )
    finally:
        _stop(holder)
    assert result.returncode != 0
    assert f"run folder {tmp_path / 'models'} is in use by another training (pid {holder.pid}" in result.stderr
    assert "Epoch[1]" not in result.stdout + result.stderr  # refused before training started
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["training.lock"]
