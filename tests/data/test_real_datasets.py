# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""On the real datasets of shared/data (found through $MONAI_LITE_DATA or ../shared/data; skipped if absent):
prepare_datalist succeeds on all five with the documented counts and reproduces the committed data_manifests
(checksums verified first); the committed manifests load with every file present; the CT DICOM series read in HU
lines up with example_seg_dicom.nii.gz after Orientation to RAS (same shape, spacing, affine; bone HU inside the
vertebra labels); and a non-square PNG keeps its height and width when MONAI reads it with reverse_indexing=False."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from data_builders import REPO_ROOT, real_data_dir
from PIL import Image

from monai_lite.data import load_datalist, load_dicom_series

pytestmark = pytest.mark.realdata

EXPECTED_TRAINING = {"kvasir_seg": 998, "ph2": 200, "cxr_lungs": 98, "hippocampus": 260, "ct_totalseg": 3}


@pytest.fixture(scope="module")
def data_dir() -> Path:
    found = real_data_dir()
    if found is None:
        pytest.skip("real datasets not found: set MONAI_LITE_DATA to the shared/data folder, or place it at ../shared/data")
    return found


@pytest.fixture(scope="module")
def build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("monai_lite_manifest_build", REPO_ROOT / "data_manifests" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("key", sorted(EXPECTED_TRAINING))
def test_prepare_reproduces_manifest(key: str, data_dir: Path, build_module: ModuleType, tmp_path: Path) -> None:
    summary = build_module.build(key, str(data_dir), tmp_path)
    assert summary["num_training"] == EXPECTED_TRAINING[key]
    rebuilt = json.loads((tmp_path / f"{key}.json").read_text())
    committed = json.loads((REPO_ROOT / "data_manifests" / f"{key}.json").read_text())
    assert committed["data_root_hint"] == f"../shared/data/{build_module.DATASETS[key]['folder']}"
    rebuilt.pop("data_root_hint"), committed.pop("data_root_hint")
    assert rebuilt == committed, f"data_manifests/{key}.json is stale: run data_manifests/build.py"
    if key == "ct_totalseg":  # the only warnings: the LAS-stored DICOM label, and 3 cases for 5 folds
        assert sorted(w.split(":")[1].split()[0] for w in summary["warnings"]) == ["5", "image"]
    else:
        assert summary["warnings"] == []


@pytest.mark.parametrize("key", sorted(EXPECTED_TRAINING))
def test_committed_manifests_load(key: str, data_dir: Path, build_module: ModuleType) -> None:
    folder = data_dir / build_module.DATASETS[key]["folder"]
    train, val = load_datalist(REPO_ROOT / "data_manifests" / f"{key}.json", folder, fold=0)
    assert len(train) + len(val) == EXPECTED_TRAINING[key] and val


def test_ct_dicom_series_matches_its_label(data_dir: Path) -> None:
    from monai.transforms import EnsureChannelFirst, LoadImage, Orientation

    ct = data_dir / "ct-totalseg"
    series = load_dicom_series(ct / "dicom")
    assert float(series.min()) == -1024.0 and float(series.max()) == 1839.0  # HU, as the data README says
    to_ras = Orientation(axcodes="RAS")
    image = to_ras(EnsureChannelFirst(channel_dim="no_channel")(series))
    label = to_ras(EnsureChannelFirst()(LoadImage(image_only=True)(ct / "example_seg_dicom.nii.gz")))
    assert tuple(image.shape) == tuple(label.shape) == (1, 512, 512, 20)
    np.testing.assert_allclose(image.affine.numpy(), label.affine.numpy(), atol=1e-3)
    np.testing.assert_allclose(image.pixdim.numpy(), [0.9765625, 0.9765625, 2.0], atol=1e-3)
    np.testing.assert_allclose(label.pixdim.numpy(), [0.9765625, 0.9765625, 2.0], atol=1e-3)
    vertebrae = np.isin(label.numpy()[0], [26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39])
    assert vertebrae.any() and float(image.numpy()[0][vertebrae].mean()) > 150.0  # bone; about -294 HU if flipped
    plain = LoadImage(image_only=True)(ct / "dicom")  # what a bundle reading the datalist entry "dicom" gets
    np.testing.assert_array_equal(plain.numpy(), series.numpy())


def test_real_png_keeps_height_and_width(data_dir: Path) -> None:
    from monai.transforms import LoadImage

    masks = sorted((data_dir / "cxr-lungs" / "masks").glob("*.png"))
    path = next(p for p in masks if Image.open(p).size[0] != Image.open(p).size[1])
    expected = np.asarray(Image.open(path))
    loaded = LoadImage(reader="PILReader", reverse_indexing=False, image_only=True)(path)
    assert tuple(loaded.shape) == expected.shape
    np.testing.assert_array_equal(loaded.numpy(), expected)
    image = LoadImage(reader="PILReader", reverse_indexing=False, image_only=True)(data_dir / "cxr-lungs" / "images" / path.name)
    assert tuple(image.shape[:2]) == expected.shape
