# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Small layer factories used the same way by every monai-lite block and network.

- :func:`conv_norm_act`: MONAI :class:`~monai.networks.blocks.Convolution` (conv -> norm -> dropout -> act)
  with the house conventions: a bias only when there is no norm to absorb it, and no dropout layer at rate 0.
- :func:`stack_blocks`: ``num_blocks`` blocks in a row, the first one changing width (and stride), as in
  every encoder stage and decoder fusion stack.
- :func:`linear_interp_mode`: the :func:`torch.nn.functional.interpolate` linear mode for 1, 2 or 3 axes.

Examples::

    >>> pw = conv_norm_act(2, 32, 64, kernel_size=1, act="relu", norm="batch")   # no bias: BN follows
    >>> stage = nn.Sequential(*stack_blocks(MBConv, 2, 32, 64, num_blocks=3, strides=2, expansion=4))
    >>> linear_interp_mode(3)
    'trilinear'
"""

from __future__ import annotations

from typing import Any, Callable

import torch.nn as nn
from monai.networks.blocks import Convolution

from monai_lite.networks.blocks import activation as _activation  # noqa: F401  (registers "silu")
from monai_lite.networks.blocks.validation import check_spatial_dims

__all__ = ["conv_norm_act", "linear_interp_mode", "stack_blocks"]


def conv_norm_act(
    spatial_dims: int,
    in_channels: int,
    out_channels: int,
    kernel_size: int = 3,
    *,
    strides: int = 1,
    dilation: int = 1,
    groups: int = 1,
    act: tuple | str | None,
    norm: tuple | str | None,
    dropout: float = 0.0,
    bias: bool | None = None,
) -> Convolution:
    """A "same"-padded convolution followed by norm, dropout and act (MONAI ``Convolution``, ``"NDA"`` order).

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: number of input channels.
        out_channels: number of output channels.
        kernel_size: kernel size. Defaults to 3.
        strides: stride. Defaults to 1.
        dilation: dilation. Defaults to 1.
        groups: convolution groups (``in_channels`` for a depthwise convolution). Defaults to 1.
        act: activation, name or ``(name, kwargs)``, or None for none.
        norm: normalisation, name or ``(name, kwargs)``, or None for none.
        dropout: dropout probability; 0 adds no dropout layer. Defaults to 0.0.
        bias: whether the convolution has a bias. Defaults to None, meaning only when ``norm`` is None (a
            norm right after the convolution would cancel the bias).

    Raises:
        ValueError: from MONAI's ``Convolution`` for invalid sizes.
    """
    return Convolution(
        spatial_dims,
        in_channels,
        out_channels,
        strides=strides,
        kernel_size=kernel_size,
        dilation=dilation,
        groups=groups,
        act=act,
        norm=norm,
        dropout=dropout if dropout > 0 else None,
        bias=norm is None if bias is None else bias,
    )


def stack_blocks(
    block: Callable[..., nn.Module],
    spatial_dims: int,
    in_channels: int,
    out_channels: int,
    num_blocks: int,
    strides: int = 1,
    **kwargs: Any,
) -> list[nn.Module]:
    """``num_blocks`` blocks: ``in_channels -> out_channels`` with ``strides``, then ``out_channels`` at stride 1.

    Args:
        block: a block class or factory called as ``block(spatial_dims, c_in, c_out, strides=s, **kwargs)``.
        spatial_dims: number of spatial dimensions.
        in_channels: input channels of the first block.
        out_channels: output channels of every block.
        num_blocks: number of blocks (>= 1).
        strides: stride of the first block. Defaults to 1.
        kwargs: further arguments for every block.

    Returns:
        The blocks as a list (built in order), for ``nn.Sequential(*blocks)`` or to append more layers to.

    Raises:
        ValueError: when ``num_blocks`` < 1, or from ``block``.
    """
    if num_blocks < 1:
        raise ValueError(f"num_blocks must be >= 1, got num_blocks={num_blocks}.")
    layers = [block(spatial_dims, in_channels, out_channels, strides=strides, **kwargs)]
    for _ in range(num_blocks - 1):
        layers.append(block(spatial_dims, out_channels, out_channels, strides=1, **kwargs))
    return layers


def linear_interp_mode(spatial_dims: int) -> str:
    """``"linear"``, ``"bilinear"`` or ``"trilinear"`` for 1, 2 or 3 spatial dimensions.

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3.
    """
    check_spatial_dims(spatial_dims)
    return ("linear", "bilinear", "trilinear")[spatial_dims - 1]
