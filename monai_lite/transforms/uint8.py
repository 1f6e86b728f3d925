# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Store 8-bit pictures as ``uint8`` where a dataset caches them, a quarter of the memory of ``float32``.

The picture presets (``dermoscopy``, ``endoscopy``) decode an 8-bit RGB file and resize it on its 0-255 values,
end the cached part of their chain with :class:`ToUint8d`, and scale and normalise after MONAI's ``RandIdentity``,
which stops ``CacheDataset``/``PersistentDataset`` from caching what follows. Scaling and normalising are linear, so
doing them after the resize instead of before changes nothing but float rounding; the rounding to whole 8-bit
levels moves a resized value by at most half a level (0.5 / 255 before normalisation), and not at all when the
resize keeps the size (it then copies the decoded 8-bit values).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform

__all__ = ["ToUint8d"]

#: How far outside 0..255 a value may lie before it is taken for a picture that is not 8-bit: interpolation of
#: 8-bit values stays inside the range up to float rounding.
_TOLERANCE = 0.5


class ToUint8d(MapTransform):
    """Round the values of ``keys`` to the nearest integer and store them as ``uint8`` (metadata kept).

    Args:
        keys: the keys to convert, e.g. ``["image", "label"]``; a label of 0/1 values stays exactly as it is.
        allow_missing_keys: skip keys that are absent (a label at inference). Defaults to False.

    Raises:
        ValueError: when a value lies outside 0..255 (by more than half a level): the picture was not 8-bit, and
            silently clipping it would change what the network sees. The message names the file.
    """

    def __init__(self, keys: KeysCollection, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        out = dict(data)
        for key in self.key_iterator(out):
            value = out[key]
            tensor = value if isinstance(value, torch.Tensor) else torch.as_tensor(value)
            if tensor.dtype == torch.uint8:
                continue
            if tensor.numel() and (tensor.min() < -_TOLERANCE or tensor.max() > 255 + _TOLERANCE):
                source = getattr(value, "meta", {}).get("filename_or_obj", "<array>")
                raise ValueError(
                    f"{source}: {key} has values in [{float(tensor.min()):g}, {float(tensor.max()):g}], outside the "
                    "8-bit range 0..255 that ToUint8d stores; use a preset that keeps float values for this data."
                )
            out[key] = tensor.round().clamp_(0, 255).to(torch.uint8)
        return out
