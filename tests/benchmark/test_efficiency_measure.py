# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the single measurements of monai_lite.benchmark.measure are right: parameter and MAC counts against counts
made by hand, weight-file size against a file written by torch.save, latency statistics against numpy, peak-memory
readings, and ONNX export + ONNX Runtime against PyTorch. No timing assertions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from monai_lite.benchmark import measure


def test_parameters_and_macs_of_a_conv2d_by_hand() -> None:
    conv = torch.nn.Conv2d(3, 8, kernel_size=3, padding=1)
    x = torch.randn(1, 3, 32, 32)
    assert measure.count_parameters(conv) == 8 * 3 * 3 * 3 + 8
    # one multiply-add per weight per output pixel; the bias add is not a multiply-add
    assert measure.count_macs(conv, x) == 8 * 3 * 3 * 3 * 32 * 32


def test_macs_of_a_conv3d_and_a_linear_by_hand() -> None:
    net = torch.nn.Sequential(torch.nn.Conv3d(1, 4, 3, stride=2, padding=1, bias=False), torch.nn.Flatten(), torch.nn.Linear(4 * 8**3, 5))
    x = torch.randn(2, 1, 16, 16, 16)
    assert measure.count_macs(net, x) == 2 * (4 * 27 * 8**3 + 4 * 8**3 * 5)


def test_weight_file_bytes_equal_the_size_of_a_saved_state_dict(tmp_path: Path) -> None:
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3), torch.nn.BatchNorm2d(16))
    torch.save(net.state_dict(), tmp_path / "model.pt")
    assert measure.weight_file_bytes(net) == (tmp_path / "model.pt").stat().st_size


def test_latency_statistics_match_numpy() -> None:
    stats = measure.LatencyStats.from_samples([4.0, 1.0, 3.0, 2.0, 10.0], warmup=1)
    assert stats.median_ms == 3.0 and stats.min_ms == 1.0 and stats.mean_ms == 4.0
    assert stats.p90_ms == pytest.approx(np.percentile([1, 2, 3, 4, 10], 90))
    assert stats.to_dict()["repeats"] == 5 and stats.to_dict()["warmup"] == 1


def test_measure_latency_counts_calls_and_rejects_bad_counts() -> None:
    calls = []
    net = torch.nn.Identity()
    net.register_forward_hook(lambda *_: calls.append(1))
    stats = measure.measure_latency(net, torch.zeros(1), repeats=3, warmup=2)
    assert len(calls) == 5 and stats.repeats == 3 and len(stats.samples_ms) == 3
    assert not net.training
    with pytest.raises(ValueError, match="repeats"):
        measure.measure_latency(net, torch.zeros(1), repeats=0)


def test_peak_rss_sees_a_large_allocation() -> None:
    if measure.current_rss_bytes() is None:
        pytest.skip("/proc/self/status is not available on this platform")
    measure.reset_peak_rss()
    before = measure.current_rss_bytes()
    block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
    assert measure.peak_rss_bytes() - before >= 48 * 2**20
    del block


def test_onnx_export_and_runtime_reproduce_pytorch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 1, 1)).eval()
    x = torch.rand(1, 2, 20, 12)
    path = measure.export_onnx(net, x, tmp_path / "net.onnx")
    stats, out = measure.onnxruntime_latency(path, x, threads=1, repeats=2, warmup=1)
    with torch.no_grad():
        np.testing.assert_allclose(out, net(x).numpy(), atol=1e-5)
    assert stats.repeats == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.onnx"]  # no temporary file left
    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        measure.onnxruntime_latency(tmp_path / "missing.onnx", x, threads=1)


def test_machine_info_names_cpu_and_versions() -> None:
    info = measure.machine_info()
    assert info["cpu_count"] >= 1 and info["cpu_model"]
    assert info["torch"] == torch.__version__ and info["monai"]


def test_onnx_export_falls_back_to_the_dynamo_exporter_with_weights_inside(tmp_path: Path, monkeypatch) -> None:
    real_export = torch.onnx.export

    def torchscript_exporter_fails(*args, dynamo: bool = True, **kwargs):
        if not dynamo:
            raise RuntimeError("onnx memory_format support is not implemented")
        return real_export(*args, dynamo=dynamo, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", torchscript_exporter_fails)
    net = torch.nn.Conv3d(1, 2, 3, padding=1).eval()
    x = torch.rand(1, 1, 6, 6, 6)
    path = measure.export_onnx(net, x, tmp_path / "net.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.onnx"]  # no external-data file, no temporary file
    _, out = measure.onnxruntime_latency(path, x, threads=1, repeats=1, warmup=0)
    with torch.no_grad():
        np.testing.assert_allclose(out, net(x).numpy(), atol=1e-5)
    monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: (_ for _ in ()).throw(ValueError("unsupported op")))
    with pytest.raises(RuntimeError, match="torchscript exporter: ValueError: unsupported op; dynamo exporter"):
        measure.export_onnx(net, x, tmp_path / "other.onnx")
    assert not (tmp_path / "other.onnx").exists()
