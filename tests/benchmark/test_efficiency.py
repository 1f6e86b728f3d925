# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves `monai-lite benchmark efficiency` writes efficiency.json and efficiency.md with every column, that its
parameter and MAC counts equal direct counts of the same model, that a model which cannot be built is reported with
its reason instead of dropped, and that bad options give one-sentence errors. Tiny inputs; no timing assertions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from monai_lite.benchmark import measure
from monai_lite.benchmark.efficiency import COLUMNS, render_markdown, select_models
from monai_lite.benchmark.zoo import get_model
from monai_lite.cli import main

SMOKE = ["--models", "lacnet", "unetr", "--size2d", "48", "--size3d", "32", "--repeats", "2", "--warmup", "1",
         "--threads", "1", "--no-progress"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("efficiency") / "report"
    assert main(["benchmark", "efficiency", "-o", str(out), "--dims", "2", "3", *SMOKE]) == 0
    return out


def test_json_holds_every_model_and_measurement(smoke: Path) -> None:
    report = json.loads((smoke / "efficiency.json").read_text())
    assert {"machine", "settings", "results", "duration_s"} <= set(report)
    assert report["machine"]["torch"] == torch.__version__ and report["machine"]["cpu_model"]
    assert report["settings"]["threads"] == 1 and report["settings"]["repeats"] == {"2d": 2, "3d": 2}
    rows = {(r["model"], r["spatial_dims"]): r for r in report["results"]}
    assert set(rows) == {("basicunet", 2), ("lacnet", 2), ("basicunet", 3), ("lacnet", 3), ("unetr", 3)}
    for key in [("basicunet", 2), ("lacnet", 2), ("basicunet", 3), ("lacnet", 3)]:
        row = rows[key]
        assert row["errors"] == {}, row["errors"]
        assert row["latency_cpu"]["repeats"] == 2 and len(row["latency_cpu"]["samples_ms"]) == 2
        assert row["latency_onnxruntime"]["repeats"] == 2
        assert row["onnx_max_abs_diff"] <= 1e-4 * max(1.0, row["output_max_abs"])
        assert row["weight_bytes"] > 4 * row["params"] and row["peak_rss_bytes"] > 0
    assert rows[("basicunet", 2)]["latency_ratio_to_baseline"] == 1.0
    assert rows[("lacnet", 3)]["latency_ratio_to_baseline"] > 0


def test_params_and_macs_equal_direct_counts(smoke: Path) -> None:
    report = json.loads((smoke / "efficiency.json").read_text())
    row = next(r for r in report["results"] if r["model"] == "lacnet" and r["spatial_dims"] == 3)
    net = get_model("lacnet").build(3, 1, 3).eval()
    assert row["params"] == sum(p.numel() for p in net.parameters())
    assert row["macs"] == measure.count_macs(net, torch.rand(row["input_shape"]))
    assert row["input_shape"] == [1, 1, 32, 32, 32] and row["out_channels"] == 3


def test_a_model_that_cannot_be_built_is_reported_with_its_reason(smoke: Path) -> None:
    report = json.loads((smoke / "efficiency.json").read_text())
    row = next(r for r in report["results"] if r["model"] == "unetr")
    if "build" not in row["errors"]:
        pytest.skip("UNETR builds here (einops installed)")
    assert "einops" in row["errors"]["build"]
    assert "build failed: OptionalImportError" in (smoke / "efficiency.md").read_text()


def test_markdown_has_machine_settings_and_every_column(smoke: Path) -> None:
    text = (smoke / "efficiency.md").read_text()
    report = json.loads((smoke / "efficiency.json").read_text())
    assert text == render_markdown(report)  # produced from the JSON, never typed in
    assert report["machine"]["cpu_model"] in text and f"torch {torch.__version__}" in text
    assert "MACs: torch.utils.flop_counter.FlopCounterMode total FLOPs / 2" in text
    expected = [c for c in COLUMNS if c != "GPU median (ms)" or torch.cuda.is_available()]
    for dims, rows in ((2, 2), (3, 3)):
        section = text.split(f"## {dims}D")[1].split("\n## ")[0]
        header = next(line for line in section.splitlines() if line.startswith("| model"))
        assert [c.strip() for c in header.strip("|").split("|")] == expected
        assert len([line for line in section.splitlines() if line.startswith("| `")]) == rows


def test_baseline_is_always_measured_first() -> None:
    assert select_models(["lacnet*"], 2) == [
        "basicunet", "lacnet", "lacnet-no-attention", "lacnet-no-lightweight-conv", "lacnet-no-attention-no-lightweight-conv",
    ]
    assert select_models(["swinunetr"], 2) == ["basicunet"]  # a 3D-only model is not run in 2D


@pytest.mark.parametrize(
    "options, message",
    [
        (["--threads", "0"], "--threads must be at least 1"),
        (["--repeats", "0"], "--repeats must be at least 1"),
        (["--models", "nope"], "unknown benchmark model 'nope'"),
        (["--size2d", "4"], "input sizes must be at least 8"),
    ],
)
def test_bad_options_give_one_sentence_errors(options, message, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["benchmark", "efficiency", "-o", str(out), "--dims", "2", "--no-progress", *options]) == 1
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_output_that_is_a_file_is_refused(tmp_path: Path, capsys) -> None:
    target = tmp_path / "taken"
    target.write_text("keep me")
    assert main(["benchmark", "efficiency", "-o", str(target), "--dims", "2", "--no-progress"]) == 1
    assert "is an existing file" in capsys.readouterr().err and target.read_text() == "keep me"
