# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the bundle commands work end to end through MONAI's own CLI, as a user types them.

- the README's command, verbatim from the repository root (shortened by overrides, and with ``--bundle_root``
  pointing to a temporary folder so a test never overwrites weights a user trained);
- a copy of the bundle run from an unrelated working directory, which must find its own root;
- inference on non-square images writes masks of each image's own size, and never writes into the input folder;
- evaluation writes per-case metrics; inference without weights says how to get them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from monai_lite.bundle.runner import BUNDLES_DIR
from monai_lite.networks import MedLiteNet

REPO = BUNDLES_DIR.parent
SHORT_RUN = ["--epochs", "1", "--image_size", "[64, 64]", "--batch_size", "4", "--num_workers", "0"]


def _bundle(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "monai.bundle", *args], cwd=cwd, capture_output=True, text=True, env=os.environ.copy(),
        timeout=600,
    )
    return result


def _ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def trained_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the MedLiteNet bundle, trained for one short epoch from an unrelated working directory."""
    root = tmp_path_factory.mktemp("bundles") / "medlitenet"
    shutil.copytree(BUNDLES_DIR / "medlitenet", root, symlinks=True, ignore=shutil.ignore_patterns("*.pt", "eval"))
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    _ok(_bundle("run", "training", "--config_file", str(root / "train.json"), *SHORT_RUN, cwd=elsewhere))
    return root


@pytest.mark.slow
def test_readme_command_verbatim_from_repo_root(tmp_path: Path) -> None:
    result = _bundle(
        "run", "training", "--config_file", "bundles/medlitenet/train.json", *SHORT_RUN, "--bundle_root", str(tmp_path),
        cwd=REPO,
    )
    _ok(result)
    weights = tmp_path / "models" / "model.pt"
    assert weights.is_file()
    MedLiteNet(spatial_dims=2, in_channels=3, out_channels=1).load_state_dict(torch.load(weights, weights_only=True))
    assert "val_mean_dice" in result.stdout + result.stderr


@pytest.mark.slow
def test_copied_bundle_finds_its_own_root(trained_copy: Path) -> None:
    assert (trained_copy / "models" / "model.pt").is_file()


@pytest.mark.slow
def test_inference_writes_masks_of_each_input_size(trained_copy: Path, tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(1)
    sizes = {"wide": (48, 80), "tall": (90, 40)}
    for name, (h, w) in sizes.items():
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB").save(images / f"{name}.jpg")
    before = _tree_digest(images)
    out = tmp_path / "out"
    _ok(_bundle("run", "inference", "--config_file", str(trained_copy / "configs" / "inference.json"),
                "--dataset_dir", str(images), "--output_dir", str(out), "--image_size", "[64, 64]", cwd=tmp_path))
    assert _tree_digest(images) == before, "inference must never write into its input folder"
    for name, shape in sizes.items():
        mask = np.array(Image.open(out / f"{name}_seg.png"))
        assert mask.shape == shape, f"{name}: mask {mask.shape} vs image {shape}"
        assert set(np.unique(mask)) <= {0, 255}


@pytest.mark.slow
def test_evaluate_writes_per_case_metrics(trained_copy: Path, tmp_path: Path) -> None:
    configs = trained_copy / "configs"
    _ok(_bundle("run", "evaluating", "--config_file", f"['{configs}/train.json','{configs}/evaluate.json']",
                "--meta_file", str(configs / "metadata.json"), "--image_size", "[64, 64]", "--num_workers", "0",
                "--output_dir", str(tmp_path), cwd=tmp_path))
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("case,label,name,policy,dice,iou"), rows[0]
    assert len(rows) > 2, "one row per validation case expected"
    assert all(",lesion," in row for row in rows[1:])
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["metrics"]["lesion"]["dice"]["n"] == len(rows) - 1
    assert (tmp_path / "boxplot.png").is_file()


def test_inference_without_weights_says_how_to_train(tmp_path: Path) -> None:
    root = tmp_path / "medlitenet"
    shutil.copytree(BUNDLES_DIR / "medlitenet", root, symlinks=True, ignore=shutil.ignore_patterns("*.pt", "eval"))
    result = _bundle("run", "inference", "--config_file", str(root / "configs" / "inference.json"), cwd=tmp_path)
    assert result.returncode != 0
    assert f"no trained weights at {root}/models/model.pt" in result.stderr
    assert "run training" in result.stderr


@pytest.mark.slow
def test_3d_bundle_trains_and_writes_niftis_on_the_input_grid(tmp_path: Path) -> None:
    """The 3D bundle trains on the synthetic volumes and its masks carry each input's affine exactly."""
    import nibabel as nib

    root = tmp_path / "medlitenet_hippocampus"
    shutil.copytree(BUNDLES_DIR / "medlitenet_hippocampus", root, symlinks=True,
                    ignore=shutil.ignore_patterns("*.pt", "eval"))
    _ok(_bundle("run", "training", "--config_file", str(root / "train.json"), "--epochs", "1", "--num_workers", "0",
                cwd=tmp_path))
    assert (root / "models" / "model.pt").is_file()
    assert (root / "models" / "model_raw.pt").is_file(), "MedLiteNet's recipe validates EMA weights, raw ones beside"
    assert torch.load(root / "models" / "last.pt", weights_only=True)["ema"]["steps"] > 0
    volumes = tmp_path / "volumes"
    volumes.mkdir()
    # An LPS, anisotropic, oblique-free volume of odd size: the output must come back on exactly this grid.
    affine = np.diag([-1.2, -0.9, 2.0, 1.0])
    affine[:3, 3] = [10.0, -4.0, 7.5]
    data = np.random.default_rng(0).normal(size=(29, 41, 23)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, affine), volumes / "case.nii.gz")
    out = tmp_path / "out"
    _ok(_bundle("run", "inference", "--config_file", str(root / "configs" / "inference.json"),
                "--dataset_dir", str(volumes), "--output_dir", str(out), cwd=tmp_path))
    seg = nib.load(out / "case_seg.nii.gz")
    assert seg.shape == data.shape
    np.testing.assert_allclose(seg.affine, affine, atol=1e-5)
    assert set(np.unique(np.asarray(seg.dataobj))) <= {0, 1, 2}
