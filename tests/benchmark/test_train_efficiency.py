# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves `monai-lite benchmark efficiency --train` times every model in every asked configuration and writes
efficiency_train.json / .md (the tables built from the JSON), with SegResNet always measured as the baseline and
the ratios computed from the medians; that bf16 configurations are timed by default only on a CPU with native bf16
(detection monkeypatched both ways); and that bad options give one-sentence errors. Tiny models and inputs; no
timing assertions."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from monai_lite.benchmark import train_efficiency
from monai_lite.benchmark.train_efficiency import default_configs, render_train_markdown, select_train_models
from monai_lite.cli import main
from monai_lite.engine.cpu import CpuFeatures

SMOKE = ["--train", "--dims", "2", "--models", "unet", "--size2d", "32", "--batch2d", "2", "--repeats", "2",
         "--warmup", "0", "--threads", "1", "--no-progress"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("train-efficiency") / "report"
    assert main(["benchmark", "efficiency", "-o", str(out), *SMOKE, "--train-configs", "fp32", "channels-last",
                 "bf16"]) == 0
    return out


def test_json_holds_every_model_and_configuration(smoke: Path) -> None:
    report = json.loads((smoke / "efficiency_train.json").read_text())
    assert {"machine", "cpu_features", "settings", "results", "duration_s"} <= set(report)
    assert report["settings"]["configs"] == ["fp32", "channels-last", "bf16"]
    assert report["settings"]["batch_size"] == {"2d": 2} and report["machine"]["torch_num_threads"] == 1
    rows = {r["model"]: r for r in report["results"]}
    assert list(rows) == ["segresnet", "unet"], "the baseline first, then the asked models"
    for row in rows.values():
        assert row["errors"] == {} and row["input_shape"] == [2, 3, 32, 32] and row["params"] > 0
        assert set(row["configs"]) == {"fp32", "channels-last", "bf16"}
        for result in row["configs"].values():
            assert len(result["samples_s"]) == 2
            assert result["median_s"] == statistics.median(result["samples_s"])
            assert result["images_per_s"] == pytest.approx(2 / result["median_s"])
        fp32, bf16 = row["configs"]["fp32"], row["configs"]["bf16"]
        assert bf16["x_fp32"] == pytest.approx(bf16["images_per_s"] / fp32["images_per_s"])
        assert bf16["first_loss"] == pytest.approx(fp32["first_loss"], rel=0.05), "same weights, same batch"
        assert row["best_config"] == max(row["configs"], key=lambda c: row["configs"][c]["images_per_s"])
    unet, base = rows["unet"]["configs"], rows["segresnet"]["configs"]
    assert unet["channels-last"]["x_baseline"] == pytest.approx(
        unet["channels-last"]["images_per_s"] / base["channels-last"]["images_per_s"])
    assert all(c["x_baseline"] == 1.0 for c in base.values())


def test_markdown_is_built_from_the_json(smoke: Path) -> None:
    report = json.loads((smoke / "efficiency_train.json").read_text())
    text = (smoke / "efficiency_train.md").read_text()
    assert text == render_train_markdown(report)
    assert report["cpu_features"]["reason"] in text and "torch.set_num_threads(1)" in text
    header = next(line for line in text.splitlines() if line.startswith("| model"))
    assert "| fp32 img/s | channels-last img/s | bf16 img/s |" in header and "bf16+channels-last" not in header
    assert len([line for line in text.splitlines() if line.startswith("| `")]) == 2


@pytest.mark.parametrize("native, expected", [(True, list(train_efficiency.CONFIGS)), (False, ["fp32", "channels-last"])])
def test_bf16_is_timed_by_default_only_with_native_support(
    monkeypatch, tmp_path: Path, native: bool, expected: list[str]
) -> None:
    assert default_configs(native) == expected
    features = CpuFeatures("cpu", avx512_bf16=native, amx_bf16=False, arm_bf16=False, source="test")
    monkeypatch.setattr(train_efficiency, "cpu_features", lambda: features)
    timed = []
    monkeypatch.setattr(train_efficiency, "_time_dimension", lambda *args: timed.append(args[4]) or [])
    report = train_efficiency.run_train_efficiency(tmp_path, dims=[2], models=["unet"], progress=False)
    assert timed == [expected] and report["settings"]["configs"] == expected
    assert report["cpu_features"]["native_bf16"] is native


def test_default_models_are_ours_and_monais_references() -> None:
    assert select_train_models(None, 2) == ["segresnet", "medlitenet", "lightawnet", "lacnet", "msaunet", "unet",
                                            "basicunet"]
    assert select_train_models(["medlitenet-no-*"], 3)[0] == "segresnet"


@pytest.mark.parametrize(
    "options, message",
    [
        (["--batch2d", "0"], "batch sizes must be at least 1"),
        (["--models", "nope"], "unknown benchmark model 'nope'"),
        (["--size2d", "4"], "input sizes must be at least 8"),
    ],
)
def test_bad_options_give_one_sentence_errors(options, message, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["benchmark", "efficiency", "--train", "-o", str(out), "--dims", "2", "--no-progress", *options]) == 1
    assert message in capsys.readouterr().err
    assert not out.exists()
