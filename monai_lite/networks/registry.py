# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Name -> network class registry: ``@register_network``, ``create_network`` and ``list_networks``.

Names are case-insensitive and stored lower-case. This module imports no network, so listing names is cheap;
``monai_lite.networks`` imports every network module, which registers it.

Examples::

    >>> from monai_lite.networks import create_network, list_networks
    >>> list_networks()
    ['medlitenet']
    >>> net = create_network("medlitenet", spatial_dims=3, in_channels=1, out_channels=3)
"""

from __future__ import annotations

import fnmatch
from typing import Any, Callable, TypeVar

import torch.nn as nn

__all__ = ["register_network", "create_network", "get_network_class", "list_networks"]

_T = TypeVar("_T", bound=type)
_NETWORKS: dict[str, type[nn.Module]] = {}


def register_network(name: str) -> Callable[[_T], _T]:
    """Class decorator that registers a network under ``name`` (case-insensitive).

    Args:
        name: registry name, e.g. ``"medlitenet"``.

    Raises:
        ValueError: when ``name`` is empty or already taken by a different class.
        TypeError: when the decorated object is not an ``nn.Module`` subclass.
    """
    key = name.strip().lower()
    if not key:
        raise ValueError(f"network name must be a non-empty string, got name={name!r}.")

    def _register(cls: _T) -> _T:
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise TypeError(f"register_network('{key}') expects an nn.Module subclass, got {cls!r}.")
        existing = _NETWORKS.get(key)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(
                f"network name '{key}' is already registered to {existing.__module__}.{existing.__qualname__}."
            )
        _NETWORKS[key] = cls
        return cls

    return _register


def get_network_class(name: str) -> type[nn.Module]:
    """Return the class registered under ``name``.

    Raises:
        ValueError: when ``name`` is unknown; the message lists the valid names.
    """
    key = str(name).strip().lower()
    if key not in _NETWORKS:
        raise ValueError(f"Unknown network '{name}'. Valid names: {', '.join(list_networks()) or '(none)'}.")
    return _NETWORKS[key]


def create_network(name: str, **kwargs: Any) -> nn.Module:
    """Build the network registered under ``name`` with keyword arguments ``kwargs``.

    Raises:
        ValueError: when ``name`` is unknown (the message lists the valid names), or from the network's own
            argument checks.
    """
    return get_network_class(name)(**kwargs)


def list_networks(pattern: str | None = None) -> list[str]:
    """Sorted registered names, optionally filtered by a shell-style ``pattern`` such as ``"med*"``."""
    names = sorted(_NETWORKS)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatch(n, pattern.lower())]
    return names
