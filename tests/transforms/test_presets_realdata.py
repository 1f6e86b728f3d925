# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the ct, mri and chest_xray presets on the real datasets of shared/data (found through
$MONAI_LITE_DATA or ../shared/data; each test skips with the reason when its dataset is absent).

Checked: ct_abdomen keeps example_ct_sm and example_seg on one grid with the documented window arithmetic on the
file's own HU; the JPEG 2000 DICOM series through the ct preset lands on the grid of example_seg_dicom.nii.gz
(same shape, affine within 1e-3) with bone HU inside the vertebra labels (about -294 HU if rows were flipped);
three hippocampus cases (uint8 image, float32 image with a 1.7e6 maximum, float32 label file) come out z-scored on
one comparable scale with integer {0, 1, 2} labels and the right patch shape; two chest X-rays keep their rows and
columns and invert back to the file's size.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from _preset_helpers import real_data_dir
from monai.transforms import Compose
from PIL import Image

from monai_lite.transforms import load_preset

pytestmark = pytest.mark.realdata


def dataset(name: str) -> Path:
    """``<data>/<name>``, or skip the test with the reason."""
    root = real_data_dir()
    if root is None:
        pytest.skip("real datasets not found: set MONAI_LITE_DATA to shared/data, or place it at ../shared/data")
    folder = root / name
    if not folder.is_dir():
        pytest.skip(f"dataset folder {folder} is missing")
    return folder


def test_ct_abdomen_keeps_image_and_label_on_one_grid() -> None:
    ct = dataset("ct-totalseg")
    out = Compose(load_preset("ct_abdomen", "deterministic"))(
        {"image": str(ct / "example_ct_sm.nii.gz"), "label": str(ct / "example_seg.nii.gz")}
    )
    image, label = out["image"], out["label"]
    assert tuple(image.shape) == tuple(label.shape) == (1, 122, 101, 30)
    np.testing.assert_allclose(image.affine.numpy(), label.affine.numpy(), atol=1e-6)
    source = nib.load(ct / "example_ct_sm.nii.gz")
    np.testing.assert_allclose(image.affine.numpy(), source.affine, atol=1e-4)  # stored RAS at 3 mm: untouched
    hu = np.asanyarray(source.dataobj).astype(np.float64)
    np.testing.assert_allclose(image[0].numpy(), np.clip((hu + 160) / 400, 0, 1), atol=1e-6)  # W400/L40
    assert label.dtype == torch.int16
    np.testing.assert_array_equal(label[0].numpy(), np.asanyarray(nib.load(ct / "example_seg.nii.gz").dataobj))


def test_ct_dicom_series_lands_on_the_grid_of_its_label() -> None:
    ct = dataset("ct-totalseg")
    # a 4000 HU window starting at -1600 holds the whole series (-1024..1839 HU) linearly: HU = 4000 * v - 1600
    chain = Compose(load_preset("ct", "deterministic", window_level=400, window_width=4000))
    out = chain({"image": str(ct / "dicom"), "label": str(ct / "example_seg_dicom.nii.gz")})
    image, label = out["image"], out["label"]
    assert tuple(image.shape) == tuple(label.shape) == (1, 512, 512, 20)
    np.testing.assert_allclose(image.affine.numpy(), label.affine.numpy(), atol=1e-3)
    np.testing.assert_allclose(image.pixdim.numpy(), [0.9765625, 0.9765625, 2.0], atol=1e-3)
    hu = image[0].numpy() * 4000 - 1600
    assert abs(hu.min() + 1024) < 0.5 and abs(hu.max() - 1839) < 0.5  # RescaleIntercept -1024 applied
    names = json.loads((ct / "labels_total_all.json").read_text())["total"]
    vertebrae = [int(index) for index, name in names.items() if name.startswith("vertebrae_")]
    inside = np.isin(label[0].numpy(), vertebrae)
    assert inside.any() and float(hu[inside].mean()) > 150.0


HIPPOCAMPUS = {  # case: (image dtype, label dtype) as stored; checked first so a changed dataset fails loudly
    "hippocampus_001": ("uint8", "uint8"),
    "hippocampus_210": ("float32", "uint8"),  # maximum about 1.7e6
    "hippocampus_243": ("float32", "float32"),  # 24 slices: smaller than the 32-voxel patch side
}


def test_mri_on_hippocampus_cases() -> None:
    root = dataset("hippocampus")
    chain = Compose(load_preset("mri_hippocampus", "deterministic"))
    rand = Compose(load_preset("mri_hippocampus", "random", num_samples=2))
    rand.set_random_state(seed=0)
    upper = []
    for case, dtypes in HIPPOCAMPUS.items():
        image_file, label_file = root / "imagesTr" / f"{case}.nii.gz", root / "labelsTr" / f"{case}.nii.gz"
        stored = nib.load(image_file)
        assert (str(stored.get_data_dtype()), str(nib.load(label_file).get_data_dtype())) == dtypes
        out = chain({"image": str(image_file), "label": str(label_file)})
        image, label = out["image"], out["label"]
        assert tuple(image.shape[1:]) == tuple(label.shape[1:]) == stored.shape  # 1 mm already: same grid
        np.testing.assert_allclose(image.affine.numpy(), stored.affine, atol=1e-4)
        assert label.dtype == torch.int16 and set(torch.unique(label).tolist()) == {0, 1, 2}
        body = image[image != 0]
        assert abs(float(body.mean())) < 1e-3 and abs(float(body.std()) - 1) < 1e-2
        upper.append(float(image.max()))
        for sample in rand(out):
            assert tuple(sample["image"].shape) == tuple(sample["label"].shape) == (1, 32, 48, 32)
    raw_max = float(np.asanyarray(nib.load(root / "imagesTr" / "hippocampus_210.nii.gz").dataobj).max())
    assert raw_max > 1e6
    assert max(upper) < 3 and min(upper) > 1  # one scale (about 1.8 at the 99.5th percentile), whatever the range


CXR = {  # stem: (height, width) of the PNG
    "23E99E2E-447C-46E5-8EB2-D35D12473C39": (460, 512),  # landscape, long side already 512
    "41591_2020_819_Fig1_HTML.webp-day10": (249, 255),  # a small journal-figure crop, upsampled
}


@pytest.mark.parametrize("stem", sorted(CXR))
def test_chest_xray_cases_keep_rows_and_columns(stem: str) -> None:
    root = dataset("cxr-lungs")
    image_file, mask_file = root / "images" / f"{stem}.png", root / "masks" / f"{stem}.png"
    mask = np.asarray(Image.open(mask_file)) > 0
    assert mask.shape == CXR[stem]
    chain = Compose(load_preset("chest_xray", "deterministic", spatial_size=(512, 512)))
    out = chain({"image": str(image_file), "label": str(mask_file)})
    assert tuple(out["image"].shape) == tuple(out["label"].shape) == (1, 512, 512)
    assert 0.0 <= float(out["image"].min()) and float(out["image"].max()) <= 1.0
    height, width = CXR[stem]
    scale = 512 / max(height, width)
    rows = round(height * scale)
    top = (512 - rows) // 2
    label = out["label"][0].numpy() > 0
    assert not label[:top].any() and not label[top + rows :].any()
    if scale == 1:
        np.testing.assert_array_equal(label[top : top + rows], mask)
    else:
        expected = np.asarray(Image.fromarray(mask).resize((round(width * scale), rows), Image.NEAREST))
        found = label[top : top + rows]
        assert 2 * (found & expected).sum() / (found.sum() + expected.sum()) > 0.98
    back = chain.inverse(out)
    restored = back["label"][0].numpy() > 0.5
    assert restored.shape == mask.shape
    assert 2 * (restored & mask).sum() / (restored.sum() + mask.sum()) > 0.98
