# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Dynamic convolution: ``K`` parallel kernels mixed per sample by input-dependent attention weights."""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from monai.networks.blocks import ADN

from monai_lite.networks.blocks import activation as _activation  # noqa: F401  (registers "silu")
from monai_lite.networks.blocks.factories import conv_norm_act
from monai_lite.networks.blocks.memory_format import fast_conv_layout
from monai_lite.networks.blocks.validation import (
    check_at_least,
    check_multiple_of,
    check_odd,
    check_positive,
    check_spatial_dims,
)

__all__ = ["DynamicConv", "dynamic_convolution"]


class DynamicConv(nn.Module):
    """Convolution whose kernel is a per-sample, attention-weighted mix of ``num_kernels`` learned kernels.

    Chen et al., "Dynamic Convolution: Attention over Convolution Kernels", CVPR 2020,
    https://arxiv.org/abs/1912.03458 (after Yang et al., "CondConv", NeurIPS 2019,
    https://arxiv.org/abs/1904.04971)::

        pi(x) = softmax(MLP(GAP(x)) / temperature)          (B, K), sums to 1 over the K kernels
        W(x)  = sum_k pi_k(x) W_k,   b(x) = sum_k pi_k(x) b_k
        y     = W(x) * x + b(x)

    The mixed kernels of the whole batch are computed with one matrix product, and the batch is run as a
    single grouped convolution (the batch folded into the channel axis, ``groups = B * groups``), so there is
    no Python loop over samples and the cost over a static convolution is the tiny attention MLP plus the
    kernel mixing. Aggregating kernels before convolving makes it exactly equivalent to convolving with every
    kernel and mixing the outputs, at the cost of one convolution. The ``K`` kernels are initialised
    independently (like ``nn.Conv``), as the paper recommends. ``temperature`` is a plain attribute, so a
    training handler can anneal it (the paper goes from 30 to 1 over the first epochs); a large value makes the
    mix near-uniform, i.e. close to a static convolution.

    Padding is "same" (``dilation * (kernel_size - 1) // 2``), so a stride ``s`` gives ``ceil(n / s)`` outputs,
    like :class:`monai.networks.blocks.Convolution`.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: number of input channels.
        out_channels: number of output channels.
        kernel_size: odd kernel size. Defaults to 3.
        strides: stride. Defaults to 1.
        dilation: dilation. Defaults to 1.
        groups: convolution groups; ``groups == in_channels == out_channels`` is a dynamic depthwise
            convolution. Defaults to 1.
        num_kernels: number ``K`` of parallel kernels. Defaults to 4.
        reduction: the attention MLP's hidden width is ``max(in_channels // reduction, 4)``. Defaults to 16
            (Chen et al. use 4 on narrow layers; 16 keeps the MLP of wide depthwise layers small).
        temperature: softmax temperature of the kernel attention. Defaults to 1.0.
        bias: learn ``K`` biases mixed like the kernels. Defaults to False (a norm usually follows).

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3, a channel count is not positive or not divisible by
            ``groups``, ``kernel_size`` is even, ``strides``/``dilation``/``num_kernels``/``reduction`` < 1, or
            ``temperature`` <= 0.

    Examples::

        >>> conv = DynamicConv(2, 32, 64)                              # (B, 32, H, W) -> (B, 64, H, W)
        >>> dw3d = DynamicConv(3, 96, 96, groups=96, strides=2)        # dynamic depthwise, stride 2
        >>> dw3d(torch.randn(2, 96, 9, 16, 16)).shape
        torch.Size([2, 96, 5, 8, 8])
    """

    __constants__ = [
        "spatial_dims",
        "in_channels",
        "out_channels",
        "groups",
        "num_kernels",
        "stride",
        "padding",
        "dilation",
        "use_bias",
    ]

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        strides: int = 1,
        dilation: int = 1,
        groups: int = 1,
        num_kernels: int = 4,
        reduction: int = 16,
        temperature: float = 1.0,
        bias: bool = False,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        check_multiple_of("groups", groups, in_channels=in_channels, out_channels=out_channels)
        check_odd(kernel_size=kernel_size)
        check_at_least(1, strides=strides, dilation=dilation, num_kernels=num_kernels, reduction=reduction)
        check_positive(temperature=temperature)
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.groups = groups
        self.num_kernels = num_kernels
        self.stride = strides
        self.padding = dilation * (kernel_size - 1) // 2
        self.dilation = dilation
        self.use_bias = bias
        self.temperature = float(temperature)
        hidden = max(in_channels // reduction, 4)
        self.attention = nn.Sequential(
            nn.Linear(in_channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, num_kernels)
        )
        shape = [num_kernels, out_channels, in_channels // groups] + [kernel_size] * spatial_dims
        self.weight = nn.Parameter(torch.empty(shape))
        for k in range(num_kernels):  # independent init of every kernel, as nn.ConvNd does for one
            nn.init.kaiming_uniform_(self.weight[k], a=math.sqrt(5))
        if bias:
            bound = 1.0 / math.sqrt((in_channels // groups) * kernel_size**spatial_dims)
            self.bias = nn.Parameter(torch.empty(num_kernels, out_channels).uniform_(-bound, bound))
        else:
            self.register_parameter("bias", None)

    def kernel_attention(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample kernel weights ``(B, num_kernels)`` (softmax over kernels) for ``x`` ``(B, C, *spatial)``."""
        return torch.softmax(self.attention(x.flatten(2).mean(dim=2)) / self.temperature, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, *spatial)`` -> ``(B, out_channels, *ceil(spatial / strides))``."""
        b = x.shape[0]
        pi = self.kernel_attention(x)  # (B, K)
        weight = torch.mm(pi, self.weight.flatten(1))  # (B, out * in/g * k^d)
        weight = weight.reshape([b * self.out_channels] + list(self.weight.shape[2:]))
        bias: Optional[torch.Tensor] = None  # noqa: UP045
        kernel_bias = self.bias
        if kernel_bias is not None:
            bias = torch.mm(pi, kernel_bias).reshape(b * self.out_channels)
        x = fast_conv_layout(x.reshape([1, b * self.in_channels] + list(x.shape[2:])))
        groups = b * self.groups
        if self.spatial_dims == 1:
            y = F.conv1d(x, weight, bias, self.stride, self.padding, self.dilation, groups)
        elif self.spatial_dims == 2:
            y = F.conv2d(x, weight, bias, self.stride, self.padding, self.dilation, groups)
        else:
            y = F.conv3d(x, weight, bias, self.stride, self.padding, self.dilation, groups)
        return y.reshape([b, self.out_channels] + list(y.shape[2:]))


def dynamic_convolution(
    spatial_dims: int,
    in_channels: int,
    out_channels: int,
    kernel_size: int = 3,
    strides: int = 1,
    dilation: int = 1,
    groups: int = 1,
    num_kernels: int = 0,
    act: tuple | str | None = "silu",
    norm: tuple | str | None = "batch",
) -> nn.Module:
    """Convolution + norm + act, dynamic (:class:`DynamicConv` with ``num_kernels`` kernels) or static.

    ``num_kernels == 0`` returns MONAI's :class:`~monai.networks.blocks.Convolution` (conv + ``ADN``);
    ``num_kernels >= 1`` returns the same layout, ``Sequential(conv=DynamicConv, adn=ADN)``, with MONAI's
    :class:`~monai.networks.blocks.ADN` in ``"NDA"`` order, so both variants expose ``.conv`` and ``.adn``.
    The convolution has a bias only when ``norm`` is None.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: number of input channels.
        out_channels: number of output channels.
        kernel_size: odd kernel size. Defaults to 3.
        strides: stride. Defaults to 1.
        dilation: dilation. Defaults to 1.
        groups: convolution groups. Defaults to 1.
        num_kernels: 0 for a static convolution, ``K >= 1`` for a dynamic one. Defaults to 0.
        act: activation, name or ``(name, kwargs)``, or None. Defaults to ``"silu"``.
        norm: normalisation, name or ``(name, kwargs)``, or None. Defaults to ``"batch"``.

    Raises:
        ValueError: when ``num_kernels`` < 0, or from :class:`DynamicConv` / ``Convolution``.

    Examples::

        >>> dw = dynamic_convolution(2, 64, 64, groups=64, num_kernels=4)   # dynamic depthwise + BN + SiLU
        >>> static = dynamic_convolution(3, 16, 32, num_kernels=0)           # plain MONAI Convolution
    """
    check_at_least(0, hint="0 = static convolution", num_kernels=num_kernels)
    if num_kernels == 0:
        return conv_norm_act(
            spatial_dims,
            in_channels,
            out_channels,
            kernel_size,
            strides=strides,
            dilation=dilation,
            groups=groups,
            act=act,
            norm=norm,
        )
    conv = DynamicConv(
        spatial_dims,
        in_channels,
        out_channels,
        kernel_size=kernel_size,
        strides=strides,
        dilation=dilation,
        groups=groups,
        num_kernels=num_kernels,
        bias=norm is None,
    )
    if act is None and norm is None:
        return nn.Sequential(OrderedDict([("conv", conv)]))
    adn = ADN(ordering="NDA", in_channels=out_channels, act=act, norm=norm, norm_dim=spatial_dims)
    return nn.Sequential(OrderedDict([("conv", conv), ("adn", adn)]))
