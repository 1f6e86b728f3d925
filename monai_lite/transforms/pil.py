# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Small PIL helpers for MONAI's ``PILReader``."""

from __future__ import annotations

from PIL import Image

__all__ = ["to_rgb"]


def to_rgb(image: Image.Image) -> Image.Image:
    """Converter for ``PILReader(converter=...)``: grey, palette, CMYK and RGBA images become 3-channel RGB.

    RGB presets expect exactly three channels; without this a grey JPEG in a colour dataset would fail deep in
    the normalisation with a message about channel counts.
    """
    return image if image.mode == "RGB" else image.convert("RGB")
