# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""NIfTI files cut short are told from whole ones (monai_lite.data.nifti_check.nifti_cut_short).

Proves: ITK's reader, the volume presets' reader, loads a ``.nii.gz`` cut in half without an error (why the check
exists); whole ``.nii`` and ``.nii.gz`` files, a whole file of two gzip members, one with bytes after the voxels,
and a file nibabel cannot read at all (left to the loader) pass; ``.nii`` and ``.nii.gz`` files cut anywhere in the
voxels, a short payload compressed whole, and a mask of zeros cut by 10 bytes are each named with the exact number
of voxel bytes the file holds.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from monai.transforms import LoadImage

from monai_lite.data.nifti_check import nifti_cut_short

SHAPE = (24, 28, 20)
VOXELS = 24 * 28 * 20 * 4
HEADER = 352


def _save(path: Path, array: np.ndarray | None = None) -> Path:
    array = np.random.default_rng(0).normal(100, 20, SHAPE).astype(np.float32) if array is None else array
    nib.save(nib.Nifti1Image(array, np.eye(4)), path)
    return path


def _uncompressed(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())


def test_itk_reads_a_cut_file_without_an_error(tmp_path: Path) -> None:
    path = _save(tmp_path / "v.nii.gz")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert tuple(LoadImage(reader="ITKReader", image_only=True)(str(path)).shape) == SHAPE


def test_whole_files_pass(tmp_path: Path) -> None:
    assert nifti_cut_short(_save(tmp_path / "v.nii.gz")) is None
    assert nifti_cut_short(_save(tmp_path / "v.nii")) is None
    raw = _uncompressed(tmp_path / "v.nii.gz")
    (tmp_path / "two.nii.gz").write_bytes(gzip.compress(raw[:1000]) + gzip.compress(raw[1000:]))
    assert nifti_cut_short(tmp_path / "two.nii.gz") is None
    (tmp_path / "tail.nii").write_bytes((tmp_path / "v.nii").read_bytes() + b"extra")
    assert nifti_cut_short(tmp_path / "tail.nii") is None
    (tmp_path / "junk.nii.gz").write_bytes(b"not a nifti file at all")
    assert nifti_cut_short(tmp_path / "junk.nii.gz") is None
    assert nifti_cut_short(tmp_path / "missing.nii.gz") is None
    assert nifti_cut_short(tmp_path / "picture.png") is None


@pytest.mark.parametrize("ending, keep", [(".nii", 0.5), (".nii", 0.999), (".nii.gz", 0.5), (".nii.gz", 0.95)])
def test_cut_files_are_named_with_what_they_hold(tmp_path: Path, ending: str, keep: float) -> None:
    path = _save(tmp_path / f"v{ending}")
    whole = path.read_bytes()
    path.write_bytes(whole[: int(len(whole) * keep)])
    held = len(path.read_bytes()) - HEADER if ending == ".nii" else None
    problem = nifti_cut_short(path)
    assert problem is not None and problem.startswith(
        f"the file is cut short: its header describes 24x28x20 float32 voxels ({VOXELS} bytes after a {HEADER}-byte "
        "header), only "
    ), problem
    count = int(problem.split("only ")[1].split(" ")[0])
    assert 0 <= count < VOXELS and (held is None or count == held)


def test_a_short_payload_compressed_whole_is_named(tmp_path: Path) -> None:
    path = _save(tmp_path / "v.nii.gz")
    raw = _uncompressed(path)
    path.write_bytes(gzip.compress(raw[: HEADER + 1000]))
    assert "only 1000 of those bytes are in it" in nifti_cut_short(path)


def test_a_cut_mask_of_zeros_is_named(tmp_path: Path) -> None:
    path = _save(tmp_path / "m.nii.gz", np.zeros((200, 200, 100), np.uint8))
    path.write_bytes(path.read_bytes()[:-10])  # loses the trailer and the last compressed bytes
    problem = nifti_cut_short(path)
    assert problem is not None and "200x200x100 uint8 voxels (4000000 bytes" in problem
