# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""LACNet: lightweight attention CNN — depthwise-separable and group-conv residual blocks with channel +
spatial re-weighting (global average pooling + fully connected layers), a light self-attention bridge between
encoder and decoder, and a U-Net decoder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F
from monai.networks.blocks import ChannelSELayer, Convolution
from monai.networks.layers.factories import Conv, Pool
from monai.networks.layers.utils import get_act_layer

from monai_lite.networks.blocks import (
    PAD_MODES,
    DepthwiseSeparableConv,
    crop_to_size,
    pad_to_multiple,
)
from monai_lite.networks.blocks.decoder import pointwise_linear_upsample
from monai_lite.networks.blocks.factories import conv_norm_act
from monai_lite.networks.blocks.memory_format import fast_conv_layout
from monai_lite.networks.blocks.validation import (
    check_at_least,
    check_multiple_of,
    check_positive,
    check_segmentation_network,
    check_widths,
)
from monai_lite.networks.registry import register_network

__all__ = ["LACNet"]


class _ResidualBlock(nn.Module):
    """``act(gate(conv2(conv1(x))) + shortcut(x))``, then optional dropout.

    Lightweight: ``conv1`` is a depthwise-separable 3^d conv (norm + act after both parts) and ``conv2`` a
    3^d group convolution + norm. Standard: both are dense 3^d convolutions. The shortcut is the identity, or a
    1x1 conv + norm when the width changes. The gate (channel then spatial re-weighting, after the
    convolutions) acts on the residual branch only, as squeeze-and-excitation does in SE-ResNet, so the
    identity path is left untouched.
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        groups: int,
        lightweight_conv: bool,
        use_attention: bool,
        reduction: int,
        act: tuple | str,
        norm: tuple | str,
        dropout: float,
    ) -> None:
        super().__init__()
        if lightweight_conv:
            self.conv1: nn.Module = DepthwiseSeparableConv(spatial_dims, in_channels, out_channels, act=act, norm=norm)
            self.conv2: nn.Module = conv_norm_act(
                spatial_dims, out_channels, out_channels, 3, groups=groups, act=None, norm=norm, bias=False
            )
        else:
            self.conv1 = Convolution(spatial_dims, in_channels, out_channels, kernel_size=3, act=act, norm=norm)
            self.conv2 = Convolution(spatial_dims, out_channels, out_channels, kernel_size=3, act=None, norm=norm)
        self.attention: nn.Module = (
            _ChannelSpatialGate(spatial_dims, out_channels, reduction, act) if use_attention else nn.Identity()
        )
        self.shortcut: nn.Module = (
            nn.Identity()
            if in_channels == out_channels
            else conv_norm_act(spatial_dims, in_channels, out_channels, 1, act=None, norm=norm, bias=False)
        )
        self.act = get_act_layer(act)
        self.dropout: nn.Module = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.attention(self.conv2(fast_conv_layout(self.conv1(x))))
        return self.dropout(self.act(r + self.shortcut(x)))


class _ChannelSpatialGate(nn.Module):
    """Channel then spatial re-weighting by global average pooling and fully connected layers (paper 000, Sec. 2.2).

    Channels: MONAI's :class:`~monai.networks.blocks.ChannelSELayer` (global average pooling -> FC ``C -> C/r``
    -> ReLU -> FC ``C/r -> C`` -> sigmoid -> scale). Positions: one FC layer across the channels of every
    position (a ``1^d`` convolution ``C -> 1``) -> sigmoid -> scale, the spatial squeeze-and-excitation of
    Roy et al. (MICCAI 2018).
    """

    def __init__(self, spatial_dims: int, channels: int, reduction: int, act: tuple | str) -> None:
        super().__init__()
        self.channel = ChannelSELayer(spatial_dims, channels, r=min(reduction, channels), acti_type_1=act)
        self.spatial = Conv[Conv.CONV, spatial_dims](channels, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.channel(x)
        return x * torch.sigmoid(self.spatial(x))


class _SelfAttentionBridge(nn.Module):
    """Light self-attention over every bottleneck position: ``x + gamma * softmax(q k^T / sqrt(d)) x``.

    Queries and keys are ``1^d`` projections to ``key_dim`` (<< channels) channels split over ``heads``; the
    values are the features themselves (each head attends with its own ``C / heads`` channels), so there is no
    value or output projection. ``gamma`` is a per-channel scale that starts at 0 (the bridge starts as the
    identity, as in SAGAN) and re-weights the channels of the attended features. Parameters:
    ``2 (C key_dim + key_dim) + C``.
    """

    __constants__ = ["heads", "key_dim"]

    def __init__(self, spatial_dims: int, channels: int, key_dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        conv = Conv[Conv.CONV, spatial_dims]
        self.heads = heads
        self.key_dim = key_dim
        self.query = conv(channels, key_dim, kernel_size=1)
        self.key = conv(channels, key_dim, kernel_size=1)
        self.gamma = nn.Parameter(torch.zeros(channels))
        self.dropout: nn.Module = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[0], x.shape[1]
        n = x[0, 0].numel()
        q = self.query(x).reshape(b, self.heads, self.key_dim // self.heads, n).transpose(2, 3)
        k = self.key(x).reshape(b, self.heads, self.key_dim // self.heads, n).transpose(2, 3)
        v = x.reshape(b, self.heads, c // self.heads, n).transpose(2, 3)
        out = F.scaled_dot_product_attention(q, k, v).transpose(2, 3).reshape(x.shape)
        shape = [1, c] + [1] * (x.dim() - 2)
        return x + self.gamma.reshape(shape) * self.dropout(out)


class _DecoderStage(nn.Module):
    """1x1 conv at the coarse resolution, linear x2 up-sampling, concatenate the skip, residual block."""

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        block: _ResidualBlock,
        act: tuple | str,
        norm: tuple | str,
    ) -> None:
        super().__init__()
        self.up = pointwise_linear_upsample(spatial_dims, in_channels, out_channels, act=act, norm=norm)
        self.block = block

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.block(torch.cat([self.up(x), skip], dim=1))


@register_network("lacnet")
class LACNet(nn.Module):
    """LACNet, the lightweight attention convolutional neural network for 2D and 3D segmentation.

    Yuan, "Research on Medical Image Segmentation Algorithm Based on a Lightweight Attention Convolutional
    Neural Network", GBS Press journal JMLS, https://doi.org/10.71222/0z430t65
    ("LACNet" is our name for it). Layout, ``s`` = stride w.r.t. the input::

        encoder: residual block at s1, then (max-pool 2, residual block) x 3     (widths channels[:-1])
        bottleneck: max-pool 2, residual block (channels[-1]) + dropout, then
                    self-attention "between the encoder and the decoder":
                    x + gamma * dropout(softmax(q k^T / sqrt(d)) x)              (s16, Sec. 3.1, Fig. 3b)
        decoder: 4 x [1x1 conv, linear x2 up-sampling, concatenate the encoder skip, residual block]
        head: 1x1 conv -> raw logits at the input size

        residual block = act(gate(conv2(conv1(x))) + shortcut(x))
            gate       = channel SE (GAP -> FC -> ReLU -> FC -> sigmoid), then spatial (FC over the
                         channels of each position, i.e. a 1^d conv C -> 1, -> sigmoid)
            lightweight: conv1 depthwise-separable 3^d (BN + act after each part), conv2 3^d group conv + BN
            standard   : conv1, conv2 dense 3^d convolutions

    What the paper fixes, and how: depthwise-separable and group convolutions in both encoder and decoder
    (Sec. 3.2); BN + ReLU/LeakyReLU (``act``, ReLU by default); channel and spatial attention re-weighting
    the features after the convolutions with "global average pooling and fully connected layers" (Sec. 2.2):
    squeeze-and-excitation for the channels, a per-position FC layer for the positions; self-attention
    between encoder and decoder "with minimal parameter increase" (Sec. 3.1); skip connections and residual
    structures (Sec. 3.2); pooling in the encoder and up-sampling + fusion in the decoder (Sec. 2.2);
    dropout 0.3 and Xavier initialisation (Table 3); ~2.95 M trainable parameters (Sec. 2.2). Choices where
    it is silent:

    - Residual blocks with the gate on the residual branch (SE-ResNet placement); the group convolution
      follows the separable one, whose pointwise part mixes all channels first. The gate is applied channel
      then spatial, in sequence (the paper says "channels or spatial positions" without an order).
    - The self-attention is one light, single-head attention over all bottleneck positions (one batched
      ``scaled_dot_product_attention``, no loop over tokens): queries and keys are ``1^d`` projections to
      ``attention_dim`` = 64 channels (``C / 8``, as in SAGAN), the values are the bottleneck features
      themselves (no value or output projection), and a per-channel ``gamma`` starting at 0 scales the
      result before it is added back, so it re-weights channels and positions. Its share is 66,176 weights,
      2.2 % of the 2D network; with the gates all attention holds 123,749 (4.1 %), so the
      ``use_attention=False`` ablation compares the paper's design with a network 4.1 % smaller (a
      transformer layer here held 35 % of the weights, which the paper's "minimal parameter increase" rules
      out).
    - Dropout (``dropout``, 0.3) is applied at the bottleneck only: after its residual block and on the
      self-attention branch. The encoder feeds the skips and the decoder is full-resolution, where 0.3 would
      mostly add noise.
    - Xavier (Glorot) uniform initialisation for every convolution and linear weight, zero biases, BN at
      (1, 0). For depthwise kernels PyTorch's fans (``9``, ``9 C``) sum to Keras's (``9 C``, ``9``), so the
      scale equals Keras' ``glorot_uniform``, the TensorFlow default the paper likely used.
    - Widths ``(32, 64, 128, 256, 512)`` and group count 2 (the paper gives neither) put the net at
      2,983,527 parameters (2D, 3 -> 1; 1.1 % above the paper's 2.95 M); 3D (1 -> 3) has 6,935,397. The paper's
      4,608 non-trainable parameters (Keras BN moving mean/variance, i.e. 2,304 BN channels) and "35 MB"
      file (2.95 M float32 weights plus two Adam moments) are consistent with a Keras model; we do not try
      to reproduce its BN count.

    Ablations (Sec. 4.3, Fig. 5): ``use_attention=False`` removes every attention module (the gates and the
    self-attention: 4.1 % of the parameters); ``lightweight_conv=False`` replaces every separable/group
    convolution by a dense one
    (the paper reports "significantly increased" parameters); both together give the plain residual U-Net.

    Input sizes: the total stride is ``2 ** (len(channels) - 1)`` (16 by default). Any spatial size is
    accepted: the input is padded on the high side of each axis up to the next multiple of 16
    (``padding_mode``) and the logits are cropped back
    (:func:`~monai_lite.networks.blocks.pad_to_multiple`).

    Args:
        spatial_dims: number of spatial dimensions, 2 or 3. Defaults to 2.
        in_channels: number of input channels. Defaults to 3.
        out_channels: number of output channels; 1 for a binary task (apply a sigmoid), >= 2 for
            ``out_channels`` mutually exclusive classes (apply a softmax over dim 1; the paper's weighted
            cross-entropy). Defaults to 1.
        channels: widths of the encoder levels, the last one being the bottleneck; one decoder stage per
            pooling. Defaults to (32, 64, 128, 256, 512).
        groups: groups of the 3^d group convolutions (must divide every width). Defaults to 2.
        reduction: reduction ratio of the channel squeeze-and-excitation FC layers (clipped to the width).
            Defaults to 16.
        attention_dim: query/key width of the bottleneck self-attention. Defaults to 64.
        attention_heads: attention heads; must divide ``attention_dim`` and ``channels[-1]`` (each head
            attends with its share of the bottleneck channels). Defaults to 1.
        padding_mode: how inputs are padded to a multiple of the total stride, ``"replicate"`` or ``"zeros"``.
            Defaults to ``"replicate"``.
        use_attention: build the channel + spatial gate of every block and the self-attention
            bottleneck. Defaults to True.
        lightweight_conv: depthwise-separable and group convolutions (True) or dense ones (False).
            Defaults to True.
        act: activation, name or ``(name, kwargs)``, e.g. ``("leakyrelu", {"negative_slope": 0.1})``.
            Defaults to ``"relu"``.
        norm: normalisation, name or ``(name, kwargs)``. Defaults to ``"batch"``.
        dropout: dropout probability at the bottleneck. Defaults to 0.3.

    Raises:
        ValueError: when ``spatial_dims`` is not 2 or 3, a channel count is not positive, ``channels`` has
            fewer than 2 levels, ``groups`` does not divide every width (lightweight convs only),
            ``reduction`` < 1, ``attention_dim`` or ``channels[-1]`` is not a multiple of
            ``attention_heads``, ``padding_mode`` is unknown or ``dropout`` is not in [0, 1).

    Examples::

        >>> net = LACNet(spatial_dims=2, in_channels=3, out_channels=1)         # 2,983,527 params
        >>> net(torch.randn(2, 3, 320, 320)).shape
        torch.Size([2, 1, 320, 320])
        >>> net3d = LACNet(spatial_dims=3, in_channels=1, out_channels=3)
        >>> net3d(torch.randn(1, 1, 35, 51, 37)).shape                          # padded internally, cropped back
        torch.Size([1, 3, 35, 51, 37])
        >>> ablation = LACNet(use_attention=False, lightweight_conv=False)

    See Also:
        :class:`monai.networks.blocks.ChannelSELayer`, :class:`~monai_lite.networks.blocks.DepthwiseSeparableConv`,
        :class:`monai.networks.nets.BasicUNet`.
    """

    __constants__ = ["spatial_dims", "divisor", "pad_mode"]

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 3,
        out_channels: int = 1,
        channels: Sequence[int] = (32, 64, 128, 256, 512),
        groups: int = 2,
        reduction: int = 16,
        attention_dim: int = 64,
        attention_heads: int = 1,
        padding_mode: str = "replicate",
        use_attention: bool = True,
        lightweight_conv: bool = True,
        act: tuple | str = "relu",
        norm: tuple | str = "batch",
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        channels = tuple(int(c) for c in channels)
        check_segmentation_network(spatial_dims, in_channels, out_channels, padding_mode, dropout)
        check_widths("channels", channels, min_count=2)
        if groups < 1 or (lightweight_conv and any(c % groups for c in channels)):
            raise ValueError(f"groups must be >= 1 and divide every width, got groups={groups} channels={channels}.")
        check_at_least(1, reduction=reduction)
        if use_attention:  # the attention arguments are ignored when there is no attention
            check_positive(attention_dim=attention_dim, attention_heads=attention_heads)
            check_multiple_of("attention_heads", attention_heads, attention_dim=attention_dim, channels=channels[-1])
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.channels = channels
        self.divisor = 2 ** (len(channels) - 1)
        self.pad_mode = PAD_MODES[padding_mode]
        self.use_attention = use_attention
        self.lightweight_conv = lightweight_conv

        def block(c_in: int, c_out: int, p: float = 0.0) -> _ResidualBlock:
            return _ResidualBlock(
                spatial_dims, c_in, c_out, groups, lightweight_conv, use_attention, reduction, act, norm, p
            )

        self.pool = Pool[Pool.MAX, spatial_dims](kernel_size=2, stride=2)
        self.encoder = nn.ModuleList()
        prev = in_channels
        for width in channels[:-1]:
            self.encoder.append(block(prev, width))
            prev = width
        self.bottleneck = block(prev, channels[-1], dropout)
        self.self_attention: nn.Module = (
            _SelfAttentionBridge(spatial_dims, channels[-1], attention_dim, attention_heads, dropout)
            if use_attention
            else nn.Identity()
        )
        self.decoder = nn.ModuleList()
        prev = channels[-1]
        for width in reversed(channels[:-1]):
            self.decoder.append(_DecoderStage(spatial_dims, prev, width, block(2 * width, width), act, norm))
            prev = width
        self.head = Conv[Conv.CONV, spatial_dims](prev, out_channels, kernel_size=1)
        self._init_xavier()

    def _init_xavier(self) -> None:
        """Xavier-uniform weights and zero biases for every convolution and linear layer (paper, Table 3)."""
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Segment ``x`` of shape ``(B, in_channels, *spatial)`` (2 or 3 spatial axes, any size).

        Returns raw logits ``(B, out_channels, *spatial)``: apply a sigmoid when ``out_channels == 1``, a
        softmax over dim 1 otherwise. Sizes that are not multiples of the total stride (16) are padded
        internally and cropped back.
        """
        x, size = pad_to_multiple(x, self.divisor, self.pad_mode)
        skips: List[torch.Tensor] = []
        h = x
        for i, stage in enumerate(self.encoder):
            if i > 0:
                h = self.pool(h)
            h = stage(h)
            skips.append(h)
        h = self.self_attention(self.bottleneck(self.pool(h)))
        idx = len(skips) - 1
        for stage in self.decoder:
            h = stage(h, skips[idx])
            idx -= 1
        return crop_to_size(self.head(h), size)
