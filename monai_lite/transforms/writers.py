# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Image writers that MONAI lacks."""

from __future__ import annotations

from monai.data import PILWriter

__all__ = ["RowMajorPILWriter"]


class RowMajorPILWriter(PILWriter):
    """A PNG/JPEG writer for arrays laid out ``(H, W)``, the layout ``PILReader(reverse_indexing=False)`` reads.

    MONAI's ``PILWriter`` swaps the first two axes by default, because MONAI's default PNG reader returns
    ``(W, H)``. Our presets read PNG/JPEG row-major (so arrays match what every other tool shows), and this writer
    keeps that layout on the way out: a mask saved from a loaded image overlays it with no transpose or flip
    (MONAI#3976, #6007). Use it with ``SaveImaged(writer="monai_lite.transforms.writers.RowMajorPILWriter")``.
    """

    def write(self, filename, verbose: bool = False, **kwargs):
        kwargs.setdefault("reverse_indexing", False)
        return super().write(filename, verbose=verbose, **kwargs)
