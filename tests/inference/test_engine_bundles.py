# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves ``engine=`` of ``monai_lite.load_bundle`` and ``monai-lite infer --engine`` on the shipped bundles (random
weights saved to a temporary checkpoint): the 2D MedLiteNet bundle on a picture and the 3D hippocampus bundle through
the sliding window give PyTorch's probabilities on ONNX Runtime, the engine and each input size's export are
recorded in ``describe_models`` and ``inference_log.json``, and ``infer --engine onnxruntime`` writes the very masks
``--engine torch`` writes, exporting once (the export lies beside the checkpoint and a second run reuses it). The
slow test exports every network (MedLiteNet, LightAWNet, LACNet, MSA-UNet) in 2D and 3D at its bundle's input size and
checks a batch of windows against PyTorch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from inference_helpers import asymmetric_picture
from PIL import Image

import monai_lite
from monai_lite import cli
from monai_lite.inference import load_bundle_model

pytest.importorskip("onnxruntime")

SMALL_2D = {"image_size": [32, 32]}
SMALL_3D = {"image_size": [16, 16, 16]}


@pytest.fixture(autouse=True)
def _user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def _own_copy(ckpt: Path, folder: Path) -> Path:
    """A copy of a session checkpoint in a folder of the test's own, so its exports are the test's."""
    folder.mkdir(parents=True)
    return Path(shutil.copy(ckpt, folder / "model.pt"))


def test_2d_bundle_on_a_picture(random_ckpt, tmp_path: Path) -> None:
    ckpt = _own_copy(random_ckpt("medlitenet"), tmp_path / "models")
    picture = asymmetric_picture(40, 64)
    reference = monai_lite.load_bundle("medlitenet", ckpt_path=ckpt, device="cpu", overrides=SMALL_2D)
    onnx = monai_lite.load_bundle("medlitenet", ckpt_path=ckpt, device="cpu", overrides=SMALL_2D,
                                  engine="onnxruntime")
    np.testing.assert_allclose(onnx.predict_proba(picture), reference.predict_proba(picture), atol=1e-4)
    np.testing.assert_array_equal(onnx(picture), reference(picture))
    row = onnx.describe_models()[0]
    assert row["engine"] == "onnxruntime" and onnx.options()["engine"] == "onnxruntime"
    assert row["engine_inputs"]["32x32"]["runs"] == "onnxruntime"
    assert row["engine_inputs"]["32x32"]["onnx"] == str(tmp_path / "models" / "model.32x32.onnx")
    assert reference.describe_models()[0]["engine"] == "torch" and "engine_inputs" not in reference.describe_models()[0]


def test_3d_bundle_sliding_window(random_ckpt, tmp_path: Path) -> None:
    ckpt = _own_copy(random_ckpt("medlitenet_hippocampus"), tmp_path / "models")
    volume = np.random.default_rng(0).normal(100, 20, size=(30, 40, 26)).astype(np.float32)
    options = {"ckpt_path": ckpt, "device": "cpu", "overrides": SMALL_3D, "sw_batch_size": 3, "blend": "gaussian"}
    reference = monai_lite.load_bundle("medlitenet_hippocampus", **options)
    onnx = monai_lite.load_bundle("medlitenet_hippocampus", engine="onnxruntime", **options)
    affine = np.eye(4)
    np.testing.assert_allclose(onnx.predict_proba(volume, affine), reference.predict_proba(volume, affine), atol=1e-4)
    assert onnx.describe_models()[0]["engine_inputs"]["16x16x16"]["batch"] == "dynamic"


def test_cli_engine_onnxruntime_writes_the_torch_masks(random_ckpt, tmp_path: Path) -> None:
    ckpt = str(_own_copy(random_ckpt("medlitenet"), tmp_path / "models"))
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(asymmetric_picture(40, 64)).save(images / "one.png")
    Image.fromarray(asymmetric_picture(24, 32)).save(images / "two.png")
    common = ["infer", str(images), "--ckpt", ckpt, "--device", "cpu", "--set", "image_size=[32,32]", "--no-overlay"]
    for engine in ("torch", "onnxruntime", "onnxruntime"):
        assert cli.main([*common, "-o", str(tmp_path / engine), "--engine", engine]) == 0
        if engine == "onnxruntime":
            exported = tmp_path / "models" / "model.32x32.onnx"
            stamp = exported.stat().st_mtime_ns
    assert exported.stat().st_mtime_ns == stamp  # the second run read the export back
    for name in ("one_seg.png", "two_seg.png"):
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "onnxruntime" / name)),
                                      np.asarray(Image.open(tmp_path / "torch" / name)))
    log = json.loads((tmp_path / "onnxruntime" / "inference_log.json").read_text())
    assert log["options"]["engine"] == "onnxruntime" and log["models"][0]["engine"] == "onnxruntime"
    assert json.loads((tmp_path / "torch" / "inference_log.json").read_text())["options"]["engine"] == "torch"


@pytest.mark.slow
@pytest.mark.parametrize("bundle", [
    "medlitenet", "lightawnet", "lacnet", "msaunet",
    "medlitenet_hippocampus", "lightawnet_hippocampus", "lacnet_hippocampus", "msaunet_hippocampus",
])
def test_every_network_exports_at_its_bundle_size(bundle: str, random_ckpt, tmp_path: Path) -> None:
    ckpt = _own_copy(random_ckpt(bundle), tmp_path / "models")
    model = load_bundle_model(bundle, ckpt, device="cpu", engine="onnxruntime")
    reference = load_bundle_model(bundle, ckpt, device="cpu").network
    shape = "x".join(map(str, model.roi_size))
    assert model.network.describe()["inputs"][shape]["runs"] == "onnxruntime"
    x = torch.randn(3, model.in_channels, *model.roi_size, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected, got = reference(x).numpy(), model.network(x).numpy()
    scale = max(1.0, float(np.abs(expected).max()))  # untrained LightAWNet logits reach 1e11
    assert got.shape == expected.shape and float(np.abs(got - expected).max()) <= 1e-4 * scale
