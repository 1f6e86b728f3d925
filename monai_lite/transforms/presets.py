# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Named modality presets: MONAI transform chains kept as readable JSON in the top-level ``transforms/`` folder.

A preset file is written in MONAI's bundle config syntax. Its scalar ids (``spatial_size``, probabilities, ...)
are the preset's parameters; its ``deterministic`` list is the preprocessing shared by training, validation and
inference, and its ``random`` list the training augmentation. A preset may start from another with
``"extends": "<name>"`` and change only parameters or sections, so related modalities share one chain. Bundles and Python code both build presets through
:func:`load_preset`, so there is one definition per modality.

Presets are read from the repository checkout that this package is installed from (``pip install -e .``): the
bundles live in the same checkout, so the two always travel together.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from monai.bundle import ConfigParser

from monai_lite.plain_values import require_no_config_syntax

__all__ = [
    "PRESET_DIR", "PRESET_SECTIONS", "list_presets", "preset_path", "preset_parameters", "read_preset", "load_preset",
]

PRESET_DIR = Path(__file__).resolve().parents[2] / "transforms"
PRESET_SECTIONS = ("deterministic", "random")
_NOT_PARAMETERS = (*PRESET_SECTIONS, "description", "extends")


def list_presets() -> list[str]:
    """Names of the presets found in :data:`PRESET_DIR`, sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def preset_path(name: str) -> Path:
    """The JSON file of preset ``name``.

    The name is looked up among :func:`list_presets`, never joined onto the folder as given, so a name such as
    ``../x`` or an absolute path cannot reach a file outside :data:`PRESET_DIR`.

    Raises:
        ValueError: if there is no such preset; the message lists the valid names.
    """
    names = list_presets()
    if not isinstance(name, str) or name not in names:
        raise ValueError(f"unknown transform preset {name!r}; valid presets: {', '.join(names)}.")
    return PRESET_DIR / f"{names[names.index(name)]}.json"


def preset_parameters(name: str) -> list[str]:
    """The parameter names of preset ``name`` (its ids other than the sections, ``description`` and ``extends``)."""
    return sorted(k for k in read_preset(name) if k not in _NOT_PARAMETERS)


def read_preset(name: str) -> dict:
    """The raw config of preset ``name``, with the presets it ``extends`` merged underneath.

    Raises:
        ValueError: for an unknown preset or a cycle of ``extends``.
    """
    chain: list[str] = []
    config: dict = {}
    while name:
        if name in chain:
            raise ValueError(f"transform presets extend each other in a cycle: {' -> '.join([*chain, name])}.")
        chain.append(name)
        own = json.loads(preset_path(name).read_text())
        config = {**own, **config}
        name = own.get("extends", "")
    config.pop("extends", None)
    return config


def load_preset(name: str, section: str, **params: Any) -> list:
    """Instantiate one section of a preset.

    Args:
        name: preset name, e.g. ``"dermoscopy"`` (see :func:`list_presets`).
        section: ``"deterministic"`` or ``"random"``.
        params: values for the preset's parameters, e.g. ``spatial_size=(128, 128)``. Unknown names are refused,
            so a typo in a bundle config cannot be ignored silently.

    Returns:
        The list of MONAI transforms, ready for ``monai.transforms.Compose``.

    Raises:
        ValueError: for an unknown preset, section or parameter.
        UnsafeValueError: for a parameter value holding MONAI config syntax (``$``, ``@``, ``%``, ``_target_``):
            the parameters are data, and this function parses the preset, so they would run.
    """
    if section not in PRESET_SECTIONS:
        raise ValueError(f"preset section must be one of {PRESET_SECTIONS}, got {section!r}.")
    config = read_preset(name)
    tunable = sorted(k for k in config if k not in _NOT_PARAMETERS)
    unknown = sorted(set(params) - set(tunable))
    if unknown:
        raise ValueError(
            f"preset {name!r} ({preset_path(name)}) has no parameter(s) {unknown}; its parameters are {tunable}."
        )
    for key, value in params.items():
        require_no_config_syntax(value, f"preset_params.{key}", f"preset {name!r}")
        config[key] = list(value) if isinstance(value, tuple) else value
    parser = ConfigParser(config, globals={"monai_lite": "monai_lite"})
    return list(parser.get_parsed_content(section))
