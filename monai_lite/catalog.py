# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""What ships with this checkout (networks, bundles, transform presets), found without importing torch or MONAI.

``monai-lite list`` must answer at once, but the registries that create networks, run bundles and load presets
import torch and MONAI (seconds on a busy machine). The names are found here from the files instead: bundles are
the folders with ``configs/metadata.json``, presets the JSON files of ``transforms/``, networks the names given to
``@register_network`` in ``monai_lite/networks/*.py`` (read with :mod:`ast`, nothing imported). Tests check that
each list equals the one of the heavy registry.
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["list_bundle_names", "list_network_names", "list_preset_names"]

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def list_bundle_names() -> list[str]:
    """Bundle folders under ``bundles/`` (those with ``configs/metadata.json``; ``_template`` is not one), sorted."""
    found = (p.parent.parent.name for p in (_CHECKOUT / "bundles").glob("*/configs/metadata.json"))
    return sorted(name for name in found if not name.startswith("_"))


def list_preset_names() -> list[str]:
    """Transform presets: the JSON files of ``transforms/``, sorted."""
    return sorted(p.stem for p in (_CHECKOUT / "transforms").glob("*.json"))


def _registered_names(source: str) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and getattr(decorator.func, "id", getattr(decorator.func, "attr", None)) == "register_network"
                    and decorator.args
                    and isinstance(decorator.args[0], ast.Constant)
                ):
                    names.append(str(decorator.args[0].value).strip().lower())
    return names


def list_network_names() -> list[str]:
    """Names given to ``@register_network`` in the network modules (lower-case, as the registry stores them), sorted."""
    return sorted({name for path in (_PACKAGE / "networks").glob("*.py") for name in _registered_names(path.read_text())})
