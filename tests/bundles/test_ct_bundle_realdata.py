# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""On the real CT of shared/data/ct-totalseg (found through $MONAI_LITE_DATA or ../shared/data; skipped if absent):
the CT bundle medlitenet_ct, given data_manifests/ct_totalseg.json, reads each of the study's three image/label
pairings (the JPEG 2000 DICOM series included) through its own validation preprocessing onto one grid: image and
label of equal shape and affine (within 1e-3), resampled to 2 mm, labels reduced to the bundle's classes 0..7.
For the DICOM pairing every one of the seven structures is present, each with the volume (within 15 %) that the
TotalSegmentator label file gives it at its own 0.98 x 0.98 x 2 mm voxels, and the liver sits at abdominal soft-tissue
HU; so the bundle trains on the label map that belongs to the volume, not on a shifted or flipped one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from monai.bundle import ConfigParser

from monai_lite.bundle.runner import BUNDLES_DIR

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))  # tests/data modules import by bare name
from data_builders import real_data_dir  # noqa: E402

pytestmark = pytest.mark.realdata

REPO = BUNDLES_DIR.parent


@pytest.fixture(scope="module")
def ct_dir() -> Path:
    root = real_data_dir()
    if root is None or not (root / "ct-totalseg" / "dicom").is_dir():
        pytest.skip("ct-totalseg not found: set MONAI_LITE_DATA to the shared/data folder, or place it at ../shared/data")
    return root / "ct-totalseg"


@pytest.fixture(scope="module")
def bundle(ct_dir: Path) -> ConfigParser:
    parser = ConfigParser()
    parser.read_config(BUNDLES_DIR / "medlitenet_ct" / "configs" / "train.json")
    parser["dataset_dir"] = str(ct_dir)
    parser["datalist"] = str(REPO / "data_manifests" / "ct_totalseg.json")
    parser["fold"] = -1  # every pairing
    return parser


def _preprocess(bundle: ConfigParser, image_name: str) -> dict:
    train, _ = bundle.get_parsed_content("data")
    case = next(c for c in train if Path(c["image"]).name == image_name)
    return bundle.get_parsed_content("validate#preprocessing")(case)


@pytest.mark.parametrize("image_name", ["dicom", "example_ct.nii.gz", "example_ct_sm.nii.gz"])
def test_every_pairing_lands_on_one_2mm_grid(bundle: ConfigParser, image_name: str) -> None:
    out = _preprocess(bundle, image_name)
    image, label = out["image"], out["label"]
    assert image.shape == label.shape and image.shape[0] == 1
    np.testing.assert_allclose(image.affine.numpy(), label.affine.numpy(), atol=1e-3)
    np.testing.assert_allclose(image.pixdim.numpy(), [2.0, 2.0, 2.0], atol=1e-3)
    assert set(np.unique(label.numpy())) <= set(range(8))


def test_dicom_pairing_keeps_each_structure_volume(bundle: ConfigParser, ct_dir: Path) -> None:
    values = bundle["preset_params"]["label_values"]
    source = nib.load(ct_dir / "example_seg_dicom.nii.gz")
    source_voxel_mm3 = float(np.prod(source.header.get_zooms()[:3]))
    seg = np.asarray(source.dataobj)
    out = _preprocess(bundle, "dicom")
    label, image = out["label"][0].numpy(), out["image"][0].numpy()
    for index, value in enumerate(values, start=1):
        expected_mm3 = float((seg == value).sum()) * source_voxel_mm3
        got_mm3 = float((label == index).sum()) * 8.0  # 2 mm voxels
        assert expected_mm3 > 0, f"TotalSegmentator value {value} is missing from example_seg_dicom.nii.gz"
        assert got_mm3 == pytest.approx(expected_mm3, rel=0.15), f"class {index} (source value {value})"
    names = json.loads((ct_dir / "labels_total_all.json").read_text())["total"]
    liver = values.index(next(int(k) for k, n in names.items() if n == "liver")) + 1
    liver_hu = float(np.median(image[label == liver])) * 400 - 160  # ct_abdomen: W400/L40 onto [0, 1]
    assert 20.0 < liver_hu < 200.0  # liver parenchyma; air or bone would mean the label map is misplaced
