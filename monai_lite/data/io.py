# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Read single image files for dataset checks: 2D pictures through PIL, volumes through MONAI's readers.

Nothing here parses a file format by hand. 2D files (PNG, JPEG, BMP, TIFF) are opened with Pillow, which also
tells the colour mode and the frame count. Volumes go through MONAI's ``NibabelReader`` (NIfTI) or ``ITKReader``
(NRRD, MetaImage), so their affines use MONAI's convention (RAS world coordinates), the same convention that
``LoadImage`` gives the training pipeline. DICOM series are read in :mod:`monai_lite.data.dicom`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monai_lite.errors import InputFileError

__all__ = [
    "IMAGE_2D_SUFFIXES",
    "VOLUME_SUFFIXES",
    "LOSSY_SUFFIXES",
    "Picture",
    "Volume",
    "split_name",
    "is_2d_file",
    "is_volume_file",
    "read_picture",
    "read_volume",
]

#: 2D file endings accepted for images and masks (lower case).
IMAGE_2D_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
#: Volume file endings, longest first so that ``.nii.gz`` wins over ``.gz``.
VOLUME_SUFFIXES: tuple[str, ...] = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")
#: Endings whose compression loses information; masks should not use them.
LOSSY_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg")

_EXIF_ORIENTATION_TAG = 0x0112


def split_name(path: str | Path) -> tuple[str, str]:
    """Split a file name into ``(stem, ending)``.

    Volume endings such as ``.nii.gz`` count as one ending. Any other name is split at its LAST dot only, so
    ``ryct.2020200034.fig5-day0.png`` gives ``("ryct.2020200034.fig5-day0", ".png")``. The ending is returned
    in lower case; the stem keeps its case.
    """
    name = Path(path).name
    lower = name.lower()
    for suffix in VOLUME_SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    stem, dot, ending = name.rpartition(".")
    if not dot or not stem:
        return name, ""
    return stem, "." + ending.lower()


def is_2d_file(path: str | Path) -> bool:
    """True if the name ends in one of :data:`IMAGE_2D_SUFFIXES`."""
    return split_name(path)[1] in IMAGE_2D_SUFFIXES


def is_volume_file(path: str | Path) -> bool:
    """True if the name ends in one of :data:`VOLUME_SUFFIXES`."""
    return split_name(path)[1] in VOLUME_SUFFIXES


@dataclass(frozen=True)
class Picture:
    """A decoded 2D file.

    Attributes:
        array: pixel data as PIL hands it to numpy: ``(H, W)`` or ``(H, W, C)``.
        mode: the PIL mode (``"L"``, ``"RGB"``, ``"P"``, ``"I;16"``, ...).
        frames: number of frames (pages); more than one means the file is really a stack.
        exif_orientation: the EXIF orientation tag (1 when absent or upright).
    """

    array: np.ndarray
    mode: str
    frames: int
    exif_orientation: int

    @property
    def height_width(self) -> tuple[int, int]:
        """``(H, W)`` of the first frame."""
        return int(self.array.shape[0]), int(self.array.shape[1])

    @property
    def channels(self) -> int:
        """1 for single-channel modes, else the size of the last axis."""
        return 1 if self.array.ndim == 2 else int(self.array.shape[-1])


def read_picture(path: str | Path) -> Picture:
    """Open and fully decode a 2D file with Pillow (so truncated files fail here, not during training).

    Raises:
        OSError: the file is missing, truncated or not an image Pillow understands.
        InputFileError: (a ``ValueError``) Pillow opened the file but cannot decode it; the message names the file.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            frames = int(getattr(im, "n_frames", 1))
            exif = im.getexif().get(_EXIF_ORIENTATION_TAG, 1)
            im.load()
            array = np.asarray(im)
            mode = im.mode
    except OSError:
        raise
    except Exception as err:  # noqa: BLE001 - Pillow's decoders raise ValueError, SyntaxError, struct.error, ...
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise InputFileError(f"{path}: cannot be read as a picture ({type(err).__name__}: {reason}).") from err
    if array.dtype == bool:
        array = array.astype(np.uint8)
    try:
        exif_value = int(exif)
    except (TypeError, ValueError):
        exif_value = 1
    return Picture(array=array, mode=mode, frames=frames, exif_orientation=exif_value)


@dataclass(frozen=True)
class Volume:
    """A decoded volume in MONAI's convention.

    Attributes:
        array: voxel data indexed ``(x, y, z[, channel])`` as MONAI's readers return it (original dtype).
        affine: 4x4 voxel-to-world matrix in RAS millimetres.
    """

    array: np.ndarray
    affine: np.ndarray

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """Shape without a trailing channel axis (the first three axes of a 4D array)."""
        return tuple(int(s) for s in self.array.shape[:3])


def read_volume(path: str | Path) -> Volume:
    """Read a NIfTI (``NibabelReader``) or NRRD/MetaImage (``ITKReader``) file with its RAS affine.

    Raises:
        OSError: the file is missing or cannot be opened (passed on from the reader).
        InputFileError: (a ``ValueError``) the file cannot be decoded: cut off, damaged or not a volume; the
            message names the file and the reader's reason.
    """
    from monai.data import ITKReader, NibabelReader

    ending = split_name(path)[1]
    reader = NibabelReader() if ending in (".nii", ".nii.gz") else ITKReader(affine_lps_to_ras=True)
    try:
        obj = reader.read(str(path))
        data, meta = reader.get_data(obj)
        affine = np.asarray(meta["affine"], dtype=np.float64)
        array = np.asarray(data)
    except OSError:
        raise
    except Exception as err:  # noqa: BLE001 - nibabel and ITK raise many types for a damaged file
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise InputFileError(f"{path}: cannot be read as a volume ({type(err).__name__}: {reason}).") from err
    return Volume(array=array, affine=affine)
