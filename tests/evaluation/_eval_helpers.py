# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Helpers for tests/evaluation: write small masks as PNG or NIfTI, and find the shared real datasets.

Everything is written into a caller-given folder (pytest's ``tmp_path``); nothing here touches the project tree.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["REPO_ROOT", "real_data_dir", "save_png", "save_nifti", "square"]

REPO_ROOT = Path(__file__).resolve().parents[2]


def real_data_dir() -> Path | None:
    """The shared real datasets: ``$MONAI_LITE_DATA`` if set, else ``<repo>/../shared/data``; None if absent."""
    env = os.environ.get("MONAI_LITE_DATA")
    candidate = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


def save_png(path: Path, array: np.ndarray) -> Path:
    """Save a 2D uint8 array row-major as a grey PNG (``(H, W)`` shows H rows)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8), "L").save(path)
    return path


def save_nifti(path: Path, array: np.ndarray, spacing: tuple[float, ...] = (1.0, 1.0, 1.0)) -> Path:
    """Save a 3D label map as NIfTI with a diagonal (RAS) affine of the given spacing."""
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    affine = np.diag([*spacing, 1.0])
    nib.save(nib.Nifti1Image(np.asarray(array, dtype=np.uint8), affine), path)
    return path


def square(shape: tuple[int, int], rows: slice, cols: slice, value: int = 1) -> np.ndarray:
    """A ``shape`` array of zeros with ``value`` in ``[rows, cols]``."""
    array = np.zeros(shape, dtype=np.uint8)
    array[rows, cols] = value
    return array
