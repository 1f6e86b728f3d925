# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Two-branch feature extraction (local detail + wide spatial context) fused by adaptive per-channel weights."""

from __future__ import annotations

import torch
import torch.nn as nn
from monai.networks.layers.factories import Conv, Pool
from monai.networks.layers.utils import get_act_layer

from monai_lite.networks.blocks import activation as _activation  # noqa: F401  (registers "silu")
from monai_lite.networks.blocks.dynamic import dynamic_convolution
from monai_lite.networks.blocks.factories import conv_norm_act
from monai_lite.networks.blocks.validation import (
    check_at_least,
    check_odd,
    check_positive,
    check_probability,
    check_spatial_dims,
)

__all__ = ["DualBranchFusion"]


class DualBranchFusion(nn.Module):
    """Detail and spatial-context branches, fused by input-dependent branch weights (adaptive weighting).

    The two-branch "detail / spatial feature" module of LightAWNet (Wang et al., J Appl Clin Med Phys 2024,
    https://doi.org/10.1002/acm2.14584), realised with the selective-kernel fusion of Li et al., "Selective
    Kernel Networks", CVPR 2019, https://arxiv.org/abs/1903.06586::

        D = dw_conv_k(x)                       detail branch: local k^d depthwise conv (+ norm + act)
        S = dw_conv_k,dilated(x)               spatial branch: same kernel, dilation ``context_dilation``
        z = W_2 act(W_1 GAP(D + S))            (B, 2 C): one logit per branch and channel
        a_D, a_S = softmax over the 2 branches (a_D + a_S = 1 for every channel and sample)
        y = project_1x1(a_D * D + a_S * S) (+ x when in_channels == out_channels)

    Both branches read the same input, so the feature map is reused rather than recomputed, and the
    per-sample, per-channel convex weights decide how much fine detail versus wide context each channel
    keeps. The squeeze MLP has biases and no normalisation, so the block also trains with batch size 1.
    With ``dynamic_kernels >= 1`` both depthwise convolutions are :class:`~monai_lite.networks.blocks.DynamicConv`.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: number of input channels.
        out_channels: number of output channels. Defaults to ``in_channels``.
        kernel_size: odd kernel size of both depthwise branches. Defaults to 3.
        context_dilation: dilation of the spatial-context branch (>= 2 for a wider field). Defaults to 3.
        r: reduction ratio of the squeeze MLP (hidden width ``max(in_channels // r, 8)``). Defaults to 4.
        dynamic_kernels: 0 for static depthwise convolutions, ``K >= 1`` for dynamic ones. Defaults to 0.
        act: activation, name or ``(name, kwargs)``. Defaults to ``"silu"``.
        norm: normalisation, name or ``(name, kwargs)``. Defaults to ``"batch"``.
        dropout: dropout probability after the projection. Defaults to 0.0.

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3, a channel count or ``r`` is not positive,
            ``kernel_size`` is even, ``context_dilation`` < 1 or ``dropout`` is not in [0, 1).

    Examples::

        >>> fuse = DualBranchFusion(2, 192)                          # (B, 192, H, W) -> same shape, residual
        >>> fuse3d = DualBranchFusion(3, 64, 128, dynamic_kernels=4)  # (B, 64, D, H, W) -> (B, 128, D, H, W)
    """

    __constants__ = ["use_residual"]

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int | None = None,
        kernel_size: int = 3,
        context_dilation: int = 3,
        r: int = 4,
        dynamic_kernels: int = 0,
        act: tuple | str = "silu",
        norm: tuple | str = "batch",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        out_channels = in_channels if out_channels is None else out_channels
        check_positive(in_channels=in_channels, out_channels=out_channels, r=r)
        check_odd(kernel_size=kernel_size)
        check_at_least(1, context_dilation=context_dilation)
        check_probability(dropout=dropout)
        conv = Conv[Conv.CONV, spatial_dims]
        c = in_channels
        self.use_residual = in_channels == out_channels
        self.detail = dynamic_convolution(
            spatial_dims, c, c, kernel_size, groups=c, num_kernels=dynamic_kernels, act=act, norm=norm
        )
        self.context = dynamic_convolution(
            spatial_dims,
            c,
            c,
            kernel_size,
            dilation=context_dilation,
            groups=c,
            num_kernels=dynamic_kernels,
            act=act,
            norm=norm,
        )
        hidden = max(c // r, 8)
        self.squeeze = nn.Sequential(
            Pool[Pool.ADAPTIVEAVG, spatial_dims](1), conv(c, hidden, kernel_size=1), get_act_layer(act)
        )
        self.select = conv(hidden, 2 * c, kernel_size=1)
        self.project = conv_norm_act(spatial_dims, c, out_channels, 1, act=None, norm=norm, dropout=dropout)

    def branch_weights(self, detail: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Convex branch weights ``(B, 2, C)`` (index 0: detail, 1: context) for the two branch outputs."""
        z = self.select(self.squeeze(detail + context))
        return torch.softmax(z.reshape(z.shape[0], 2, -1), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, *spatial)`` -> ``(B, out_channels, *spatial)``."""
        d = self.detail(x)
        s = self.context(x)
        a = self.branch_weights(d, s)
        shape = [a.shape[0], a.shape[2]] + [1] * (x.dim() - 2)
        out = self.project(a[:, 0].reshape(shape) * d + a[:, 1].reshape(shape) * s)
        if self.use_residual:
            out = out + x
        return out
