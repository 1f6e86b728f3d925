# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Per-case, per-class segmentation metrics on MONAI's metric functions, with one policy for empty masks.

For each class value ``c`` of a label map, the binary masks ``pred == c`` and ``gt == c`` are scored with
``monai.metrics``: Dice (``compute_dice``), IoU (``compute_iou``), accuracy, sensitivity and specificity
(``get_confusion_matrix`` + ``compute_confusion_matrix_metric``), the 95th-percentile Hausdorff distance
(``compute_hausdorff_distance(percentile=95)``) and the symmetric average surface distance
(``compute_average_surface_distance(symmetric=True)``), both in millimetres through ``spacing``.

Empty-mask policy (one per case and class, recorded in the ``policy`` column):

=================  ======================  ===========  =====================================================
policy             when                    Dice, IoU    HD95, ASD
=================  ======================  ===========  =====================================================
``both_present``   both masks have voxels  MONAI's      MONAI's, in mm
``both_empty``     neither has a voxel     1            0
``false_positive`` ground truth empty,     0            the image diagonal in mm (worst case)
                   prediction not
``missed``         prediction empty,       0            the image diagonal in mm (worst case)
                   ground truth not
=================  ======================  ===========  =====================================================

MONAI returns NaN or inf distances when a mask is empty, and averaging with NaN skipped would let a model that
misses more look better (MONAI#9095); a finite worst case (the diagonal of the image extent,
``sqrt(sum((shape * spacing) ** 2))``, larger than any distance inside the image) keeps every case in the mean and
penalises it. Accuracy, sensitivity and specificity always come from the confusion matrix; a rate whose denominator
is zero (sensitivity with an empty ground truth, specificity with no background) is undefined and stays NaN, and
the summary counts those cases as excluded for that metric.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import torch

__all__ = [
    "METRICS",
    "POLICIES",
    "BOTH_PRESENT",
    "BOTH_EMPTY",
    "FALSE_POSITIVE",
    "MISSED",
    "image_diagonal_mm",
    "empty_policy",
    "both_empty_metrics",
    "compute_case_metrics",
]

#: Metric names, in the order of the CSV columns.
METRICS: tuple[str, ...] = ("dice", "iou", "accuracy", "sensitivity", "specificity", "hd95", "asd")
BOTH_PRESENT, BOTH_EMPTY, FALSE_POSITIVE, MISSED = "both_present", "both_empty", "false_positive", "missed"
#: The policies of the empty-mask rule, see the module docstring.
POLICIES: tuple[str, ...] = (BOTH_PRESENT, BOTH_EMPTY, FALSE_POSITIVE, MISSED)

_RATES = ("accuracy", "sensitivity", "specificity")


def image_diagonal_mm(shape: Sequence[int], spacing: Sequence[float]) -> float:
    """The diagonal of the image extent in millimetres, the worst-case distance of the empty-mask policy.

    Args:
        shape: spatial shape of the image.
        spacing: pixel/voxel size along each axis, in mm.

    Returns:
        ``sqrt(sum((shape_i * spacing_i) ** 2))``.

    Example::

        image_diagonal_mm((3, 4), (1.0, 1.0))   # 5.0
    """
    return float(math.sqrt(sum((float(n) * float(s)) ** 2 for n, s in zip(shape, spacing))))


def empty_policy(pred_voxels: int, gt_voxels: int) -> str:
    """Which case of the empty-mask policy applies, from the foreground voxel counts of one class.

    Args:
        pred_voxels: foreground voxels of the prediction.
        gt_voxels: foreground voxels of the ground truth.

    Returns:
        One of :data:`POLICIES`.
    """
    if pred_voxels and gt_voxels:
        return BOTH_PRESENT
    if not pred_voxels and not gt_voxels:
        return BOTH_EMPTY
    return FALSE_POSITIVE if pred_voxels else MISSED


def both_empty_metrics(label: int, total_voxels: int) -> dict:
    """The row of a class absent from both prediction and ground truth (policy ``both_empty``).

    All background is correctly background, so accuracy and specificity are 1; sensitivity has no positive voxel to
    find and is undefined (NaN).

    Args:
        label: the class value.
        total_voxels: voxels in the image (kept for the record).

    Returns:
        ``{"label", "policy", <every metric of METRICS>, "gt_voxels", "pred_voxels", "voxels"}``.
    """
    values = {"dice": 1.0, "iou": 1.0, "accuracy": 1.0, "sensitivity": math.nan, "specificity": 1.0, "hd95": 0.0, "asd": 0.0}
    return {"label": int(label), "policy": BOTH_EMPTY, **values, "gt_voxels": 0, "pred_voxels": 0, "voxels": int(total_voxels)}


def _present_class_metrics(pred: torch.Tensor, gt: torch.Tensor, spacing: Sequence[float], policy: str, worst: float) -> dict:
    """MONAI's metrics for one class; ``pred``/``gt`` are ``(1, 1, *spatial)`` float tensors of 0/1."""
    from monai.metrics import (
        compute_average_surface_distance,
        compute_confusion_matrix_metric,
        compute_dice,
        compute_hausdorff_distance,
        compute_iou,
        get_confusion_matrix,
    )

    values = {
        # ignore_empty=False: an empty ground truth scores 0 against a non-empty prediction instead of NaN.
        "dice": float(compute_dice(pred, gt, include_background=True, ignore_empty=False)[0, 0]),
        "iou": float(compute_iou(pred, gt, include_background=True, ignore_empty=False)[0, 0]),
    }
    confusion = get_confusion_matrix(pred, gt, include_background=True)
    for name in _RATES:
        values[name] = float(compute_confusion_matrix_metric(name, confusion)[0, 0])
    if policy == BOTH_PRESENT:
        with warnings.catch_warnings():
            # MONAI 1.6 calls its own deprecated get_mask_edges argument here; the warning is not ours to act on.
            warnings.filterwarnings("ignore", message=".*always_return_as_numpy.*")
            values["hd95"] = float(
                compute_hausdorff_distance(pred, gt, include_background=True, percentile=95, spacing=list(spacing))[0, 0]
            )
            values["asd"] = float(
                compute_average_surface_distance(pred, gt, include_background=True, symmetric=True, spacing=list(spacing))[0, 0]
            )
    else:  # a false positive or a miss: MONAI would give inf/NaN; the policy gives the worst finite distance
        values["dice"], values["iou"] = 0.0, 0.0
        values["hd95"], values["asd"] = worst, worst
    return values


def compute_case_metrics(
    pred: np.ndarray | torch.Tensor,
    gt: np.ndarray | torch.Tensor,
    labels: Sequence[int],
    spacing: Sequence[float] | float | None = None,
) -> list[dict]:
    """Score one case: every class of ``labels`` on two integer label maps of the same shape.

    Args:
        pred: predicted label map, spatial axes only (``(H, W)`` or ``(x, y, z)``).
        gt: ground-truth label map of the same shape.
        labels: the class values to score (e.g. ``[1]`` for a binary task, ``[1, 2]`` for two structures).
        spacing: pixel/voxel size in mm, one value per axis or one for all; None means 1. Defaults to None.

    Returns:
        One dict per class, in the order of ``labels``: ``label``, ``policy`` (see :data:`POLICIES`), the
        :data:`METRICS` (distances in mm), ``gt_voxels``, ``pred_voxels`` and ``voxels``.

    Raises:
        ValueError: if the shapes differ, ``labels`` is empty, or ``spacing`` does not have one value per axis.

    Example::

        gt = np.zeros((4, 4), int); gt[1:3, 1:3] = 1
        pred = np.zeros((4, 4), int); pred[1:3, 1:4] = 1
        compute_case_metrics(pred, gt, [1])[0]["dice"]   # 2 * 4 / (6 + 4) = 0.8
    """
    pred_t = torch.as_tensor(np.asarray(pred) if not isinstance(pred, torch.Tensor) else pred)
    gt_t = torch.as_tensor(np.asarray(gt) if not isinstance(gt, torch.Tensor) else gt)
    if pred_t.shape != gt_t.shape:
        raise ValueError(f"prediction and ground truth must have the same shape; got {tuple(pred_t.shape)} and {tuple(gt_t.shape)}.")
    if not len(labels):
        raise ValueError("labels must name at least one class value to score, e.g. [1].")
    ndim = gt_t.ndim
    if spacing is None:
        spacing = (1.0,) * ndim
    elif isinstance(spacing, (int, float)):
        spacing = (float(spacing),) * ndim
    spacing = tuple(float(s) for s in spacing)
    if len(spacing) != ndim:
        raise ValueError(f"spacing must have one value per image axis ({ndim}); got {spacing}.")
    worst = image_diagonal_mm(gt_t.shape, spacing)
    total = int(gt_t.numel())
    rows = []
    for label in labels:
        pred_c, gt_c = pred_t == int(label), gt_t == int(label)
        pred_n, gt_n = int(pred_c.sum()), int(gt_c.sum())
        policy = empty_policy(pred_n, gt_n)
        if policy == BOTH_EMPTY:
            rows.append(both_empty_metrics(label, total))
            continue
        # MONAI's metrics take one-hot (batch, channel, *spatial) tensors; one channel per call keeps memory at
        # two float copies of the image however many classes there are.
        values = _present_class_metrics(pred_c[None, None].float(), gt_c[None, None].float(), spacing, policy, worst)
        rows.append({"label": int(label), "policy": policy, **values, "gt_voxels": gt_n, "pred_voxels": pred_n, "voxels": total})
    return rows
