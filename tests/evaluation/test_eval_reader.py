# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves ``read_mask`` reads masks the same way for prediction and ground truth: PNG row-major (H, W) with spacing
1, 0/255 masks as 0/1 (unless 255 is a named class), grey-as-RGB masks accepted, NIfTI spacing from the header, and
one-sentence errors naming the file for colour, lossy non-binary, non-integer and missing masks."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from _eval_helpers import save_nifti, save_png, square
from PIL import Image

from monai_lite.evaluation.reader import read_mask


def test_png_is_row_major_and_255_reads_as_foreground(tmp_path: Path) -> None:
    array = square((5, 9), slice(1, 3), slice(2, 7), value=255)  # non-square: a transpose would change the shape
    mask = read_mask(save_png(tmp_path / "a.png", array))
    assert mask.array.shape == (5, 9)
    np.testing.assert_array_equal(mask.array, array > 0)
    assert mask.spacing == (1.0, 1.0) and mask.affine is None


def test_255_kept_when_it_is_a_named_class(tmp_path: Path) -> None:
    path = save_png(tmp_path / "a.png", square((4, 4), slice(0, 2), slice(0, 2), value=255))
    assert set(np.unique(read_mask(path, named=(255,)).array)) == {0, 255}


def test_multiclass_png_values_kept(tmp_path: Path) -> None:
    array = square((4, 6), slice(0, 2), slice(0, 2), value=1)
    array[3, 5] = 2
    assert set(np.unique(read_mask(save_png(tmp_path / "m.png", array)).array)) == {0, 1, 2}


def test_grey_mask_saved_as_rgb_is_accepted_colour_is_not(tmp_path: Path) -> None:
    grey = square((4, 4), slice(0, 2), slice(0, 2), value=255)
    Image.fromarray(np.stack([grey] * 3, axis=-1), "RGB").save(tmp_path / "grey.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "grey.png").array, grey > 0)
    colour = np.stack([grey, grey // 2, grey], axis=-1)
    Image.fromarray(colour, "RGB").save(tmp_path / "colour.png")
    with pytest.raises(ValueError, match=f"mask {tmp_path / 'colour.png'} is a colour image"):
        read_mask(tmp_path / "colour.png")


def test_lossy_jpeg_with_grey_values_is_refused(tmp_path: Path) -> None:
    array = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (16, 1))
    Image.fromarray(array, "L").save(tmp_path / "m.jpg")
    with pytest.raises(ValueError, match="JPEG whose values are not exactly binary"):
        read_mask(tmp_path / "m.jpg")


def test_nifti_spacing_from_header(tmp_path: Path) -> None:
    array = np.zeros((4, 5, 6), np.uint8)
    array[1, 2, 3] = 2
    mask = read_mask(save_nifti(tmp_path / "v.nii.gz", array, (0.5, 1.0, 3.0)))
    assert mask.array.shape == (4, 5, 6) and mask.array[1, 2, 3] == 2
    assert mask.spacing == pytest.approx((0.5, 1.0, 3.0))
    assert mask.affine is not None


def test_non_integer_and_missing_masks(tmp_path: Path) -> None:
    data = np.full((3, 3, 3), 0.5, np.float32)
    nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / "f.nii.gz")
    with pytest.raises(ValueError, match=f"mask {tmp_path / 'f.nii.gz'} holds non-integer values"):
        read_mask(tmp_path / "f.nii.gz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_mask(tmp_path / "none.png")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(ValueError, match="unknown ending"):
        read_mask(tmp_path / "x.txt")


def test_float_labels_with_integer_values_are_fine(tmp_path: Path) -> None:
    # Two MSD Hippocampus labels are stored as float32.
    data = np.zeros((3, 3, 3), np.float32)
    data[0, 0, 0] = 2.0
    nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / "f.nii.gz")
    assert read_mask(tmp_path / "f.nii.gz").array.dtype == np.int64
