# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the ONNX Runtime engine gives PyTorch's probabilities on every inference path, with a small network that
pads to its stride as the real ones do: a 2D picture (SimpleInferer), a 2D network slice by slice on a volume (the
slice size exported on first use, batches of 4, 4 and 1), a 3D network through MONAI's sliding window with a partial
last batch of windows (on a graph with a dynamic batch axis, and on a graph of batch 1 run once per window, as
LightAWNet's is), six-fold TTA, and a Dice-weighted ensemble of two checkpoints. Each time the ONNX graph really ran
(its calls are counted) and the masks equal PyTorch's."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from inference_helpers import TinySegNet, asymmetric_picture, dummy_model

from monai_lite.inference import BundleModel, Predictor
from monai_lite.inference import onnx_cache
from monai_lite.inference.onnx_engine import OnnxRuntimeNetwork, engine_network

pytest.importorskip("onnxruntime")

ATOL = 1e-4  # probabilities; the exports are checked to 1e-4 of the logits' scale


@pytest.fixture(autouse=True)
def _user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def _pair(tmp_path: Path, net: torch.nn.Module, preset: str, dims: int, name: str = "model",
          **kwargs) -> tuple[BundleModel, BundleModel]:
    """The same network as a PyTorch model and as an ONNX Runtime model (weights saved to ``name.pt``)."""
    ckpt = tmp_path / "models" / f"{name}.pt"
    ckpt.parent.mkdir(exist_ok=True)
    torch.save(net.state_dict(), ckpt)
    in_channels = net.stem.in_channels
    reference = dummy_model(net, preset, dims, in_channels=in_channels, **kwargs)
    onnx = dummy_model(engine_network(net.eval(), "onnxruntime", in_channels, ckpt), preset, dims,
                       in_channels=in_channels, **kwargs)
    onnx.engine = "onnxruntime"
    return reference, onnx


def _count_calls(network: OnnxRuntimeNetwork, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Batch sizes of the ONNX Runtime calls of ``network``, recorded as they happen."""
    seen: list[int] = []
    run = network._run_onnx

    def counted(shape, x):
        seen.append(int(x.shape[0]))
        return run(shape, x)

    monkeypatch.setattr(network, "_run_onnx", counted)
    return seen


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    array = np.random.default_rng(0).normal(50, 20, size=(14, 11, 9)).astype(np.float32)
    array[2:6, 1:8, 5:9] += 80
    (tmp_path / "in").mkdir()
    path = tmp_path / "in" / "volume.nii.gz"
    nib.save(nib.Nifti1Image(array, np.diag([1.2, 0.9, 2.5, 1.0])), path)
    return path


def _same(torch_predictor: Predictor, onnx_predictor: Predictor, source) -> None:
    expected, got = torch_predictor.predict_proba(source), onnx_predictor.predict_proba(source)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=ATOL)
    np.testing.assert_array_equal(onnx_predictor(source), torch_predictor(source))


def test_picture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference, onnx = _pair(tmp_path, TinySegNet(2, 3, 1), "dermoscopy", 2, spatial_size=[32, 32])
    calls = _count_calls(onnx.network, monkeypatch)
    _same(Predictor([reference]), Predictor([onnx]), asymmetric_picture(40, 64))
    assert calls and set(calls) == {1}
    assert onnx.network.describe()["inputs"]["32x32"]["runs"] == "onnxruntime"


def test_2d_network_slice_by_slice(tmp_path: Path, volume: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference, onnx = _pair(tmp_path, TinySegNet(2, 1, 1), "mri", 2, roi_size=(8, 8))
    calls = _count_calls(onnx.network, monkeypatch)
    _same(Predictor([reference], sw_batch_size=4), Predictor([onnx], sw_batch_size=4), volume)
    assert calls[:3] == [4, 4, 1]  # the 9 axial slices, the last batch partial
    assert len(onnx.network.describe()["inputs"]) == 1  # one slice size, exported on first use


@pytest.mark.parametrize("batch_axis", ["dynamic", "one"])
def test_3d_sliding_window_with_partial_batch(batch_axis: str, tmp_path: Path, volume: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    if batch_axis == "one":  # the TorchScript exporter with a fixed batch of 1, as LightAWNet's graphs are
        monkeypatch.setattr(onnx_cache, "_EXPORTERS", (("torchscript", False),))
    reference, onnx = _pair(tmp_path, TinySegNet(3, 1, 3), "mri", 3, roi_size=(8, 8, 4), out_channels=3)
    calls = _count_calls(onnx.network, monkeypatch)
    options = {"sw_batch_size": 5, "overlap": 0.25, "blend": "gaussian"}
    _same(Predictor([reference], **options), Predictor([onnx], **options), volume)
    windows = sum(calls) // 2  # predict_proba, then __call__
    assert windows > 5 and windows % 5 and calls[0] == 5 and calls[windows // 5] == windows % 5
    assert onnx.network.describe()["inputs"]["8x8x4"]["batch"] == ("dynamic" if batch_axis == "dynamic" else 1)


def test_tta(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference, onnx = _pair(tmp_path, TinySegNet(2, 3, 1), "dermoscopy", 2, spatial_size=[32, 32])
    calls = _count_calls(onnx.network, monkeypatch)
    _same(Predictor([reference], tta=True), Predictor([onnx], tta=True), asymmetric_picture(40, 64))
    assert len(calls) == 12  # six augmented copies, twice


def test_ensemble_of_two_checkpoints(tmp_path: Path) -> None:
    members = [_pair(tmp_path, TinySegNet(2, 3, 1, seed=seed), "dermoscopy", 2, name=f"member{seed}",
                     spatial_size=[32, 32], dice=dice) for seed, dice in ((0, 0.6), (1, 0.9))]
    torch_ensemble = Predictor([reference for reference, _ in members])
    onnx_ensemble = Predictor([onnx for _, onnx in members])
    assert onnx_ensemble.weights == pytest.approx([0.4, 0.6])
    _same(torch_ensemble, onnx_ensemble, asymmetric_picture(40, 64))
    files = sorted(p.name for p in (tmp_path / "models").glob("*.onnx"))
    assert files == ["member0.32x32.onnx", "member1.32x32.onnx"]  # one export per checkpoint
    assert onnx_ensemble.options()["engine"] == "onnxruntime"
