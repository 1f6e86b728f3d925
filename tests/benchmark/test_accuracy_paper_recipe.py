# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves ``monai-lite benchmark accuracy --recipe paper`` trains monai-lite networks with their paper overlays.

- a paper-recipe workflow layers the bundle's ``configs/paper.json`` after its train.json (LACNet: Adam,
  median-frequency class weights), and the common recipe does not;
- the benchmark hands each monai-lite model (ablations included) its own bundle with the overlay and the overlay's
  preset parameters, while MONAI's networks get the common recipe on the base bundle; preset parameters the chosen
  preset lacks are dropped with a note instead of failing the run;
- (slow) a real one-epoch LACNet run under the paper recipe computes and records its class weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monai_lite.benchmark import accuracy
from monai_lite.benchmark.accuracy import COMMON_RECIPE, benchmark_accuracy

SMALL = {"epochs": 1, "image_size": (32, 32), "batch_size": 4, "num_workers": 0, "latency_repeats": 2,
         "overrides": {"train#dataset#data": "$@data[0][:4]", "validate#dataset#data": "$@data[1][:2]"}}


def test_paper_workflow_layers_the_overlay(tmp_path: Path) -> None:
    paper = accuracy._workflow("lacnet", {"bundle_root": str(tmp_path)}, paper=True)
    assert [f.name for f in accuracy._config_files("lacnet", True)] == ["train.json", "paper.json"]
    assert paper.parser["optimizer#_target_"] == "torch.optim.Adam"
    assert paper.parser["class_weights"] == "median_frequency" and paper.parser["epochs"] == 100
    common = accuracy._workflow("lacnet", {"bundle_root": str(tmp_path)})
    assert common.parser["class_weights"] is None and common.parser["epochs"] != 100


def test_models_get_their_papers_overlay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {}

    def record(bundle, overrides, budget_seconds, log_path, **kwargs):
        calls[Path(overrides["bundle_root"]).parent.name] = (bundle, dict(overrides), kwargs)
        raise RuntimeError("stop after recording the call")

    monkeypatch.setattr(accuracy, "_train", record)
    models = ["lacnet", "medlitenet-no-transformer", "unet"]
    results = benchmark_accuracy(tmp_path / "bench", models=models, recipe="paper", log=None, **SMALL)
    assert all(results["models"][m]["status"] == "failed" for m in models)
    bundle, overrides, kwargs = calls["lacnet"]
    assert bundle == "lacnet" and kwargs == {"paper": True}
    assert overrides["preset_params"]["imagenet_std"] == [1.0, 1.0, 1.0], "LACNet's [0, 1] input"
    assert overrides["val_interval"] == 1 and overrides["epochs"] == 1 and overrides["image_size"] == [32, 32]
    assert results["models"]["lacnet"]["config_files"][-1].endswith("lacnet/configs/paper.json")
    bundle, overrides, kwargs = calls["medlitenet-no-transformer"]
    assert bundle == "medlitenet" and kwargs == {"paper": True} and overrides["preset_params"]["prob_clahe"] > 0
    bundle, overrides, kwargs = calls["unet"]
    assert bundle == "medlitenet" and kwargs == {} and overrides["optimizer#_target_"] == "torch.optim.AdamW"
    assert all(overrides[k] == v for k, v in COMMON_RECIPE.items() if k != "val_interval")


def test_preset_params_a_preset_lacks_are_dropped_with_a_note() -> None:
    params, note = accuracy._overlay_preset_params("medlitenet", "grey_minmax")
    assert params == {"spatial_size": "@image_size"} and "prob_clahe" in note
    params, note = accuracy._overlay_preset_params("medlitenet", "endoscopy")
    assert params["prob_clahe"] > 0 and note == ""


@pytest.mark.slow
def test_lacnet_paper_run_records_its_class_weights(tmp_path: Path) -> None:
    results = benchmark_accuracy(tmp_path / "bench", models=["lacnet"], recipe="paper", log=None, **SMALL)
    entry = results["models"]["lacnet"]
    assert entry["status"] == "done", entry.get("errors")
    record = json.loads((tmp_path / "bench" / "runs" / "lacnet" / "seed0" / "models" / "class_weights.json").read_text())
    assert record["method"] == "median_frequency" and record["label_files"] == 4
