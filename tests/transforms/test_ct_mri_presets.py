# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the 3D presets (ct, ct_* windows, mri, mri_hippocampus) get geometry and intensities exactly right.

Synthetic NIfTI volumes are stored LPS with anisotropic spacing, so a missed reorientation or resampling shows.
Checked: output is RAS with the requested spacing (``pixdim``) or with voxels, shape and spacing untouched
(``pixdim`` null); both readers agree; HU windows map known HU values to the documented [0, 1] values; every
ct_* preset lists, loads and differs from ``ct`` only in its window; MRI clipping + non-zero z-score makes a uint8
volume and a float32 copy with a huge outlier comparable; labels come out integer; patch crops have the patch
shape on volumes smaller than the patch and move image and label together; bad names and values are refused.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from _preset_helpers import save_nifti
from monai.transforms import Compose, Identityd, Spacingd

from monai_lite.transforms import list_presets, load_preset, read_preset, spacingd_or_identity

WINDOWS = {  # preset: (width, level), as radiology texts define them
    "ct_abdomen": (400, 40),
    "ct_liver": (150, 30),
    "ct_lung": (1500, -600),
    "ct_bone": (1800, 400),
    "ct_brain": (80, 40),
    "ct_mediastinum": (350, 50),
}
SHAPE = (7, 9, 5)  # x, y, z as stored; all different on purpose
SPACING = (0.8, 0.7, 2.5)


def lps_affine() -> np.ndarray:
    """Voxel axes run towards the patient's left and posterior (axcodes LPS, as DICOM stores), anisotropic."""
    affine = np.diag([-SPACING[0], -SPACING[1], SPACING[2], 1.0])
    affine[:3, 3] = (12.0, 30.0, -40.0)
    return affine


@pytest.fixture()
def ct_case(tmp_path: Path) -> dict:
    hu = np.arange(np.prod(SHAPE), dtype=np.int16).reshape(SHAPE) * 7 - 1000  # every voxel distinct, -1000..
    label = np.zeros(SHAPE, np.uint8)
    label[1:3, 2:7, 1:4] = 1  # off-centre box: a wrong flip moves it
    label[4:6, 1:3, 2:3] = 2
    image_path = save_nifti(tmp_path / "ct.nii.gz", hu, lps_affine())
    label_path = save_nifti(tmp_path / "ct_seg.nii.gz", label, lps_affine())
    return {"image": str(image_path), "label": str(label_path), "_hu": hu, "_label": label}


def deterministic(preset: str, **params) -> Compose:
    return Compose(load_preset(preset, "deterministic", **params))


def axcodes(affine: torch.Tensor) -> str:
    return "".join(nib.aff2axcodes(np.asarray(affine)))


@pytest.mark.parametrize("reader", ["ITKReader", "NibabelReader"])
def test_native_spacing_is_untouched_and_reoriented_to_ras(reader: str, ct_case: dict) -> None:
    out = deterministic("ct", reader=reader)({"image": ct_case["image"], "label": ct_case["label"]})
    image, label = out["image"], out["label"]
    assert axcodes(image.affine) == axcodes(label.affine) == "RAS"
    np.testing.assert_allclose(image.pixdim.numpy(), SPACING, rtol=1e-6)
    assert tuple(image.shape) == tuple(label.shape) == (1, *SHAPE)
    # RAS from LPS flips the first two stored axes; no voxel may be interpolated when pixdim is null
    expected_hu = ct_case["_hu"][::-1, ::-1, :].astype(np.float64)
    np.testing.assert_allclose(image[0].numpy(), np.clip((expected_hu + 1000) / 2000, 0, 1), atol=1e-6)
    np.testing.assert_array_equal(label[0].numpy(), ct_case["_label"][::-1, ::-1, :])
    # the world position of voxel (0, 0, 0) is the stored corner at the far end of x and y
    corner = lps_affine() @ np.array([SHAPE[0] - 1, SHAPE[1] - 1, 0, 1.0])
    np.testing.assert_allclose(image.affine.numpy()[:3, 3], corner[:3], atol=1e-5)  # NIfTI world is RAS already
    assert label.dtype == torch.int16 and image.dtype == torch.float32


def test_pixdim_resamples_to_ras_at_the_requested_spacing(ct_case: dict) -> None:
    pixdim = (1.6, 1.4, 5.0)
    out = deterministic("ct_abdomen", pixdim=pixdim)({"image": ct_case["image"], "label": ct_case["label"]})
    image, label = out["image"], out["label"]
    assert axcodes(image.affine) == "RAS"
    np.testing.assert_allclose(image.pixdim.numpy(), pixdim, rtol=1e-6)
    np.testing.assert_allclose(image.affine.numpy(), label.affine.numpy(), atol=1e-6)
    assert image.shape == label.shape
    assert label.dtype == torch.int16 and set(torch.unique(label).tolist()) <= {0, 1, 2}
    assert 1 in torch.unique(label).tolist()


def test_readers_agree(ct_case: dict) -> None:
    pixdim = (1.0, 1.0, 2.0)
    itk = deterministic("ct", pixdim=pixdim, reader="ITKReader")({"image": ct_case["image"]})["image"]
    nib_ = deterministic("ct", pixdim=pixdim, reader="NibabelReader")({"image": ct_case["image"]})["image"]
    np.testing.assert_allclose(itk.affine.numpy(), nib_.affine.numpy(), atol=1e-5)
    torch.testing.assert_close(itk.as_tensor(), nib_.as_tensor(), atol=1e-5, rtol=0)


@pytest.mark.parametrize("preset", sorted(WINDOWS))
def test_hu_windows(preset: str, tmp_path: Path) -> None:
    width, level = WINDOWS[preset]
    hu = np.array([-1000, 40, 1000, level - width / 2, level, level + width / 2], np.float32).reshape(6, 1, 1)
    path = save_nifti(tmp_path / "hu.nii.gz", hu, np.eye(4))
    out = deterministic(preset)({"image": str(path)})["image"][0, :, 0, 0].numpy()
    expected = np.clip((hu.ravel() - (level - width / 2)) / width, 0.0, 1.0)
    np.testing.assert_allclose(out, expected, atol=1e-6)
    np.testing.assert_allclose(out[3:], [0.0, 0.5, 1.0], atol=1e-6)  # window edges and centre


def test_every_ct_window_lists_loads_and_only_changes_the_window() -> None:
    assert {"ct", "mri", "mri_hippocampus", *WINDOWS} <= set(list_presets())
    base = read_preset("ct")
    for preset, (width, level) in WINDOWS.items():
        config = read_preset(preset)
        assert (config["window_width"], config["window_level"]) == (width, level)
        changed = {k for k in config if config[k] != base.get(k)}
        assert changed == {"description", "window_width", "window_level"}, preset
        for section in ("deterministic", "random"):
            assert load_preset(preset, section)


def test_label_dtype_is_a_parameter(ct_case: dict) -> None:
    out = deterministic("ct", label_dtype="int64")({"image": ct_case["image"], "label": ct_case["label"]})
    assert out["label"].dtype == torch.int64


def write_mri_pair(tmp_path: Path) -> tuple[str, str, np.ndarray]:
    """The same anatomy stored as uint8 0-255 and as float32 with a 1.7e6 outlier, plus a zero background slab."""
    rng = np.random.default_rng(0)
    x, y, z = np.meshgrid(np.linspace(-1, 1, 16), np.linspace(-1, 1, 20), np.linspace(-1, 1, 12), indexing="ij")
    tissue = 100 + 60 * np.exp(-(x**2 + y**2 + z**2) * 2) + rng.normal(0, 5, x.shape)
    tissue[:, :, :2] = 0  # background outside the field of view, exactly 0 in both files
    as_uint8 = np.round(tissue / tissue.max() * 255).astype(np.uint8)
    as_float = (tissue * 917.3).astype(np.float32)
    as_float[8, 10, 6] = 1.7e6  # a single hot voxel, as in MSD hippocampus
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    return (
        str(save_nifti(tmp_path / "mr_uint8.nii.gz", as_uint8, affine)),
        str(save_nifti(tmp_path / "mr_float.nii.gz", as_float, affine)),
        tissue,
    )


def test_mri_uint8_and_huge_float_volumes_come_out_comparable(tmp_path: Path) -> None:
    uint8_path, float_path, _ = write_mri_pair(tmp_path)
    chain = deterministic("mri")
    a = chain({"image": uint8_path})["image"][0].numpy()
    b = chain({"image": float_path})["image"][0].numpy()
    for out in (a, b):
        body = out[:, :, 2:]
        assert abs(body.mean()) < 1e-3 and abs(body.std() - 1) < 1e-2  # z-score over the non-zero voxels
        assert np.all(out[:, :, :2] == 0)  # exact-zero background is left at 0
        assert out.max() < 5  # the 1.7e6 voxel is clipped to the 99.5th percentile
    assert np.corrcoef(a[:, :, 2:].ravel(), b[:, :, 2:].ravel())[0, 1] > 0.99
    assert np.abs(a - b).mean() < 0.05


def test_float_labels_are_rounded_to_integers(tmp_path: Path) -> None:
    image = np.random.default_rng(1).normal(100, 10, (6, 7, 5)).astype(np.float32)
    label = np.zeros((6, 7, 5), np.float32)
    label[1:3, 1:4, 1:3] = 1.0000001  # float32 label files are not always exact
    label[3:5, 2:6, 2:4] = np.float32(1.9999999)
    image_path = save_nifti(tmp_path / "mr.nii.gz", image, np.eye(4))
    label_path = save_nifti(tmp_path / "mr_seg.nii.gz", label, np.eye(4))
    out = deterministic("mri")({"image": str(image_path), "label": str(label_path)})["label"]
    assert not out.dtype.is_floating_point and out.dtype == torch.int16
    np.testing.assert_array_equal(out[0].numpy(), np.round(label).astype(np.int16))


@pytest.mark.parametrize(
    ("preset", "params", "patch"),
    [("ct", {"patch_size": (16, 16, 16)}, (16, 16, 16)), ("mri_hippocampus", {}, (32, 48, 32))],
)
def test_patch_crops_on_a_volume_smaller_than_the_patch(preset: str, params: dict, patch: tuple, ct_case: dict) -> None:
    case = deterministic(preset)({"image": ct_case["image"], "label": ct_case["label"]})
    assert all(s < p for s, p in zip(case["image"].shape[1:], patch))
    rand = Compose(load_preset(preset, "random", num_samples=3, **params))
    rand.set_random_state(seed=0)
    samples = rand(case)
    assert len(samples) == 3
    for sample in samples:
        assert tuple(sample["image"].shape) == tuple(sample["label"].shape) == (1, *patch)
        assert sample["label"].dtype == torch.int16


@pytest.mark.parametrize("preset", ["ct", "mri"])
def test_random_chain_moves_image_and_label_together(preset: str, ct_case: dict) -> None:
    case = deterministic(preset)({"image": ct_case["image"], "label": ct_case["label"]})
    case["image"] = case["label"].float()  # an image identical to the label: any mismatch shows
    rand = Compose(load_preset(preset, "random", patch_size=(8, 8, 8), prob_flip=(1.0, 1.0, 1.0), prob_rotate90=1.0,
                               prob_intensity=0.0))
    rand.set_random_state(seed=1)
    for sample in rand(case):
        torch.testing.assert_close(sample["image"].as_tensor(), sample["label"].float().as_tensor())
    assert any(sample["label"].any() for sample in rand(case)), "positive crops must contain foreground"


def test_hippocampus_preset_settings() -> None:
    config = read_preset("mri_hippocampus")
    assert config["pixdim"] == [1.0, 1.0, 1.0] and config["patch_size"] == [32, 48, 32]
    assert config["prob_flip"][1] == 0.0  # labels 1/2 are anterior/posterior: no P-A flip
    sides = [config["patch_size"][axis] for axis in config["rotate90_axes"]]
    assert sides[0] == sides[1], "90-degree rotations must keep the patch shape"
    assert config["deterministic"] == read_preset("mri")["deterministic"]


def test_spacingd_or_identity() -> None:
    assert isinstance(spacingd_or_identity("image", None), Identityd)
    spacing = spacingd_or_identity(["image", "label"], [1, 1, 2.5], mode=["bilinear", "nearest"])
    assert isinstance(spacing, Spacingd)
    for bad in ("1mm", [], [1.0, "2"], {"x": 1}, True):
        with pytest.raises(ValueError, match="pixdim must be"):
            spacingd_or_identity("image", bad)


def test_bad_names_and_values_are_refused() -> None:
    with pytest.raises(ValueError, match=r"no parameter\(s\) \['window_levle'\].*window_level"):
        load_preset("ct_lung", "deterministic", window_levle=-500)
    with pytest.raises(ValueError, match=r"no parameter\(s\) \['pixdims'\].*pixdim"):
        load_preset("mri", "deterministic", pixdims=(1, 1, 1))
    with pytest.raises(ValueError, match="valid presets: .*ct_abdomen"):
        load_preset("ct_abdomenn", "deterministic")
    with pytest.raises(RuntimeError, match="spacingd_or_identity") as caught:  # MONAI's parser wraps the error
        load_preset("mri", "deterministic", pixdim="1mm")
    assert isinstance(caught.value.__cause__, ValueError) and "pixdim must be" in str(caught.value.__cause__)
