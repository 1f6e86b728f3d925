# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""On the real CT of shared/data/ct-totalseg (found through $MONAI_LITE_DATA or ../shared/data; skipped if absent):
inference on the JPEG 2000 DICOM series folder writes a NIfTI mask whose affine is the affine ITK/MONAI give the
series (load_dicom_series), and which, after Orientation to RAS, has the shape and affine (within 1e-3) of
example_seg_dicom.nii.gz, the NIfTI of the same scan (stored LAS, rows flipped). The series's blank UIDs are logged as
the reason no DICOM SEG was written, and the input folder is left untouched."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from inference_helpers import Pointwise, builders, dummy_model
from monai.transforms import Compose, EnsureChannelFirst, LoadImage, Orientation

from monai_lite.data import load_dicom_series
from monai_lite.inference import Predictor

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def ct_dir() -> Path:
    root = builders.real_data_dir()
    if root is None or not (root / "ct-totalseg" / "dicom").is_dir():
        pytest.skip("ct-totalseg not found: set MONAI_LITE_DATA to the shared/data folder, or place it at ../shared/data")
    return root / "ct-totalseg"


def _ras(path: Path):
    return Compose([LoadImage(image_only=True), EnsureChannelFirst(), Orientation(axcodes="RAS")])(str(path))


def test_dicom_ct_to_nifti_geometry(ct_dir: Path, tmp_path: Path) -> None:
    before = builders.tree_digest(ct_dir / "dicom")
    # A pointwise "bone" model (HU window 0 +- 1000 -> 0.6 is about 200 HU) through the ct preset, windows 128x128x20.
    model = dummy_model(Pointwise(3, scale=20.0, offset=0.6), "ct", 3, roi_size=(128, 128, 20))
    record = Predictor([model]).write(ct_dir / "dicom", tmp_path / "out", progress=False)
    case = record["cases"][0]
    assert case["kind"] == "dicom" and case["shape"] == [512, 512, 20]
    np.testing.assert_allclose(case["spacing"], [0.9765625, 0.9765625, 2.0], atol=1e-4)
    assert [Path(p).name for p in case["outputs"]] == ["dicom_seg.nii.gz"]
    assert any("blank" in note for note in case["notes"])  # the shared series has blank UIDs: no SEG possible

    saved = nib.load(tmp_path / "out" / "dicom_seg.nii.gz")
    series = load_dicom_series(ct_dir / "dicom")
    np.testing.assert_allclose(saved.affine, series.affine.numpy(), atol=1e-4)
    ours, reference = _ras(tmp_path / "out" / "dicom_seg.nii.gz"), _ras(ct_dir / "example_seg_dicom.nii.gz")
    assert ours.shape == reference.shape == (1, 512, 512, 20)
    np.testing.assert_allclose(ours.affine.numpy(), reference.affine.numpy(), atol=1e-3)
    # Bone (> ~200 HU) found by the pointwise model overlaps the reference's vertebrae (labels 26-50 are vertebrae).
    vertebrae = (reference[0] >= 26) & (reference[0] <= 50)
    assert float((ours[0] > 0)[vertebrae].float().mean()) > 0.5
    assert builders.tree_digest(ct_dir / "dicom") == before
    assert json.loads((tmp_path / "out" / "inference_log.json").read_text())["cases"][0]["series_uid"]
