# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the ONNX export cache and the engine choice around it: an export is made once per checkpoint and input
size and read back by later loads (file untouched, nothing exported); new weights are exported again; a planted or
altered ``.onnx`` (no sidecar, a sidecar for other weights, bytes that do not hash to the recorded sha256) is never
run but replaced by a fresh export; a read-only model folder caches in ``$XDG_CACHE_HOME/monai-lite/onnx/<sha256>``;
an export that fails its parity check is refused by ``onnxruntime`` with a message naming the difference, run by
PyTorch under ``auto`` with a warning, and remembered so the next load does not export again; ``auto`` times the two
engines once, on the first call's own batch, and records the decision, timing again only on another machine or
thread count; and a missing
onnxruntime, a GPU device or an unknown engine name get one clear error (``auto`` falls back to PyTorch)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from inference_helpers import TinySegNet

from monai_lite.errors import SettingError
from monai_lite.inference import onnx_cache, onnx_engine
from monai_lite.inference.onnx_cache import OnnxExportCache
from monai_lite.inference.onnx_engine import OnnxRuntimeNetwork, check_engine, engine_network

pytest.importorskip("onnxruntime")

SHAPE = (16, 16)


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "monai-lite" / "onnx"


def _checkpoint(folder: Path, seed: int = 0) -> tuple[torch.nn.Module, Path]:
    net = TinySegNet(2, 1, 1, seed=seed).eval()
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), folder / "model.pt")
    return net, folder / "model.pt"


def _torch_and_onnx(net: torch.nn.Module, ckpt: Path, engine: str = "onnxruntime") -> tuple[np.ndarray, np.ndarray]:
    x = torch.randn(3, 1, *SHAPE, generator=torch.Generator().manual_seed(5))
    wrapped = engine_network(net, engine, 1, ckpt)
    with torch.no_grad():
        return net(x).numpy(), wrapped(x).numpy()


def test_export_once_then_read_back(tmp_path: Path) -> None:
    net, ckpt = _checkpoint(tmp_path / "models")
    first = OnnxExportCache(net, 1, ckpt)
    export = first.get(SHAPE)
    assert first.exports_made == 1 and export.usable and export.dynamic_batch
    assert export.onnx_path == tmp_path / "models" / "model.16x16.onnx"
    stamp = export.onnx_path.stat().st_mtime_ns
    record = json.loads(export.sidecar.read_text())
    assert record["key"]["checkpoint_sha256"] == first.key["checkpoint_sha256"]
    assert record["input_shape"] == [1, 1, *SHAPE] and record["parity"]["passed"] is True
    assert {"torch", "onnxruntime"} <= set(record["versions"])

    second = OnnxExportCache(net, 1, ckpt)
    again = second.get(SHAPE)
    assert second.exports_made == 0 and again.model_bytes == export.model_bytes
    assert export.onnx_path.stat().st_mtime_ns == stamp


def test_new_weights_are_exported_again(tmp_path: Path) -> None:
    net, ckpt = _checkpoint(tmp_path / "models")
    OnnxExportCache(net, 1, ckpt).get(SHAPE)
    net2, _ = _checkpoint(tmp_path / "models", seed=1)  # same file name, other weights
    cache = OnnxExportCache(net2, 1, ckpt)
    cache.get(SHAPE)
    assert cache.exports_made == 1
    expected, got = _torch_and_onnx(net2, ckpt)
    np.testing.assert_allclose(got, expected, atol=1e-4)


@pytest.mark.parametrize("plant", ["no_sidecar", "sidecar_of_other_weights", "bytes_swapped"])
def test_planted_onnx_is_never_run(plant: str, tmp_path: Path) -> None:
    other, other_ckpt = _checkpoint(tmp_path / "other", seed=7)
    planted = OnnxExportCache(other, 1, other_ckpt).get(SHAPE)  # a valid graph, of other weights
    net, ckpt = _checkpoint(tmp_path / "models")
    target = tmp_path / "models" / "model.16x16.onnx"
    if plant == "no_sidecar":
        target.write_bytes(planted.model_bytes)
    elif plant == "sidecar_of_other_weights":
        target.write_bytes(planted.model_bytes)
        Path(f"{target}.json").write_text(planted.sidecar.read_text())
    else:  # a genuine sidecar for these weights, then the graph beside it replaced
        OnnxExportCache(net, 1, ckpt).get(SHAPE)
        target.write_bytes(planted.model_bytes)
    cache = OnnxExportCache(net, 1, ckpt)
    export = cache.get(SHAPE)
    assert cache.exports_made == 1 and export.model_bytes != planted.model_bytes
    assert target.read_bytes() == export.model_bytes  # replaced by the verified export
    expected, got = _torch_and_onnx(net, ckpt)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_read_only_model_folder_uses_the_user_cache(tmp_path: Path, xdg: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    net, ckpt = _checkpoint(tmp_path / "models")
    write = onnx_cache._write_pair

    def read_only(folder: Path, *args) -> None:
        if folder == ckpt.parent:
            raise PermissionError(13, "Permission denied", str(folder))
        write(folder, *args)

    monkeypatch.setattr(onnx_cache, "_write_pair", read_only)
    cache = OnnxExportCache(net, 1, ckpt)
    export = cache.get(SHAPE)
    assert export.sidecar == xdg / cache.key["checkpoint_sha256"] / "model.16x16.onnx.json"
    assert not list(ckpt.parent.glob("*.onnx*"))
    again = OnnxExportCache(net, 1, ckpt)
    assert again.get(SHAPE).usable and again.exports_made == 0

    def nothing_writable(folder: Path, *args) -> None:
        if folder != nowhere._scratch:
            raise OSError(30, "Read-only file system", str(folder))
        write(folder, *args)

    monkeypatch.setattr(onnx_cache, "_write_pair", nothing_writable)
    net3, ckpt3 = _checkpoint(tmp_path / "read_only", seed=3)
    nowhere = OnnxExportCache(net3, 1, ckpt3)
    export = nowhere.get(SHAPE)  # nothing writable: kept in a temporary folder for this run, no failure
    assert export.usable and export.sidecar.parent == nowhere._scratch


class ExportDiffers(torch.nn.Module):
    """Adds 1 to its logits while being exported: a graph that never matches the network."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + (1.0 if torch.onnx.is_in_onnx_export() else 0.0)


def test_failed_parity_is_refused_or_falls_back(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onnx_cache, "_EXPORTERS", (("torchscript", True),))  # the dynamo one would differ alike
    net = ExportDiffers().eval()
    ckpt = tmp_path / "models" / "model.pt"
    ckpt.parent.mkdir()
    torch.save(net.state_dict(), ckpt)
    with pytest.raises(SettingError, match=r"ONNX export of .*model.pt for inputs of size 16x16 is refused: its "
                                           r"outputs differ from PyTorch's by up to 1, more than the allowed"):
        engine_network(net, "onnxruntime", 1, ckpt, shapes=[SHAPE])
    assert not (tmp_path / "models" / "model.16x16.onnx").exists()
    assert json.loads((tmp_path / "models" / "model.16x16.onnx.json").read_text())["parity"]["passed"] is False

    with caplog.at_level(logging.WARNING, logger="monai_lite.inference.onnx_engine"):
        auto = engine_network(net, "auto", 1, ckpt, shapes=[SHAPE])
    assert "engine auto runs PyTorch for this size" in caplog.text
    assert auto.cache.exports_made == 0  # the refusal was remembered
    x = torch.randn(2, 1, *SHAPE)
    with torch.no_grad():
        np.testing.assert_array_equal(auto(x).numpy(), net(x).numpy())
    assert auto.describe()["inputs"]["16x16"]["runs"] == "torch"


def test_auto_times_once_and_records_the_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net, ckpt = _checkpoint(tmp_path / "models")
    timings = []

    def onnxruntime_faster(self, shape, x):
        timings.append(tuple(x.shape))
        return 2.0, 1.0  # torch ms, onnxruntime ms

    monkeypatch.setattr(OnnxRuntimeNetwork, "_time_both", onnxruntime_faster)
    batch = torch.randn(4, 1, *SHAPE)
    first = engine_network(net, "auto", 1, ckpt, shapes=[SHAPE])
    assert first.describe()["inputs"]["16x16"]["runs"].startswith("auto: both engines are timed on the first call")
    first(batch), first(batch[:1])
    assert timings == [(4, 1, *SHAPE)]  # timed once, on the batch the first call sent
    assert first.describe()["inputs"]["16x16"]["runs"] == "onnxruntime"
    sidecar = tmp_path / "models" / "model.16x16.onnx.json"
    speed = json.loads(sidecar.read_text())["speed"]
    assert speed["faster"] == "onnxruntime" and speed["batch"] == 4
    assert speed["conditions"]["threads"] == torch.get_num_threads()

    again = engine_network(net, "auto", 1, ckpt, shapes=[SHAPE])
    assert again.describe()["inputs"]["16x16"]["runs"] == "onnxruntime"  # decided at load from the record
    again(batch)
    assert len(timings) == 1

    conditions = onnx_engine._speed_conditions()
    monkeypatch.setattr(onnx_engine, "_speed_conditions", lambda: {**conditions, "threads": 99})

    def torch_faster(self, shape, x):
        timings.append(tuple(x.shape))
        return 1.0, 3.0

    monkeypatch.setattr(OnnxRuntimeNetwork, "_time_both", torch_faster)
    other = engine_network(net, "auto", 1, ckpt, shapes=[SHAPE])
    with torch.no_grad():
        np.testing.assert_array_equal(other(batch).numpy(), net(batch).numpy())  # PyTorch's own output
    assert len(timings) == 2 and other.describe()["inputs"]["16x16"]["runs"] == "torch"
    assert json.loads(sidecar.read_text())["speed"]["faster"] == "torch"


def test_auto_really_times_both_engines(tmp_path: Path) -> None:
    net, ckpt = _checkpoint(tmp_path / "models")
    auto = engine_network(net, "auto", 1, ckpt)
    with torch.no_grad():
        auto(torch.randn(2, 1, *SHAPE))
    speed = auto.describe()["inputs"]["16x16"]["speed"]
    assert speed["torch_ms"] > 0 and speed["onnxruntime_ms"] > 0 and speed["batch"] == 2
    assert speed["faster"] == ("onnxruntime" if speed["onnxruntime_ms"] < speed["torch_ms"] else "torch")


def test_missing_onnxruntime_gpu_and_unknown_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    net, ckpt = _checkpoint(tmp_path / "models")
    with pytest.raises(SettingError, match="engine must be one of torch, onnxruntime, auto, got 'tensorrt'"):
        check_engine("tensorrt")
    with pytest.raises(SettingError, match="runs on the CPU, but the model is on cuda"):
        engine_network(net, "onnxruntime", 1, ckpt, device="cuda")
    assert engine_network(net, "auto", 1, ckpt, device="cuda") is net
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    with pytest.raises(SettingError, match=r"pip install 'monai-lite\[export\]'"):
        engine_network(net, "onnxruntime", 1, ckpt)
    with caplog.at_level(logging.WARNING, logger="monai_lite.inference.onnx_engine"):
        assert engine_network(net, "auto", 1, ckpt) is net
    assert "onnxruntime is not installed" in caplog.text
    assert not list(ckpt.parent.glob("*.onnx*"))
