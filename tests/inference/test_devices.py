# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves --device resolution: auto picks CUDA, then MPS, then the CPU; cpu is always accepted; a device the machine
lacks, or an unknown name, is refused in one sentence that lists the choices."""

from __future__ import annotations

import pytest
import torch

from monai_lite.inference import resolve_device


def test_auto_and_cpu() -> None:
    mps = getattr(torch.backends, "mps", None)
    expected = "cuda" if torch.cuda.is_available() else "mps" if mps is not None and mps.is_available() else "cpu"
    assert resolve_device("auto").type == expected and resolve_device(None).type == expected
    assert resolve_device("cpu") == torch.device("cpu") and resolve_device(" CPU ") == torch.device("cpu")


def test_unknown_or_missing_devices_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="one of auto, cpu, cuda, mps"):
        resolve_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device("cuda:0")
