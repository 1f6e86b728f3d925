# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Activation names that monai-lite blocks use and MONAI's ``Act`` factory lacks.

MONAI's ``"swish"`` is ``x * sigmoid(alpha * x)`` written as three tensor operations. ``"silu"`` registered
here is :class:`torch.nn.SiLU`, the same function as one fused kernel, which is noticeably faster on CPU.
Registration uses the factory's own ``add_factory_class`` (see ``monai.networks.layers.factories``) and
skips names that MONAI already provides, so a future MONAI with its own ``"silu"`` wins.
"""

from __future__ import annotations

import torch.nn as nn
from monai.networks.layers.factories import Act

__all__ = ["register_activations"]

_EXTRA_ACTIVATIONS: dict[str, type[nn.Module]] = {"silu": nn.SiLU, "hardswish": nn.Hardswish}


def register_activations() -> None:
    """Register ``"silu"`` and ``"hardswish"`` with ``monai.networks.layers.factories.Act`` (idempotent)."""
    for name, cls in _EXTRA_ACTIVATIONS.items():
        if name.upper() not in Act.names:
            Act.add_factory_class(name, cls)


register_activations()
