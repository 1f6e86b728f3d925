# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves that a full disk while a training saves leaves the previous checkpoints intact: with the writer patched to
write half a file and then fail with ENOSPC from epoch 2 on, training stops with an OSError naming the file and
saying the previous one is kept; ``last.pt`` still holds epoch 1 and loads, ``model.pt`` loads, and no temporary
file is left behind. Also proves the message of a save that fails with the disk full before any checkpoint exists."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import torch
from engine_tiny import build_run
from ignite.engine import Events

import monai_lite.engine.atomic as atomic


class _DiskFullFrom:
    """From the start of epoch ``epoch`` on, every torch.save writes a few bytes and then fails with ENOSPC."""

    def __init__(self, epoch: int, monkeypatch: pytest.MonkeyPatch) -> None:
        self.epoch, self.full = epoch, False
        real = atomic.torch.save

        def save(obj, stream, *args, **kwargs):
            if not self.full:
                return real(obj, stream, *args, **kwargs)
            stream.write(b"PK\x03\x04 half a checkpoint")
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(atomic.torch, "save", save)

    def attach(self, engine) -> None:
        engine.add_event_handler(Events.EPOCH_STARTED(once=self.epoch), lambda _: setattr(self, "full", True))


def test_full_disk_keeps_the_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = build_run(tmp_path, epochs=3, extra_handlers=[_DiskFullFrom(2, monkeypatch)])
    with pytest.raises(OSError, match="no space left to write") as info:
        run["trainer"].run()
    assert info.value.errno == errno.ENOSPC
    assert "is kept unchanged" in str(info.value) and str(tmp_path) in str(info.value)
    monkeypatch.undo()
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    assert last["trainer"]["iteration"] == 3  # the end of epoch 1 (3 iterations per epoch)
    torch.load(tmp_path / "model.pt", weights_only=True)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_full_disk_before_any_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(obj, stream, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.torch, "save", full)
    with pytest.raises(OSError, match=rf"no space left to write {tmp_path / 'last.pt'}.*no last.pt was written"):
        atomic.atomic_save({"w": torch.ones(3)}, tmp_path / "last.pt")
    assert list(tmp_path.iterdir()) == []
