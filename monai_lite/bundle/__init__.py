# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Helpers that the bundle configs call, so the JSON stays declarative: paths and data sources."""

from __future__ import annotations

from monai_lite.known_warnings import silence_known_noise

from .checks import check_bundle_settings
from .data import IMAGE_SUFFIXES, inference_data, training_data
from .paths import find_bundle_root, require_checkpoint

silence_known_noise()  # a bundle run imports this first: quiet MONAI's known, harmless notices for the whole run

__all__ = ["IMAGE_SUFFIXES", "check_bundle_settings", "find_bundle_root", "inference_data", "require_checkpoint", "training_data"]
