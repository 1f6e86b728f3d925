# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Store 8-bit pictures as ``uint8`` where a dataset caches them, a quarter of the memory of ``float32``.

The picture presets (``dermoscopy``, ``endoscopy``) decode an 8-bit RGB file and resize it on its 0-255 values,
end the cached part of their chain with :class:`ToUint8d`, and scale and normalise with :class:`Uint8ToFloatd` after
MONAI's ``RandIdentity``, which stops ``CacheDataset``/``PersistentDataset`` from caching what follows. Scaling and
normalising are linear, so doing them after the resize instead of before changes nothing but float rounding; the
rounding to whole 8-bit levels moves a resized value by at most half a level (0.5 / 255 before normalisation), and
not at all when the resize keeps the size (it then copies the decoded 8-bit values).

:class:`Uint8ToFloatd` runs every time a picture is read, so it is one fused torch expression rather than MONAI's
``EnsureTyped`` + ``ScaleIntensityRanged`` + ``NormalizeIntensityd`` (the same numbers, about 6x the time on a
128 x 128 picture through MONAI's per-transform overhead).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.transforms import MapTransform

__all__ = ["ToUint8d", "Uint8ToFloatd"]

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


class Uint8ToFloatd(MapTransform):
    """float32 from 8-bit values: optionally scaled to [0, 1] and normalised per channel; metadata kept.

    The same numbers as ``EnsureTyped(dtype=float32)``, then ``ScaleIntensityRanged(a_min=0, a_max=255, b_min=0,
    b_max=1)`` when ``scale``, then ``NormalizeIntensityd(subtrahend=mean, divisor=std, channel_wise=True)`` when
    ``mean``/``std`` are given.

    Args:
        keys: the keys to convert.
        scale: divide by 255, to [0, 1] (images); False keeps the values (0/1 labels). Defaults to True.
        mean: per-channel value to subtract after scaling (e.g. ImageNet's); None subtracts nothing. Defaults to None.
        std: per-channel divisor after subtracting; None divides by nothing. Defaults to None.
        allow_missing_keys: skip keys that are absent (a label at inference). Defaults to False.

    Raises:
        ValueError: at construction, for a ``std`` holding 0 or a ``mean``/``std`` without numbers; when called,
            for a channel count other than the length of ``mean``/``std``, naming the file.
    """

    def __init__(self, keys: KeysCollection, scale: bool = True, mean: Sequence[float] | None = None,
                 std: Sequence[float] | None = None, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.scale = bool(scale)
        self.mean = None if mean is None else torch.as_tensor(mean, dtype=torch.float32).reshape(-1)
        self.std = None if std is None else torch.as_tensor(std, dtype=torch.float32).reshape(-1)
        for name, values in (("mean", self.mean), ("std", self.std)):
            if values is not None and values.numel() == 0:
                raise ValueError(f"Uint8ToFloatd: {name} needs one number per channel, got none.")
        if self.std is not None and bool((self.std == 0).any()):
            raise ValueError(f"Uint8ToFloatd: std must not hold 0 (it divides), got {self.std.tolist()}.")

    def _per_channel(self, values: torch.Tensor, image: torch.Tensor, key: Hashable, source: Any) -> torch.Tensor:
        if values.numel() not in (1, image.shape[0]):
            raise ValueError(f"{source}: {key} has {image.shape[0]} channel(s) but Uint8ToFloatd's mean/std have "
                             f"{values.numel()} values.")
        return values.reshape(-1, *([1] * (image.ndim - 1)))

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        out = dict(data)
        for key in self.key_iterator(out):
            value = out[key]
            # A float32 copy (a MetaTensor's copy gets its own metadata and list of applied operations), then
            # in-place steps on it: the cached uint8 item is never touched, however often it is read.
            result = (value if isinstance(value, torch.Tensor) else torch.as_tensor(value)).to(torch.float32, copy=True)
            source = value.meta.get("filename_or_obj", "<array>") if isinstance(value, MetaTensor) else "<array>"
            if self.scale:
                result.div_(255.0)
            if self.mean is not None:
                result.sub_(self._per_channel(self.mean, result, key, source))
            if self.std is not None:
                result.div_(self._per_channel(self.std, result, key, source))
            out[key] = result
        return out
