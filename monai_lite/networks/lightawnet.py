# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""LightAWNet: inverted-bottleneck encoder with spatial attention and dynamic convolutions, two-branch
detail/context fusion, lightweight up-sampling and a channel-attention U-Net decoder."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
from monai.networks.blocks import ADN, Convolution, UpSample
from monai.networks.layers.factories import Conv

from monai_lite.networks.blocks import (
    PAD_MODES,
    ChannelAttention,
    DepthwiseSeparableConv,
    DualBranchFusion,
    MBConv,
    SpatialAttention,
    fast_conv_layout,
)
from monai_lite.networks.blocks.decoder import pointwise_linear_upsample
from monai_lite.networks.blocks.factories import linear_interp_mode, stack_blocks
from monai_lite.networks.blocks.validation import (
    check_at_least,
    check_choice,
    check_odd,
    check_per_stage,
    check_positive,
    check_segmentation_network,
    check_widths,
)
from monai_lite.networks.base import StemUNetBase
from monai_lite.networks.registry import register_network

__all__ = ["LightAWNet"]


class _DecoderStage(nn.Module):
    """x2 up-sampling (lightweight or transposed conv), concatenate the skip, separable convs, channel attention."""

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        skip_channels: int,
        out_channels: int,
        num_convs: int,
        lightweight_upsampling: bool,
        use_channel_attention: bool,
        channel_reduction: int,
        act: tuple | str,
        norm: tuple | str,
        dropout: float,
    ) -> None:
        super().__init__()
        if lightweight_upsampling:
            # pointwise conv at the coarse resolution, parameter-free linear x2, depthwise 3^d refinement:
            # a depthwise-separable convolution split around the interpolation
            self.up: nn.Module = pointwise_linear_upsample(
                spatial_dims, in_channels, out_channels, act=act, norm=norm, refine=True
            )
        else:
            self.up = nn.Sequential(
                UpSample(spatial_dims, in_channels, out_channels, scale_factor=2, mode="deconv", bias=False),
                ADN(ordering="NDA", in_channels=out_channels, act=act, norm=norm, norm_dim=spatial_dims),
            )
        self.fuse = nn.Sequential(
            *stack_blocks(
                DepthwiseSeparableConv,
                spatial_dims,
                out_channels + skip_channels,
                out_channels,
                num_convs,
                act=act,
                norm=norm,
                dropout=dropout,
            )
        )
        self.attention: nn.Module = (
            ChannelAttention(spatial_dims, out_channels, r=channel_reduction, act="relu")
            if use_channel_attention
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.attention(self.fuse(torch.cat([self.up(fast_conv_layout(x)), skip], dim=1)))


@register_network("lightawnet")
class LightAWNet(StemUNetBase):
    """LightAWNet, a lightweight adaptive-weighting U-Net built on dynamic convolutions, for 2D and 3D.

    Wang, Yu, Zhang, Huang, Shen and Xia, "LightAWNet: Lightweight adaptive weighting network based on dynamic
    convolutions for medical image segmentation", J Appl Clin Med Phys, 2024, https://doi.org/10.1002/acm2.14584.
    Only the abstract is available to us; it names the components and the size (2.83 M parameters), everything
    else below is our reading. Layout, ``s`` = stride w.r.t. the input::

        stem 3^d conv + norm + act, stride ``stem_stride`` (2)                      (s2, ``stem_channels``)
        -> 4 encoder stages (s4, s8, s16, s32), widths ``channels``: inverted bottlenecks (MBConv, first one
           strided) with *dynamic* depthwise convolutions, then CBAM spatial attention on the stage output
        -> bottleneck (s32): ``fusion_blocks`` x two-branch detail/spatial-context fusion with adaptive
           branch weights (:class:`~monai_lite.networks.blocks.DualBranchFusion`)
        -> 4 decoder stages (s16, s8, s4, s2): lightweight x2 up-sampling, concatenate the encoder skip,
           ``decoder_convs`` depthwise-separable convs, CBAM channel attention
        -> 1x1 conv head, linearly up-sampled by ``stem_stride``: raw logits at the input size.

    Choices where the abstract is silent:

    - "Adaptive weighting ... based on dynamic convolutions": every spatial (depthwise) convolution of the
      encoder and of the two-branch fusion is a :class:`~monai_lite.networks.blocks.DynamicConv` with
      ``num_kernels`` kernels mixed per sample by softmax attention on the globally pooled input (Chen et al.,
      CVPR 2020, as in their DY-MobileNetV2). Pointwise convolutions stay static: dynamic 1x1 layers would
      multiply the dominant parameter count by ``K``. The batch is run as one grouped convolution, no loop.
    - "Inverted bottleneck encoder block optimized by spatial attention": MobileNetV2 blocks (linear
      projection, identity residual when shapes match, expansion ``expansion``); CBAM spatial attention
      (``spatial_kernel_size``, channel mean+max -> conv -> sigmoid) closes each stage.
    - "Two-branch strategy ... detailed and spatial features for fusion": at the bottleneck, a local
      depthwise branch (detail) and a dilated depthwise branch (``context_dilation``, spatial context) read
      the same feature map and are mixed by per-channel softmax weights computed from both (selective-kernel
      fusion), then projected and added to the input. This is a second form of adaptive weighting.
    - "Lightweight optimized up-sampling instead of transposed convolution": a 1x1 conv + norm + act at the
      coarse resolution, parameter-free linear x2 interpolation, then a depthwise 3^d conv + norm (a separable
      conv split around the interpolation). ``lightweight_upsampling=False`` uses a ``2^d`` stride-2
      transposed convolution + norm + act instead (``2^d`` times the pointwise weights).
    - "Channel attention in the decoder": CBAM channel attention (avg- and max-pooled descriptors through a
      shared MLP) after each decoder stage's fusion convolution.
    - Activation ReLU6 (MobileNetV2, which defines the inverted bottleneck); widths and depths were chosen to
      land at the paper's 2.83 M parameters (2D, 3 -> 1).
    - A stride-2 stem, as in MobileNetV2: the 1x1 convolutions that hold most parameters then run at
      1/4 of the pixels, which cuts MACs about 4x against a stride-1 stem at the same parameter count.
      The 1x1 head is applied before the final parameter-free x2 up-sampling, which equals "up-sample,
      then 1x1 conv" exactly (both are linear). ``stem_stride=1`` gives a full-resolution stem and last
      decoder stage instead (same parameters, about 4x the MACs).

    Switches ``use_spatial_attention``, ``use_channel_attention``, ``dynamic_conv`` (False: static depthwise
    convolutions of the same shape) and ``lightweight_upsampling`` give the ablations; they change only
    the named component.

    Input sizes: the total stride is ``stem_stride * 2 ** len(channels)`` (32 by default). Any spatial size
    is accepted: the input is padded on the high side of each axis up to the next multiple of 32
    (``padding_mode``) and the logits are cropped back (:func:`~monai_lite.networks.blocks.pad_to_multiple`).
    Training with batch norm needs more than one value per channel at the bottleneck (batch size > 1 or an
    input larger than 32 along some axis).

    Args:
        spatial_dims: number of spatial dimensions, 2 or 3. Defaults to 2.
        in_channels: number of input channels. Defaults to 3.
        out_channels: number of output channels; 1 for a binary task (apply a sigmoid), >= 2 for
            ``out_channels`` mutually exclusive classes (apply a softmax over dim 1). Defaults to 1.
        channels: widths of the four (or more) strided encoder stages; one decoder stage per encoder stage.
            Defaults to (32, 64, 128, 256).
        stem_channels: width of the stem and of the last decoder stage. Defaults to 16.
        stem_stride: stride of the stem convolution, 1 or 2. Defaults to 2.
        blocks_per_stage: inverted bottlenecks per encoder stage (the first one strided). Defaults to
            (1, 2, 3, 4).
        expansion: expansion factor of the inverted bottlenecks. Defaults to 4.
        num_kernels: number ``K`` of kernels of every dynamic convolution. Defaults to 4.
        fusion_blocks: number of two-branch fusion blocks at the bottleneck (0 removes them). Defaults to 1.
        decoder_convs: depthwise-separable convolutions per decoder stage. Defaults to 2.
        context_dilation: dilation of the spatial-context branch of the fusion blocks. Defaults to 3.
        spatial_kernel_size: odd kernel size of the spatial attention. Defaults to 7.
        channel_reduction: reduction ratio of the channel-attention MLP. Defaults to 4.
        padding_mode: how inputs are padded to a multiple of the total stride, ``"replicate"`` or ``"zeros"``.
            Defaults to ``"replicate"``.
        use_spatial_attention: spatial attention after every encoder stage. Defaults to True.
        use_channel_attention: channel attention in every decoder stage. Defaults to True.
        dynamic_conv: dynamic (True) or static (False) depthwise convolutions. Defaults to True.
        lightweight_upsampling: lightweight up-sampling (True) or transposed convolutions (False).
            Defaults to True.
        act: activation, name or ``(name, kwargs)``. Defaults to ``"relu6"``.
        norm: normalisation, name or ``(name, kwargs)``. Defaults to ``"batch"``.
        dropout: dropout probability after the fusion blocks' and decoder stages' convolutions.
            Defaults to 0.0.

    Raises:
        ValueError: when ``spatial_dims`` is not 2 or 3, a channel or block count is not positive, the lengths
            of ``channels`` and ``blocks_per_stage`` differ, ``expansion``/``num_kernels``/``context_dilation``/
            ``channel_reduction``/``decoder_convs`` < 1, ``fusion_blocks`` < 0, ``stem_stride`` is not 1 or 2,
            ``spatial_kernel_size`` is not a positive odd number, ``padding_mode`` is unknown or ``dropout`` is
            not in [0, 1).

    Examples::

        >>> net = LightAWNet(spatial_dims=2, in_channels=3, out_channels=1)     # ~2.83 M params
        >>> net(torch.randn(2, 3, 256, 256)).shape
        torch.Size([2, 1, 256, 256])
        >>> net3d = LightAWNet(spatial_dims=3, in_channels=1, out_channels=3)
        >>> net3d(torch.randn(1, 1, 35, 51, 37)).shape                          # padded internally, cropped back
        torch.Size([1, 3, 35, 51, 37])
        >>> static = LightAWNet(dynamic_conv=False, lightweight_upsampling=False)  # ablation

    See Also:
        :class:`~monai_lite.networks.base.StemUNetBase` (the forward pass shared with MedLiteNet),
        :class:`~monai_lite.networks.blocks.DynamicConv`, :class:`~monai_lite.networks.blocks.MBConv`,
        :class:`~monai_lite.networks.blocks.DualBranchFusion`,
        :class:`~monai_lite.networks.blocks.SpatialAttention`, :class:`~monai_lite.networks.blocks.ChannelAttention`,
        :class:`~monai_lite.networks.MedLiteNet`.
    """

    __constants__ = ["spatial_dims", "divisor", "pad_mode", "stem_stride", "interp_mode"]

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 3,
        out_channels: int = 1,
        channels: Sequence[int] = (32, 64, 128, 256),
        stem_channels: int = 16,
        stem_stride: int = 2,
        blocks_per_stage: Sequence[int] = (1, 2, 3, 4),
        expansion: int = 4,
        num_kernels: int = 4,
        fusion_blocks: int = 1,
        decoder_convs: int = 2,
        context_dilation: int = 3,
        spatial_kernel_size: int = 7,
        channel_reduction: int = 4,
        padding_mode: str = "replicate",
        use_spatial_attention: bool = True,
        use_channel_attention: bool = True,
        dynamic_conv: bool = True,
        lightweight_upsampling: bool = True,
        act: tuple | str = "relu6",
        norm: tuple | str = "batch",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        channels = tuple(int(c) for c in channels)
        blocks_per_stage = tuple(int(b) for b in blocks_per_stage)
        check_segmentation_network(spatial_dims, in_channels, out_channels, padding_mode, dropout)
        check_widths("channels", channels)
        check_positive(stem_channels=stem_channels)
        check_choice("stem_stride", stem_stride, (1, 2))
        check_per_stage("blocks_per_stage", blocks_per_stage, "channels", channels)
        check_at_least(
            1,
            expansion=expansion,
            num_kernels=num_kernels,
            context_dilation=context_dilation,
            channel_reduction=channel_reduction,
            decoder_convs=decoder_convs,
        )
        check_at_least(0, fusion_blocks=fusion_blocks)
        check_odd(spatial_kernel_size=spatial_kernel_size)
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.channels = channels
        self.stem_stride = stem_stride
        self.divisor = stem_stride * 2 ** len(channels)
        self.interp_mode = linear_interp_mode(spatial_dims)
        self.pad_mode = PAD_MODES[padding_mode]
        self.use_spatial_attention = use_spatial_attention
        self.use_channel_attention = use_channel_attention
        self.dynamic_conv = dynamic_conv
        self.lightweight_upsampling = lightweight_upsampling
        kernels = num_kernels if dynamic_conv else 0

        self.stem = Convolution(
            spatial_dims, in_channels, stem_channels, strides=stem_stride, kernel_size=3, act=act, norm=norm, bias=False
        )
        self.encoder = nn.ModuleList()
        prev = stem_channels
        for width, n_blocks in zip(channels, blocks_per_stage):
            layers = stack_blocks(
                MBConv,
                spatial_dims,
                prev,
                width,
                n_blocks,
                strides=2,
                expansion=expansion,
                act=act,
                norm=norm,
                dynamic_kernels=kernels,
            )
            if use_spatial_attention:
                layers.append(SpatialAttention(spatial_dims, kernel_size=spatial_kernel_size))
            self.encoder.append(nn.Sequential(*layers))
            prev = width

        self.bottleneck = nn.Sequential(
            *[
                DualBranchFusion(
                    spatial_dims,
                    prev,
                    context_dilation=context_dilation,
                    dynamic_kernels=kernels,
                    act=act,
                    norm=norm,
                    dropout=dropout,
                )
                for _ in range(fusion_blocks)
            ]
        )

        skip_channels = (*reversed(channels[:-1]), stem_channels)
        self.decoder = nn.ModuleList()
        for skip in skip_channels:
            self.decoder.append(
                _DecoderStage(
                    spatial_dims,
                    prev,
                    skip,
                    skip,
                    num_convs=decoder_convs,
                    lightweight_upsampling=lightweight_upsampling,
                    use_channel_attention=use_channel_attention,
                    channel_reduction=channel_reduction,
                    act=act,
                    norm=norm,
                    dropout=dropout,
                )
            )
            prev = skip
        self.head = Conv[Conv.CONV, spatial_dims](prev, out_channels, kernel_size=1)

    def bottleneck_forward(self, h: torch.Tensor) -> torch.Tensor:
        """The two-branch detail/context fusion blocks on the deepest features."""
        return self.bottleneck(h)
