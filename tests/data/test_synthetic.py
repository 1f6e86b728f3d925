# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the embedded default dataset is deterministic, well-formed, cached atomically, and validated on input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from monai_lite.data.synthetic import ensure_synthetic_lesions, make_lesion_case


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = ensure_synthetic_lesions(num_cases=6, size=32, seed=3, folds=3, cache_dir=tmp_path / "a")
    b = ensure_synthetic_lesions(num_cases=6, size=32, seed=3, folds=3, cache_dir=tmp_path / "b")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    c = ensure_synthetic_lesions(num_cases=6, size=32, seed=4, folds=3, cache_dir=tmp_path / "a")
    assert (c / "images" / "lesion_0000.png").read_bytes() != (a / "images" / "lesion_0000.png").read_bytes()


def test_cases_are_rgb_images_with_binary_nonempty_masks(tmp_path: Path) -> None:
    root = ensure_synthetic_lesions(num_cases=8, size=48, seed=0, folds=4, cache_dir=tmp_path)
    datalist = json.loads((root / "datalist.json").read_text())
    assert datalist["numTraining"] == 8 == len(datalist["training"])
    assert sorted({case["fold"] for case in datalist["training"]}) == [0, 1, 2, 3]
    for case in datalist["training"]:
        image = np.array(Image.open(root / case["image"]))
        mask = np.array(Image.open(root / case["label"]))
        assert image.shape == (48, 48, 3) and image.dtype == np.uint8
        assert mask.shape == (48, 48) and set(np.unique(mask)) == {0, 255}
        # The lesion is darker than the skin around it: the task is learnable.
        assert image[mask > 0].mean() < image[mask == 0].mean()


def test_existing_dataset_is_reused_not_rewritten(tmp_path: Path) -> None:
    root = ensure_synthetic_lesions(num_cases=4, size=32, folds=2, cache_dir=tmp_path)
    stamp = (root / "datalist.json").stat().st_mtime_ns
    assert ensure_synthetic_lesions(num_cases=4, size=32, folds=2, cache_dir=tmp_path) == root
    assert (root / "datalist.json").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [root.name], "no staging folder may be left behind"


def test_make_lesion_case_always_has_foreground() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        _, mask = make_lesion_case(rng, 24)
        assert mask.any()


@pytest.mark.parametrize("kwargs", [{"num_cases": 1}, {"size": 8}, {"folds": 0}, {"num_cases": 3, "folds": 4}])
def test_bad_arguments_are_refused(kwargs: dict, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synthetic datasets need"):
        ensure_synthetic_lesions(cache_dir=tmp_path, **kwargs)


def test_volumes_are_ras_1mm_with_both_labels(tmp_path: Path) -> None:
    import nibabel as nib

    from monai_lite.data.synthetic import ensure_synthetic_volumes

    root = ensure_synthetic_volumes(num_cases=3, shape=(20, 24, 18), folds=3, cache_dir=tmp_path)
    datalist = json.loads((root / "datalist.json").read_text())
    assert [c["fold"] for c in datalist["training"]] == [0, 1, 2]
    for case in datalist["training"]:
        image, label = nib.load(root / case["image"]), nib.load(root / case["label"])
        assert image.shape == label.shape == (20, 24, 18)
        np.testing.assert_array_equal(image.affine, np.eye(4))
        np.testing.assert_array_equal(label.affine, image.affine)
        values = np.asarray(label.dataobj)
        assert values.dtype == np.uint8 and set(np.unique(values)) == {0, 1, 2}
        data = np.asarray(image.dataobj)
        assert data[values > 0].mean() > data[values == 0].mean()


def test_unknown_synthetic_name_lists_the_valid_ones() -> None:
    from monai_lite.data.synthetic import ensure_synthetic

    with pytest.raises(ValueError, match="valid: ct_organs_3d, lesions_2d, volumes_3d"):
        ensure_synthetic("lesions_3d")
