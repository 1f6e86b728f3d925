# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""`monai-lite benchmark efficiency` (work in progress)."""

from __future__ import annotations

import argparse


def add_parser(kinds) -> argparse.ArgumentParser:
    """Add the ``efficiency`` sub-verb to ``monai-lite benchmark``."""
    sub = kinds.add_parser("efficiency", help="efficiency benchmark (work in progress)")
    sub.set_defaults(func=lambda args: 2)
    return sub
