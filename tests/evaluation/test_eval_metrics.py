# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves ``compute_case_metrics`` gives hand-computed values: Dice/IoU/accuracy/sensitivity/specificity on a 4x4
case, HD95 and ASD for shapes whose surface distances are known, millimetres under anisotropic spacing, each
branch of the empty-mask policy (both empty, false positive, miss) with the image diagonal as worst case, one row per
class of a multi-class map, and clear errors for mismatched shapes or spacing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monai_lite.evaluation.metrics import METRICS, compute_case_metrics, image_diagonal_mm


def _one(pred: np.ndarray, gt: np.ndarray, spacing=None) -> dict:
    return compute_case_metrics(pred, gt, [1], spacing)[0]


def test_overlap_metrics_match_hand_computation() -> None:
    # gt: 2x2 block (4 px); pred: 2x3 block over it (6 px) -> TP 4, FP 2, FN 0, TN 10 of 16.
    gt = np.zeros((4, 4), int)
    gt[1:3, 1:3] = 1
    pred = np.zeros((4, 4), int)
    pred[1:3, 1:4] = 1
    row = _one(pred, gt)
    assert row["policy"] == "both_present"
    assert row["dice"] == pytest.approx(2 * 4 / (6 + 4))
    assert row["iou"] == pytest.approx(4 / 6)
    assert row["accuracy"] == pytest.approx(14 / 16)
    assert row["sensitivity"] == pytest.approx(1.0)
    assert row["specificity"] == pytest.approx(10 / 12)
    assert (row["gt_voxels"], row["pred_voxels"], row["voxels"]) == (4, 6, 16)
    # Surface distances: the two extra pred pixels are 1 px from the gt, all others 0 (both masks are all edge).
    assert row["hd95"] == pytest.approx(1.0)
    assert row["asd"] == pytest.approx((1 + 1) / (6 + 4))


def test_distances_of_a_shifted_point_follow_the_spacing() -> None:
    gt = np.zeros((8, 8, 8), int)
    gt[2, 2, 2] = 1
    pred = np.zeros_like(gt)
    pred[2, 2, 5] = 1  # 3 voxels away along the last axis
    iso = _one(pred, gt, (1.0, 1.0, 1.0))
    aniso = _one(pred, gt, (1.0, 1.0, 3.0))
    assert iso["hd95"] == pytest.approx(3.0) and iso["asd"] == pytest.approx(3.0)
    assert aniso["hd95"] == pytest.approx(9.0) and aniso["asd"] == pytest.approx(9.0)
    # Spacing along an axis the shift does not use changes nothing.
    assert _one(pred, gt, (2.5, 0.5, 1.0))["hd95"] == pytest.approx(3.0)


def test_hd95_ignores_the_farthest_five_percent() -> None:
    # gt: a 10x10 square outline ring; pred: the same ring plus one far-away pixel. The max Hausdorff distance is
    # large but the 95th percentile of pred->gt distances is 0 (1 outlier among 37 edge pixels).
    gt = np.zeros((40, 40), int)
    gt[5:15, 5:15] = 1
    pred = gt.copy()
    pred[35, 35] = 1
    row = _one(pred, gt)
    assert row["hd95"] == pytest.approx(0.0)
    assert row["asd"] > 0


@pytest.mark.parametrize(
    "pred_on, gt_on, policy, dice",
    [(False, False, "both_empty", 1.0), (True, False, "false_positive", 0.0), (False, True, "missed", 0.0)],
)
def test_empty_mask_policy(pred_on: bool, gt_on: bool, policy: str, dice: float) -> None:
    shape, spacing = (6, 8, 4), (1.0, 2.0, 3.0)
    blob = np.zeros(shape, int)
    blob[1:3, 1:3, 1:3] = 1
    pred = blob if pred_on else np.zeros(shape, int)
    gt = blob if gt_on else np.zeros(shape, int)
    row = _one(pred, gt, spacing)
    assert row["policy"] == policy
    assert row["dice"] == dice and row["iou"] == dice
    worst = math.sqrt(6**2 + 16**2 + 12**2)
    expected_distance = 0.0 if policy == "both_empty" else worst
    assert row["hd95"] == pytest.approx(expected_distance) and row["asd"] == pytest.approx(expected_distance)
    # Every distance is finite, so no case can drop out of a mean.
    assert all(math.isfinite(row[m]) for m in ("dice", "iou", "hd95", "asd", "accuracy", "specificity"))
    # Sensitivity has no positive voxel to find when the ground truth is empty.
    assert math.isnan(row["sensitivity"]) == (not gt_on)


def test_image_diagonal() -> None:
    assert image_diagonal_mm((3, 4), (1.0, 1.0)) == pytest.approx(5.0)
    assert image_diagonal_mm((3, 4), (2.0, 0.5)) == pytest.approx(math.sqrt(36 + 4))


def test_multiclass_rows_per_class() -> None:
    gt = np.zeros((6, 6), int)
    gt[0:2, 0:2] = 1
    gt[3:6, 3:6] = 2
    pred = gt.copy()
    pred[3:6, 3:6] = 0  # class 2 missed entirely
    rows = compute_case_metrics(pred, gt, [1, 2, 3])
    assert [r["label"] for r in rows] == [1, 2, 3]
    assert [r["policy"] for r in rows] == ["both_present", "missed", "both_empty"]
    assert rows[0]["dice"] == pytest.approx(1.0) and rows[0]["hd95"] == pytest.approx(0.0)
    assert set(METRICS) <= set(rows[0])


def test_shape_and_spacing_errors() -> None:
    with pytest.raises(ValueError, match=r"same shape; got \(4, 4\) and \(4, 5\)"):
        compute_case_metrics(np.zeros((4, 4)), np.zeros((4, 5)), [1])
    with pytest.raises(ValueError, match="one value per image axis"):
        compute_case_metrics(np.zeros((4, 4)), np.zeros((4, 4)), [1], (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="at least one class"):
        compute_case_metrics(np.zeros((4, 4)), np.zeros((4, 4)), [])
