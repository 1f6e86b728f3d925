# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves that inference never segments NaN or infinite input values silently: a NIfTI volume with NaN and Inf and
an all-NaN volume are refused naming the file and the count, with nothing written; ``nan_policy="zero"``
(``--nan-policy zero``) replaces them by 0, segments, and records the policy and the count in inference_log.json;
the input file is never modified."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from inference_helpers import Pointwise, dummy_model

from monai_lite.inference import Predictor


def _nifti(path: Path, values: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(values, np.eye(4)), path)
    return path


def _poisoned() -> np.ndarray:
    volume = np.full((12, 10, 8), 10.0, np.float32)
    volume[2:6, 2:6, 2:6] = 100.0
    volume[0, 0, :3] = np.nan
    volume[1, 1, 0] = np.inf
    volume[1, 1, 1] = -np.inf
    return volume


def _predictor(**options) -> Predictor:
    return Predictor([dummy_model(Pointwise(3, scale=20.0), "mri", 3, roi_size=(8, 8, 4))], **options)


@pytest.mark.parametrize("kind", ["some", "all"])
def test_nonfinite_volume_is_refused_by_default(tmp_path: Path, kind: str) -> None:
    values = _poisoned() if kind == "some" else np.full((6, 6, 4), np.nan, np.float32)
    path = _nifti(tmp_path / "in" / "bad.nii.gz", values)
    expected = 5 if kind == "some" else values.size
    with pytest.raises(ValueError, match=rf"{path}.* holds {expected} NaN or infinite value\(s\).*--nan-policy zero"):
        _predictor().write(path, tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "bad_seg.nii.gz").exists()


def test_zero_policy_replaces_and_logs(tmp_path: Path) -> None:
    path = _nifti(tmp_path / "in" / "bad.nii.gz", _poisoned())
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    record = _predictor(nan_policy="zero").write(path, tmp_path / "out", progress=False)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    log = json.loads((tmp_path / "out" / "inference_log.json").read_text())
    assert log["options"]["nan_policy"] == "zero"
    assert any("replaced 5 NaN or infinite" in note for note in log["cases"][0]["notes"])
    mask = np.asarray(nib.load(tmp_path / "out" / "bad_seg.nii.gz").dataobj)
    assert mask.shape == (12, 10, 8) and mask[3, 3, 3] == 1 and mask[0, 0, 0] == 0
    assert record["cases"][0]["notes"] == log["cases"][0]["notes"]


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="nan_policy must be one of"):
        _predictor(nan_policy="mean")


def test_finite_inputs_are_untouched(tmp_path: Path) -> None:
    volume = np.full((12, 10, 8), 10.0, np.float32)
    path = _nifti(tmp_path / "in" / "ok.nii.gz", volume)
    record = _predictor().write(path, tmp_path / "out", progress=False)
    assert record["cases"][0]["notes"] == [] and record["options"]["nan_policy"] == "refuse"
