# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""MSAUNet: residual dual-attention U-Net with gated feature-pyramid fusion over dense decoder pathways."""

from __future__ import annotations

from collections.abc import Sequence
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F
from monai.networks.layers.factories import Conv

from monai_lite.networks.blocks.factories import linear_interp_mode, stack_blocks
from monai_lite.networks.blocks.fusion import GatedMultiScaleFusion
from monai_lite.networks.blocks.pad_crop import PAD_MODES, crop_to_size, pad_to_multiple
from monai_lite.networks.blocks.residual import ResidualDualAttentionBlock
from monai_lite.networks.blocks.validation import (
    check_at_least,
    check_odd,
    check_per_stage,
    check_positive,
    check_segmentation_network,
    check_widths,
)
from monai_lite.networks.registry import register_network

__all__ = ["MSAUNet"]


class _DecoderLevel(nn.Module):
    """Optional gated fusion of (skip, all coarser decoder outputs), then upsample + concatenate + residual block."""

    __constants__ = ["interp_mode"]

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        skip_channels: int,
        coarser_channels: Sequence[int],
        out_channels: int,
        use_multiscale_fusion: bool,
        block_kwargs: dict,
        reduction: int,
        act: tuple | str,
        norm: tuple | str,
    ) -> None:
        super().__init__()
        self.interp_mode = linear_interp_mode(spatial_dims)
        self.fusion = (
            GatedMultiScaleFusion(
                spatial_dims, (skip_channels, *coarser_channels), skip_channels, reduction=reduction, act=act, norm=norm
            )
            if use_multiscale_fusion
            else None
        )
        self.block = ResidualDualAttentionBlock(spatial_dims, in_channels + skip_channels, out_channels, **block_kwargs)

    def forward(self, x: torch.Tensor, skip: torch.Tensor, coarser: List[torch.Tensor]) -> torch.Tensor:
        if self.fusion is not None:
            skip = self.fusion([skip] + coarser)
        x = F.interpolate(x, size=skip.shape[2:], mode=self.interp_mode, align_corners=False)
        return self.block(torch.cat([x, skip], dim=1))


@register_network("msaunet")
class MSAUNet(nn.Module):
    """MSAUNet, a multi-scale attention U-Net for 2D and 3D segmentation.

    After Smith, Carter and Walker, "Optimization of Deep Learning-Based Medical Image Segmentation
    Algorithms" (Sec. II-A attention-enhanced architecture, Sec. II-B multi-scale feature fusion, Table 1:
    13.7 M parameters). The paper describes components, not a layer table; this is our reading. With
    ``L = len(features)`` levels, ``E_i`` / ``D_i`` the encoder / decoder outputs at stride ``2^i``::

        encoder  E_0 = RDA(x), E_i = RDA(E_{i-1}, stride 2) [+ RDA ...]    i = 1 .. L-1;  D_{L-1} = E_{L-1}
        decoder  for i = L-2 .. 0:
                     S_i = GatedMultiScaleFusion(E_i, D_{i+1}, ..., D_{L-1})   # pyramid + gate + SE (II-B)
                     D_i = RDA(cat[up(D_{i+1}), S_i])
        head     1x1 conv on D_0: raw logits

    ``RDA`` is :class:`~monai_lite.networks.blocks.ResidualDualAttentionBlock`: two ``3^d`` convolutions whose
    residual branch passes channel attention (shared MLP over global average- AND max-pooled descriptors) and
    spatial attention before the identity/projection shortcut is added (II-A, "residual learning pathways").
    Every encoder and decoder block has both attentions ("hierarchical attention ... refined features are
    propagated through the decoder").

    Choices where the paper is vague:

    - Feature pyramid (II-B): each decoder level builds its skip as an FPN-style top-down aggregation of the
      encoder feature at that level and *all* coarser decoder outputs, each projected by a lateral ``1 x 1``
      conv at its own resolution and upsampled (:class:`~monai_lite.networks.blocks.GatedMultiScaleFusion`).
    - "Feature selection gating": a per-position softmax over the scales, computed from all of them, so each
      location picks its own mix of detail and context (small lesions vs large organs). "Lightweight feature
      recalibration": squeeze-and-excitation on the fused map.
    - "Dense information pathways" (UNet++ citation): decoder level ``i`` receives every coarser decoder
      output ``D_j, j > i`` (through the fusion) in addition to ``D_{i+1}`` (through upsampling), i.e. dense
      top-down connections between decoder/fusion levels, as in UNet++/UNet 3+. ``use_multiscale_fusion=False``
      removes fusion, gating, recalibration and the dense pathways together, leaving plain U-Net skips.
    - Widths ``(32, 64, 128, 256, 512)`` with two RDA blocks at the deepest level give 13.43 M parameters
      (2D, 3 -> 1), 2 % below Table 1's 13.7 M; ``width_multiplier=0.5`` gives 3.36 M. Table 1 does not say
      2D or 3D; in 3D (``3^3`` kernels) the default width has 38.6 M parameters, so prefer
      ``width_multiplier=0.5`` (9.6 M) there.
    - Downsampling by the stride-2 first convolution of a stage (projection shortcut); upsampling by linear
      interpolation (parameter-free). ReLU and batch norm, as in U-Net / Attention U-Net.
    - Multi-scale augmentation (random scaling/rotation, II-A) belongs to the training transforms, not here.

    Cost: full-resolution U-Net convolutions dominate, 16.4 G multiply-adds at 256 x 256 (2D, default width;
    4.2 G with ``width_multiplier=0.5``) and 75 G at 64^3 (3D; 19 G at 0.5). The attention and fusion modules
    add under 2 % of that. The ``features`` attribute holds the widths after ``width_multiplier``.

    Input sizes: the total stride is ``2 ** (len(features) - 1)`` (16 by default). Any spatial size is
    accepted: the input is padded on the high side of each axis up to the next multiple (``padding_mode``) and
    the logits are cropped back. Training with batch norm needs more than one value per channel at the
    deepest level (batch size > 1 or an input larger than 16 along some axis).

    Args:
        spatial_dims: number of spatial dimensions, 2 or 3. Defaults to 2.
        in_channels: number of input channels. Defaults to 3.
        out_channels: number of output channels; 1 for a binary task (apply a sigmoid), >= 2 for
            ``out_channels`` mutually exclusive classes (apply a softmax over dim 1). Defaults to 1.
        features: base widths of the levels, finest first, before ``width_multiplier``. Defaults to
            (32, 64, 128, 256, 512).
        width_multiplier: scales every width (rounded, at least 1); 0.5 gives the lightweight variant.
            Defaults to 1.0.
        blocks_per_stage: RDA blocks per encoder level (the first of levels >= 1 has stride 2). Defaults to
            (1, 1, 1, 1, 2).
        reduction: reduction ratio of the channel attention and of the SE recalibration. Defaults to 16.
        spatial_kernel_size: odd kernel size of the spatial attention. Defaults to 7.
        padding_mode: how inputs are padded to a multiple of the total stride, ``"replicate"`` or ``"zeros"``.
            Defaults to ``"replicate"``.
        use_channel_attention: channel attention in every RDA block. Defaults to True.
        use_spatial_attention: spatial attention in every RDA block. Defaults to True.
        use_multiscale_fusion: gated pyramid fusion with recalibration and dense decoder pathways in every
            skip (False: plain U-Net skips). Defaults to True.
        act: activation, name or ``(name, kwargs)``. Defaults to ``"relu"``.
        norm: normalisation, name or ``(name, kwargs)``. Defaults to ``"batch"``.
        dropout: dropout probability after the first convolution of every RDA block. Defaults to 0.0.

    Raises:
        ValueError: when ``spatial_dims`` is not 2 or 3, a channel count is not positive, ``features`` has
            fewer than 2 levels, ``blocks_per_stage`` does not match it or holds a count < 1,
            ``width_multiplier`` is not positive, ``reduction`` < 1, ``spatial_kernel_size`` is not a positive
            odd number, ``padding_mode`` is unknown, or ``dropout`` is not in [0, 1).

    Examples::

        >>> net = MSAUNet(spatial_dims=2, in_channels=3, out_channels=1)    # paper setting, 13.4 M params
        >>> net(torch.randn(2, 3, 256, 256)).shape
        torch.Size([2, 1, 256, 256])
        >>> net3d = MSAUNet(spatial_dims=3, in_channels=1, out_channels=3, width_multiplier=0.5)
        >>> net3d(torch.randn(1, 1, 35, 51, 37)).shape                      # padded internally, cropped back
        torch.Size([1, 3, 35, 51, 37])
        >>> ablated = MSAUNet(use_spatial_attention=False, use_multiscale_fusion=False)

    See Also:
        :class:`~monai_lite.networks.blocks.ResidualDualAttentionBlock`,
        :class:`~monai_lite.networks.blocks.GatedMultiScaleFusion`,
        :class:`~monai_lite.networks.blocks.ChannelAttention`, :class:`~monai_lite.networks.blocks.SpatialAttention`,
        :class:`monai.networks.nets.BasicUNet`, :class:`monai.networks.nets.AttentionUnet`.
    """

    __constants__ = ["spatial_dims", "divisor", "pad_mode"]

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 3,
        out_channels: int = 1,
        features: Sequence[int] = (32, 64, 128, 256, 512),
        width_multiplier: float = 1.0,
        blocks_per_stage: Sequence[int] = (1, 1, 1, 1, 2),
        reduction: int = 16,
        spatial_kernel_size: int = 7,
        padding_mode: str = "replicate",
        use_channel_attention: bool = True,
        use_spatial_attention: bool = True,
        use_multiscale_fusion: bool = True,
        act: tuple | str = "relu",
        norm: tuple | str = "batch",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        features = tuple(int(f) for f in features)
        blocks_per_stage = tuple(int(b) for b in blocks_per_stage)
        check_segmentation_network(spatial_dims, in_channels, out_channels, padding_mode, dropout)
        check_widths("features", features, min_count=2)
        check_positive(width_multiplier=width_multiplier)
        check_per_stage("blocks_per_stage", blocks_per_stage, "features", features, unit="level")
        check_at_least(1, reduction=reduction)
        check_odd(spatial_kernel_size=spatial_kernel_size)
        widths = tuple(max(1, int(round(f * width_multiplier))) for f in features)
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.features = widths
        self.blocks_per_stage = blocks_per_stage
        self.divisor = 2 ** (len(widths) - 1)
        self.pad_mode = PAD_MODES[padding_mode]
        self.use_channel_attention = use_channel_attention
        self.use_spatial_attention = use_spatial_attention
        self.use_multiscale_fusion = use_multiscale_fusion

        block_kwargs = {
            "use_channel_attention": use_channel_attention,
            "use_spatial_attention": use_spatial_attention,
            "reduction": reduction,
            "spatial_kernel_size": spatial_kernel_size,
            "act": act,
            "norm": norm,
            "dropout": dropout,
        }

        self.encoder = nn.ModuleList()
        prev = in_channels
        for level, (width, n_blocks) in enumerate(zip(widths, blocks_per_stage)):
            stride = 1 if level == 0 else 2
            self.encoder.append(
                nn.Sequential(
                    *stack_blocks(
                        ResidualDualAttentionBlock, spatial_dims, prev, width, n_blocks, strides=stride, **block_kwargs
                    )
                )
            )
            prev = width

        # decoder levels L-2 .. 0 (coarse to fine); level i fuses E_i with D_{i+1} .. D_{L-1}
        self.decoder = nn.ModuleList()
        n_levels = len(widths)
        for level in range(n_levels - 2, -1, -1):
            self.decoder.append(
                _DecoderLevel(
                    spatial_dims,
                    in_channels=widths[level + 1],
                    skip_channels=widths[level],
                    coarser_channels=tuple(reversed(widths[level + 1 :])),  # D_{L-1} first
                    out_channels=widths[level],
                    use_multiscale_fusion=use_multiscale_fusion,
                    block_kwargs=block_kwargs,
                    reduction=reduction,
                    act=act,
                    norm=norm,
                )
            )
        self.head = Conv[Conv.CONV, spatial_dims](widths[0], out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Segment ``x`` of shape ``(B, in_channels, *spatial)`` (2 or 3 spatial axes, any size).

        Returns raw logits ``(B, out_channels, *spatial)``: apply a sigmoid when ``out_channels == 1``, a
        softmax over dim 1 otherwise. Sizes that are not multiples of the total stride (16 by default) are
        padded internally and cropped back.
        """
        x, spatial = pad_to_multiple(x, self.divisor, self.pad_mode)
        skips: List[torch.Tensor] = []
        h = x
        for stage in self.encoder:
            h = stage(h)
            skips.append(h)
        coarser: List[torch.Tensor] = [h]  # decoder outputs D_{L-1}, D_{L-2}, ... (coarsest first)
        idx = len(skips) - 2
        for level in self.decoder:
            h = level(h, skips[idx], coarser)
            coarser.append(h)
            idx -= 1
        return crop_to_size(self.head(h), spatial)
