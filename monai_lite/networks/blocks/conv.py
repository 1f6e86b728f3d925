# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Convolution blocks for lightweight encoders: depthwise-separable convolution and MBConv."""

from __future__ import annotations

import torch
import torch.nn as nn
from monai.networks.blocks import Convolution

from monai_lite.networks.blocks import activation as _activation  # noqa: F401  (registers "silu")
from monai_lite.networks.blocks.dynamic import dynamic_convolution

__all__ = ["DepthwiseSeparableConv", "MBConv"]


def _check_common(spatial_dims: int, in_channels: int, out_channels: int, kernel_size: int) -> None:
    if spatial_dims not in (1, 2, 3):
        raise ValueError(f"spatial_dims must be 1, 2 or 3, got spatial_dims={spatial_dims}.")
    if in_channels < 1 or out_channels < 1:
        raise ValueError(
            f"in_channels and out_channels must be positive, got in_channels={in_channels} "
            f"out_channels={out_channels}."
        )
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd integer, got kernel_size={kernel_size}.")


class DepthwiseSeparableConv(nn.Module):
    """Depthwise ``k x k`` convolution followed by a pointwise ``1 x 1`` convolution, each with norm + act.

    Costs ``k^d * C_in + C_in * C_out`` weights instead of ``k^d * C_in * C_out`` (Howard et al., MobileNets,
    https://arxiv.org/abs/1704.04861). A dilated depthwise kernel gives the separable atrous convolution of
    DeepLabv3+ (https://arxiv.org/abs/1802.02611).

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: number of input channels.
        out_channels: number of output channels.
        kernel_size: depthwise kernel size (odd). Defaults to 3.
        strides: stride of the depthwise convolution. Defaults to 1.
        dilation: dilation of the depthwise convolution. Defaults to 1.
        act: activation after both convolutions, name or ``(name, kwargs)``. Defaults to ``"silu"``.
        norm: normalisation after both convolutions, name or ``(name, kwargs)``. Defaults to ``"batch"``.
        dropout: dropout probability after the pointwise convolution. Defaults to 0.0.
        depthwise_act: whether the depthwise convolution also gets norm + act (``False`` keeps only the
            norm, as in the Xception-style separable conv). Defaults to True.

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3, a channel count is not positive, ``kernel_size``
            is even, or ``strides``/``dilation`` is smaller than 1.

    Examples::

        >>> conv = DepthwiseSeparableConv(2, 32, 64)                # (B, 32, H, W) -> (B, 64, H, W)
        >>> conv3d = DepthwiseSeparableConv(3, 16, 16, dilation=2)  # (B, 16, D, H, W) -> same shape
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        strides: int = 1,
        dilation: int = 1,
        act: tuple | str | None = "silu",
        norm: tuple | str | None = "batch",
        dropout: float = 0.0,
        depthwise_act: bool = True,
    ) -> None:
        super().__init__()
        _check_common(spatial_dims, in_channels, out_channels, kernel_size)
        if strides < 1 or dilation < 1:
            raise ValueError(f"strides and dilation must be >= 1, got strides={strides} dilation={dilation}.")
        bias = norm is None
        self.depthwise = Convolution(
            spatial_dims,
            in_channels,
            in_channels,
            strides=strides,
            kernel_size=kernel_size,
            dilation=dilation,
            groups=in_channels,
            act=act if depthwise_act else None,
            norm=norm,
            bias=bias,
        )
        self.pointwise = Convolution(
            spatial_dims,
            in_channels,
            out_channels,
            kernel_size=1,
            act=act,
            norm=norm,
            dropout=dropout if dropout > 0 else None,
            bias=bias,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, *spatial)`` -> ``(B, out_channels, *spatial / strides)``."""
        return self.pointwise(self.depthwise(x))


class MBConv(nn.Module):
    """Mobile inverted bottleneck (MobileNetV2 inverted residual, "MBConv").

    ``1 x 1`` expansion to ``expansion * in_channels`` -> depthwise ``k x k`` (stride 1 or 2) -> ``1 x 1``
    projection to ``out_channels``; identity residual when the stride is 1 and the channel counts match.
    Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018,
    https://arxiv.org/abs/1801.04381.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: number of input channels.
        out_channels: number of output channels.
        strides: stride of the depthwise convolution. Defaults to 1.
        expansion: expansion factor ``t`` of the hidden width; 1 drops the expansion convolution.
            Defaults to 6.
        kernel_size: depthwise kernel size (odd). Defaults to 3.
        linear_bottleneck: ``True`` leaves the projection without activation (norm only), as in MobileNetV2;
            ``False`` adds the activation after the projection too. Defaults to True.
        act: activation, name or ``(name, kwargs)``. Defaults to ``"silu"``.
        norm: normalisation, name or ``(name, kwargs)``. Defaults to ``"batch"``.
        dynamic_kernels: 0 keeps the depthwise convolution static; ``K >= 1`` makes it a dynamic depthwise
            convolution mixing ``K`` kernels per sample (:class:`~monai_lite.networks.blocks.DynamicConv`,
            DY-MobileNetV2 style). Defaults to 0.

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3, a channel count is not positive, ``kernel_size``
            is even, ``strides`` < 1, ``expansion`` < 1 or ``dynamic_kernels`` < 0.

    Examples::

        >>> block = MBConv(2, 32, 64, strides=2)   # (B, 32, 64, 64) -> (B, 64, 32, 32)
        >>> block3d = MBConv(3, 16, 16)            # residual: (B, 16, D, H, W) -> same shape
    """

    __constants__ = ["use_residual"]

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        strides: int = 1,
        expansion: int = 6,
        kernel_size: int = 3,
        linear_bottleneck: bool = True,
        act: tuple | str | None = "silu",
        norm: tuple | str | None = "batch",
        dynamic_kernels: int = 0,
    ) -> None:
        super().__init__()
        _check_common(spatial_dims, in_channels, out_channels, kernel_size)
        if strides < 1:
            raise ValueError(f"strides must be >= 1, got strides={strides}.")
        if expansion < 1:
            raise ValueError(f"expansion must be >= 1, got expansion={expansion}.")
        if dynamic_kernels < 0:
            raise ValueError(f"dynamic_kernels must be >= 0 (0 = static), got dynamic_kernels={dynamic_kernels}.")
        hidden = in_channels * expansion
        bias = norm is None
        self.use_residual = strides == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(Convolution(spatial_dims, in_channels, hidden, kernel_size=1, act=act, norm=norm, bias=bias))
        # static: MONAI Convolution, exactly as before; dynamic: DynamicConv + the same norm/act
        layers.append(
            dynamic_convolution(
                spatial_dims,
                hidden,
                hidden,
                kernel_size=kernel_size,
                strides=strides,
                groups=hidden,
                num_kernels=dynamic_kernels,
                act=act,
                norm=norm,
            )
        )
        layers.append(
            Convolution(
                spatial_dims,
                hidden,
                out_channels,
                kernel_size=1,
                act=None if linear_bottleneck else act,
                norm=norm,
                bias=bias,
            )
        )
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, *spatial)`` -> ``(B, out_channels, *ceil(spatial / strides))``."""
        out = self.block(x)
        if self.use_residual:
            out = out + x
        return out

