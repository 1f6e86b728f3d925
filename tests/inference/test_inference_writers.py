# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the output writers: a multi-label DICOM SEG written for a synthetic DICOM series reads back (highdicom) to
the same label map slice by slice, with the label names as segment labels; a series with blank UIDs is refused in one
sentence; NIfTI keeps an oblique affine exactly and stores uint8; PNG masks keep (H, W) with 0/255 or label values;
the overlay keeps the picture's size; and a failed write leaves neither the target nor a temporary file."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from inference_helpers import asymmetric_picture, builders
from PIL import Image

from monai_lite.data import load_dicom_series
from monai_lite.inference.writers import (
    dicom_seg_frames,
    write_dicom_seg,
    write_nifti,
    write_overlay,
    write_png_mask,
)

NAMES = {1: "anterior", 2: "posterior"}


def _series(folder: Path) -> tuple[list[Path], np.ndarray, np.ndarray]:
    stored = (np.arange(10 * 8 * 4) % 700).reshape(10, 8, 4).astype(np.uint16)
    files = builders.write_dicom_series(folder, stored)
    volume = load_dicom_series(folder)
    labels = np.zeros(volume.shape, np.uint8)  # (columns, rows, slices)
    labels[1:4, 2:6, 0] = 1
    labels[5:8, 1:3, 2:4] = 2
    labels[0, 0, 3] = 1
    return files, labels, volume.affine.numpy()


def test_dicom_seg_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("highdicom", reason="DICOM SEG needs the dicom-seg extra (highdicom)")
    import highdicom as hd

    files, labels, affine = _series(tmp_path / "series")
    path = write_dicom_seg(labels, affine, files, tmp_path / "out" / "case_seg.dcm", NAMES, model_name="dummy")
    seg = hd.seg.segread(path)
    assert [seg.get_segment_description(n).segment_label for n in (1, 2)] == ["anterior", "posterior"]
    sources = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    uids = [ds.SOPInstanceUID for ds in sources]
    read_back = seg.get_pixels_by_source_instance(uids, combine_segments=True)
    # The files are written at ascending z (with descending InstanceNumber), which is the volume's slice order.
    assert [float(ds.ImagePositionPatient[2]) for ds in sources] == sorted(float(ds.ImagePositionPatient[2]) for ds in sources)
    assert read_back.shape == (4, 10, 8)
    for k, frame in enumerate(read_back):
        np.testing.assert_array_equal(frame, labels[:, :, k].T)  # DICOM (row, column) = MONAI (y, x)
    np.testing.assert_array_equal(dicom_seg_frames(labels, affine, sources), read_back)
    assert seg.SeriesInstanceUID != sources[0].SeriesInstanceUID
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == sources[0].SeriesInstanceUID


def test_dicom_seg_refuses_blank_uids(tmp_path: Path) -> None:
    pytest.importorskip("highdicom", reason="DICOM SEG needs the dicom-seg extra (highdicom)")
    files, labels, affine = _series(tmp_path / "series")
    for f in files:
        ds = pydicom.dcmread(f)
        ds.SeriesInstanceUID = ""
        ds.save_as(f)
    with pytest.raises(ValueError, match="blank SeriesInstanceUID"):
        write_dicom_seg(labels, affine, files, tmp_path / "out" / "seg.dcm", NAMES)
    assert not (tmp_path / "out" / "seg.dcm").exists()


def test_nifti_keeps_an_oblique_affine(tmp_path: Path) -> None:
    affine = np.array([[0.0, -1.9, 0.35, 12.0], [0.8, 0.1, 0.0, -7.5], [0.05, 0.0, 3.0, 40.0], [0, 0, 0, 1.0]])
    labels = np.zeros((5, 6, 7), np.uint8)
    labels[1, 2, 3] = 2
    write_nifti(labels, affine, tmp_path / "v_seg.nii.gz")
    saved = nib.load(tmp_path / "v_seg.nii.gz")
    np.testing.assert_allclose(saved.affine, affine, atol=1e-6)  # NIfTI stores float32
    assert saved.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asarray(saved.dataobj), labels)


def test_png_mask_and_overlay(tmp_path: Path) -> None:
    labels = np.zeros((40, 64), np.uint8)
    labels[4:14, 6:30] = 1
    write_png_mask(labels, tmp_path / "binary.png", binary=True)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "binary.png")), labels * 255)
    labels[20:30, 40:60] = 3
    write_png_mask(labels, tmp_path / "multi.png", binary=False)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "multi.png")), labels)
    grey16 = (np.arange(40 * 64).reshape(40, 64) * 20).astype(np.uint16)  # a 16-bit grey picture
    for picture in (asymmetric_picture(40, 64), grey16):
        write_overlay(picture, labels, tmp_path / "overlay.png")
        overlay = Image.open(tmp_path / "overlay.png")
        assert overlay.size == (64, 40) and overlay.mode == "RGB"
    with pytest.raises(ValueError, match="picture is"):
        write_overlay(asymmetric_picture(40, 64), labels.T, tmp_path / "bad.png")
