# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the volume paths of the Predictor: a NIfTI with an oblique, anisotropic affine comes back as a NIfTI whose
affine equals the input's exactly and whose foreground is the input's bright block (so Orientation/Invertd flips are
undone), through MONAI's sliding window (windows smaller than the volume); a 2D network on a volume runs slice by
slice (every network call sees 2D slices, all Z slices are seen) and agrees with the 3D result; TTA of a pointwise
model leaves the mask unchanged; a DICOM series gives a NIfTI with the affine of load_dicom_series; and a bundle of
the wrong kind (3D on a picture, picture preset on a volume) is refused in one sentence."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from inference_helpers import Pointwise, asymmetric_picture, builders, dummy_model
from PIL import Image

from monai_lite.data import load_dicom_series
from monai_lite.inference import Predictor

OBLIQUE = np.array(
    [[0.0, -1.9, 0.35, 12.0], [0.8, 0.1, 0.0, -7.5], [0.05, 0.0, 3.0, 40.0], [0.0, 0.0, 0.0, 1.0]], dtype=np.float64
)


def _volume() -> tuple[np.ndarray, np.ndarray]:
    volume = np.full((14, 11, 9), 10.0, np.float32)
    block = np.zeros(volume.shape, np.uint8)
    block[2:6, 1:8, 5:9] = 1
    volume[block == 1] = 100.0
    return volume, block


@pytest.fixture
def nifti(tmp_path: Path) -> tuple[Path, np.ndarray]:
    volume, block = _volume()
    (tmp_path / "in").mkdir()
    path = tmp_path / "in" / "oblique.nii.gz"
    nib.save(nib.Nifti1Image(volume, OBLIQUE), path)
    return path, block


def test_nifti_affine_and_voxels_come_back(nifti: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, block = nifti
    net = Pointwise(3, scale=20.0)
    predictor = Predictor([dummy_model(net, "mri", 3, roi_size=(8, 8, 4))], overlap=0.25, blend="gaussian")
    record = predictor.write(path, tmp_path / "out", progress=False)
    assert len(net.seen) > 1 and all(shape[2:] == (8, 8, 4) for shape in net.seen)  # real sliding windows
    saved = nib.load(tmp_path / "out" / "oblique_seg.nii.gz")
    source = nib.load(path)
    np.testing.assert_array_equal(saved.affine, source.affine)
    assert saved.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asarray(saved.dataobj), block)
    case = record["cases"][0]
    assert case["shape"] == [14, 11, 9]
    np.testing.assert_allclose(case["spacing"], np.linalg.norm(OBLIQUE[:3, :3], axis=0), atol=1e-5)


def test_2d_network_goes_slice_by_slice(nifti: tuple[Path, np.ndarray]) -> None:
    path, block = nifti
    net = Pointwise(2, scale=20.0)
    mask = Predictor([dummy_model(net, "mri", 2, roi_size=(8, 8))], sw_batch_size=3)(path)
    assert net.seen and all(len(shape) == 4 for shape in net.seen)  # (B, C, H, W): 2D slices only
    assert sum(shape[0] for shape in net.seen) == 9  # every slice of the 9 along the axial axis
    np.testing.assert_array_equal(mask, block)


def test_tta_of_pointwise_model_changes_nothing(nifti: tuple[Path, np.ndarray]) -> None:
    path, block = nifti
    plain = Predictor([dummy_model(Pointwise(3, scale=20.0), "mri", 3, roi_size=(8, 8, 4))])
    tta = Predictor([dummy_model(Pointwise(3, scale=20.0), "mri", 3, roi_size=(8, 8, 4))], tta=True)
    np.testing.assert_allclose(tta.predict_proba(path), plain.predict_proba(path), atol=1e-5)
    np.testing.assert_array_equal(tta(path), block)


def test_volume_array_with_affine(nifti: tuple[Path, np.ndarray]) -> None:
    path, block = nifti
    volume, _ = _volume()
    predictor = Predictor([dummy_model(Pointwise(3, scale=20.0), "mri", 3, roi_size=(8, 8, 4))])
    np.testing.assert_array_equal(predictor(volume, affine=OBLIQUE), block)
    np.testing.assert_array_equal(predictor([volume, path], affine=OBLIQUE)[1], block)


def test_dicom_series_to_nifti_keeps_the_series_affine(tmp_path: Path) -> None:
    stored = np.full((12, 10, 5), 1000, np.uint16)  # rows, columns, slices
    stored[2:5, 6:9, 1:3] = 1500
    builders.write_dicom_series(tmp_path / "series", stored)
    predictor = Predictor([dummy_model(Pointwise(3, scale=20.0, offset=0.6), "ct", 3, roi_size=(8, 8, 4))],
                          dicom_seg="no")
    record = predictor.write(tmp_path / "series", tmp_path / "out", progress=False)
    reference = load_dicom_series(tmp_path / "series")
    saved = nib.load(tmp_path / "out" / "series_seg.nii.gz")
    np.testing.assert_allclose(saved.affine, reference.affine.numpy(), atol=1e-6)
    labels = np.asarray(saved.dataobj)
    assert labels.shape == tuple(reference.shape)  # (columns, rows, slices), as MONAI/ITK read it
    # The block's HU 476 maps to 0.74 > 0.6, the rest (-24 HU) to 0.49; ITK's x runs along DICOM columns.
    np.testing.assert_array_equal(labels, (stored > 1000).transpose(1, 0, 2))
    assert record["cases"][0]["series_uid"] == reference.meta["series_instance_uid"]
    assert [Path(p).name for p in record["cases"][0]["outputs"]] == ["series_seg.nii.gz"]


def test_wrong_kind_of_bundle_is_refused(nifti: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, _ = nifti
    Image.fromarray(asymmetric_picture()).save(tmp_path / "p.png")
    volume_bundle = Predictor([dummy_model(Pointwise(3), "mri", 3)])
    with pytest.raises(ValueError, match="reads volumes .* is a 2D picture"):
        volume_bundle(tmp_path / "p.png")
    picture_bundle = Predictor([dummy_model(Pointwise(2, in_channels=3), "dermoscopy", 2, in_channels=3)])
    with pytest.raises(ValueError, match="reads 2D pictures, but .*oblique.nii.gz is a volume; .*--set preset=ct"):
        picture_bundle(path)
