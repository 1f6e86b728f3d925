# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves a checkpoint file is never half-written: a save that fails midway, or a process killed with SIGKILL while
saving, leaves the previous complete checkpoint loadable; leftovers of killed saves are cleaned up; ignite's
``Checkpoint`` with a fixed file name never deletes the old file before the new one is in place; the same holds for
any other file written through ``atomic_path``/``atomic_write_text``; ``atomic_write_json`` turns NaN, tuples, paths and
NumPy/torch scalars into JSON that reads back as plain values."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from ignite.engine import Engine, Events
from ignite.handlers import Checkpoint

import monai_lite.engine.atomic as atomic
from monai_lite.engine import AtomicDiskSaver, atomic_path, atomic_save, atomic_write_text


def test_failed_save_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "last.pt"
    atomic_save({"epoch": 1, "w": torch.ones(100)}, target)

    def half_written(obj, stream):
        stream.write(b"PK\x03\x04 truncated")
        raise OSError("disk full")

    monkeypatch.setattr(atomic.torch, "save", half_written)
    with pytest.raises(OSError, match="disk full"):
        atomic_save({"epoch": 2, "w": torch.zeros(100)}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=True)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"], "the temporary file must be removed"


_WRITER = """
import importlib.util, sys, torch
spec = importlib.util.spec_from_file_location("atomic", sys.argv[1])
atomic = importlib.util.module_from_spec(spec); spec.loader.exec_module(atomic)
payload = torch.randn(4_000_000)  # 16 MB: each save takes long enough to be killed in the middle
for step in range(1_000_000):
    atomic.atomic_save({"step": step, "payload": payload, "check": payload.sum()}, sys.argv[2])
"""


def test_sigkill_while_saving_never_leaves_a_broken_file(tmp_path: Path) -> None:
    target = tmp_path / "last.pt"
    rng = random.Random(0)
    for attempt in range(3):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, atomic.__file__, str(target)])
        try:
            deadline = time.monotonic() + 120
            while not target.exists():
                assert proc.poll() is None, "the writer died on its own"
                assert time.monotonic() < deadline, "the writer never saved"
                time.sleep(0.05)
            time.sleep(rng.uniform(0.05, 0.6))
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        assert proc.returncode == -signal.SIGKILL
        checkpoint = torch.load(target, weights_only=True)  # must never raise
        torch.testing.assert_close(checkpoint["payload"].sum(), checkpoint["check"])
        atomic_save({"step": -1}, tmp_path / "other.pt")  # a later save of another file leaves leftovers alone
        target.unlink()


def test_leftovers_of_killed_saves_are_removed(tmp_path: Path) -> None:
    (tmp_path / ".last.pt.abc123.tmp").write_bytes(b"half")
    (tmp_path / ".model.pt.xyz.tmp").write_bytes(b"other target")
    atomic_save({"a": 1}, tmp_path / "last.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.pt.xyz.tmp", "last.pt"]


def test_permissions_are_those_of_a_normal_file(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        atomic_save({"a": 1}, tmp_path / "new.pt")
        assert (tmp_path / "new.pt").stat().st_mode & 0o777 == 0o644
        os.chmod(tmp_path / "new.pt", 0o600)
        atomic_save({"a": 2}, tmp_path / "new.pt")
        assert (tmp_path / "new.pt").stat().st_mode & 0o777 == 0o600, "an existing file keeps its mode"
    finally:
        os.umask(umask)


def test_ignite_checkpoint_with_a_fixed_name_keeps_one_complete_file(tmp_path: Path) -> None:
    weights = torch.nn.Linear(2, 2)
    engine = Engine(lambda e, b: None)
    saver = AtomicDiskSaver(tmp_path, "last.pt")
    removed: list[str] = []
    original_remove = saver.remove
    saver.remove = lambda name: (removed.append(name), original_remove(name))  # type: ignore[method-assign]
    handler = Checkpoint({"model": weights}, saver, n_saved=1)

    @engine.on(Events.EPOCH_COMPLETED)
    def save(e: Engine) -> None:
        with torch.no_grad():
            weights.weight.fill_(float(e.state.epoch))
        handler(e)
        assert (tmp_path / "last.pt").is_file()

    engine.run([0], max_epochs=3)
    assert removed, "ignite asked to remove the previous checkpoint"
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
    assert torch.load(tmp_path / "last.pt", weights_only=True)["weight"].eq(3.0).all()


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(tmp_path / "x_seg.nii.gz") as tmp:
            assert tmp.name.endswith(".nii.gz") and tmp.parent == tmp_path
            tmp.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_text_replaces_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "report" / "summary.json"
    atomic_write_text(target, "old\n")
    atomic_write_text(target, "new\r\n")
    assert target.read_bytes() == b"new\r\n", "line endings are written as given"
    assert [p.name for p in target.parent.iterdir()] == ["summary.json"]


def test_atomic_write_json_writes_what_json_can_read_back(tmp_path: Path) -> None:
    import json

    import numpy as np

    content = {"nan": float("nan"), "inf": float("-inf"), "size": (96, 96), "path": tmp_path,
               "np": np.float32(0.5), "tensor": torch.tensor(3), 7: [np.int64(2), {"x": (1.5,)}]}
    path = atomic.atomic_write_json(tmp_path / "r.json", content)
    assert path.read_text().endswith("}\n")
    assert json.loads(path.read_text()) == {"nan": None, "inf": None, "size": [96, 96], "path": str(tmp_path),
                                            "np": 0.5, "tensor": 3, "7": [2, {"x": [1.5]}]}
