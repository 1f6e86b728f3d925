# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Dimension-generic building blocks shared by monai-lite networks; all take ``(spatial_dims, in_channels, ...)``."""

from __future__ import annotations

from monai_lite.networks.blocks.activation import register_activations
from monai_lite.networks.blocks.attention import (
    CBAM,
    SCSE,
    BoundaryAwareAttention,
    ChannelAttention,
    SpatialAttention,
    boundary_kernels,
)
from monai_lite.networks.blocks.conv import DepthwiseSeparableConv, MBConv
from monai_lite.networks.blocks.decoder import UpFuse
from monai_lite.networks.blocks.dynamic import DynamicConv, dynamic_conv_norm
from monai_lite.networks.blocks.fusion import GatedMultiScaleFusion
from monai_lite.networks.blocks.multiscale import ASPP
from monai_lite.networks.blocks.memory_format import fast_conv_layout
from monai_lite.networks.blocks.pad_crop import PAD_MODES, crop_to_size, pad_to_multiple
from monai_lite.networks.blocks.residual import ResidualDualAttentionBlock
from monai_lite.networks.blocks.transformer import (
    LocalGlobalFusion,
    MultiHeadSelfAttention,
    TransformerBottleneck,
    TransformerLayer,
    sincos_position_encoding,
)

__all__ = [
    "ASPP",
    "CBAM",
    "SCSE",
    "BoundaryAwareAttention",
    "ChannelAttention",
    "DepthwiseSeparableConv",
    "DynamicConv",
    "GatedMultiScaleFusion",
    "LocalGlobalFusion",
    "MBConv",
    "MultiHeadSelfAttention",
    "PAD_MODES",
    "ResidualDualAttentionBlock",
    "SpatialAttention",
    "TransformerBottleneck",
    "TransformerLayer",
    "UpFuse",
    "fast_conv_layout",
    "boundary_kernels",
    "dynamic_conv_norm",
    "crop_to_size",
    "pad_to_multiple",
    "register_activations",
    "sincos_position_encoding",
]
