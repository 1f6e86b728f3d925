# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves that ``evaluate`` refuses predictions whose values are not label values instead of scoring one class per
grey value: a 20x20 block of 128 in an otherwise perfect 0/255 mask, a grey-level map, and float probabilities (PNG
and NIfTI) are refused naming the file, what was found ("N distinct values in [a, b], looks like probabilities") and
how to binarise (--threshold); with ``--threshold`` the same files are scored (a perfect probability map gives
Dice 1) and the threshold is recorded in summary.json; a prediction value that only another case's ground truth
holds is accepted (a false positive class), a value that no ground truth holds is not; a threshold with several
named classes is refused."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from _eval_helpers import save_nifti, save_png, square

from monai_lite import cli
from monai_lite.evaluation import evaluate_folder


def _gt(root: Path, n: int = 2) -> Path:
    for index in range(n):
        save_png(root / "gt" / f"case{index}.png", square((40, 40), slice(5, 25), slice(5, 25), 255))
    return root / "gt"


def _error(capsys: pytest.CaptureFixture) -> str:
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_a_grey_block_in_a_perfect_mask_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gt = _gt(tmp_path)
    save_png(tmp_path / "pred" / "case0.png", square((40, 40), slice(5, 25), slice(5, 25), 255))
    grey = square((40, 40), slice(5, 25), slice(5, 25), 255)
    grey[20:40, 20:40] = 128
    bad = save_png(tmp_path / "pred" / "case1.png", grey)
    code = cli.main(["evaluate", "--pred", str(tmp_path / "pred"), "--gt", str(gt), "-o", str(tmp_path / "out"), "--no-plot"])
    assert code == 1
    last = _error(capsys)
    assert f"prediction {bad} holds 3 distinct value(s) in [0, 255]" in last
    assert "the label values are [0, 1]" in last and "--threshold T" in last and "128" in last
    assert not (tmp_path / "out" / "summary.json").exists()


def test_probabilities_are_refused_then_scored_with_a_threshold(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gt = _gt(tmp_path, n=1)
    truth = square((40, 40), slice(5, 25), slice(5, 25), 1).astype(np.float32)
    rng = np.random.default_rng(0)
    proba = np.where(truth > 0, rng.uniform(0.6, 1.0, truth.shape), rng.uniform(0.0, 0.4, truth.shape))
    # A float NIfTI prediction against a 2D ground truth would not pair; use a 3D pair for the float case.
    save_nifti(tmp_path / "gt3" / "vol.nii.gz", np.repeat(truth[..., None], 3, axis=2).astype(np.uint8))
    (tmp_path / "pred3").mkdir()
    nib.save(nib.Nifti1Image(np.repeat(proba[..., None], 3, axis=2).astype(np.float32), np.eye(4)),
             tmp_path / "pred3" / "vol.nii.gz")
    code = cli.main(["evaluate", "--pred", str(tmp_path / "pred3"), "--gt", str(tmp_path / "gt3"), "-o",
                     str(tmp_path / "out3"), "--no-plot"])
    assert code == 1
    last = _error(capsys)
    assert "holds non-integer values" in last and "in [0" in last and "looks like probabilities" in last
    assert "--threshold T" in last
    code = cli.main(["evaluate", "--pred", str(tmp_path / "pred3"), "--gt", str(tmp_path / "gt3"), "-o",
                     str(tmp_path / "out3"), "--no-plot", "--threshold", "0.5"])
    assert code == 0
    summary = json.loads((tmp_path / "out3" / "summary.json").read_text())
    assert summary["threshold"] == 0.5
    assert summary["metrics"]["class_1"]["dice"]["mean"] == pytest.approx(1.0)

    # The same map saved as 8-bit grey levels (a PNG of probabilities * 255).
    save_png(tmp_path / "pred" / "case0.png", np.round(proba * 255))
    code = cli.main(["evaluate", "--pred", str(tmp_path / "pred"), "--gt", str(gt), "-o", str(tmp_path / "out"), "--no-plot"])
    assert code == 1
    assert "looks like a grey-level or probability map" in _error(capsys)
    summary = evaluate_folder(tmp_path / "pred", gt, tmp_path / "out", plot=False, progress=False, threshold=128)
    assert summary["metrics"]["class_1"]["dice"]["mean"] == pytest.approx(1.0)


def test_a_class_of_another_case_is_a_false_positive_not_an_error(tmp_path: Path) -> None:
    save_png(tmp_path / "gt" / "a.png", square((10, 10), slice(1, 4), slice(1, 4), 1))
    two = square((10, 10), slice(1, 4), slice(1, 4), 1)
    two[6:9, 6:9] = 2
    save_png(tmp_path / "gt" / "b.png", two)
    predicted = square((10, 10), slice(1, 4), slice(1, 4), 1)
    predicted[6:8, 6:8] = 2  # class 2 predicted where case a has none: a false positive
    save_png(tmp_path / "pred" / "a.png", predicted)
    save_png(tmp_path / "pred" / "b.png", two)
    summary = evaluate_folder(tmp_path / "pred", tmp_path / "gt", tmp_path / "out", plot=False, progress=False)
    assert set(summary["metrics"]) >= {"class_1", "class_2"}

    predicted[0, 9] = 7  # a value no ground truth holds
    save_png(tmp_path / "pred" / "a.png", predicted)
    with pytest.raises(ValueError, match=r"label values are \[0, 1, 2\].*so 7 cannot be scored"):
        evaluate_folder(tmp_path / "pred", tmp_path / "gt", tmp_path / "out2", plot=False, progress=False)


def test_named_labels_bound_the_values(tmp_path: Path) -> None:
    gt = _gt(tmp_path, n=1)
    save_png(tmp_path / "pred" / "case0.png", square((40, 40), slice(5, 25), slice(5, 25), 3))
    with pytest.raises(ValueError, match=r"label value\(s\) \[3\] that labels does not name \(\[1\]\).*--threshold T"):
        evaluate_folder(tmp_path / "pred", gt, tmp_path / "out", labels=["1=lesion"], plot=False, progress=False)
    with pytest.raises(ValueError, match="only applies to a task with one class"):
        evaluate_folder(tmp_path / "pred", gt, tmp_path / "out", labels=["1=a", "2=b"], threshold=0.5, plot=False,
                        progress=False)


def test_threshold_is_a_file_evaluation_option() -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["evaluate", "--threshold", "0.5"])
    assert exc.value.code == 2
