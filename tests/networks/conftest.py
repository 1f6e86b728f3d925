# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Pytest setup for tests/networks: makes ``network_checks`` importable under any ``--import-mode`` and
registers the ``slow`` marker."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds on 2 CPU threads")
