# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the synthetic CT default (``ct_organs_3d``) of the CT bundle: deterministic bytes for a seed; int16
Hounsfield units with air, fat and bone where a CT has them; every TotalSegmentator structure it names present in
every case with the intensity order of real CT (contrast vessels > liver > fat); 2 mm RAS NIfTI files with a
datalist whose labels are TotalSegmentator's values; and the CT bundle's preset reduces them to its classes 1..7.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
from monai.transforms import Compose

from monai_lite.data.synthetic import TOTALSEG_ORGANS, ensure_synthetic, ensure_synthetic_ct, make_ct_case
from monai_lite.transforms import load_preset


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    first = ensure_synthetic_ct(num_cases=2, shape=(24, 24, 16), folds=2, cache_dir=tmp_path / "a")
    second = ensure_synthetic_ct(num_cases=2, shape=(24, 24, 16), folds=2, cache_dir=tmp_path / "b")
    for name in ("imagesTr/ct_001.nii.gz", "labelsTr/ct_001.nii.gz", "datalist.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_cases_look_like_abdominal_ct_with_every_structure() -> None:
    rng = np.random.default_rng(3)
    for _ in range(3):
        image, label = make_ct_case(rng, (48, 48, 20))
        assert image.dtype == np.int16 and label.dtype == np.uint8 and image.shape == label.shape == (48, 48, 20)
        assert set(np.unique(label)) == {0, *TOTALSEG_ORGANS.values()}
        mean = {name: float(image[label == value].mean()) for name, value in TOTALSEG_ORGANS.items()}
        assert image[0, 0, 0] < -900  # air in the corner, outside the body
        assert mean["vertebrae_T12"] > mean["aorta"] > mean["liver"] > mean["stomach"] > -200


def test_dataset_files_datalist_and_the_ct_bundle_classes() -> None:
    root = ensure_synthetic("ct_organs_3d")  # the bundle's default, in the session's private cache
    datalist = json.loads((root / "datalist.json").read_text())
    assert datalist["labels"]["liver"] == 5 and len(datalist["training"]) == 8
    case = datalist["training"][0]
    image = nib.load(root / case["image"])
    np.testing.assert_allclose(image.affine, np.diag([2.0, 2.0, 2.0, 1.0]))
    assert nib.aff2axcodes(image.affine) == ("R", "A", "S")
    chain = Compose(load_preset("ct_abdomen", "deterministic", pixdim=[2.0, 2.0, 2.0], label_values=[1, 5, 6, 7, 52, 63, 64]))
    out = chain({"image": str(root / case["image"]), "label": str(root / case["label"])})
    assert set(np.unique(out["label"].numpy())) == set(range(8))  # the vertebra (32) became background
