# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""CLAHE (contrast limited adaptive histogram equalisation), which MONAI lacks, for chest X-ray presets.

The work is done by scikit-image's ``exposure.equalize_adapthist``; these classes make it a MONAI transform that
acts on each channel separately and keeps the tensor's shape, dtype family and ``MetaTensor`` metadata (affine,
filename, applied operations), so the geometry of a chain is unchanged and ``Invertd`` still works around it.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform, Transform
from monai.utils import convert_to_dst_type, convert_to_numpy

__all__ = ["CLAHE", "CLAHEd"]


def _equalize_adapthist() -> Any:
    """scikit-image's CLAHE without its RGB adapter (imported lazily, with an install hint)."""
    try:
        from skimage.exposure import equalize_adapthist
    except ImportError as error:  # pragma: no cover - scikit-image is a declared dependency
        raise ImportError("CLAHE needs scikit-image: pip install scikit-image") from error
    # ``equalize_adapthist`` is wrapped by ``adapt_rgb``, which treats any 3D array whose last axis has 3 or 4
    # elements as an RGB picture; we always pass one channel, so call the undecorated function.
    return getattr(equalize_adapthist, "__wrapped__", equalize_adapthist)


class CLAHE(Transform):
    """Contrast limited adaptive histogram equalisation of a channel-first image, one channel at a time.

    Each channel is min-max rescaled to [0, 1] (what scikit-image requires), equalised, and returned in [0, 1]
    as float32. A constant channel becomes all zeros. Works for 2D ``(C, H, W)`` and 3D ``(C, H, W, D)``
    images.

    Args:
        clip_limit: contrast limit in (0, 1]; higher gives more contrast (scikit-image's normalised limit; 0.01
            corresponds roughly to OpenCV's ``clipLimit=2`` at 256 bins).
        kernel_size: size of the contextual regions in pixels, one int for every axis or one per spatial axis;
            ``None`` uses 1/8 of each image dimension, which is independent of the image resolution.
        nbins: number of histogram bins (grey levels) used for equalisation, at least 2.

    Raises:
        ValueError: for a clip limit outside (0, 1], a non-positive kernel size, or fewer than 2 bins.
    """

    def __init__(
        self, clip_limit: float = 0.01, kernel_size: int | Sequence[int] | None = None, nbins: int = 256
    ) -> None:
        if isinstance(clip_limit, bool) or not isinstance(clip_limit, Real) or not 0 < clip_limit <= 1:
            raise ValueError(f"CLAHE clip_limit must be a number in (0, 1], got {clip_limit!r}.")
        sizes = [kernel_size] if isinstance(kernel_size, Integral) else kernel_size
        if sizes is not None and (
            not sizes or not all(isinstance(k, Integral) and not isinstance(k, bool) and k > 0 for k in sizes)
        ):
            raise ValueError(f"CLAHE kernel_size must be null/None or positive integers, got {kernel_size!r}.")
        if isinstance(nbins, bool) or not isinstance(nbins, Integral) or nbins < 2:
            raise ValueError(f"CLAHE nbins must be an integer >= 2, got {nbins!r}.")
        self.clip_limit = float(clip_limit)
        self.kernel_size = kernel_size if sizes is None or isinstance(kernel_size, Integral) else list(sizes)
        self.nbins = int(nbins)

    def __call__(self, img: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
        """Equalise every channel of ``img``.

        Args:
            img: channel-first image, ``(C, *spatial)`` with 2 or 3 spatial axes.

        Returns:
            float32 image of the same shape and type (``MetaTensor`` in, ``MetaTensor`` out with the same meta).

        Raises:
            ValueError: if ``img`` does not have 2 or 3 spatial axes, or ``kernel_size`` has the wrong length.
        """
        if img.ndim not in (3, 4):
            raise ValueError(
                f"CLAHE expects a channel-first image (C, H, W) or (C, H, W, D); got shape {tuple(img.shape)}. "
                "Add EnsureChannelFirstd before it."
            )
        spatial_ndim = img.ndim - 1
        if isinstance(self.kernel_size, list) and len(self.kernel_size) != spatial_ndim:
            raise ValueError(
                f"CLAHE kernel_size {self.kernel_size} has {len(self.kernel_size)} values for an image with "
                f"{spatial_ndim} spatial axes."
            )
        equalize = _equalize_adapthist()
        array = convert_to_numpy(img, dtype=np.float64)
        out = np.zeros(array.shape, dtype=np.float32)
        for c, channel in enumerate(array):
            low, high = float(channel.min()), float(channel.max())
            if high <= low:  # constant channel: nothing to equalise (scikit-image would divide by zero)
                continue
            unit = (channel - low) / (high - low)
            out[c] = equalize(unit, kernel_size=self.kernel_size, clip_limit=self.clip_limit, nbins=self.nbins)
        # convert_to_dst_type gives back img's type; for a MetaTensor it copies affine, meta and applied_operations
        dtype = np.float32 if isinstance(img, np.ndarray) else torch.float32
        result, *_ = convert_to_dst_type(out, dst=img, dtype=dtype)
        return result


class CLAHEd(MapTransform):
    """Dictionary version of :class:`CLAHE`: equalise ``keys`` (images only, never labels).

    Args:
        keys: data keys to equalise, e.g. ``"image"``.
        clip_limit: see :class:`CLAHE`.
        kernel_size: see :class:`CLAHE`.
        nbins: see :class:`CLAHE`.
        allow_missing_keys: do not fail when a key is absent.

    Raises:
        ValueError: for invalid CLAHE parameters (see :class:`CLAHE`).
    """

    def __init__(
        self,
        keys: KeysCollection,
        clip_limit: float = 0.01,
        kernel_size: int | Sequence[int] | None = None,
        nbins: int = 256,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.clahe = CLAHE(clip_limit=clip_limit, kernel_size=kernel_size, nbins=nbins)

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        """Equalise each key of ``data``.

        Args:
            data: a dictionary holding channel-first images under ``keys``.

        Returns:
            A shallow copy of ``data`` with the equalised images.

        Raises:
            KeyError: if a key is missing and ``allow_missing_keys`` is false.
            ValueError: for an image that is not channel-first 2D/3D (see :meth:`CLAHE.__call__`).
        """
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.clahe(d[key])
        return d
