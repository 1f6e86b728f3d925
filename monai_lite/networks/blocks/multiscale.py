# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Multi-scale context: atrous spatial pyramid pooling with an image-pooling branch, and atrous convolutions whose
dilation is capped by the size of the map they see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from monai.networks.layers.factories import Conv, Pool
from monai.networks.layers.utils import get_act_layer

from monai_lite.networks.blocks import activation as _activation  # noqa: F401  (registers "silu")
from monai_lite.networks.blocks.conv import DepthwiseSeparableConv
from monai_lite.networks.blocks.factories import conv_norm_act
from monai_lite.networks.blocks.validation import check_odd, check_positive, check_spatial_dims, check_widths

__all__ = ["ASPP", "capped_dilation", "MapCappedDilationConv1d", "MapCappedDilationConv2d", "MapCappedDilationConv3d"]


def capped_dilation(spatial: List[int], rates: List[int], kernel_size: List[int]) -> Tuple[List[int], List[int]]:
    """Per-axis dilation ``max(1, min(r, s - 1))`` and the matching "same" padding for a map of size ``spatial``.

    A ``k``-tap kernel dilated by ``r >= s`` on an axis of ``s`` positions places every off-centre tap in the
    zero padding, whatever the output position: the branch is a ``1 x 1`` convolution there. Capping ``r`` at
    ``s - 1`` is the largest rate at which the off-centre taps still reach the map (from its border positions);
    rates already below the cap are unchanged. An axis of size 1 can only see its centre tap (rate 1).
    """
    dilation: List[int] = []
    padding: List[int] = []
    for i, size in enumerate(spatial):
        d = max(1, min(rates[i], size - 1))
        dilation.append(d)
        padding.append(d * (kernel_size[i] // 2))
    return dilation, padding


class MapCappedDilationConv1d(nn.Conv1d):
    """``nn.Conv1d`` ("same" padding, stride 1) whose dilation is capped by the input length (:func:`capped_dilation`).

    The constructor's ``dilation`` is the nominal rate; the rate used is chosen per call from the input's size,
    so the weights (and ``state_dict``) are those of the plain convolution. A subclass of the PyTorch layer, so
    batch-norm folding and channels-last weight storage treat it as a convolution.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dilation, padding = capped_dilation(list(x.shape[2:]), list(self.dilation), list(self.kernel_size))
        return F.conv1d(x, self.weight, self.bias, 1, padding, dilation, self.groups)


class MapCappedDilationConv2d(nn.Conv2d):
    """``nn.Conv2d`` version of :class:`MapCappedDilationConv1d`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dilation, padding = capped_dilation(list(x.shape[2:]), list(self.dilation), list(self.kernel_size))
        return F.conv2d(x, self.weight, self.bias, 1, padding, dilation, self.groups)


class MapCappedDilationConv3d(nn.Conv3d):
    """``nn.Conv3d`` version of :class:`MapCappedDilationConv1d`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dilation, padding = capped_dilation(list(x.shape[2:]), list(self.dilation), list(self.kernel_size))
        return F.conv3d(x, self.weight, self.bias, 1, padding, dilation, self.groups)


_CAPPED = {1: MapCappedDilationConv1d, 2: MapCappedDilationConv2d, 3: MapCappedDilationConv3d}


def _capped_copy(conv: nn.Module, spatial_dims: int) -> nn.Module:
    """The same convolution (same weights) as a :class:`MapCappedDilationConv2d` (or 1d/3d)."""
    capped = _CAPPED[spatial_dims](
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=conv.bias is not None,
    )
    capped.load_state_dict(conv.state_dict())
    return capped


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling with a global-average-pooling branch (DeepLabv3).

    Chen et al., "Rethinking Atrous Convolution for Semantic Image Segmentation", https://arxiv.org/abs/1706.05587.
    MONAI's :class:`~monai.networks.blocks.SimpleASPP` has no image-pooling branch and no normalisation in the
    branches, hence this block. Branches, concatenated then fused by a ``1 x 1`` convolution + norm + act:

    - one per dilation: a ``k^d`` atrous convolution to ``branch_channels`` with norm + act. With
      ``separable=True`` (default) it is a depthwise atrous ``k^d`` convolution followed by the ``1 x 1``
      convolution that "adjusts the channel dimension" (MedLiteNet Sec. III-E), i.e. the separable ASPP of
      DeepLabv3+; ``separable=False`` uses a dense atrous convolution;
    - if ``image_pooling``: global average pooling -> ``1 x 1`` convolution (with bias, no norm, so it also
      trains with batch size 1) -> act, broadcast back to the input size.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: number of input channels.
        out_channels: number of output channels.
        branch_channels: output channels of every branch. Defaults to ``out_channels // 4`` (at least 1).
        dilations: one atrous branch per dilation rate. Defaults to (1, 6, 12, 18).
        kernel_size: odd kernel size of the atrous branches. Defaults to 3.
        separable: depthwise-separable atrous branches. Defaults to True.
        image_pooling: add the global-average-pooling branch. Defaults to True.
        act: activation, name or ``(name, kwargs)``. Defaults to ``"silu"``.
        norm: normalisation, name or ``(name, kwargs)``. Defaults to ``"batch"``.
        dropout: dropout probability after the fusion convolution. Defaults to 0.0.
        cap_dilation_to_input: cap each branch's rate, per axis and per call, at ``size - 1`` of the map it
            sees (:func:`capped_dilation`), so no branch degenerates to a ``1 x 1`` convolution on a small map
            (``r = 12`` on an ``8 x 8`` map runs as ``r = 7``); rates below the cap are unchanged. The weights
            are the same either way. Defaults to False (the nominal rates always, DeepLabv3's behaviour).

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3, a channel count is not positive, ``dilations`` is
            empty or holds a rate < 1, or ``kernel_size`` is even.

    Examples::

        >>> aspp = ASPP(2, 256, 256, dilations=(1, 3, 6, 12))      # (B, 256, H, W) -> (B, 256, H, W)
        >>> aspp3d = ASPP(3, 128, 64, separable=False, image_pooling=False)
    """

    __constants__ = ["image_pooling"]

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        branch_channels: int | None = None,
        dilations: Sequence[int] = (1, 6, 12, 18),
        kernel_size: int = 3,
        separable: bool = True,
        image_pooling: bool = True,
        act: tuple | str | None = "silu",
        norm: tuple | str | None = "batch",
        dropout: float = 0.0,
        cap_dilation_to_input: bool = False,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        branch_channels = max(out_channels // 4, 1) if branch_channels is None else branch_channels
        check_positive(in_channels=in_channels, out_channels=out_channels, branch_channels=branch_channels)
        dilations = tuple(int(d) for d in dilations)
        check_widths("dilations", dilations, what="rates")
        check_odd(kernel_size=kernel_size)
        make_branch = DepthwiseSeparableConv if separable else conv_norm_act
        self.branches = nn.ModuleList(
            [
                make_branch(spatial_dims, in_channels, branch_channels, kernel_size, dilation=d, act=act, norm=norm)
                for d in dilations
            ]
        )
        if cap_dilation_to_input:  # swap each branch's atrous convolution for its map-capped twin
            for branch in self.branches:
                holder = branch.depthwise if separable else branch
                holder.conv = _capped_copy(holder.conv, spatial_dims)
        self.dilations = dilations
        self.cap_dilation_to_input = cap_dilation_to_input
        self.image_pooling = image_pooling
        self.pool = (
            nn.Sequential(
                Pool[Pool.ADAPTIVEAVG, spatial_dims](1),
                Conv[Conv.CONV, spatial_dims](in_channels, branch_channels, kernel_size=1, bias=True),
                get_act_layer(act) if act is not None else nn.Identity(),
            )
            if image_pooling
            else nn.Identity()
        )
        n_branches = len(dilations) + (1 if image_pooling else 0)
        self.project = conv_norm_act(
            spatial_dims, n_branches * branch_channels, out_channels, 1, act=act, norm=norm, dropout=dropout
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, *spatial)`` -> ``(B, out_channels, *spatial)``."""
        outs = [branch(x) for branch in self.branches]
        if self.image_pooling:
            pooled = self.pool(x)
            outs.append(pooled.expand([-1, -1] + list(x.shape[2:])))
        return self.project(torch.cat(outs, dim=1))
