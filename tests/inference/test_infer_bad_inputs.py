# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""``monai-lite infer`` answers every bad input of issue 15 (part 3) with one message, exit 1, no traceback.

Proves: a zero-byte, a cut-off, a non-checkpoint and another network's weights are each named with what is wrong
(never torch's ``weights_only=False`` advice); a text file named .png and a 4D volume given to a 3D bundle are named;
a read-only output folder and an output path under a file are named; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from monai_lite.cli import main


@pytest.fixture(scope="module")
def picture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pictures")
    Image.fromarray(np.full((40, 48, 3), 90, dtype=np.uint8)).save(folder / "case.png")
    return folder / "case.png"


def _infer(*argv: str, capsys) -> tuple[int, str]:
    code = main(["infer", *argv, "--device", "cpu"])
    err = capsys.readouterr().err
    return code, err


def _one_line(code: int, err: str, *parts: str) -> None:
    assert code == 1, err
    assert "Traceback" not in err and "weights_only=False" not in err, err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err  # one message (a progress bar may precede it)
    for part in parts:
        assert part in err, err


@pytest.mark.parametrize("damage, problem", [
    ("empty", "is empty (0 bytes)"),
    ("truncated", "cannot be read (the file is cut off or damaged)"),
    ("text", "is not a PyTorch checkpoint"),
    ("other_network", "does not fit the network MedLiteNet"),
])
def test_bad_checkpoints(damage: str, problem: str, random_ckpt, picture: Path, tmp_path: Path, capsys) -> None:
    weights = tmp_path / "model.pt"
    if damage == "empty":
        weights.write_bytes(b"")
    elif damage == "truncated":
        data = random_ckpt("medlitenet").read_bytes()
        weights.write_bytes(data[: len(data) // 3])
    elif damage == "text":
        weights.write_text("not weights")
    else:
        torch.save(nn.Conv2d(3, 1, 3).state_dict(), weights)
    code, err = _infer(str(picture), "-o", str(tmp_path / "out"), "--ckpt", str(weights), capsys=capsys)
    _one_line(code, err, str(weights), problem)


def test_text_file_named_png(random_ckpt, tmp_path: Path, capsys) -> None:
    fake = tmp_path / "in" / "photo.png"
    fake.parent.mkdir()
    fake.write_text("this is a text file\n")
    code, err = _infer(str(fake), "-o", str(tmp_path / "out"), "--ckpt", str(random_ckpt("medlitenet")), capsys=capsys)
    _one_line(code, err, f"{fake}: cannot be read as a picture")


def test_4d_volume_into_a_3d_bundle(random_ckpt, tmp_path: Path, capsys) -> None:
    volume = tmp_path / "in" / "scan.nii.gz"
    volume.parent.mkdir()
    nib.save(nib.Nifti1Image(np.zeros((16, 16, 8, 3), dtype=np.float32), np.eye(4)), volume)
    ckpt = random_ckpt("medlitenet_hippocampus")
    code, err = _infer(str(volume), "-o", str(tmp_path / "out"), "--bundle", "medlitenet_hippocampus", "--ckpt",
                       str(ckpt), capsys=capsys)
    _one_line(code, err, "scan.nii.gz")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder(random_ckpt, picture: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        code, err = _infer(str(picture), "-o", str(out), "--ckpt", str(random_ckpt("medlitenet")), capsys=capsys)
    finally:
        out.chmod(stat.S_IRWXU)
    _one_line(code, err, str(out), "ermission denied")


def test_output_path_under_a_file(random_ckpt, picture: Path, tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code, err = _infer(str(picture), "-o", str(blocker / "out"), "--ckpt", str(random_ckpt("medlitenet")), capsys=capsys)
    _one_line(code, err, str(blocker))


def test_debug_shows_the_traceback(picture: Path, tmp_path: Path) -> None:
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"")
    with pytest.raises(ValueError, match="is empty"):
        main(["--debug", "infer", str(picture), "-o", str(tmp_path / "out"), "--ckpt", str(weights), "--device", "cpu"])


def test_unwritable_output_folder_as_any_user(random_ckpt, picture: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    """The same refusal where the test runs as root (which may write anywhere): writing is made to fail."""
    out = tmp_path / "out"
    real_mkdir = Path.mkdir

    def refuse(self: Path, *args, **kwargs) -> None:
        if self == out or out in self.parents:
            raise PermissionError(13, "Permission denied", str(self))
        real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    code, err = _infer(str(picture), "-o", str(out), "--ckpt", str(random_ckpt("medlitenet")), capsys=capsys)
    _one_line(code, err, f"cannot use {out}", "Permission denied")
