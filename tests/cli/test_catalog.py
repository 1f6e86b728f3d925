# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the import-free catalog behind ``monai-lite list`` names exactly what the real registries hold."""

from __future__ import annotations

from monai_lite import catalog
from monai_lite.bundle.runner import list_bundles
from monai_lite.networks import list_networks
from monai_lite.transforms import list_presets


def test_networks_match_the_registry() -> None:
    assert catalog.list_network_names() == sorted(list_networks())


def test_bundles_and_presets_match() -> None:
    assert catalog.list_bundle_names() == list_bundles()
    assert catalog.list_preset_names() == list_presets()


def test_registered_names_are_read_from_decorators_only() -> None:
    source = (
        "@register_network('Alpha')\nclass A: pass\n"
        "@registry.register_network(\"beta\")\nclass B: pass\n"
        "@other('gamma')\nclass C: pass\n"
        "register_network('delta')\n"
    )
    assert catalog._registered_names(source) == ["alpha", "beta"]
