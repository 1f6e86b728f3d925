# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Weights are run with the preprocessing they were trained with (monai_lite.engine.preprocessing_record).

Proves: the training handler writes ``preprocessing.json`` when the trainer starts; reading it back gives the
preset, its parameters and the image size, and a damaged record is an error naming the file; ``load_bundle_model``
applies a record found beside the weights (preset and image size differ from the bundle's defaults), ignores it
when the caller chose the preprocessing, and works as before where there is no record.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ignite.engine import Engine

from monai_lite.engine import PreprocessingRecord, read_preprocessing_record
from monai_lite.inference.model import load_bundle_model

ENDOSCOPY_96 = {"preset": "endoscopy", "preset_params": {"spatial_size": [96, 96]}, "image_size": [96, 96]}


def test_handler_writes_the_record_when_training_starts(tmp_path: Path) -> None:
    handler = PreprocessingRecord(tmp_path / "models", preset="endoscopy", preset_params={"spatial_size": (96, 96)},
                                  image_size=(96, 96))
    engine = Engine(lambda _engine, _batch: None)
    handler.attach(engine)
    assert not (tmp_path / "models" / "preprocessing.json").exists()
    engine.run([0], max_epochs=1)
    written = json.loads((tmp_path / "models" / "preprocessing.json").read_text())
    assert written == {"format": 1, **ENDOSCOPY_96}
    assert read_preprocessing_record(tmp_path / "models" / "model.pt") == ENDOSCOPY_96
    assert read_preprocessing_record(tmp_path / "models") == ENDOSCOPY_96


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
