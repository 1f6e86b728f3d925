# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the Python API on the shipped bundles with random weights saved to a temporary checkpoint:
``import monai_lite`` stays light (no torch) until ``monai_lite.load_bundle`` is used; the 2D MedLiteNet bundle maps a
64x64 PNG path, an (H, W, 3) array and a batch list to uint8 label maps of the input's size, with probabilities in
[0, 1]; the 3D hippocampus bundle maps a small volume to an {0, 1, 2} label map of the same shape; a bundle without
weights raises the usual "no trained weights at .../models/model.pt"; and an ensemble of two checkpoints of one
bundle gets the Dice weights (and, the two being equal, the single model's probabilities)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from inference_helpers import asymmetric_picture
from PIL import Image

import monai_lite
from monai_lite.bundle.runner import BUNDLES_DIR
from monai_lite.inference import Predictor


def test_import_stays_light() -> None:
    code = "import sys, monai_lite; print('torch' in sys.modules, 'load_bundle' in monai_lite.__all__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]
    assert callable(monai_lite.load_bundle)  # resolved on first use


def test_2d_bundle_on_paths_arrays_and_batches(random_ckpt, tmp_path: Path) -> None:
    picture = asymmetric_picture(64, 48)
    Image.fromarray(picture).save(tmp_path / "p.png")
    predictor = monai_lite.load_bundle("medlitenet", ckpt_path=random_ckpt("medlitenet"), device="cpu")
    mask = predictor(tmp_path / "p.png")
    assert mask.shape == (64, 48) and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
    proba = predictor.predict_proba(picture)
    assert proba.shape == (1, 64, 48) and proba.dtype == np.float32 and 0 <= proba.min() <= proba.max() <= 1
    np.testing.assert_array_equal(mask, (proba[0] >= 0.5).astype(np.uint8))
    batch = predictor([picture, str(tmp_path / "p.png"), picture[:40]])
    assert [m.shape for m in batch] == [(64, 48), (64, 48), (40, 48)]
    np.testing.assert_array_equal(batch[1], mask)


def test_3d_bundle_on_a_volume(random_ckpt) -> None:
    volume = np.random.default_rng(0).normal(100, 20, size=(30, 40, 26)).astype(np.float32)
    predictor = monai_lite.load_bundle("medlitenet_hippocampus", ckpt_path=random_ckpt("medlitenet_hippocampus"),
                                       device="cpu", overlap=0.25, blend="constant")
    mask = predictor(volume, affine=np.diag([1.0, 1.0, 1.0, 1.0]))
    assert mask.shape == (30, 40, 26) and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1, 2}


def test_missing_weights_message(tmp_path: Path) -> None:
    import shutil

    bundle = tmp_path / "medlitenet"
    shutil.copytree(BUNDLES_DIR / "medlitenet", bundle, ignore=shutil.ignore_patterns("*.pt", "eval"))
    with pytest.raises(FileNotFoundError, match=f"no trained weights at {bundle}/models/model.pt"):
        monai_lite.load_bundle(bundle)


def test_ensemble_of_checkpoints(random_ckpt) -> None:
    ckpt = random_ckpt("medlitenet")
    with pytest.raises(ValueError, match="2 ensemble members"):
        monai_lite.load_bundle("medlitenet", ckpt_path=[ckpt, ckpt], dice=[0.5], device="cpu")
    ensemble = monai_lite.load_bundle("medlitenet", ckpt_path=[ckpt, ckpt], dice=[0.6, 0.9], device="cpu")
    assert ensemble.weights == pytest.approx([0.4, 0.6])
    assert [m.ckpt_path for m in ensemble.models] == [ckpt.resolve()] * 2
    single = Predictor(ensemble.models[:1])
    picture = asymmetric_picture(32, 32)
    np.testing.assert_allclose(ensemble.predict_proba(picture), single.predict_proba(picture), atol=1e-5)
