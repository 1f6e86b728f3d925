# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The models the benchmarks compare, each built by name: monai-lite networks, their ablations, and MONAI's nets.

Every entry is a :class:`ZooModel`: a class path plus fixed constructor arguments, so a model can be built in
Python (:meth:`ZooModel.build`) or written into a MONAI bundle config (:meth:`ZooModel.network_def`, a dict with
``_target_``). The benchmark supplies ``spatial_dims``, ``in_channels`` and ``out_channels``; entries add only
what makes them a variant (an ablation switch off, a width, a backbone).

Names (lower case, file-name safe):

- ``<network>`` for each monai-lite network at its defaults (``medlitenet``, ``lightawnet``, ``lacnet``, ``msaunet``);
- ``<network>-no-<switch>`` with one ablation switch of the paper off, e.g. ``medlitenet-no-transformer``,
  ``lightawnet-no-dynamic-conv``; plus ``lacnet-no-attention-no-lightweight-conv`` (both off: LACNet's plain
  residual U-Net) and ``msaunet-w0.5`` (``width_multiplier=0.5``);
- MONAI's reference networks: ``basicunet`` (the baseline of latency ratios), ``unet``, ``attentionunet``,
  ``segresnet``, ``flexibleunet-efficientnet-b0`` (2D only, random weights: nothing is downloaded), and 3D only
  ``swinunetr`` and ``unetr``.

MONAI settings are MONAI's defaults where a default exists, else those of MONAI's own tutorials
(``UNet``/``AttentionUnet``: widths 16-256, four stride-2 levels; ``UNet`` two residual units; ``SwinUNETR``
``feature_size=48``, the published BTCV setting). ``UNETR`` needs the optional ``einops`` package in MONAI 1.6.1;
where it is missing :meth:`ZooModel.build` raises MONAI's ``OptionalImportError`` and the benchmark records why.

Examples::

    >>> from monai_lite.benchmark.zoo import get_model, list_models
    >>> list_models(spatial_dims=3, family="monai")
    ['basicunet', 'unet', 'attentionunet', 'segresnet', 'swinunetr', 'unetr']
    >>> net = get_model("medlitenet-no-transformer").build(spatial_dims=2, in_channels=3, out_channels=1)
    >>> get_model("unet").network_def(spatial_dims=2, in_channels=3, out_channels=1)["_target_"]
    'monai.networks.nets.UNet'
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch.nn as nn
from monai.utils import optional_import

__all__ = ["BASELINE", "FAMILIES", "ZooModel", "get_model", "list_models", "zoo_models"]

#: The model every latency is divided by (measured in the same run).
BASELINE = "basicunet"
#: Families of the zoo: our networks and MONAI's reference networks.
FAMILIES = ("monai-lite", "monai")


@dataclass(frozen=True)
class ZooModel:
    """One model of the benchmark zoo.

    Args:
        name: unique lower-case name, e.g. ``"medlitenet-no-aspp"``.
        family: ``"monai-lite"`` or ``"monai"``.
        network: the base network's name, e.g. ``"medlitenet"`` or ``"basicunet"`` (groups ablations with their
            full model).
        target: import path of the class, e.g. ``"monai_lite.networks.MedLiteNet"``.
        kwargs: fixed constructor arguments that make this variant (besides dims and channels).
        dims: spatial dimensions the model is benchmarked in.
        needs_img_size: the constructor takes ``img_size`` (``UNETR``): :meth:`build` passes the input size.
        description: one line for tables, e.g. ``"use_aspp=False"``.
    """

    name: str
    family: str
    network: str
    target: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    dims: tuple[int, ...] = (2, 3)
    needs_img_size: bool = False
    description: str = ""

    def network_def(
        self, spatial_dims: int, in_channels: int, out_channels: int, spatial_size: Sequence[int] | None = None
    ) -> dict[str, Any]:
        """The model as a MONAI config component: ``{"_target_": target, **arguments}``.

        Args:
            spatial_dims: 2 or 3.
            in_channels: input channels.
            out_channels: output channels.
            spatial_size: input size; used only by models with ``needs_img_size`` (required for them).

        Raises:
            ValueError: when ``spatial_dims`` is not one of :attr:`dims`, or ``spatial_size`` is missing or of the
                wrong length for a model that needs it.

        Example::

            >>> get_model("msaunet-w0.5").network_def(3, 1, 3)
            {'_target_': 'monai_lite.networks.MSAUNet', 'spatial_dims': 3, 'in_channels': 1, 'out_channels': 3, \
'width_multiplier': 0.5}
        """
        if spatial_dims not in self.dims:
            dims = " and ".join(f"{d}D" for d in self.dims)
            raise ValueError(f"zoo model {self.name!r} is benchmarked in {dims} only, got spatial_dims={spatial_dims}.")
        config: dict[str, Any] = {
            "_target_": self.target,
            "spatial_dims": spatial_dims,
            "in_channels": in_channels,
            "out_channels": out_channels,
            **dict(self.kwargs),
        }
        if self.needs_img_size:
            if spatial_size is None or len(spatial_size) != spatial_dims:
                raise ValueError(
                    f"zoo model {self.name!r} needs spatial_size with {spatial_dims} values, got {spatial_size!r}."
                )
            config["img_size"] = [int(s) for s in spatial_size]
        return config

    def build(
        self, spatial_dims: int, in_channels: int, out_channels: int, spatial_size: Sequence[int] | None = None
    ) -> nn.Module:
        """Construct the model with random weights (nothing is downloaded).

        Args:
            spatial_dims: 2 or 3.
            in_channels: input channels.
            out_channels: output channels.
            spatial_size: input size; used only by models with ``needs_img_size``.

        Raises:
            ValueError: as :meth:`network_def`.
            ImportError: when the class needs an optional package that is not installed (MONAI's
                ``OptionalImportError``, e.g. ``UNETR`` without ``einops``).

        Example::

            >>> net = get_model("basicunet").build(2, 3, 1)
        """
        config = self.network_def(spatial_dims, in_channels, out_channels, spatial_size)
        module, _, cls_name = config.pop("_target_").rpartition(".")
        cls, _ = optional_import(module, name=cls_name)
        return cls(**config)


def _ours() -> list[ZooModel]:
    """monai-lite networks at their defaults and with one ablation switch off at a time."""
    switches = {
        "medlitenet": (
            "MedLiteNet",
            ("use_transformer", "use_cross_scale_tokens", "use_boundary_attention", "use_aspp", "use_scse"),
        ),
        "lightawnet": (
            "LightAWNet",
            (
                "dynamic_conv", "use_spatial_gate", "use_channel_attention", "use_two_branch", "use_cross_gates",
                "use_self_attention",
            ),
        ),
        "lacnet": ("LACNet", ("use_attention", "lightweight_conv")),
        "msaunet": ("MSAUNet", ("use_channel_attention", "use_spatial_attention", "use_multiscale_fusion")),
    }
    models = []
    for network, (cls_name, flags) in switches.items():
        target = f"monai_lite.networks.{cls_name}"
        models.append(ZooModel(network, "monai-lite", network, target, description="defaults"))
        for flag in flags:
            short = flag.removeprefix("use_").replace("_", "-")
            models.append(
                ZooModel(
                    f"{network}-no-{short}", "monai-lite", network, target, {flag: False}, description=f"{flag}=False"
                )
            )
        if network == "lacnet":
            both = {"use_attention": False, "lightweight_conv": False}
            models.append(
                ZooModel(
                    "lacnet-no-attention-no-lightweight-conv", "monai-lite", network, target, both,
                    description="use_attention=False, lightweight_conv=False",
                )
            )
        if network == "msaunet":
            models.append(
                ZooModel(
                    "msaunet-w0.5", "monai-lite", network, target, {"width_multiplier": 0.5},
                    description="width_multiplier=0.5",
                )
            )
    return models


def _monai() -> list[ZooModel]:
    """MONAI's reference segmentation networks."""
    nets = "monai.networks.nets."
    levels = {"channels": (16, 32, 64, 128, 256), "strides": (2, 2, 2, 2)}
    return [
        ZooModel("basicunet", "monai", "basicunet", nets + "BasicUNet", description="defaults"),
        ZooModel("unet", "monai", "unet", nets + "UNet", {**levels, "num_res_units": 2},
                 description="channels 16-256, strides 2x4, num_res_units=2"),
        ZooModel("attentionunet", "monai", "attentionunet", nets + "AttentionUnet", dict(levels),
                 description="channels 16-256, strides 2x4"),
        ZooModel("segresnet", "monai", "segresnet", nets + "SegResNet", description="defaults"),
        ZooModel("flexibleunet-efficientnet-b0", "monai", "flexibleunet", nets + "FlexibleUNet",
                 {"backbone": "efficientnet-b0", "pretrained": False}, dims=(2,),
                 description="backbone efficientnet-b0, random weights"),
        ZooModel("swinunetr", "monai", "swinunetr", nets + "SwinUNETR", {"feature_size": 48}, dims=(3,),
                 description="feature_size=48"),
        ZooModel("unetr", "monai", "unetr", nets + "UNETR", dims=(3,), needs_img_size=True,
                 description="defaults, img_size = input size"),
    ]


_ZOO: dict[str, ZooModel] = {m.name: m for m in (*_ours(), *_monai())}


def zoo_models() -> list[ZooModel]:
    """Every zoo entry, in table order: monai-lite networks (each followed by its ablations), then MONAI's."""
    return list(_ZOO.values())


def list_models(pattern: str | None = None, spatial_dims: int | None = None, family: str | None = None) -> list[str]:
    """Names of the zoo models, in table order, optionally filtered.

    Args:
        pattern: shell-style pattern on the name, e.g. ``"lacnet*"``. Defaults to None (all).
        spatial_dims: keep models benchmarked in this dimension (2 or 3). Defaults to None (all).
        family: ``"monai-lite"`` or ``"monai"``. Defaults to None (both).

    Raises:
        ValueError: for an unknown ``family``.

    Example::

        >>> list_models("lacnet*")
        ['lacnet', 'lacnet-no-attention', 'lacnet-no-lightweight-conv', 'lacnet-no-attention-no-lightweight-conv']
    """
    if family is not None and family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}.")
    return [
        m.name
        for m in _ZOO.values()
        if (pattern is None or fnmatch.fnmatch(m.name, pattern.lower()))
        and (spatial_dims is None or spatial_dims in m.dims)
        and (family is None or m.family == family)
    ]


def get_model(name: str) -> ZooModel:
    """The zoo entry called ``name`` (case-insensitive).

    Raises:
        ValueError: when ``name`` is not in the zoo; the message lists the valid names.

    Example::

        >>> get_model("BasicUNet").target
        'monai.networks.nets.BasicUNet'
    """
    key = str(name).strip().lower()
    if key not in _ZOO:
        raise ValueError(f"unknown benchmark model {name!r}; valid names: {', '.join(_ZOO)}.")
    return _ZOO[key]
