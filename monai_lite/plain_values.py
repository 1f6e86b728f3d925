# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Values read from files are data: find anything in them that MONAI's config parser would run or follow.

A model folder, a datalist or any other file a user receives is data, never code. MONAI's ``ConfigParser`` runs a
string starting with ``$`` as Python, follows ``@id`` references and ``%file#id`` macros (which read another
file), and instantiates any dict with a ``_target_``. So a value that will pass through a parser must hold none
of these; a value from a file must moreover be plain JSON, and where it has no business naming a file, no path.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from monai_lite.errors import UnsafeValueError

__all__ = ["CONFIG_MARKERS", "config_syntax_problem", "plain_json_problem", "require_no_config_syntax"]

#: Leading characters with which MONAI's parser runs code (``$``), follows a reference (``@``) or reads a file (``%``).
CONFIG_MARKERS = ("$", "@", "%")


def _walk(value: Any, where: str) -> Iterator[tuple[str, Any]]:
    yield where, value
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _walk(item, f"{where}[{index}]")


def _syntax(where: str, value: Any) -> str | None:
    if isinstance(value, str) and value.lstrip().startswith(CONFIG_MARKERS):
        return (f"{where} = {value!r} starts with {value.lstrip()[0]!r}, which MONAI's config parser would run or "
                "follow (code, a reference or another file)")
    if isinstance(value, Mapping):
        for key in value:
            if isinstance(key, str) and key.startswith("_") and key.endswith("_") and len(key) > 2:
                return f"{where} has the key {key!r}, which MONAI's config parser would act on (e.g. build an object)"
    return None


def config_syntax_problem(value: Any, where: str) -> str | None:
    """The first place in ``value`` that MONAI's config parser would run or follow, described, or None."""
    for place, item in _walk(value, where):
        problem = _syntax(place, item)
        if problem:
            return problem
    return None


def plain_json_problem(value: Any, where: str, paths: bool = False) -> str | None:
    """The first place in ``value`` that is not plain JSON data, described, or None.

    Plain: ``null``, booleans, finite numbers, strings, lists and objects with string keys; no config syntax
    (:func:`config_syntax_problem`); unless ``paths``, no string that looks like a path (``/``, ``\\``, ``..``, ``~``).
    """
    for place, item in _walk(value, where):
        problem = _syntax(place, item)
        if problem:
            return problem
        if isinstance(item, float) and not math.isfinite(item):
            return f"{place} = {item} is not a finite number"
        if isinstance(item, Mapping) and not all(isinstance(k, str) for k in item):
            return f"{place} has keys that are not strings"
        if isinstance(item, str) and not paths and ("/" in item or "\\" in item or ".." in item or item.startswith("~")):
            return f"{place} = {item!r} looks like a path, and no path is accepted here"
        if item is not None and not isinstance(item, (bool, int, float, str, list, tuple, Mapping)):
            return f"{place} is a {type(item).__name__}, not a JSON value"
    return None


def require_no_config_syntax(value: Any, where: str, source: str) -> None:
    """Raise unless ``value`` holds nothing that MONAI's config parser would run or follow.

    Args:
        value: the value (any nesting of dicts, lists and scalars).
        where: its name in messages, e.g. ``"preset_params"``.
        source: where it came from, e.g. a file path or ``"load_preset"``.

    Raises:
        UnsafeValueError: naming the source, the place and the value.
    """
    problem = config_syntax_problem(value, where)
    if problem:
        raise UnsafeValueError(f"{source}: {problem}; only plain values are accepted here.")
