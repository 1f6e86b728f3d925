# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the helpers that bundle configs call find the bundle root and the data, or fail in one sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from monai_lite.bundle import find_bundle_root, inference_data, require_checkpoint, training_data
from monai_lite.errors import CheckpointError


def test_bundle_root_falls_back_to_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_bundle_root() == str(tmp_path)


@pytest.mark.parametrize("folder, expected", [("b/configs", "b"), ("b", "b")])
def test_bundle_root_follows_monai_rule(folder: str, expected: str, tmp_path: Path) -> None:
    from monai.bundle import ConfigWorkflow

    configs = tmp_path / folder
    configs.mkdir(parents=True)
    (configs / "train.json").write_text(json.dumps({"bundle_root": "$monai_lite.bundle.find_bundle_root()",
                                                    "imports": ["$import monai_lite", "$import monai_lite.bundle"],
                                                    "initialize": [], "run": ["$@bundle_root"], "finalize": []}))
    workflow = ConfigWorkflow(config_file=str(configs / "train.json"), logging_file=False, workflow_type=None)
    workflow.initialize()
    assert workflow.run() == [str((tmp_path / expected).resolve())]


def test_default_training_data_is_the_synthetic_set() -> None:
    train, val = training_data()
    assert len(train) + len(val) == 64 and len(val) > 0
    assert all(Path(case["image"]).is_file() and Path(case["label"]).is_file() for case in train + val)
    assert not {c["image"] for c in train} & {c["image"] for c in val}


def test_negative_fold_trains_on_everything() -> None:
    train, val = training_data(fold=-1)
    assert len(train) == 64 and val == []


def test_dataset_dir_without_datalist_points_to_prepare(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=f"dataset_dir {tmp_path} was given without a datalist.*monai-lite prepare"):
        training_data(str(tmp_path))


def test_datalist_without_dataset_dir_is_refused() -> None:
    with pytest.raises(ValueError, match="no dataset_dir"):
        training_data("", "x.json")


def test_missing_dataset_dir_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=f"dataset_dir {tmp_path / 'nope'} is not a folder"):
        training_data(str(tmp_path / "nope"), "x.json")


def test_inference_data_lists_images_only(tmp_path: Path) -> None:
    for name in ("b.png", "a.JPG", "c.nii.gz", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [Path(c["image"]).name for c in inference_data(str(tmp_path))] == ["a.JPG", "b.png", "c.nii.gz"]


def test_inference_data_default_is_the_synthetic_validation_fold() -> None:
    cases = inference_data()
    assert cases and all(set(c) == {"image"} for c in cases)
    assert [c["image"] for c in cases] == [c["image"] for c in training_data()[1]]


def test_require_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    weights = tmp_path / "models" / "model.pt"
    with pytest.raises(FileNotFoundError, match="Train the bundle first"):
        require_checkpoint(str(weights))
    weights.write_bytes(b"x")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        require_checkpoint(str(weights))
    torch.save({"w": torch.zeros(1)}, weights)
    assert require_checkpoint(str(weights)) == str(weights)
