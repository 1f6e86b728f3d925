# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""load_dicom_series reads a tiny pydicom-written CT series through MONAI LoadImage + ITKReader in Hounsfield units
(stored + intercept, checked against pydicom), sorts slices by ImagePositionPatient (not InstanceNumber), takes the
slice spacing from positions (not SliceThickness), picks a series by UID when a folder holds two, and refuses a
single slice, uneven slices, a single file or a folder without DICOM with clear messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from data_builders import write_dicom_series

from monai_lite.data import DicomSeriesError, find_dicom_series, load_dicom_series


@pytest.fixture(scope="module")
def stored() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 3000, size=(6, 5, 4)).astype(np.uint16)


def test_hu_geometry_and_order(tmp_path: Path, stored: np.ndarray) -> None:
    write_dicom_series(tmp_path / "s", stored, pixel_spacing=(0.8, 0.7), step=2.5, thickness=3.0, intercept=-1024.0)
    image = load_dicom_series(tmp_path / "s")
    assert tuple(image.shape) == (5, 6, 4)  # MONAI (x = columns, y = rows, z)
    expected = np.transpose(stored, (1, 0, 2)).astype(np.float32) - 1024.0
    np.testing.assert_array_equal(image.numpy(), expected)
    affine = image.affine.numpy()
    np.testing.assert_allclose(np.linalg.norm(affine[:3, :3], axis=0), [0.7, 0.8, 2.5], atol=1e-6)  # step, not 3.0
    np.testing.assert_allclose(affine[:3, 3], [20.0, 10.0, -100.0], atol=1e-6)  # LPS (-20, -10) -> RAS (20, 10)
    assert image.meta["slice_step_mm"] == pytest.approx(2.5) and image.meta["modality"] == "CT"


def test_rescale_slope(tmp_path: Path, stored: np.ndarray) -> None:
    write_dicom_series(tmp_path / "s", stored, slope=2.0, intercept=-100.0)
    image = load_dicom_series(tmp_path / "s")
    np.testing.assert_allclose(image.numpy(), np.transpose(stored, (1, 0, 2)) * 2.0 - 100.0)


def test_two_series_need_a_choice(tmp_path: Path, stored: np.ndarray) -> None:
    write_dicom_series(tmp_path / "mixed", stored, series_uid="1.2.3.4")
    other = write_dicom_series(tmp_path / "other", stored[:, :, :3] // 2, series_uid="1.2.3.5")
    for f in other:
        f.rename(tmp_path / "mixed" / f"B{f.name}")
    assert sorted(find_dicom_series(tmp_path / "mixed")) == ["1.2.3.4", "1.2.3.5"]
    with pytest.raises(DicomSeriesError, match="must hold one series.*found 2.*1.2.3.4.*1.2.3.5"):
        load_dicom_series(tmp_path / "mixed")
    chosen = load_dicom_series(tmp_path / "mixed", series_uid="1.2.3.5")
    assert tuple(chosen.shape) == (5, 6, 3) and chosen.meta["series_instance_uid"] == "1.2.3.5"
    with pytest.raises(DicomSeriesError, match="is not in"):
        load_dicom_series(tmp_path / "mixed", series_uid="9.9")


def test_refusals(tmp_path: Path, stored: np.ndarray) -> None:
    files = write_dicom_series(tmp_path / "one", stored[:, :, :1])
    with pytest.raises(DicomSeriesError, match="at least 2 slices"):
        load_dicom_series(tmp_path / "one")
    with pytest.raises(DicomSeriesError, match="single DICOM file: pass the folder"):
        load_dicom_series(files[0])
    write_dicom_series(tmp_path / "gap", stored, positions=[0.0, 2.0, 4.0, 8.0])
    with pytest.raises(DicomSeriesError, match="evenly spaced"):
        load_dicom_series(tmp_path / "gap")
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "a.txt").write_text("x")
    with pytest.raises(DicomSeriesError, match="found none"):
        load_dicom_series(tmp_path / "nothing")
