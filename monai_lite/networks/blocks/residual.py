# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Residual block whose residual branch is refined by dual (channel + spatial) attention."""

from __future__ import annotations

import torch
import torch.nn as nn
from monai.networks.layers.utils import get_act_layer

from monai_lite.networks.blocks import activation as _activation  # noqa: F401  (registers "silu")
from monai_lite.networks.blocks.attention import ChannelAttention, SpatialAttention
from monai_lite.networks.blocks.factories import conv_norm_act
from monai_lite.networks.blocks.validation import (
    check_at_least,
    check_odd,
    check_positive,
    check_probability,
    check_spatial_dims,
)

__all__ = ["ResidualDualAttentionBlock"]


class ResidualDualAttentionBlock(nn.Module):
    """Basic residual block with channel and spatial attention on the residual branch (CBAM-in-ResNet layout).

    He et al., "Deep Residual Learning for Image Recognition", CVPR 2016; Woo et al., "CBAM: Convolutional Block
    Attention Module", ECCV 2018, https://arxiv.org/abs/1807.06521 (attention placed as in their ResNet
    integration)::

        r   = norm(conv_k(act(norm(conv_k(x, stride)))))
        r   = SpatialAttention(ChannelAttention(r))     # channel weights from avg- AND max-pooled descriptors
        out = act(r + shortcut(x))                      # shortcut: identity, or 1x1 conv (stride) + norm

    The attention re-weights only the residual branch, so the identity path (and its gradient) is untouched.
    MONAI's :class:`~monai.networks.blocks.ResidualUnit` adds its shortcut inside ``forward``, leaving no place
    for attention before the sum, hence this block; its convolutions are MONAI
    :class:`~monai.networks.blocks.Convolution` layers and the attention is
    :class:`~monai_lite.networks.blocks.ChannelAttention` / :class:`~monai_lite.networks.blocks.SpatialAttention`.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: number of input channels.
        out_channels: number of output channels.
        strides: stride of the first convolution (and of the projection shortcut). Defaults to 1.
        kernel_size: odd kernel size of the two convolutions. Defaults to 3.
        use_channel_attention: build the channel attention. Defaults to True.
        use_spatial_attention: build the spatial attention. Defaults to True.
        reduction: reduction ratio of the channel-attention MLP (hidden width clipped to >= 1). Defaults to 16.
        spatial_kernel_size: odd kernel size of the spatial-attention convolution. Defaults to 7.
        act: activation, name or ``(name, kwargs)``; also used inside the channel-attention MLP.
            Defaults to ``"relu"``.
        norm: normalisation, name or ``(name, kwargs)``. Defaults to ``"batch"``.
        dropout: dropout probability after the first convolution. Defaults to 0.0.

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3, a channel count is not positive, ``strides`` < 1,
            ``reduction`` < 1, a kernel size is not a positive odd number, or ``dropout`` is not in [0, 1).

    Examples::

        >>> block = ResidualDualAttentionBlock(2, 32, 64, strides=2)    # (B, 32, 64, 64) -> (B, 64, 32, 32)
        >>> block3d = ResidualDualAttentionBlock(3, 16, 16, spatial_kernel_size=3)   # same shape
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        strides: int = 1,
        kernel_size: int = 3,
        use_channel_attention: bool = True,
        use_spatial_attention: bool = True,
        reduction: int = 16,
        spatial_kernel_size: int = 7,
        act: tuple | str = "relu",
        norm: tuple | str = "batch",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        check_positive(in_channels=in_channels, out_channels=out_channels)
        check_at_least(1, strides=strides, reduction=reduction)
        check_odd(kernel_size=kernel_size, spatial_kernel_size=spatial_kernel_size)
        check_probability(dropout=dropout)
        self.conv1 = conv_norm_act(
            spatial_dims, in_channels, out_channels, kernel_size, strides=strides, act=act, norm=norm, dropout=dropout
        )
        self.conv2 = conv_norm_act(spatial_dims, out_channels, out_channels, kernel_size, act=None, norm=norm)
        self.channel_attention = (
            ChannelAttention(spatial_dims, out_channels, r=reduction, act=act) if use_channel_attention else None
        )
        self.spatial_attention = (
            SpatialAttention(spatial_dims, kernel_size=spatial_kernel_size) if use_spatial_attention else None
        )
        needs_projection = strides != 1 or in_channels != out_channels
        self.shortcut = (
            conv_norm_act(spatial_dims, in_channels, out_channels, 1, strides=strides, act=None, norm=norm)
            if needs_projection
            else None
        )
        self.act = get_act_layer(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, *spatial)`` -> ``(B, out_channels, *ceil(spatial / strides))``."""
        r = self.conv2(self.conv1(x))
        if self.channel_attention is not None:
            r = self.channel_attention(r)
        if self.spatial_attention is not None:
            r = self.spatial_attention(r)
        identity = x
        if self.shortcut is not None:
            identity = self.shortcut(x)
        return self.act(r + identity)
