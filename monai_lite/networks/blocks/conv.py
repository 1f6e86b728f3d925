# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Convolution blocks for lightweight encoders: depthwise-separable convolution and MBConv."""

from __future__ import annotations

import torch
import torch.nn as nn
from monai_lite.networks.blocks import activation as _activation  # noqa: F401  (registers "silu")
from monai_lite.networks.blocks.factories import conv_norm_act
from monai_lite.networks.blocks.memory_format import fast_conv_layout
from monai_lite.networks.blocks.validation import check_at_least, check_odd, check_positive, check_spatial_dims

__all__ = ["DepthwiseSeparableConv", "MBConv"]


def _check_common(spatial_dims: int, in_channels: int, out_channels: int, kernel_size: int) -> None:
    check_spatial_dims(spatial_dims)
    check_positive(in_channels=in_channels, out_channels=out_channels)
    check_odd(kernel_size=kernel_size)


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
        check_at_least(1, strides=strides, dilation=dilation)
        self.depthwise = conv_norm_act(
            spatial_dims,
            in_channels,
            in_channels,
            kernel_size,
            strides=strides,
            dilation=dilation,
            groups=in_channels,
            act=act if depthwise_act else None,
            norm=norm,
        )
        self.pointwise = conv_norm_act(spatial_dims, in_channels, out_channels, 1, act=act, norm=norm, dropout=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, *spatial)`` -> ``(B, out_channels, *spatial / strides)``."""
        return self.pointwise(self.depthwise(fast_conv_layout(x)))


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

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3, a channel count is not positive, ``kernel_size``
            is even, ``strides`` < 1 or ``expansion`` < 1.

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
    ) -> None:
        super().__init__()
        _check_common(spatial_dims, in_channels, out_channels, kernel_size)
        check_at_least(1, strides=strides)
        check_at_least(1, expansion=expansion)
        hidden = in_channels * expansion
        self.use_residual = strides == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(conv_norm_act(spatial_dims, in_channels, hidden, 1, act=act, norm=norm))
        layers.append(
            conv_norm_act(spatial_dims, hidden, hidden, kernel_size, strides=strides, groups=hidden, act=act, norm=norm)
        )
        layers.append(
            conv_norm_act(spatial_dims, hidden, out_channels, 1, act=None if linear_bottleneck else act, norm=norm)
        )
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, *spatial)`` -> ``(B, out_channels, *ceil(spatial / strides))``."""
        out = self.block(fast_conv_layout(x))
        if self.use_residual:
            out = out + x
        return out

