# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Transforms: named modality presets, and the few Python transforms they need that MONAI lacks."""

from __future__ import annotations

from .pil import to_rgb
from .presets import PRESET_DIR, list_presets, load_preset, preset_path, read_preset

__all__ = ["PRESET_DIR", "list_presets", "load_preset", "preset_path", "read_preset", "to_rgb"]
