# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves that ``monai-lite benchmark accuracy --bundle medlitenet_hippocampus`` benchmarks in 3D.

- every model (MONAI's SegResNet, UNet, BasicUNet, AttentionUnet and the monai-lite networks) is handed to the 3D
  bundle's machinery built 3D with its channels (1 in, 3 out), the 3D size and preset; under the paper recipe a
  monai-lite network trains with its own 3D bundle (``lacnet_hippocampus``);
- a 2D image size for a 3D bundle, and an unknown bundle, are refused before any training;
- (smoke) SegResNet trains one epoch on two synthetic volumes at 16^3 and is scored on every validation volume in
  mm, with a 5D latency input;
- (slow) the four MONAI networks train at 32^3 through the command line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monai_lite.benchmark import accuracy
from monai_lite.benchmark.accuracy import benchmark_accuracy
from monai_lite.cli import main

HIPPO = "medlitenet_hippocampus"
TINY = {"epochs": 1, "batch_size": 1, "num_workers": 0, "latency_repeats": 1, "latency_threads": 1, "log": None,
        "overrides": {"train#dataset#data": "$@data[0][:2]", "validate#dataset#data": "$@data[1][:1]"}}


def test_models_are_built_3d_for_the_3d_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {}

    def record(bundle, overrides, budget, log_path, **kwargs):
        calls[Path(overrides["bundle_root"]).parent.name] = (bundle, dict(overrides))
        raise RuntimeError("stop after recording the call")

    monkeypatch.setattr(accuracy, "_train", record)
    models = ["segresnet", "unet", "basicunet", "attentionunet", "medlitenet", "lacnet"]
    results = benchmark_accuracy(tmp_path / "common", models=models, bundle=HIPPO, image_size=(32, 48, 32), **TINY)
    assert results["settings"]["spatial_dims"] == 3 and results["settings"]["preset"] == "mri_hippocampus"
    assert "volumes_3d" in results["settings"]["data_name"]
    for name in models:
        bundle, overrides = calls[name]
        net = overrides["network_def"]
        assert bundle == HIPPO and (net["spatial_dims"], net["in_channels"], net["out_channels"]) == (3, 1, 3), name
        assert overrides["image_size"] == [32, 48, 32]
    assert calls["unet"][1]["network_def"]["_target_"] == "monai.networks.nets.UNet"

    calls.clear()
    benchmark_accuracy(tmp_path / "paper", models=["lacnet", "segresnet"], bundle=HIPPO, recipe="paper",
                       image_size=(32,), **TINY)
    assert calls["lacnet"][0] == "lacnet_hippocampus" and calls["segresnet"][0] == HIPPO
    assert calls["lacnet"][1]["image_size"] == [32, 32, 32], "one value is repeated over the dimensions"


def test_wrong_dimension_or_bundle_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="3D: --image-size needs 3 values"):
        benchmark_accuracy(tmp_path / "b", models=["unet"], bundle=HIPPO, image_size=(64, 64), epochs=1)
    with pytest.raises(ValueError, match="nosuchbundle"):
        benchmark_accuracy(tmp_path / "b", models=["unet"], bundle="nosuchbundle", epochs=1)
    assert not (tmp_path / "b").exists()


def test_segresnet_3d_smoke(tmp_path: Path) -> None:
    results = benchmark_accuracy(tmp_path / "b", models=["segresnet"], bundle=HIPPO, image_size=(16,),
                                 budget_cpu_minutes=5, **TINY)
    unit = results["units"]["segresnet"]["0"]
    assert unit["status"] == "done", unit.get("error")
    assert unit["epochs_done"] == 1 and unit["stopped_by"] == "epochs" and unit["train_cpu_seconds"] > 0
    held = unit["held_out"]
    assert held["n_cases"] == results["settings"]["n_val"] and held["distance_unit"] == "mm"
    assert 0.0 <= held["dice"]["mean"] <= 1.0
    assert unit["latency_input"] == [1, 1, 16, 16, 16] and unit["params"] > 0
    assert results["models"]["segresnet"]["held_out"]["dice"]["n"] == 1


@pytest.mark.slow
def test_monai_networks_3d_through_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "b"
    code = main(["benchmark", "accuracy", "-o", str(out), "--bundle", HIPPO, "--models",
                 "segresnet,unet,basicunet,attentionunet", "--epochs", "1", "--image-size", "32x32x32",
                 "--batch-size", "1", "--num-workers", "0", "--repeats", "1", "--threads", "1",
                 "--set", "train#dataset#data=$@data[0][:2]", "--set", "validate#dataset#data=$@data[1][:1]"])
    results = json.loads((out / "accuracy.json").read_text())
    assert code == 0, {m: e.get("errors") for m, e in results["models"].items()}
    assert list(results["models"]) == ["segresnet", "unet", "basicunet", "attentionunet"]
    assert all(e["held_out"]["dice"]["n"] == 1 and e["latency_input"] == [1, 1, 32, 32, 32]
               for e in results["models"].values())
    assert "--bundle medlitenet_hippocampus" in results["sittings"][0]["command"]
    assert "HD95 (mm)" in (out / "accuracy.md").read_text()
