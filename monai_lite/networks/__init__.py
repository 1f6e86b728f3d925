# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""monai-lite networks (one class per paper) and the name registry used by bundles and the CLI."""

from __future__ import annotations

from monai_lite.networks.inference_prep import prepare_for_inference
from monai_lite.networks.registry import create_network, get_network_class, list_networks, register_network
from monai_lite.networks.medlitenet import MedLiteNet  # noqa: I001  (import registers "medlitenet")
from monai_lite.networks.lightawnet import LightAWNet  # noqa: I001  (import registers "lightawnet")
from monai_lite.networks.lacnet import LACNet  # noqa: I001  (import registers "lacnet")
from monai_lite.networks.msaunet import MSAUNet  # noqa: I001  (import registers "msaunet")

__all__ = ["LACNet", "LightAWNet", "MSAUNet", "MedLiteNet", "create_network", "get_network_class", "list_networks", "prepare_for_inference", "register_network"]
