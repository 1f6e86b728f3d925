# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""U-Net decoder stage: upsample to the skip's size, concatenate the skip, fuse by convolutions."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from monai.networks.blocks import Convolution

from monai_lite.networks.blocks import activation as _activation  # noqa: F401  (registers "silu")
from monai_lite.networks.blocks.conv import DepthwiseSeparableConv

__all__ = ["UpFuse"]


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
        if spatial_dims not in (1, 2, 3):
            raise ValueError(f"spatial_dims must be 1, 2 or 3, got spatial_dims={spatial_dims}.")
        if min(in_channels, out_channels, num_convs) < 1 or skip_channels < 0:
            raise ValueError(
                f"in_channels, out_channels and num_convs must be positive and skip_channels >= 0, got "
                f"in_channels={in_channels} skip_channels={skip_channels} out_channels={out_channels} "
                f"num_convs={num_convs}."
            )
        self.interp_mode = ("linear", "bilinear", "trilinear")[spatial_dims - 1]
        drop = dropout if dropout > 0 else None
        layers: list[nn.Module] = []
        ch = in_channels + skip_channels
        for _ in range(num_convs):
            if separable:
                layers.append(
                    DepthwiseSeparableConv(spatial_dims, ch, out_channels, act=act, norm=norm, dropout=dropout)
                )
            else:
                layers.append(
                    Convolution(spatial_dims, ch, out_channels, act=act, norm=norm, dropout=drop, bias=norm is None)
                )
            ch = out_channels
        self.convs = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, in_channels, *S)``, ``skip`` ``(B, skip_channels, *S')`` -> ``(B, out_channels, *S')``."""
        x = F.interpolate(x, size=skip.shape[2:], mode=self.interp_mode, align_corners=False)
        return self.convs(torch.cat([x, skip], dim=1))
