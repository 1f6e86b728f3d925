# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves ``run_bundle`` (``monai-lite evaluate --bundle``, ``monai-lite run``) evaluates and infers with the
preprocessing the weights were trained with.

- evaluation reads ``preprocessing.json`` beside ``models/model.pt``, inference beside ``ckpt_path``: the recorded
  preset and image size replace the bundle's defaults (weights trained at 96 x 96 with the endoscopy preset are not
  scored on dermoscopy-preprocessed 256 x 256 inputs);
- a preprocessing id set by the caller wins, and the record is then set aside as a whole;
- training neither reads nor needs a record; without a record the bundle's defaults apply.

The workflows are built but not run (``initialize``/``run``/``finalize`` are replaced by a probe that reads the
parsed ids), so no data or checkpoint is needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from monai.bundle import ConfigWorkflow

from monai_lite.bundle.runner import run_bundle

ENDOSCOPY_96 = {"format": 1, "preset": "endoscopy", "preset_params": {"spatial_size": [96, 96]},
                "image_size": [96, 96]}


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> dict:
    """What the workflow would have run with: its parsed preset and image size."""
    seen: dict = {}

    def probe(self: ConfigWorkflow) -> None:
        seen.update(preset=self.parser.get_parsed_content("preset"),
                    image_size=list(self.parser.get_parsed_content("image_size")))

    monkeypatch.setattr(ConfigWorkflow, "initialize", probe)
    monkeypatch.setattr(ConfigWorkflow, "run", lambda self: None)
    monkeypatch.setattr(ConfigWorkflow, "finalize", lambda self: None)
    return seen


def _run_folder(tmp_path: Path, record: dict | None) -> Path:
    models = tmp_path / "run" / "models"
    models.mkdir(parents=True)
    if record is not None:
        (models / "preprocessing.json").write_text(json.dumps(record))
    return models.parent


def test_evaluation_and_inference_use_the_record(tmp_path: Path, parsed: dict) -> None:
    root = _run_folder(tmp_path, ENDOSCOPY_96)
    run_bundle("medlitenet", "evaluate", bundle_root=str(root))
    assert parsed == {"preset": "endoscopy", "image_size": [96, 96]}
    parsed.clear()
    run_bundle("medlitenet", "infer", bundle_root=str(root))
    assert parsed == {"preset": "endoscopy", "image_size": [96, 96]}


def test_the_callers_choice_wins_and_training_ignores_the_record(tmp_path: Path, parsed: dict) -> None:
    root = _run_folder(tmp_path, ENDOSCOPY_96)
    run_bundle("medlitenet", "evaluate", bundle_root=str(root), preset="dermoscopy")
    assert parsed["preset"] == "dermoscopy" and parsed["image_size"] != [96, 96], "the record is set aside whole"
    parsed.clear()
    run_bundle("medlitenet", "train", bundle_root=str(root))
    assert parsed["preset"] == "dermoscopy" and parsed["image_size"] != [96, 96]


def test_without_a_record_the_bundle_defaults_apply(tmp_path: Path, parsed: dict) -> None:
    root = _run_folder(tmp_path, None)
    run_bundle("medlitenet", "evaluate", bundle_root=str(root))
    assert parsed["preset"] == "dermoscopy" and parsed["image_size"] != [96, 96]
