# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Attention blocks: boundary-aware attention, concurrent spatial/channel SE (scSE) and CBAM-style attention."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from monai.networks.blocks import ChannelSELayer
from monai.networks.layers.factories import Conv, Pool
from monai.networks.layers.utils import get_act_layer

from monai_lite.networks.blocks import activation as _activation  # noqa: F401  (registers "silu")
from monai_lite.networks.blocks.validation import check_choice, check_odd, check_positive, check_spatial_dims

__all__ = [
    "BoundaryAwareAttention",
    "SCSE",
    "ChannelAttention",
    "SpatialAttention",
    "CBAM",
    "boundary_kernels",
]

_OPERATORS = ("laplacian", "sobel")


def _check_reduction(in_channels: int, r: int) -> None:
    check_positive(in_channels=in_channels)
    if r < 1 or in_channels // r < 1:
        raise ValueError(f"r must be positive and at most in_channels, got r={r} in_channels={in_channels}.")


def boundary_kernels(spatial_dims: int, operator: str = "laplacian") -> torch.Tensor:
    """Fixed ``3^d`` edge operators, shaped ``(n_ops, 1, 3, ..., 3)`` for a depthwise convolution.

    ``"laplacian"`` gives one kernel: ``-2 d`` at the centre, ``1`` at the ``2 d`` face neighbours.
    ``"sobel"`` gives ``d`` kernels: a central difference ``[-1, 0, 1] / 2`` along one axis and the
    smoothing ``[1, 2, 1] / 4`` along every other axis (the N-d Sobel operator, normalised).

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        operator: ``"laplacian"`` or ``"sobel"``. Defaults to ``"laplacian"``.

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3 or ``operator`` is unknown.
    """
    check_spatial_dims(spatial_dims)
    check_choice("operator", operator, _OPERATORS)
    if operator == "laplacian":
        kernel = torch.zeros([3] * spatial_dims)
        centre = (1,) * spatial_dims
        kernel[centre] = -2.0 * spatial_dims
        for axis in range(spatial_dims):
            for offset in (0, 2):
                idx = list(centre)
                idx[axis] = offset
                kernel[tuple(idx)] = 1.0
        return kernel.reshape([1, 1] + [3] * spatial_dims)
    deriv = torch.tensor([-0.5, 0.0, 0.5])
    smooth = torch.tensor([0.25, 0.5, 0.25])
    kernels = []
    for axis in range(spatial_dims):
        kernel = torch.ones([3] * spatial_dims)
        for a in range(spatial_dims):
            shape = [1] * spatial_dims
            shape[a] = 3
            kernel = kernel * (deriv if a == axis else smooth).reshape(shape)
        kernels.append(kernel)
    return torch.stack(kernels).unsqueeze(1)


class BoundaryAwareAttention(nn.Module):
    """Boundary-aware attention (BAA) of MedLiteNet: re-weights features by a mask driven by an edge map.

    Yu et al., "MedLiteNet: Lightweight Hybrid Medical Image Segmentation Model", arXiv 2025, Sec. III-D::

        B  = |edge_op(W_r * F)|             (fixed Laplacian, or Sobel gradient magnitude)
        B' = B + W_g * F_trans              (optional global context, resized to F)
        M  = sigmoid(Conv1x1([F || B']))    (one channel, in [0, 1])
        F' = F * (1 + M)

    To stay cheap, the fixed edge operator runs depthwise on a ``boundary_channels``-channel map obtained
    from ``F`` by a learned ``1 x 1`` reduction ``W_r`` (instead of a full convolution over all channels),
    with replicate padding so the image border is not reported as an edge. ``Conv1x1([F || B'])`` is
    computed as ``Conv1x1_F(F) + Conv1x1_B(B')``, which is the same linear map without copying ``F`` into a
    concatenated tensor.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: number of channels of ``F``.
        boundary_channels: channels of the reduced map the edge operator runs on (the paper's ``B`` has 1).
            Defaults to 1.
        context_channels: channels of the optional global context ``F_trans``; ``None`` builds no context
            projection and ``forward`` ignores any context. Defaults to None.
        operator: fixed edge operator, ``"laplacian"`` or ``"sobel"`` (gradient magnitude).
            Defaults to ``"laplacian"``.

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3, a channel count is not positive, or ``operator``
            is unknown.

    Examples::

        >>> baa = BoundaryAwareAttention(2, 64)                          # (B, 64, H, W) -> same shape
        >>> baa3d = BoundaryAwareAttention(3, 256, context_channels=128)
        >>> y = baa3d(torch.randn(1, 256, 4, 4, 4), torch.randn(1, 128, 4, 4, 4))
    """

    __constants__ = ["spatial_dims", "boundary_channels", "use_gradient", "use_context", "interp_mode"]

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        boundary_channels: int = 1,
        context_channels: int | None = None,
        operator: str = "laplacian",
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        check_positive(in_channels=in_channels, boundary_channels=boundary_channels)
        if context_channels is not None and context_channels < 1:
            raise ValueError(f"context_channels must be positive or None, got context_channels={context_channels}.")
        kernel = boundary_kernels(spatial_dims, operator)  # validates operator
        conv = Conv[Conv.CONV, spatial_dims]
        self.spatial_dims = spatial_dims
        self.boundary_channels = boundary_channels
        self.use_gradient = operator == "sobel"
        self.use_context = context_channels is not None
        self.interp_mode = ("linear", "bilinear", "trilinear")[spatial_dims - 1]
        self.reduce = conv(in_channels, boundary_channels, kernel_size=1)
        repeat = [boundary_channels] + [1] * (kernel.ndim - 1)
        self.register_buffer("edge_kernel", kernel.repeat(repeat), persistent=False)
        self.context_proj = conv(context_channels, boundary_channels, kernel_size=1) if self.use_context else None
        self.mask_feature = conv(in_channels, 1, kernel_size=1)
        self.mask_boundary = conv(boundary_channels, 1, kernel_size=1, bias=False)

    def boundary_map(self, x: torch.Tensor) -> torch.Tensor:
        """Boundary response ``B`` of ``x``: ``(B, in_channels, *spatial)`` -> ``(B, boundary_channels, *spatial)``."""
        r = self.reduce(x)
        r = F.pad(r, [1] * (2 * self.spatial_dims), mode="replicate")
        groups = self.boundary_channels
        if self.spatial_dims == 1:
            e = F.conv1d(r, self.edge_kernel, groups=groups)
        elif self.spatial_dims == 2:
            e = F.conv2d(r, self.edge_kernel, groups=groups)
        else:
            e = F.conv3d(r, self.edge_kernel, groups=groups)
        if self.use_gradient:
            shape = [e.shape[0], self.boundary_channels, self.spatial_dims] + list(e.shape[2:])
            e = e.reshape(shape)
            return torch.sqrt((e * e).sum(dim=2) + 1e-6)
        return e.abs()

    def forward(self, x: torch.Tensor, context: Optional[torch.Tensor] = None) -> torch.Tensor:  # noqa: UP045
        """Re-weight ``x`` of shape ``(B, in_channels, *spatial)``; ``context`` is ``(B, context_channels, *s)``.

        A context with a different spatial size is linearly resized to ``x``'s size. Returns ``x``'s shape.
        """
        b = self.boundary_map(x)
        if self.use_context:
            if context is not None:
                c = self.context_proj(context)
                if c.shape[2:] != b.shape[2:]:
                    c = F.interpolate(c, size=b.shape[2:], mode=self.interp_mode, align_corners=False)
                b = b + c
        m = torch.sigmoid(self.mask_feature(x) + self.mask_boundary(b))
        return x * (1.0 + m)


class SCSE(nn.Module):
    """Concurrent spatial and channel squeeze-and-excitation (scSE).

    Roy, Navab and Wachinger, "Concurrent Spatial and Channel 'Squeeze & Excitation' in Fully Convolutional
    Networks", MICCAI 2018, https://arxiv.org/abs/1803.02579. The channel branch (cSE) is MONAI's
    :class:`~monai.networks.blocks.ChannelSELayer`; the spatial branch (sSE) is a ``1 x 1`` convolution to one
    channel with a sigmoid. The two recalibrated maps are added (``"add"``, the MICCAI paper) or combined by
    element-wise maximum (``"max"``, the journal version).

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: number of channels.
        r: channel reduction ratio of the cSE bottleneck. Defaults to 2.
        act: activation inside the cSE bottleneck. Defaults to ``"relu"``.
        combine: ``"add"`` or ``"max"``. Defaults to ``"add"``.

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3, ``r`` is not in ``[1, in_channels]``, or
            ``combine`` is unknown.

    Examples::

        >>> scse = SCSE(2, 64)        # (B, 64, H, W) -> same shape
        >>> scse3d = SCSE(3, 32, r=4)
    """

    __constants__ = ["use_max"]

    def __init__(
        self, spatial_dims: int, in_channels: int, r: int = 2, act: tuple | str = "relu", combine: str = "add"
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        _check_reduction(in_channels, r)
        check_choice("combine", combine, ("add", "max"))
        self.use_max = combine == "max"
        self.cse = ChannelSELayer(spatial_dims, in_channels, r=r, acti_type_1=act)
        self.sse = Conv[Conv.CONV, spatial_dims](in_channels, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, *spatial)`` -> same shape."""
        c = self.cse(x)
        s = x * torch.sigmoid(self.sse(x))
        if self.use_max:
            return torch.maximum(c, s)
        return c + s


class ChannelAttention(nn.Module):
    """CBAM channel attention: a shared bottleneck MLP on average- and max-pooled descriptors, then sigmoid.

    Woo et al., "CBAM: Convolutional Block Attention Module", ECCV 2018, https://arxiv.org/abs/1807.06521.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: number of channels.
        r: reduction ratio of the shared MLP. Defaults to 16 (clipped so the hidden width is at least 1).
        act: activation of the shared MLP. Defaults to ``"relu"``.

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3, ``in_channels`` is not positive or ``r`` < 1.

    Examples::

        >>> ca = ChannelAttention(2, 64)     # (B, 64, H, W) -> same shape
        >>> ca3d = ChannelAttention(3, 32, r=8)
    """

    def __init__(self, spatial_dims: int, in_channels: int, r: int = 16, act: tuple | str = "relu") -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        check_positive(in_channels=in_channels, r=r)
        hidden = max(in_channels // r, 1)
        conv = Conv[Conv.CONV, spatial_dims]
        self.avg_pool = Pool[Pool.ADAPTIVEAVG, spatial_dims](1)
        self.max_pool = Pool[Pool.ADAPTIVEMAX, spatial_dims](1)
        self.mlp = nn.Sequential(
            conv(in_channels, hidden, kernel_size=1, bias=False),
            get_act_layer(act),
            conv(hidden, in_channels, kernel_size=1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, *spatial)`` -> same shape."""
        w = torch.sigmoid(self.mlp(self.avg_pool(x)) + self.mlp(self.max_pool(x)))
        return x * w


class SpatialAttention(nn.Module):
    """CBAM spatial attention: ``k^d`` convolution over the channel-wise mean and max maps, then sigmoid.

    Woo et al., "CBAM: Convolutional Block Attention Module", ECCV 2018, https://arxiv.org/abs/1807.06521.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        kernel_size: odd kernel size of the convolution. Defaults to 7.

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3 or ``kernel_size`` is not a positive odd number.

    Examples::

        >>> sa = SpatialAttention(2)                  # (B, C, H, W) -> same shape
        >>> sa3d = SpatialAttention(3, kernel_size=3)
    """

    def __init__(self, spatial_dims: int, kernel_size: int = 7) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        check_odd(kernel_size=kernel_size)
        self.conv = Conv[Conv.CONV, spatial_dims](2, 1, kernel_size=kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, *spatial)`` -> same shape."""
        desc = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(desc))


class CBAM(nn.Module):
    """Convolutional block attention module: :class:`ChannelAttention` followed by :class:`SpatialAttention`.

    Woo et al., "CBAM: Convolutional Block Attention Module", ECCV 2018, https://arxiv.org/abs/1807.06521.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: number of channels.
        r: reduction ratio of the channel MLP. Defaults to 16.
        kernel_size: kernel size of the spatial attention. Defaults to 7.
        act: activation of the channel MLP. Defaults to ``"relu"``.

    Raises:
        ValueError: see :class:`ChannelAttention` and :class:`SpatialAttention`.

    Examples::

        >>> cbam = CBAM(2, 64)            # (B, 64, H, W) -> same shape
        >>> cbam3d = CBAM(3, 32, r=8, kernel_size=3)
    """

    def __init__(
        self, spatial_dims: int, in_channels: int, r: int = 16, kernel_size: int = 7, act: tuple | str = "relu"
    ) -> None:
        super().__init__()
        self.channel = ChannelAttention(spatial_dims, in_channels, r=r, act=act)
        self.spatial = SpatialAttention(spatial_dims, kernel_size=kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, *spatial)`` -> same shape."""
        return self.spatial(self.channel(x))
