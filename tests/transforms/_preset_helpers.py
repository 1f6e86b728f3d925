# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Shared helpers for the preset tests: the tests/data builders (real-data finder, NIfTI writer) on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

_DATA_TESTS = str(Path(__file__).resolve().parents[1] / "data")
if _DATA_TESTS not in sys.path:  # tests/data has no __init__.py; its modules import each other by bare name
    sys.path.insert(0, _DATA_TESTS)

from data_builders import real_data_dir, save_nifti  # noqa: E402

__all__ = ["real_data_dir", "save_nifti"]
