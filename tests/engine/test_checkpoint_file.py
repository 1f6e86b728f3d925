# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Bad weights files get one message naming the file and the problem (monai_lite.engine.checkpoint_file).

Proves: a missing file, a folder, a zero-byte file, a cut-off file, a text file, a pickle of Python objects,
a checkpoint without weights and weights of another network are each refused with a CheckpointError that names
the file and says what is wrong, and never pass on torch's advice to retry with ``weights_only=False``; a good
state dict and a training checkpoint load.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from monai_lite.engine.checkpoint_file import load_model_state, model_state, read_checkpoint
from monai_lite.errors import CheckpointError


def _good(path: Path) -> Path:
    torch.save(nn.Conv2d(1, 2, 3).state_dict(), path)
    return path


def _bad(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / "model.pt"
    if kind == "missing":
        return path
    if kind == "folder":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        data = _good(tmp_path / "good.pt").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "text":
        path.write_text("these are not weights\n")
    elif kind == "objects":
        path.write_bytes(pickle.dumps({"weights": Path("/x")}))
    return path


MESSAGES = {
    "missing": "does not exist",
    "folder": "is a folder",
    "empty": "is empty (0 bytes)",
    "truncated": "cannot be read (the file is cut off or damaged)",
    "text": "is not a PyTorch checkpoint",
    "objects": "is damaged",
}


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_bad_files_are_named_with_the_problem(kind: str, tmp_path: Path) -> None:
    path = _bad(kind, tmp_path)
    with pytest.raises(CheckpointError) as caught:
        read_checkpoint(path, "checkpoint")
    message = str(caught.value)
    assert f"checkpoint {path} " in message and MESSAGES[kind] in message
    assert "weights_only=False" not in message and "\n" not in message


def test_python_objects_in_a_torch_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save({"model": nn.Conv2d(1, 2, 3)}, path)  # a whole module object, not a state dict
    with pytest.raises(CheckpointError, match="holds Python objects besides tensors") as caught:
        read_checkpoint(path)
    assert "weights_only=False" not in str(caught.value)


def test_no_weights_and_wrong_network(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save({"epoch": 3}, path)
    with pytest.raises(CheckpointError, match=r"holds no network weights"):
        model_state(read_checkpoint(path), path)
    state = read_checkpoint(_good(path))
    with pytest.raises(CheckpointError, match=r"does not fit the network Conv2d: .*size mismatch"):
        load_model_state(nn.Conv2d(1, 4, 3), state, path)


def test_good_files_load(tmp_path: Path) -> None:
    state = read_checkpoint(_good(tmp_path / "model.pt"), mmap=True)
    net = nn.Conv2d(1, 2, 3)
    load_model_state(net, model_state({"model": state, "epoch": 1}, "x"), "x")
    assert torch.equal(net.weight, state["weight"])
