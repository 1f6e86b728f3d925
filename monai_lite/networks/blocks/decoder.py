# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""U-Net decoder stage: upsample to the skip's size, concatenate the skip, fuse by convolutions."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from monai.networks.blocks import Convolution, UpSample

from monai_lite.networks.blocks import activation as _activation  # noqa: F401  (registers "silu")
from monai_lite.networks.blocks.conv import DepthwiseSeparableConv
from monai_lite.networks.blocks.factories import conv_norm_act, linear_interp_mode, stack_blocks
from monai_lite.networks.blocks.validation import check_at_least, check_positive, check_spatial_dims

__all__ = ["UpFuse", "pointwise_linear_upsample"]


class UpFuse(nn.Module):
    """One U-Net decoder stage: ``conv(cat[up(x), skip])`` (Ronneberger et al., MICCAI 2015).

    ``x`` is linearly interpolated (``align_corners=False``, no parameters) straight to the skip's spatial
    size, so the stage works for any pair of sizes, including odd ones where a fixed ``x2`` would be off by
    one. The concatenation is fused by ``num_convs`` ``3^d`` convolutions with norm + act, either
    depthwise-separable (cheap, default) or dense.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: channels of the coarse input ``x``.
        skip_channels: channels of the skip connection (0: no skip, only upsample and convolve).
        out_channels: output channels.
        num_convs: number of fusion convolutions. Defaults to 2.
        separable: depthwise-separable fusion convolutions. Defaults to True.
        act: activation, name or ``(name, kwargs)``. Defaults to ``"silu"``.
        norm: normalisation, name or ``(name, kwargs)``. Defaults to ``"batch"``.
        dropout: dropout probability after each fusion convolution. Defaults to 0.0.

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3, ``in_channels``/``out_channels``/``num_convs`` is
            not positive, or ``skip_channels`` is negative.

    Examples::

        >>> up = UpFuse(2, 256, 128, 128)     # x (B,256,8,8), skip (B,128,16,16) -> (B,128,16,16)
        >>> up3d = UpFuse(3, 64, 32, 32, separable=False)
    """

    __constants__ = ["interp_mode"]

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        skip_channels: int,
        out_channels: int,
        num_convs: int = 2,
        separable: bool = True,
        act: tuple | str | None = "silu",
        norm: tuple | str | None = "batch",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        check_positive(in_channels=in_channels, out_channels=out_channels, num_convs=num_convs)
        check_at_least(0, skip_channels=skip_channels)
        self.interp_mode = linear_interp_mode(spatial_dims)
        fusion_conv = DepthwiseSeparableConv if separable else conv_norm_act
        self.convs = nn.Sequential(
            *stack_blocks(
                fusion_conv,
                spatial_dims,
                in_channels + skip_channels,
                out_channels,
                num_convs,
                act=act,
                norm=norm,
                dropout=dropout,
            )
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, in_channels, *S)``, ``skip`` ``(B, skip_channels, *S')`` -> ``(B, out_channels, *S')``."""
        x = F.interpolate(x, size=skip.shape[2:], mode=self.interp_mode, align_corners=False)
        return self.convs(torch.cat([x, skip], dim=1))


def pointwise_linear_upsample(
    spatial_dims: int,
    in_channels: int,
    out_channels: int,
    act: tuple | str | None,
    norm: tuple | str | None,
    refine: bool = False,
) -> UpSample:
    """Lightweight x2 up-sampling: ``1 x 1`` conv + norm + act at the coarse resolution, then linear x2.

    Changing the width before the parameter-free interpolation runs the only weights at 1/``2^d`` of the
    output positions; with ``refine=True`` a depthwise ``3^d`` convolution + norm (no act) follows the
    interpolation, i.e. a depthwise-separable convolution split around it. Both convolutions keep MONAI's
    default bias. Returns MONAI's :class:`~monai.networks.blocks.UpSample` (``"nontrainable"`` mode), so its
    parameters are named ``preconv.*`` and ``postconv.*``.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: channels of the coarse input.
        out_channels: channels of the up-sampled output.
        act: activation of the pointwise convolution, name or ``(name, kwargs)``, or None.
        norm: normalisation of both convolutions, name or ``(name, kwargs)``, or None.
        refine: add the depthwise ``3^d`` convolution after the interpolation. Defaults to False.

    Raises:
        ValueError: from MONAI's ``Convolution``/``UpSample`` for invalid sizes.

    Examples::

        >>> up = pointwise_linear_upsample(2, 64, 32, act="relu", norm="batch")   # (B,64,8,8) -> (B,32,16,16)
        >>> up3d = pointwise_linear_upsample(3, 64, 32, act="relu6", norm="batch", refine=True)
    """
    return UpSample(
        spatial_dims,
        in_channels,
        out_channels,
        scale_factor=2,
        mode="nontrainable",
        pre_conv=Convolution(spatial_dims, in_channels, out_channels, kernel_size=1, act=act, norm=norm),
        post_conv=(
            Convolution(
                spatial_dims, out_channels, out_channels, kernel_size=3, groups=out_channels, act=None, norm=norm
            )
            if refine
            else None
        ),
        interp_mode="linear",
        align_corners=False,
    )
