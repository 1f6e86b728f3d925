# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Ensembles of bundles or checkpoints, weighted by validation Dice as in paper 001: ``w_i = dice_i / sum_j dice_j``.

Where the Dice comes from: a training run keeps the evaluator's best validation Dice in ``models/last.pt`` under
``"evaluator_best"`` (``{"best_metric", "best_metric_epoch"}``, see :class:`monai_lite.engine.EvaluatorBest`), beside
the weights ``models/model.pt`` that were saved at that same best epoch. :func:`read_validation_dice` reads it from
there (or from the checkpoint itself when it is a ``last.pt``). A checkpoint without a recorded Dice needs its value
given explicitly (``dice=[...]``, ``--dice``); a single model needs none.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from monai_lite.engine.checkpoint_file import read_checkpoint

__all__ = ["pair_members", "read_validation_dice", "ensemble_weights", "weighted_mean", "sha256_of"]


def pair_members(bundles: Sequence[str | Path], ckpt_paths: Sequence[str | Path | None]) -> list[tuple]:
    """Pair bundles with checkpoints: one bundle with N checkpoints, N bundles with their own, or N with N.

    Args:
        bundles: bundle names or folders (at least one).
        ckpt_paths: checkpoints; empty means each bundle's ``models/model.pt``.

    Returns:
        ``[(bundle, ckpt_path_or_None), ...]``, one per ensemble member.

    Raises:
        ValueError: if the counts cannot be paired (several bundles and a different number of checkpoints).
    """
    bundles, ckpts = list(bundles), list(ckpt_paths or [])
    if not bundles:
        raise ValueError("no bundle was given; pass --bundle NAME_OR_FOLDER.")
    if not ckpts:
        return [(bundle, None) for bundle in bundles]
    if len(bundles) == 1:
        return [(bundles[0], ckpt) for ckpt in ckpts]
    if len(bundles) == len(ckpts):
        return list(zip(bundles, ckpts))
    raise ValueError(
        f"{len(bundles)} bundles and {len(ckpts)} checkpoints cannot be paired; give one bundle with any number of "
        "checkpoints, or one checkpoint per bundle."
    )


def _best_metric(checkpoint: dict) -> float | None:
    best = checkpoint.get("evaluator_best") if isinstance(checkpoint, dict) else None
    if not isinstance(best, dict) or int(best.get("best_metric_epoch", -1)) < 1:
        return None
    value = float(best.get("best_metric", float("nan")))
    return value if math.isfinite(value) else None


def read_validation_dice(ckpt_path: str | Path) -> float | None:
    """The best validation Dice recorded by the run that wrote ``ckpt_path``, or ``None`` if none was recorded.

    Looks in the checkpoint itself (a ``last.pt`` holds ``"evaluator_best"``), then in ``last.pt`` beside it.

    Args:
        ckpt_path: the weights, e.g. ``bundles/medlitenet/models/model.pt``.

    Returns:
        The Dice in [0, 1], or ``None``.
    """
    path = Path(ckpt_path)
    for candidate in (path, path.with_name("last.pt")):
        if not candidate.is_file():
            continue
        checkpoint = read_checkpoint(candidate, "checkpoint", mmap=True)
        value = _best_metric(checkpoint)
        if value is not None:
            return value
    return None


def ensemble_weights(dices: Sequence[float]) -> list[float]:
    """``w_i = dice_i / sum_j dice_j``.

    Args:
        dices: the validation Dice of each member (non-negative, not all zero).

    Returns:
        The weights, summing to 1.

    Raises:
        ValueError: for a negative or non-finite Dice, or a zero sum.

    Example::

        ensemble_weights([0.6, 0.9])  # [0.4, 0.6]
    """
    values = [float(d) for d in dices]
    if any(not math.isfinite(d) or d < 0 for d in values) or sum(values) <= 0:
        raise ValueError(f"ensemble weights need non-negative validation Dice values with a positive sum, got {values}.")
    total = sum(values)
    return [d / total for d in values]


def weighted_mean(probabilities: Sequence[torch.Tensor], weights: Sequence[float]) -> torch.Tensor:
    """``sum_i w_i * p_i`` in float32.

    Args:
        probabilities: tensors of one shape, one per member.
        weights: one weight per member (e.g. from :func:`ensemble_weights`).

    Returns:
        The weighted mean.

    Raises:
        ValueError: if the counts differ or the shapes do not match.
    """
    if len(probabilities) != len(weights) or not probabilities:
        raise ValueError(f"got {len(probabilities)} predictions for {len(weights)} weights.")
    shapes = {tuple(p.shape) for p in probabilities}
    if len(shapes) > 1:
        raise ValueError(f"ensemble members predicted different shapes {sorted(shapes)}; they must share their output.")
    total = torch.zeros_like(probabilities[0], dtype=torch.float32)
    for proba, weight in zip(probabilities, weights):
        total.add_(proba.float(), alpha=float(weight))
    return total


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()
