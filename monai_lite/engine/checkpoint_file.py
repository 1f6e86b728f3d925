# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Read a weights file safely and say in one sentence what is wrong with one that cannot be used.

Every checkpoint monai-lite reads (``infer --ckpt``, ``load_bundle``, ensembles, ``--resume``, ``--init_weights``,
the bundles' inference) goes through :func:`read_checkpoint`: ``torch.load(weights_only=True)``, so loading never
runs code from the file, and a :class:`~monai_lite.errors.CheckpointError` naming the file for an empty, cut-off,
damaged or foreign file. torch's own advice for a refused file ("re-run with weights_only=False") is never passed
on: following it would run whatever the file holds.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from monai_lite.errors import CheckpointError

__all__ = ["read_checkpoint", "model_state", "load_model_state"]

_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's format since torch 1.6
_PICKLE_MAGIC = b"\x80"  # the legacy format starts with a pickle protocol byte


def _check_file(path: Path, what: str) -> bytes:
    if not path.exists():
        raise CheckpointError(f"{what} {path} does not exist.")
    if path.is_dir():
        raise CheckpointError(f"{what} {path} is a folder; give the weights file inside it (e.g. model.pt).")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(
            f"{what} {path} is empty (0 bytes): it was not written completely (a copy or download that stopped, "
            "or a full disk). Copy it again, or train again."
        )
    with open(path, "rb") as stream:
        head = stream.read(4)
    if not (head.startswith(_ZIP_MAGIC) or head.startswith(_PICKLE_MAGIC)):
        raise CheckpointError(
            f"{what} {path} is not a PyTorch checkpoint (it starts with {head!r}; files written by torch.save start "
            "with 'PK'). Check the path."
        )
    return head


def read_checkpoint(path: str | os.PathLike, what: str = "checkpoint", mmap: bool = False) -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)``, with one clear error for a bad file.

    Args:
        path: the weights file.
        what: how the message names the file, e.g. ``"--init_weights file"``. Defaults to "checkpoint".
        mmap: map the tensors instead of reading them (for reading a few values of a large file); ignored for
            files in torch's legacy format, which cannot be mapped.

    Returns:
        What the file holds (a state dict, or a training checkpoint with a ``"model"`` entry).

    Raises:
        CheckpointError: missing, a folder, empty, not a torch file, cut off or damaged, or holding Python objects
            that ``weights_only`` loading refuses.
    """
    path = Path(path)
    head = _check_file(path, what)
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap and head.startswith(_ZIP_MAGIC))
    except pickle.UnpicklingError as err:
        if "Unsupported global" in str(err) or "not an allowed global" in str(err):
            raise CheckpointError(
                f"{what} {path} holds Python objects besides tensors and plain values, and is refused: loading "
                "them could run code. Save only the weights (torch.save(network.state_dict(), path))."
            ) from None
        raise CheckpointError(f"{what} {path} is damaged: it cannot be read as a PyTorch checkpoint.") from None
    except (EOFError, RuntimeError, KeyError, ValueError, zipfile.BadZipFile, OSError) as err:
        reason = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        if "zip archive" in reason or isinstance(err, (EOFError, zipfile.BadZipFile)):
            reason = "the file is cut off or damaged"
        raise CheckpointError(
            f"{what} {path} cannot be read ({reason}); it was probably not written or copied completely. Copy it "
            "again, or train again."
        ) from None


def model_state(checkpoint: Any, path: str | os.PathLike, what: str = "checkpoint") -> Mapping[str, Any]:
    """The network weights in what :func:`read_checkpoint` returned: the state dict, or its ``"model"`` entry.

    Raises:
        CheckpointError: when it holds no state dict.
    """
    if isinstance(checkpoint, Mapping) and isinstance(checkpoint.get("model"), Mapping):
        checkpoint = checkpoint["model"]  # a full training checkpoint such as last.pt
    if not isinstance(checkpoint, Mapping) or not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise CheckpointError(
            f"{what} {path} holds no network weights (a state dict of tensors, or a training checkpoint with a "
            f"'model' entry); it holds a {type(checkpoint).__name__}."
        )
    return checkpoint


def load_model_state(network: nn.Module, state: Mapping[str, Any], path: str | os.PathLike,
                     what: str = "checkpoint") -> None:
    """``network.load_state_dict(state)``, naming the file and the first mismatch when the weights do not fit.

    Raises:
        CheckpointError: missing or unexpected layers, or layers of another shape (weights of another network or
            another configuration of it).
    """
    try:
        network.load_state_dict(state)
    except RuntimeError as err:
        lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
        detail = " ".join(lines[1:3] if len(lines) > 1 else lines)[:300]
        raise CheckpointError(
            f"{what} {path} does not fit the network {type(network).__name__}: {detail} (weights of another "
            "network, or of other in/out channels or sizes)."
        ) from None
