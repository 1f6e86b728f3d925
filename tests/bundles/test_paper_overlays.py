# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves each bundle's ``configs/paper.json`` (its paper's training recipe as an overlay of ``train.json``) works.

- every bundle has an overlay, generated from ``bundles/_template/bundles.json`` (the drift test of
  test_bundle_generate.py covers the files), whose ids all exist in the bundle's train.json;
- layered after train.json, the overlay's recipe is what the run builds: optimiser class, learning rate, weight
  decay, loss weights, schedule, epochs, EMA, clipping, accumulation, preset and sizes as the paper says;
- every overlay trains a few iterations on the default synthetic data (sizes, epochs and cases made small; the 3D
  ones, MSAUNet's and the CLI run are marked slow);
  LACNet's run computes median-frequency class weights from the training labels and records them;
- the weights each overlay trains are served by ``monai_lite.load_bundle`` with the bundle's own inference config:
  the network the overlay trained (LightAWNet's on one grey channel where the bundle reads RGB) and its preprocessing
  come from the record beside the weights, and a validation image gets a mask of its own shape;
- the real CLI, ``python -m monai.bundle run training --config_file "['.../train.json','.../paper.json']"``, runs
  LACNet's overlay, and ``--class_weights`` overrides the computed weights.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from monai.bundle import ConfigParser, ConfigWorkflow

from monai_lite.bundle.runner import BUNDLES_DIR, list_bundles
from monai_lite.data.io import read_picture, read_volume
from monai_lite.inference import load_bundle

#: The bundles of the four papers' networks on the papers' kind of data; each ships its paper's recipe. The CT bundle
#: (medlitenet_ct) has none: no paper trained these networks on multi-organ CT.
PAPER_BUNDLES = [b for b in list_bundles() if b != "medlitenet_ct"]

REPO = BUNDLES_DIR.parent
#: What each paper's overlay must make the run use (parsed from the layered configs).
EXPECTED = {
    "medlitenet": {"optimizer": torch.optim.AdamW, "learning_rate": 1e-3, "epochs": 300, "grad_clip_norm": 0.5,
                   "ema_decay": 0.999, "accumulation_steps": 2, "amp": True, "lambda_ce": 0.5, "lambda_dice": 0.5},
    "lacnet": {"optimizer": torch.optim.Adam, "learning_rate": 1e-3, "epochs": 100, "weight_decay": 1e-4,
               "class_weights": "median_frequency", "ema_decay": 0, "accumulation_steps": 1},
    "lightawnet": {"optimizer": torch.optim.Adam, "learning_rate": 1e-4, "epochs": 50, "lambda_ce": 1.0,
                   "lambda_dice": 0.0, "weight_decay": 0},
    "msaunet": {"fold": 0},
}
#: The 2D input of each paper (the 3D bundles keep their patches).
EXPECTED_2D = {
    "medlitenet": {"image_size": [256, 256], "batch_size": 16, "preset": "dermoscopy"},
    "lacnet": {"image_size": [320, 320], "batch_size": 16},
    "lightawnet": {"image_size": [256, 256], "batch_size": 16, "in_channels": 1, "preset": "grey_minmax"},
}


def _configs(bundle: str) -> list[str]:
    folder = BUNDLES_DIR / bundle / "configs"
    return [str(folder / "train.json"), str(folder / "paper.json")]


def _paper(bundle: str) -> str:
    return bundle.split("_")[0]


def test_paper_bundles_and_only_they_ship_an_overlay() -> None:
    shipped = {b for b in list_bundles() if (BUNDLES_DIR / b / "configs" / "paper.json").is_file()}
    assert shipped == set(PAPER_BUNDLES) and len(PAPER_BUNDLES) == 8


@pytest.mark.parametrize("bundle", PAPER_BUNDLES)
def test_overlay_sets_the_papers_recipe(bundle: str) -> None:
    overlay = json.loads((BUNDLES_DIR / bundle / "configs" / "paper.json").read_text())
    train = json.loads((BUNDLES_DIR / bundle / "configs" / "train.json").read_text())
    assert not [k for k in overlay if not k.startswith("_") and k.split("#")[0] not in train]
    assert not [k for k in overlay if k.startswith("network")], "an overlay changes the recipe, never the network"
    parser = ConfigParser()
    parser.read_config(_configs(bundle))
    expected = dict(EXPECTED[_paper(bundle)])
    if "hippocampus" not in bundle:
        expected.update(EXPECTED_2D.get(_paper(bundle), {}))
    else:
        assert parser["image_size"] == train["image_size"] and parser["preset"] == "mri_hippocampus"
    optimizer = expected.pop("optimizer", None)
    for key, value in expected.items():
        assert parser[key] == value, f"{bundle}: {key} is {parser[key]!r}, the paper's recipe says {value!r}"
    if optimizer is not None:
        assert parser["optimizer#_target_"] == f"torch.optim.{optimizer.__name__}"


def _short_run(bundle: str, root: Path, **extra) -> ConfigWorkflow:
    three_d = "hippocampus" in bundle
    overrides = {
        "bundle_root": str(root), "epochs": 1, "val_interval": 1, "num_workers": 0,
        "batch_size": 2 if three_d else 4, "image_size": [32, 48, 32] if three_d else [64, 64],
        "train#dataset#data": "$@data[0][:4]", "validate#dataset#data": "$@data[1][:2]", **extra,
    }
    if "progressive_sizes" not in extra and not three_d:
        overrides["progressive_sizes"] = [[0, 32], [1, 1.0]]  # still switched on, at sizes the tiny run allows
    workflow = ConfigWorkflow(config_file=_configs(bundle), meta_file=str(BUNDLES_DIR / bundle / "configs" /
                              "metadata.json"), logging_file=False, workflow_type="train", **overrides)
    workflow.initialize()
    workflow.run()
    return workflow


def _check_run(bundle: str, workflow: ConfigWorkflow, root: Path) -> None:
    trainer = workflow.parser.get_parsed_content("train#trainer")
    assert trainer.state.epoch == 1 and trainer.state.iteration >= 1
    expected = EXPECTED[_paper(bundle)]
    optimizer = workflow.parser.get_parsed_content("optimizer")
    assert isinstance(optimizer, expected.get("optimizer", torch.optim.AdamW))
    assert (root / "models" / "model.pt").is_file() and (root / "models" / "last.pt").is_file()
    workflow.finalize()
    _check_served(bundle, workflow, root)


def _check_served(bundle: str, workflow: ConfigWorkflow, root: Path) -> None:
    """The trained weights, loaded through the bundle's inference config, segment a validation image."""
    predictor = load_bundle(bundle, ckpt_path=root / "models" / "model.pt", device="cpu")
    model = predictor.models[0]
    parser = workflow.parser
    assert (model.in_channels, model.preset) == (parser["in_channels"], parser["preset"])
    assert list(model.roi_size) == parser.get_parsed_content("image_size")
    image = workflow.parser.get_parsed_content("data")[1][0]["image"]
    shape = read_volume(image).array.shape[:3] if "hippocampus" in bundle else read_picture(image).height_width
    mask = predictor(image)
    assert mask.shape == tuple(shape) and mask.dtype.name == "uint8"
    assert set(map(int, mask.ravel().tolist())) <= set(range(max(2, model.out_channels)))


#: MSAUNet at full width (13.4 M parameters) takes ~40 s on two shared CPU cores even at 64x64.
SLOW_2D = ("msaunet",)


@pytest.mark.parametrize(
    "bundle",
    [pytest.param(b, marks=pytest.mark.slow) if b in SLOW_2D else b for b in PAPER_BUNDLES if "hippocampus" not in b],
)
def test_2d_overlay_trains(bundle: str, tmp_path: Path) -> None:
    workflow = _short_run(bundle, tmp_path)
    _check_run(bundle, workflow, tmp_path)
    loss = workflow.parser.get_parsed_content("loss")
    if _paper(bundle) == "lacnet":
        record = json.loads((tmp_path / "models" / "class_weights.json").read_text())
        assert record["method"] == "median_frequency" and record["label_files"] == 4
        assert loss.class_weights.tolist() == pytest.approx(record["weights"])
        assert record["weights"][1] > record["weights"][0], "lesions are the rarer class"
    else:
        assert loss.class_weights is None and not (tmp_path / "models" / "class_weights.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("bundle", [b for b in PAPER_BUNDLES if "hippocampus" in b])
def test_3d_overlay_trains(bundle: str, tmp_path: Path) -> None:
    workflow = _short_run(bundle, tmp_path)
    _check_run(bundle, workflow, tmp_path)
    if _paper(bundle) == "lacnet":
        record = json.loads((tmp_path / "models" / "class_weights.json").read_text())
        assert len(record["weights"]) == 3 and record["classes"] == ["class_0", "class_1", "class_2"]


@pytest.mark.slow
def test_cli_layers_the_overlay_and_class_weights_override(tmp_path: Path) -> None:
    configs = _configs("lacnet")
    command = [
        sys.executable, "-m", "monai.bundle", "run", "training", "--config_file", repr(configs),
        "--meta_file", str(BUNDLES_DIR / "lacnet" / "configs" / "metadata.json"), "--bundle_root", str(tmp_path),
        "--epochs", "1", "--image_size", "[64, 64]", "--batch_size", "4", "--num_workers", "0",
        "--train#dataset#data", "$@data[0][:4]", "--validate#dataset#data", "$@data[1][:2]",
        "--class_weights", "[1.0, 3.0]",
    ]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=os.environ.copy(), timeout=600)
    assert result.returncode == 0, f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    record = json.loads((tmp_path / "models" / "class_weights.json").read_text())
    assert record == {"format": 1, "classes": ["background", "foreground"], "method": "given", "weights": [1.0, 3.0]}
    preprocessing = json.loads((tmp_path / "models" / "preprocessing.json").read_text())
    assert preprocessing["preset_params"]["imagenet_std"] == [1.0, 1.0, 1.0], "the paper's [0, 1] input is recorded"
