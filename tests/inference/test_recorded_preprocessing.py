# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Weights are run with the preprocessing they were trained with (monai_lite.engine.preprocessing_record).

Proves: the training handler writes ``preprocessing.json`` when the trainer starts; reading it back gives the
preset, its parameters, the image size and the input channels, and a damaged record is an error naming the file;
``load_bundle_model`` applies a record found beside the weights (preset and image size differ from the bundle's
defaults), ignores its preprocessing when the caller chose the preprocessing, and works as before where there is no
record; a recorded ``in_channels`` builds the network the weights need (1-channel LightAWNet weights, which the
bundle's 3-channel network cannot load) even when the caller chose the preprocessing, and only the caller's own
``in_channels`` overrides it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from ignite.engine import Engine

from monai_lite.engine import PreprocessingRecord, read_preprocessing_record
from monai_lite.errors import CheckpointError
from monai_lite.inference.model import load_bundle_model

ENDOSCOPY_96 = {"preset": "endoscopy", "preset_params": {"spatial_size": [96, 96]}, "image_size": [96, 96]}


def test_handler_writes_the_record_when_training_starts(tmp_path: Path) -> None:
    handler = PreprocessingRecord(tmp_path / "models", preset="endoscopy", preset_params={"spatial_size": (96, 96)},
                                  image_size=(96, 96), in_channels=3)
    engine = Engine(lambda _engine, _batch: None)
    handler.attach(engine)
    assert not (tmp_path / "models" / "preprocessing.json").exists()
    engine.run([0], max_epochs=1)
    written = json.loads((tmp_path / "models" / "preprocessing.json").read_text())
    assert written == {"format": 1, **ENDOSCOPY_96, "in_channels": 3}
    assert read_preprocessing_record(tmp_path / "models" / "model.pt") == {**ENDOSCOPY_96, "in_channels": 3}
    assert read_preprocessing_record(tmp_path / "models") == {**ENDOSCOPY_96, "in_channels": 3}


def test_a_record_without_in_channels_still_reads(tmp_path: Path) -> None:
    (tmp_path / "preprocessing.json").write_text(json.dumps({"format": 1, **ENDOSCOPY_96}))
    assert read_preprocessing_record(tmp_path / "model.pt") == ENDOSCOPY_96


def test_no_record_and_damaged_records(tmp_path: Path) -> None:
    assert read_preprocessing_record(tmp_path / "model.pt") is None
    record = tmp_path / "preprocessing.json"
    record.write_text("{not json")
    with pytest.raises(ValueError, match=r"preprocessing\.json: unreadable preprocessing record"):
        read_preprocessing_record(tmp_path / "model.pt")
    record.write_text(json.dumps({"image_size": [96, 96]}))
    with pytest.raises(ValueError, match=r"preprocessing\.json: not a preprocessing record"):
        read_preprocessing_record(tmp_path / "model.pt")


def _weights_with_record(random_ckpt, tmp_path: Path) -> Path:
    weights = tmp_path / "run" / "model.pt"
    weights.parent.mkdir()
    shutil.copy(random_ckpt("medlitenet"), weights)
    (weights.parent / "preprocessing.json").write_text(json.dumps({"format": 1, **ENDOSCOPY_96}))
    return weights


def test_loader_uses_the_recorded_preprocessing(random_ckpt, tmp_path: Path) -> None:
    model = load_bundle_model("medlitenet", ckpt_path=_weights_with_record(random_ckpt, tmp_path), device="cpu")
    assert model.preset == "endoscopy"
    assert model.roi_size == (96, 96)


def test_caller_choice_wins_over_the_record(random_ckpt, tmp_path: Path) -> None:
    weights = _weights_with_record(random_ckpt, tmp_path)
    model = load_bundle_model("medlitenet", ckpt_path=weights, device="cpu", overrides={"preset": "dermoscopy"})
    assert model.preset == "dermoscopy"
    assert model.roi_size == (128, 128)  # the bundle's default: the record is set aside as a whole


def test_without_a_record_the_bundle_defaults_apply(random_ckpt) -> None:
    model = load_bundle_model("medlitenet", ckpt_path=random_ckpt("medlitenet"), device="cpu")
    assert model.preset == "dermoscopy"
    assert model.roi_size == (128, 128)


GREY_64 = {"format": 1, "preset": "grey_minmax", "preset_params": {"spatial_size": [64, 64]}, "image_size": [64, 64],
           "in_channels": 1}


def _grey_weights(random_ckpt, tmp_path: Path, record: dict = GREY_64) -> Path:
    """LightAWNet weights with a 1-channel first layer (as its paper overlay trains them) and their record."""
    weights = tmp_path / "grey" / "model.pt"
    weights.parent.mkdir()
    shutil.copy(random_ckpt("lightawnet", in_channels=1), weights)
    (weights.parent / "preprocessing.json").write_text(json.dumps(record))
    return weights


def test_recorded_in_channels_build_the_network_the_weights_need(random_ckpt, tmp_path: Path) -> None:
    weights = _grey_weights(random_ckpt, tmp_path)
    model = load_bundle_model("lightawnet", ckpt_path=weights, device="cpu", prepare=False)
    assert (model.in_channels, model.preset, model.roi_size) == (1, "grey_minmax", (64, 64))
    stored = torch.load(weights, weights_only=True)
    assert all(torch.equal(value, stored[key]) for key, value in model.network.state_dict().items())
    # the caller's preprocessing sets the record's preprocessing aside, not the channels the weights were made for
    chosen = load_bundle_model("lightawnet", ckpt_path=weights, device="cpu", overrides={"preset": "dermoscopy"})
    assert (chosen.in_channels, chosen.preset) == (1, "dermoscopy")


def test_caller_in_channels_wins_over_the_record(random_ckpt, tmp_path: Path) -> None:
    weights = _grey_weights(random_ckpt, tmp_path)
    with pytest.raises(CheckpointError, match=r"model\.pt does not fit the network LightAWNet"):
        load_bundle_model("lightawnet", ckpt_path=weights, device="cpu", overrides={"in_channels": 3})


def test_without_recorded_in_channels_the_bundles_apply(random_ckpt, tmp_path: Path) -> None:
    """A record written before in_channels was recorded: the bundle's 3 channels, which these weights do not fit."""
    weights = _grey_weights(random_ckpt, tmp_path, {k: v for k, v in GREY_64.items() if k != "in_channels"})
    with pytest.raises(CheckpointError, match="does not fit the network LightAWNet"):
        load_bundle_model("lightawnet", ckpt_path=weights, device="cpu")
