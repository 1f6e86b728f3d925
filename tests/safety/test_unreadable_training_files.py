# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""A hand-written datalist naming an unreadable image stops bundle training with one line naming the file.

Proves, through the bundles' own training configs (``python -m monai.bundle run training`` for a JPEG cut short
in a 2D dataset; the same workflow run in this process for a NIfTI cut short in a 3D dataset, which the presets'
ITK reader alone would have trained on): the run fails when the cache is filled, before any epoch, with exit status
1 (never an abort), and the reported problem is one line that starts with the damaged file's path and says what
is wrong with it, with no traceback; ``MONAI_LITE_DEBUG=1`` still shows the traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from monai.bundle import ConfigWorkflow
from PIL import Image

from monai_lite.bundle.runner import BUNDLES_DIR
from monai_lite.errors import user_error, user_message

REPO = BUNDLES_DIR.parent


def _picture_set(root: Path) -> Path:
    """Four JPEG/PNG cases in two folds, the second image cut to a third of its bytes."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    entries = []
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(root / "images" / f"c{i}.jpg")
        mask = np.zeros((48, 48), np.uint8)
        mask[10:30, 12:34] = 255
        Image.fromarray(mask).save(root / "masks" / f"c{i}.png")
        entries.append({"image": f"images/c{i}.jpg", "label": f"masks/c{i}.png", "fold": i % 2})
    bad = root / "images" / "c1.jpg"
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 3])
    (root / "datalist.json").write_text(json.dumps({"training": entries}))
    return bad


def _train(root: Path, bundle_root: Path, debug: bool = False) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "monai.bundle", "run", "training",
        "--config_file", str(BUNDLES_DIR / "medlitenet" / "configs" / "train.json"),
        "--bundle_root", str(bundle_root), "--dataset_dir", str(root), "--datalist", str(root / "datalist.json"),
        "--epochs", "1", "--image_size", "[32, 32]", "--batch_size", "2", "--num_workers", "0",
    ]
    env = {**os.environ, "MONAI_LITE_DEBUG": "1" if debug else ""}
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env, timeout=600)


def test_a_cut_jpeg_in_a_datalist_is_one_line(tmp_path: Path) -> None:
    bad = _picture_set(tmp_path / "data")
    result = _train(tmp_path / "data", tmp_path / "run")
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("monai-lite: error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    assert errors[0].startswith(f"monai-lite: error: {bad}: images must be readable 2D files; Pillow failed (OSError")
    assert errors[0].endswith("Re-export or remove the file.")
    assert not (tmp_path / "run" / "models" / "model.pt").exists(), "no training happened"


@pytest.mark.slow
def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    _picture_set(tmp_path / "data")
    result = _train(tmp_path / "data", tmp_path / "run", debug=True)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "CaseLoadError" in result.stderr


def test_a_cut_nifti_in_a_datalist_is_one_line(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    rng = np.random.default_rng(0)
    entries = []
    for i in range(4):
        image = rng.normal(100, 20, (24, 28, 20)).astype(np.float32)
        label = np.zeros((24, 28, 20), np.uint8)
        label[6:14, 8:16, 5:12] = 1
        label[14:18, 8:16, 5:12] = 2
        nib.save(nib.Nifti1Image(image, np.eye(4)), root / "imagesTr" / f"v{i}.nii.gz")
        nib.save(nib.Nifti1Image(label, np.eye(4)), root / "labelsTr" / f"v{i}.nii.gz")
        entries.append({"image": f"imagesTr/v{i}.nii.gz", "label": f"labelsTr/v{i}.nii.gz", "fold": i % 2})
    (root / "datalist.json").write_text(json.dumps({"training": entries}))
    bad = root / "imagesTr" / "v2.nii.gz"
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])  # ITK would read it and make up the rest
    configs = BUNDLES_DIR / "medlitenet_hippocampus" / "configs"
    workflow = ConfigWorkflow(
        config_file=str(configs / "train.json"), meta_file=str(configs / "metadata.json"), logging_file=False,
        workflow_type="train", bundle_root=str(tmp_path / "run"), dataset_dir=str(root),
        datalist=str(root / "datalist.json"), epochs=1, image_size=[16, 16, 16], batch_size=2, num_workers=0,
    )
    workflow.initialize()
    with pytest.raises(RuntimeError) as caught:  # the config parser's "Failed to instantiate component ..."
        workflow.run()
    message = user_message(user_error(caught.value))
    assert message.startswith(f"{bad}: the file is cut short: its header describes 24x28x20 float32 voxels"), message
    assert "\n" not in message
