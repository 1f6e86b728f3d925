# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves ``monai-lite benchmark accuracy`` trains, evaluates and measures models and survives failures.

- (slow smoke) two tiny MONAI networks on the embedded synthetic data at 32x32 for one epoch, through the command line:
  ``accuracy.json`` has a unit per model (seed 0) with the expected numbers and the model's numbers over its one
  seed, ``accuracy.md`` lists them and both charts are PNGs; a model that fails is recorded as failed (exit code 1)
  without stopping the other one, and ``--resume`` skips the finished unit and retrains the failed one; each
  sitting's command is recorded;
- an earlier result is never overwritten without ``--resume``, nor resumed with other settings;
- a heavy default model (MSAUNet) is replaced by its half-width variant when out of memory or too slow for
  three epochs in the budget;
- bad requests (no budget, two budgets, a budget that is not positive, unknown model, output folder inside the
  dataset) stop before any training, with one sentence.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from monai_lite.benchmark import accuracy
from monai_lite.benchmark.accuracy import benchmark_accuracy
from monai_lite.cli import main

TINY = ["--epochs", "1", "--image-size", "32", "--batch-size", "4", "--num-workers", "0", "--repeats", "2",
        "--threads", "1", "--set", "train#dataset#data=$@data[0][:8]", "--set", "validate#dataset#data=$@data[1][:4]"]
ENTRY_KEYS = {"name", "seed", "family", "status", "epochs_done", "iterations", "stopped_by", "train_seconds",
              "train_cpu_seconds", "best_val_dice", "best_val_epoch", "held_out", "latency_ms", "latency",
              "latency_threads", "params", "macs", "checkpoint", "cpu_plan"}


@pytest.mark.slow
def test_smoke_reports_failures_and_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "bench"
    real_train = accuracy._train

    def train_or_fail(bundle, overrides, budget, log_path):
        if "/runs/unet/" in str(overrides["bundle_root"]).replace("\\", "/"):
            raise RuntimeError("simulated out of memory")
        return real_train(bundle, overrides, budget, log_path)

    monkeypatch.setattr(accuracy, "_train", train_or_fail)
    assert main(["benchmark", "accuracy", "-o", str(out), "--models", "segresnet,unet", *TINY]) == 1
    first = json.loads((out / "accuracy.json").read_text())
    assert list(first["models"]) == ["segresnet", "unet"]
    failed = first["units"]["unet"]["0"]
    assert failed["status"] == "failed" and "simulated" in failed["error"]
    assert first["models"]["unet"]["status"] == "failed" and "simulated" in first["models"]["unet"]["errors"]["0"]
    assert (out / "runs" / "unet" / "seed0" / "error.txt").is_file()

    monkeypatch.setattr(accuracy, "_train", real_train)
    assert main(["benchmark", "accuracy", "-o", str(out), "--models", "segresnet,unet", "--resume", *TINY]) == 0
    printed = capsys.readouterr().out
    assert "segresnet seed 0: already finished" in printed and "unet seed 0: done" in printed
    results = json.loads((out / "accuracy.json").read_text())
    assert results["units"]["segresnet"]["0"]["started"] == first["units"]["segresnet"]["0"]["started"], "retrained"
    assert [s["command"].split()[:3] for s in results["sittings"]] == [["monai-lite", "benchmark", "accuracy"]] * 2
    assert "--resume" in results["sittings"][1]["command"] and "--resume" not in results["sittings"][0]["command"]
    for name, by_seed in results["units"].items():
        entry = by_seed["0"]
        assert ENTRY_KEYS <= set(entry), f"{name} lacks {ENTRY_KEYS - set(entry)}"
        assert entry["status"] == "done" and entry["epochs_done"] == 1 and entry["stopped_by"] == "epochs"
        assert entry["params"] > 0 and entry["latency_ms"] > 0 and entry["latency_threads"] == 1
        assert entry["train_cpu_seconds"] > 0 and entry["train_threads"] >= 1
        held = entry["held_out"]
        assert held["n_cases"] == results["settings"]["n_val"] == 13
        for metric in ("dice", "iou", "hd95"):
            assert {"mean", "std"} <= set(held[metric]) and held[metric]["n"] == 13
            over_seeds = results["models"][name]["held_out"][metric]
            assert over_seeds["n"] == 1 and over_seeds["mean"] == held[metric]["mean"] and over_seeds["sd"] is None
        assert 0.0 <= held["dice"]["mean"] <= 1.0
        assert Path(entry["checkpoint"]).is_file()
        assert entry["cpu_plan"] in (out / "runs" / name / "seed0" / "train.log").read_text(), "the bundle's plan line is logged"
    assert results["settings"]["image_size"] == [32, 32] and results["machine"]["cpu_count"] >= 1

    table = (out / "accuracy.md").read_text()
    assert "| segresnet |" in table and "| unet |" in table and "(n=1)" in table and "## Per seed" in table
    for chart in ("accuracy_vs_latency.png", "accuracy_vs_training_time.png"):
        with Image.open(out / chart) as image:
            assert image.format == "PNG"

    with pytest.raises(ValueError, match="--resume"):
        benchmark_accuracy(out, models=["segresnet"], epochs=1, image_size=(32, 32))
    with pytest.raises(ValueError, match="other settings"):
        benchmark_accuracy(out, models=["segresnet"], epochs=2, image_size=(32, 32), resume=True)


def test_a_budget_is_required(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["benchmark", "accuracy", "-o", str(tmp_path / "b"), "--models", "unet"]) == 1
    assert "--budget-minutes" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_one_time_budget_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        benchmark_accuracy(tmp_path / "b", models=["unet"], budget_minutes=1, budget_cpu_minutes=1)
    with pytest.raises(ValueError, match="--budget-cpu-minutes must be a positive number"):
        benchmark_accuracy(tmp_path / "b", models=["unet"], budget_cpu_minutes=0)
    assert not (tmp_path / "b").exists()


def test_unknown_model_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown benchmark model 'nosuchnet'"):
        benchmark_accuracy(tmp_path / "b", models=["nosuchnet"], epochs=1)


def test_output_inside_the_dataset_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(ValueError, match="inside the dataset folder"):
        benchmark_accuracy(data / "bench", models=["unet"], epochs=1, dataset_dir=data, datalist=data / "x.json")
    assert sorted(p.name for p in data.iterdir()) == []


def test_heavy_default_model_is_replaced_when_it_does_not_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    from monai_lite.benchmark.zoo import get_model

    args = (get_model("msaunet"), 2, 3, 1, [64, 64], 8, 80, "cpu")
    monkeypatch.setattr(accuracy, "_probe_epoch_seconds", lambda *a: 100.0)
    assert "fewer than 3 epochs" in accuracy._does_not_fit(*args, budget_seconds=240.0)
    assert accuracy._does_not_fit(*args, budget_seconds=600.0) == ""
    assert accuracy._does_not_fit(*args, budget_seconds=None) == "", "an epoch budget never substitutes for speed"

    def out_of_memory(*a):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(accuracy, "_probe_epoch_seconds", out_of_memory)
    assert "out of memory" in accuracy._does_not_fit(*args, budget_seconds=None)


def test_every_unit_trains_on_the_benchmarks_thread_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--train-threads`` reaches the bundle as ``num_threads``: its ``"auto"`` plan would otherwise choose by the
    load on the machine when each unit starts, and units of one benchmark would train on different thread counts."""
    seen = []

    def record_and_stop(bundle, overrides, budget, log_path):
        seen.append(dict(overrides))
        raise RuntimeError("stop before training")

    monkeypatch.setattr(accuracy, "_train", record_and_stop)
    benchmark_accuracy(tmp_path / "b", models=["unet", "segresnet"], epochs=1, image_size=(32, 32), train_threads=1,
                       num_workers=0)
    assert [o["num_threads"] for o in seen] == [1, 1]
