# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""On MSD Hippocampus from shared/data (found through $MONAI_LITE_DATA or ../shared/data; skipped if absent):
evaluating fold 0 of the committed datalist against copies of its own labels, named ``<case>_seg.nii.gz`` as the
bundles' inference writes them, gives Dice 1 and HD95 0 for both named classes (float32 and uint8 label files alike),
except one case whose posterior label was erased, which is counted as a miss at the image diagonal in mm."""

from __future__ import annotations

import json
import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from _eval_helpers import REPO_ROOT, real_data_dir

from monai_lite.data import load_datalist
from monai_lite.evaluation import evaluate_folder

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module")
def hippocampus() -> Path:
    root = real_data_dir()
    if root is None or not (root / "hippocampus").is_dir():
        pytest.skip("hippocampus not found: set MONAI_LITE_DATA to the shared/data folder, or place it at ../shared/data")
    return root / "hippocampus"


def test_fold0_against_its_own_labels(hippocampus: Path, tmp_path: Path) -> None:
    datalist = REPO_ROOT / "data_manifests" / "hippocampus.json"
    _, val = load_datalist(datalist, hippocampus, 0)
    pred = tmp_path / "pred"
    pred.mkdir()
    for index, case in enumerate(val):
        label = nib.load(case["label"])
        data = np.asarray(label.dataobj).astype(np.uint8)
        if index == 0:
            data[data == 2] = 0
        stem = Path(case["image"]).name.removesuffix(".nii.gz")
        nib.save(nib.Nifti1Image(data, label.affine, label.header), pred / f"{stem}_seg.nii.gz")
    summary = evaluate_folder(pred, datalist, tmp_path / "out", dataset_dir=hippocampus, fold=0, progress=False)
    assert summary["n_cases"] == len(val)
    assert list(summary["metrics"]) == ["anterior", "posterior"]
    assert summary["metrics"]["anterior"]["dice"]["mean"] == pytest.approx(1.0)
    assert summary["metrics"]["anterior"]["hd95"]["mean"] == pytest.approx(0.0)
    assert summary["policy_counts"]["posterior"]["missed"] == 1
    first = nib.load(val[0]["label"])
    diagonal = math.sqrt(sum((n * z) ** 2 for n, z in zip(first.shape, first.header.get_zooms())))
    posterior = summary["metrics"]["posterior"]
    assert posterior["hd95"]["mean"] == pytest.approx(diagonal / len(val), rel=1e-4)
    assert posterior["dice"]["mean"] == pytest.approx((len(val) - 1) / len(val))
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["fold"] == 0
