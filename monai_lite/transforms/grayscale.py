# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""PIL converter for single-channel presets (chest X-ray): every picture becomes one grey channel."""

from __future__ import annotations

from PIL import Image

__all__ = ["to_grayscale"]

# Modes that already hold one channel at more than 8 bits; converting them to "L" would clamp at 255
# (Pillow does not rescale), so they are passed through and the preset rescales intensities itself.
_WIDE_SINGLE_CHANNEL = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def to_grayscale(image: Image.Image) -> Image.Image:
    """Converter for ``PILReader(converter=...)``: RGB, RGBA, palette, CMYK and bilevel images become 8-bit ``L``.

    Radiographs are often saved as RGB JPEGs or palette PNGs although they are grey; without this they would
    load with three channels and fail in a single-channel network. 16-bit and float grey images (modes ``I;16``,
    ``I``, ``F``) are returned unchanged, because Pillow's conversion to ``L`` clamps them instead of rescaling.

    Args:
        image: the picture as opened by Pillow.

    Returns:
        A single-channel image: ``image`` itself if it is ``L`` or a wide grey mode, else its ``L`` conversion.
        Transparent pixels of RGBA / LA / PA images are composited over black first, the usual film background.
    """
    if image.mode == "L" or image.mode in _WIDE_SINGLE_CHANNEL:
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(background, rgba).convert("L")
    return image.convert("L")
