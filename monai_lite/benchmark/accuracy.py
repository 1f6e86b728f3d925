# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""`monai-lite benchmark accuracy` (work in progress)."""

from __future__ import annotations

import argparse


def add_parser(kinds) -> argparse.ArgumentParser:
    """Add the ``accuracy`` sub-verb to ``monai-lite benchmark``."""
    sub = kinds.add_parser("accuracy", help="accuracy benchmark (work in progress)")
    sub.set_defaults(func=lambda args: 2)
    return sub
