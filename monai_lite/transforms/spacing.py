# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Resampling that a preset can switch off: ``pixdim=None`` keeps every voxel exactly where it was."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

from monai.config import KeysCollection
from monai.transforms import Identityd, MapTransform, Spacingd

__all__ = ["spacingd_or_identity"]


def spacingd_or_identity(
    keys: KeysCollection, pixdim: Sequence[float] | float | None, allow_missing_keys: bool = False, **kwargs: Any
) -> MapTransform:
    """MONAI's ``Spacingd`` for a target spacing, or ``Identityd`` when the preset keeps the native spacing.

    ``Spacingd`` has no "do nothing" value: non-positive components keep the native spacing but still resample the
    volume (an interpolation pass that costs time and may round values). With ``pixdim=None`` this factory returns
    ``Identityd`` instead, so voxels, shape and affine come out untouched. Both results are plain MONAI
    transforms, so ``Invertd`` and lazy resampling behave as usual.

    Args:
        keys: data keys, e.g. ``["image", "label"]``.
        pixdim: output voxel spacing in mm, one value per spatial axis (a single number is used for every axis
            by ``Spacingd``), or ``None`` to keep the native spacing. Non-positive components keep the native
            spacing of that axis, as in ``Spacingd``.
        allow_missing_keys: do not fail when a key (e.g. ``label`` at inference) is absent.
        kwargs: passed to ``Spacingd`` (``mode``, ``padding_mode``, ``align_corners``, ...); ignored for ``None``.

    Returns:
        ``monai.transforms.Spacingd`` or ``monai.transforms.Identityd``.

    Raises:
        ValueError: if ``pixdim`` is neither ``None``, a number, nor a non-empty sequence of numbers.
    """
    if pixdim is None:
        return Identityd(keys, allow_missing_keys=allow_missing_keys)
    values = [pixdim] if isinstance(pixdim, Real) else pixdim
    if (
        isinstance(values, (str, bytes))
        or not isinstance(values, Sequence)
        or not values
        or not all(isinstance(v, Real) and not isinstance(v, bool) for v in values)
    ):
        raise ValueError(
            f"pixdim must be null/None (keep the native spacing) or spacing in mm such as [1.5, 1.5, 2.0]; "
            f"got {pixdim!r}."
        )
    return Spacingd(keys, pixdim=[float(v) for v in values], allow_missing_keys=allow_missing_keys, **kwargs)
