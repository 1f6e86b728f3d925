# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""check_series refuses a DICOM series that a reader would otherwise stack wrongly without an error: a slice without
pixel data, a slice of another orientation, a slice of another size, a missing slice (gap), a duplicated position,
a slice without ImagePositionPatient. Each refusal names the series folder and the offending slice files, and comes
both from load_dicom_series (and so from prepare, whose report names them) and from infer's find_cases, before any
pixel is decoded. A clean synthetic
series and the real TotalSegmentator CT series (JPEG 2000, 3 mm slices 2 mm apart) pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from data_builders import real_data_dir, save_nifti, tree_digest, write_dicom_series

from monai_lite.data import (
    DatasetValidationError,
    DicomSeriesError,
    check_series,
    find_dicom_series,
    load_dicom_series,
    prepare_datalist,
)
from monai_lite.inference.inputs import find_cases


def _series(folder: Path, n: int = 5, **kwargs) -> list[Path]:
    stored = np.random.default_rng(3).integers(0, 2000, size=(6, 5, n)).astype(np.uint16)
    return write_dicom_series(folder, stored, **kwargs)


def _edit(path: Path, change) -> None:
    ds = pydicom.dcmread(path)
    change(ds)
    ds.save_as(path)


def _refused(folder: Path, *patterns: str) -> None:
    """Both readers refuse ``folder``, naming it and every pattern (file names, the problem)."""
    for read in (load_dicom_series, find_cases):
        with pytest.raises(DicomSeriesError) as info:
            read(folder)
        message = str(info.value)
        assert str(folder) in message, message
        for pattern in patterns:
            assert pattern in message, (pattern, message)


def test_a_clean_series_passes(tmp_path: Path) -> None:
    _series(tmp_path / "ok")
    info = next(iter(find_dicom_series(tmp_path / "ok").values()))
    check_series(tmp_path / "ok", info)
    assert tuple(load_dicom_series(tmp_path / "ok").shape) == (5, 6, 5)


def test_slice_without_pixel_data(tmp_path: Path) -> None:
    files = _series(tmp_path / "s")
    _edit(files[2], lambda ds: ds.__delattr__("PixelData"))
    _refused(tmp_path / "s", "hold no pixel data", files[2].name)


def test_slice_with_another_orientation(tmp_path: Path) -> None:
    files = _series(tmp_path / "s")
    tilted = [1.0, 0.0, 0.0, 0.0, float(np.cos(0.1)), float(np.sin(0.1))]
    _edit(files[3], lambda ds: setattr(ds, "ImageOrientationPatient", tilted))
    _refused(tmp_path / "s", "ImageOrientationPatient that differs", files[3].name)


def test_orientation_within_tolerance_passes(tmp_path: Path) -> None:
    files = _series(tmp_path / "s")
    _edit(files[1], lambda ds: setattr(ds, "ImageOrientationPatient", [1, 0, 0, 0, 0.9999999, 0.0001]))
    check_series(tmp_path / "s", next(iter(find_dicom_series(tmp_path / "s").values())))


def test_missing_slice_is_a_gap(tmp_path: Path) -> None:
    files = _series(tmp_path / "s", n=6, step=2.0)
    files[3].unlink()  # slices 2 and 4 are now 4 mm apart
    _refused(tmp_path / "s", "not evenly spaced", f"{files[2].name} -> {files[4].name}: 4.000 mm", "1 slice(s) missing")


def test_duplicate_position(tmp_path: Path) -> None:
    files = _series(tmp_path / "s", positions=[0.0, 2.0, 2.0, 4.0, 6.0])
    _refused(tmp_path / "s", "share one position", files[1].name, files[2].name)


def test_uneven_step_beyond_tolerance(tmp_path: Path) -> None:
    files = _series(tmp_path / "s", positions=[0.0, 2.0, 4.0, 6.05, 8.0])
    _refused(tmp_path / "s", "not evenly spaced", files[3].name)


def test_step_within_tolerance_passes(tmp_path: Path) -> None:
    _series(tmp_path / "s", positions=[0.0, 2.0, 4.005, 6.0, 8.0])
    check_series(tmp_path / "s", next(iter(find_dicom_series(tmp_path / "s").values())))


def test_slice_without_position(tmp_path: Path) -> None:
    files = _series(tmp_path / "s")
    _edit(files[0], lambda ds: ds.__delattr__("ImagePositionPatient"))
    _refused(tmp_path / "s", "no valid ImagePositionPatient", files[0].name)


def test_slice_of_another_size(tmp_path: Path) -> None:
    files = _series(tmp_path / "s")

    def smaller(ds) -> None:
        ds.Rows, ds.Columns = 3, 5
        ds.PixelData = np.zeros((3, 5), dtype=np.uint16).tobytes()

    _edit(files[4], smaller)
    _refused(tmp_path / "s", "are not 6x5", files[4].name)


def test_prepare_refuses_a_broken_series(tmp_path: Path) -> None:
    files = _series(tmp_path / "data" / "series")
    _edit(files[1], lambda ds: ds.__delattr__("PixelData"))
    label = save_nifti(tmp_path / "data" / "series_seg.nii.gz", np.ones((5, 6, 5), np.uint8))
    before = tree_digest(tmp_path / "data")
    with pytest.raises(DatasetValidationError) as info:
        prepare_datalist(tmp_path / "data" / "series", label, tmp_path / "out" / "datalist.json", progress=False)
    problems = [p for p in info.value.errors if p.kind == "dicom_series"]
    assert problems and files[1].name in problems[0].message and "hold no pixel data" in problems[0].message
    assert not (tmp_path / "out").exists() and tree_digest(tmp_path / "data") == before


@pytest.mark.realdata
def test_the_real_ct_series_passes() -> None:
    root = real_data_dir()
    if root is None or not (root / "ct-totalseg" / "dicom").is_dir():
        pytest.skip("the shared real data (ct-totalseg/dicom) is not available")
    folder = root / "ct-totalseg" / "dicom"
    info = next(iter(find_dicom_series(folder).values()))
    check_series(folder, info)
    assert len(info.files) == 20 and info.slice_step() == pytest.approx(2.0)
    assert [c.kind for c in find_cases(folder)] == ["dicom"]
