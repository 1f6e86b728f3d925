# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Read a segmentation mask file as an integer label map with its voxel spacing in millimetres.

Prediction and ground truth always go through this one reader, so they share one array layout: 2D files (PNG,
JPEG, BMP, TIFF) are decoded by Pillow row-major, ``(H, W)``, which is the layout of the project's PNG presets and of
``RowMajorPILWriter`` (MONAI's default PNG reader would transpose them, MONAI#3976); volumes (NIfTI, NRRD, MetaImage)
go through MONAI's readers via :func:`monai_lite.data.io.read_volume`, indexed ``(x, y, z)`` as stored, with the RAS
affine whose column lengths give the spacing. 2D files have spacing 1 per pixel.

Label values: integers >= 0 are class values; a mask holding only ``{0, 255}`` is read with ``> 0`` (binary masks
stored for viewing), unless 255 is itself a named class. Lossy JPEG masks must still be exactly binary. A prediction
saved as probabilities or grey levels is refused with what was found (:func:`describe_values`), unless a
``threshold`` binarises it explicitly (``value >= threshold`` is foreground 1).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monai_lite.data.io import IMAGE_2D_SUFFIXES, LOSSY_SUFFIXES, VOLUME_SUFFIXES, read_picture, read_volume, split_name

__all__ = ["MASK_SUFFIXES", "Mask", "describe_values", "is_mask_file", "read_mask"]

#: How to binarise a probability or grey-level prediction, for messages.
THRESHOLD_HINT = (
    "binarise it with --threshold T (threshold=T in Python): value >= T is foreground, e.g. 0.5 for probabilities "
    "in [0, 1] or 128 for grey levels 0-255"
)

#: File endings read as masks (lower case).
MASK_SUFFIXES: tuple[str, ...] = (*VOLUME_SUFFIXES, *IMAGE_2D_SUFFIXES)


@dataclass(frozen=True)
class Mask:
    """A decoded mask.

    Attributes:
        path: the file it came from.
        array: integer label map, spatial axes only (``(H, W)`` for 2D files, ``(x, y, z)`` for volumes).
        spacing: size of one pixel/voxel along each axis of ``array``, in millimetres (1.0 for 2D files).
        affine: the 4x4 RAS voxel-to-world matrix of a volume; None for 2D files.
    """

    path: Path
    array: np.ndarray
    spacing: tuple[float, ...]
    affine: np.ndarray | None


def is_mask_file(path: str | Path) -> bool:
    """True for a file (not hidden) whose ending is one of :data:`MASK_SUFFIXES`."""
    path = Path(path)
    return not path.name.startswith(".") and split_name(path)[1] in MASK_SUFFIXES


def _single_channel_2d(array: np.ndarray, path: Path) -> np.ndarray:
    if array.ndim == 2:
        return array
    colour = array[..., :3]
    # A grey mask saved as RGB(A) has three equal channels; anything else is a colour-coded mask we cannot read.
    if not (np.array_equal(colour[..., 0], colour[..., 1]) and np.array_equal(colour[..., 0], colour[..., 2])):
        raise ValueError(
            f"mask {path} is a colour image with differing channels; save masks as single-channel label maps "
            "(e.g. 8-bit grey PNG with values 0/1 or 0/255)."
        )
    return colour[..., 0]


def _spatial_volume(array: np.ndarray, path: Path) -> np.ndarray:
    # NIfTI masks are sometimes stored with trailing singleton axes (x, y, z, 1); they carry no information.
    while array.ndim > 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim > 3:
        raise ValueError(
            f"mask {path} has shape {tuple(array.shape)}; a label map with one value per voxel is expected, "
            "not one channel per class (argmax a one-hot mask before saving it)."
        )
    return array


def describe_values(array: np.ndarray) -> str:
    """What values an array holds, in words: ``"23 distinct values in [0, 1], looks like probabilities"``."""
    finite = array[np.isfinite(array)] if np.issubdtype(array.dtype, np.floating) else array
    bad = int(array.size - finite.size)
    values = np.unique(finite)
    if values.size == 0:
        return f"{bad} NaN or infinite value(s) and nothing else"
    text = f"{values.size} distinct value(s) in [{values[0]:g}, {values[-1]:g}]"
    if bad:
        text += f" and {bad} NaN or infinite value(s)"
    fractional = np.issubdtype(values.dtype, np.floating) and bool(np.any(values != np.round(values)))
    if fractional and values[0] >= 0 and values[-1] <= 1:
        text += ", looks like probabilities"
    elif values.size > 10:
        text += ", looks like a grey-level or probability map"
    return text


def _binarised(array: np.ndarray, path: Path, threshold: float) -> np.ndarray:
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise ValueError(f"prediction {path} holds {describe_values(array)}; it cannot be binarised. Repair the file.")
    return (array >= threshold).astype(np.int64)


def _as_labels(array: np.ndarray, path: Path, named: Collection[int]) -> np.ndarray:
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise ValueError(
                f"mask {path} holds non-integer values ({describe_values(array)}); masks must be integer label "
                f"maps. If it is a prediction, {THRESHOLD_HINT}."
            )
    labels = np.asarray(array).astype(np.int64, copy=False)
    values = np.unique(labels)
    if values.size and values[0] < 0:
        raise ValueError(f"mask {path} holds negative values (e.g. {int(values[0])}); label values must be >= 0.")
    if 255 in values and set(values.tolist()) <= {0, 255} and 255 not in named:
        return (labels > 0).astype(np.int64)
    if split_name(path)[1] in LOSSY_SUFFIXES and not set(values.tolist()) <= {0, 1}:
        raise ValueError(
            f"mask {path} is a JPEG whose values are not exactly binary ({values.size} distinct values); JPEG blurs "
            "edges: threshold the original (e.g. > 127) and save masks as PNG."
        )
    return labels


def read_mask(path: str | Path, named: Collection[int] = (), threshold: float | None = None) -> Mask:
    """Read one mask file as an integer label map.

    Args:
        path: a 2D file (``.png``, ``.jpg``, ``.bmp``, ``.tif``) or volume (``.nii.gz``, ``.nii``, ``.nrrd``,
            ``.mha``, ...).
        named: class values the caller names explicitly; a value 255 listed here is kept as a class instead of
            being read as binary foreground. Defaults to ().
        threshold: binarise the mask (``value >= threshold`` becomes 1, the rest 0) instead of reading label
            values; for predictions saved as probabilities or grey levels. Defaults to None.

    Returns:
        The :class:`Mask` (the file itself is never modified).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: unknown ending, unreadable file, colour mask, one-hot volume, non-integer or negative values,
            or a non-binary JPEG mask; the message names the file.

    Example::

        mask = read_mask("labelsTr/hippocampus_001.nii.gz")
        mask.array.shape, mask.spacing        # ((35, 51, 35), (1.0, 1.0, 1.0))
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mask {path} does not exist.")
    ending = split_name(path)[1]
    if ending not in MASK_SUFFIXES:
        raise ValueError(f"mask {path} has an unknown ending {ending!r}; expected one of {', '.join(MASK_SUFFIXES)}.")
    try:
        if ending in IMAGE_2D_SUFFIXES:
            picture = read_picture(path)
            if picture.frames > 1:
                raise ValueError(f"mask {path} has {picture.frames} frames; a 2D mask must have one.")
            array, spacing, affine = _single_channel_2d(picture.array, path), (1.0, 1.0), None
        else:
            volume = read_volume(path)
            array = _spatial_volume(volume.array, path)
            affine = volume.affine
            lengths = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
            spacing = tuple(float(s) for s in lengths[: array.ndim])
    except (OSError, RuntimeError) as exc:
        raise ValueError(f"mask {path} cannot be read ({type(exc).__name__}: {exc}).") from exc
    labels = _as_labels(array, path, named) if threshold is None else _binarised(array, path, float(threshold))
    return Mask(path=path, array=labels, spacing=spacing, affine=affine)
