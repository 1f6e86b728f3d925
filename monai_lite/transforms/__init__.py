# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Transforms: named modality presets, and the few Python transforms they need that MONAI lacks."""

from __future__ import annotations

from .clahe import CLAHE, CLAHEd
from .elastic import Rand2DElasticd
from .grayscale import to_grayscale
from .labels import SelectLabelsd, select_labels
from .pil import to_rgb
from .presets import PRESET_DIR, list_presets, load_preset, preset_path, read_preset
from .spacing import spacingd_or_identity
from .uint8 import ToUint8d, Uint8ToFloatd

__all__ = [
    "CLAHE",
    "CLAHEd",
    "PRESET_DIR",
    "Rand2DElasticd",
    "SelectLabelsd",
    "ToUint8d",
    "Uint8ToFloatd",
    "list_presets",
    "load_preset",
    "preset_path",
    "read_preset",
    "select_labels",
    "spacingd_or_identity",
    "to_grayscale",
    "to_rgb",
]
