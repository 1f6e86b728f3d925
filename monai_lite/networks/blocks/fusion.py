# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Gated multi-scale feature fusion: align a pyramid of feature maps, select among scales, recalibrate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F
from monai.networks.blocks import ChannelSELayer
from monai.networks.layers.factories import Conv

from monai_lite.networks.blocks import activation as _activation  # noqa: F401  (registers "silu")
from monai_lite.networks.blocks.factories import conv_norm_act, linear_interp_mode
from monai_lite.networks.blocks.validation import check_at_least, check_positive, check_spatial_dims, check_widths

__all__ = ["GatedMultiScaleFusion"]


class GatedMultiScaleFusion(nn.Module):
    """Fuse feature maps from several pyramid levels with a per-position scale-selection gate and SE recalibration.

    The first input is the *reference*: its spatial size is the output size (in a decoder, the skip of the
    current level). Every input ``X_k`` (``k = 0 .. n-1``) is

    1. aligned: a lateral ``1 x 1`` convolution + norm + act to ``out_channels`` (FPN lateral; skipped when an
       input already has ``out_channels`` channels and ``project_all=False``), computed at the input's own
       resolution, then linearly resized to the reference size (cheap for coarser inputs);
    2. gated: ``G = softmax_k(sum_k W_k * X_k)`` with one ``1 x 1`` convolution ``W_k`` per input to ``n``
       maps, i.e. at every position a convex weighting of the ``n`` scales computed from all of them
       (the same linear map as a ``1 x 1`` convolution on their concatenation, without copying them);
       ``V = sum_k G_k * X_k``;
    3. recalibrated: ``V' = SE(V)``, MONAI's :class:`~monai.networks.blocks.ChannelSELayer` (squeeze-and-
       excitation, Hu et al., CVPR 2018), re-weighting the channels of the mixed-scale map.

    The gate is spatially adaptive on purpose: a small structure can rely on the fine scale while a large
    organ in the same image draws on the coarse ones. Resizing is linear interpolation in both directions;
    inputs finer than the reference are therefore subsampled, which aliases, so feed coarser-or-equal maps
    for best results.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: channels of each input, reference first; at least one input.
        out_channels: channels of the fused output.
        reduction: reduction ratio of the SE recalibration (clipped to ``out_channels``). Defaults to 16.
        recalibrate: build the SE recalibration. Defaults to True.
        project_all: also project inputs that already have ``out_channels`` channels. Defaults to False.
        act: activation of the lateral projections and inside the SE bottleneck. Defaults to ``"relu"``.
        norm: normalisation of the lateral projections. Defaults to ``"batch"``.

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3, ``in_channels`` is empty or holds a count < 1,
            ``out_channels`` < 1, or ``reduction`` < 1.

    Examples::

        >>> fuse = GatedMultiScaleFusion(2, (64, 128, 256), 64)
        >>> y = fuse([torch.randn(1, 64, 32, 32), torch.randn(1, 128, 16, 16), torch.randn(1, 256, 8, 8)])
        >>> y.shape
        torch.Size([1, 64, 32, 32])
        >>> fuse3d = GatedMultiScaleFusion(3, (16, 32), 16, recalibrate=False)
    """

    __constants__ = ["interp_mode", "n_inputs"]

    def __init__(
        self,
        spatial_dims: int,
        in_channels: Sequence[int],
        out_channels: int,
        reduction: int = 16,
        recalibrate: bool = True,
        project_all: bool = False,
        act: tuple | str = "relu",
        norm: tuple | str = "batch",
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        in_channels = tuple(int(c) for c in in_channels)
        check_widths("in_channels", in_channels, what="counts")
        check_positive(out_channels=out_channels)
        check_at_least(1, reduction=reduction)
        conv = Conv[Conv.CONV, spatial_dims]
        self.interp_mode = linear_interp_mode(spatial_dims)
        self.n_inputs = len(in_channels)
        self.lateral = nn.ModuleList()
        for c in in_channels:
            if c == out_channels and not project_all:
                self.lateral.append(nn.Identity())
            else:
                self.lateral.append(conv_norm_act(spatial_dims, c, out_channels, 1, act=act, norm=norm))
        self.gate = nn.ModuleList(
            [conv(out_channels, self.n_inputs, kernel_size=1, bias=k == 0) for k in range(self.n_inputs)]
        )
        self.recalibration = (
            ChannelSELayer(spatial_dims, out_channels, r=min(reduction, out_channels), acti_type_1=act)
            if recalibrate
            else None
        )

    def forward(self, features: List[torch.Tensor]) -> torch.Tensor:
        """``features[k]`` ``(B, in_channels[k], *S_k)``, reference first -> ``(B, out_channels, *S_0)``."""
        if len(features) != self.n_inputs:
            raise ValueError(f"expected {self.n_inputs} feature maps, got {len(features)}.")
        size = features[0].shape[2:]
        aligned: List[torch.Tensor] = []
        for k, lateral in enumerate(self.lateral):
            f = lateral(features[k])
            if f.shape[2:] != size:
                f = F.interpolate(f, size=size, mode=self.interp_mode, align_corners=False)
            aligned.append(f)
        logits = torch.zeros(0)
        for k, gate in enumerate(self.gate):
            term = gate(aligned[k])
            logits = term if k == 0 else logits + term
        weights = torch.softmax(logits, dim=1)
        fused = aligned[0] * weights[:, 0:1]
        for k in range(1, self.n_inputs):
            fused = fused + aligned[k] * weights[:, k : k + 1]
        if self.recalibration is not None:
            fused = self.recalibration(fused)
        return fused
