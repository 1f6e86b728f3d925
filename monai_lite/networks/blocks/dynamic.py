# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Dynamic convolution as LightAWNet uses it: a bank of ``K`` kernels mixed per sample by sigmoid routing weights."""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
from monai.networks.layers.factories import Conv, Norm

from monai_lite.networks.blocks.memory_format import fast_conv_layout
from monai_lite.networks.blocks.validation import check_at_least, check_multiple_of, check_odd, check_spatial_dims

__all__ = ["DynamicConv", "dynamic_conv_norm"]


class DynamicConv(nn.Module):
    """Convolution whose kernel is a per-sample, routing-weighted sum of ``num_kernels`` learned kernels.

    Yang, Bender, Le and Ngiam, "CondConv: Conditionally Parameterized Convolutions for Efficient Inference",
    NeurIPS 2019, https://arxiv.org/abs/1904.04971, in the form of LightAWNet's released implementation
    (Wang et al., J Appl Clin Med Phys 2024)::

        r(x) = sigmoid(Linear(GAP(x)))                  (B, K), each weight in (0, 1) on its own
        W(x) = sum_k r_k(x) W_k
        y    = W(x) * x                                  stride ``strides``, "same" padding

    The routing is a ``1 x 1`` convolution ``in_channels -> K`` (with bias) on the globally average-pooled input,
    written as an ``nn.Linear`` on the pooled vector (the same parameters). Sigmoid, not softmax: the ``K`` weights
    do not compete, so the mixed kernel's scale varies with the input too (CondConv's choice; Chen et al.'s
    "Dynamic Convolution" uses a softmax). The bank is initialised from a standard normal distribution, as in the
    release; a batch norm follows the convolution in every use (:func:`dynamic_conv_norm`), so the scale of the
    initial kernels does not reach the next layer.

    Speed: the ``B`` mixed kernels come from one matrix product, and the batch runs as ONE grouped convolution
    (the batch folded into the channel axis, ``groups = B * groups``), no loop over samples; the cost over a static
    convolution is the routing and the mixing. 3D activations are made channels-last first
    (:func:`~monai_lite.networks.blocks.fast_conv_layout`): PyTorch's CPU backward of a grouped ``conv3d`` on the
    default layout is a slow fallback kernel, on channels-last oneDNN runs it.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: number of input channels.
        out_channels: number of output channels.
        kernel_size: odd kernel size. Defaults to 3.
        num_kernels: number ``K`` of kernels in the bank. Defaults to 4 (LightAWNet).
        strides: stride. Defaults to 1.
        dilation: dilation. Defaults to 1.
        groups: convolution groups (``groups == in_channels == out_channels``: a dynamic depthwise convolution).
            Defaults to 1.

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3, a channel count is not positive or not divisible by
            ``groups``, ``kernel_size`` is even, or ``num_kernels``/``strides``/``dilation`` < 1.

    Examples::

        >>> conv = DynamicConv(2, 32, 64)                      # (B, 32, H, W) -> (B, 64, H, W), 4 kernels
        >>> conv(torch.randn(2, 32, 16, 16)).shape
        torch.Size([2, 64, 16, 16])
        >>> DynamicConv(3, 8, 8, groups=8, strides=2)(torch.randn(2, 8, 9, 16, 16)).shape
        torch.Size([2, 8, 5, 8, 8])
    """

    __constants__ = ["spatial_dims", "in_channels", "out_channels", "groups", "stride", "padding", "dilation"]

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        num_kernels: int = 4,
        strides: int = 1,
        dilation: int = 1,
        groups: int = 1,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        check_multiple_of("groups", groups, in_channels=in_channels, out_channels=out_channels)
        check_odd(kernel_size=kernel_size)
        check_at_least(1, num_kernels=num_kernels, strides=strides, dilation=dilation)
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_kernels = num_kernels
        self.groups = groups
        self.stride = strides
        self.padding = dilation * (kernel_size - 1) // 2
        self.dilation = dilation
        self.routing = nn.Linear(in_channels, num_kernels)
        shape = [num_kernels, out_channels, in_channels // groups] + [kernel_size] * spatial_dims
        self.weight = nn.Parameter(torch.randn(shape))
        # No bias, as in the release; a static one appears only when a following batch norm is folded in
        # (fold_batch_norm), so checkpoints keep the release's state_dict keys.
        self.register_parameter("bias", None)

    def kernel_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample routing weights ``(B, num_kernels)``, each in (0, 1), for ``x`` ``(B, C, *spatial)``."""
        return torch.sigmoid(self.routing(x.flatten(2).mean(dim=2)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, *spatial)`` -> ``(B, out_channels, *ceil(spatial / strides))``."""
        b = x.shape[0]
        weight = torch.mm(self.kernel_weights(x), self.weight.flatten(1))  # (B, out * in/g * k^d): all mixes at once
        weight = weight.reshape([b * self.out_channels] + list(self.weight.shape[2:]))
        x = _batch_into_channels(fast_conv_layout(x))
        groups = b * self.groups
        bias = None if self.bias is None else self.bias.repeat(b)  # one copy per sample of the folded batch
        if self.spatial_dims == 1:
            y = F.conv1d(x, weight, bias, self.stride, self.padding, self.dilation, groups)
        elif self.spatial_dims == 2:
            y = F.conv2d(x, weight, bias, self.stride, self.padding, self.dilation, groups)
        else:
            y = F.conv3d(x, weight, bias, self.stride, self.padding, self.dilation, groups)
        return _channels_into_batch(y, b)

    @torch.no_grad()
    def fold_batch_norm(self, norm: nn.modules.batchnorm._BatchNorm) -> None:
        """Fold an eval-mode batch norm that follows this convolution into it (inference only), in place.

        The norm is a per-channel affine map ``y -> s * y + t`` with ``s = gamma / sqrt(var + eps)`` and
        ``t = beta - mean * s``. Because the mixed kernel is linear in the bank, ``s * (sum_k r_k W_k) * x =
        (sum_k r_k (s W_k)) * x``: scaling every kernel of the bank by ``s`` folds the scale whatever the routing
        weights are (they need not sum to 1, sigmoid routing does not), and ``t`` becomes a static bias. The
        routing sees the input, not the kernels, so it is unchanged.

        Args:
            norm: the batch norm (running statistics tracked, ``num_features == out_channels``).

        Raises:
            ValueError: when the norm does not track running statistics or has another number of channels.
        """
        if not norm.track_running_stats or norm.running_mean is None or norm.num_features != self.out_channels:
            raise ValueError(
                f"cannot fold a batch norm of {norm.num_features} channels without running statistics into a "
                f"DynamicConv of {self.out_channels} output channels."
            )
        scale = torch.rsqrt(norm.running_var + norm.eps)
        if norm.weight is not None:
            scale = scale * norm.weight
        shift = -norm.running_mean * scale
        if norm.bias is not None:
            shift = shift + norm.bias
        if self.bias is not None:
            shift = shift + self.bias * scale
        view = [1, -1] + [1] * (self.weight.dim() - 2)
        self.weight.copy_(self.weight * scale.view(view))
        self.bias = nn.Parameter(shift.detach().clone())


def _channels_last_3d(x: torch.Tensor) -> bool:
    """``x`` is a 5D channels-last tensor (and the layout may be used: not while tracing, see fast_conv_layout)."""
    return x.dim() == 5 and not torch.jit.is_tracing() and x.is_contiguous(memory_format=torch.channels_last_3d)


def _batch_into_channels(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, *S)`` -> ``(1, B * C, *S)`` (sample-major channels), keeping a channels-last 5D layout.

    On the default layout this is a free view. A channels-last ``x`` is stored ``(B, *S, C)``; the grouped
    convolution wants ``(*S, B * C)``, one transposing copy (a plain ``reshape`` would copy to the default layout
    and ``fast_conv_layout`` copy back again, twice the memory traffic).
    """
    b, c = x.shape[0], x.shape[1]
    if _channels_last_3d(x):
        d, h, w = x.shape[2], x.shape[3], x.shape[4]
        return x.permute(2, 3, 4, 0, 1).reshape(d, h, w, b * c).permute(3, 0, 1, 2).unsqueeze(0)
    return x.reshape([1, b * c] + list(x.shape[2:]))


def _channels_into_batch(y: torch.Tensor, b: int) -> torch.Tensor:
    """The inverse of :func:`_batch_into_channels`: ``(1, B * C, *S)`` -> ``(B, C, *S)``, channels-last kept."""
    c = y.shape[1] // b
    if _channels_last_3d(y):
        d, h, w = y.shape[2], y.shape[3], y.shape[4]
        out = y[0].permute(1, 2, 3, 0).reshape(d, h, w, b, c).permute(3, 0, 1, 2, 4).contiguous()
        return out.permute(0, 4, 1, 2, 3)
    return fast_conv_layout(y.reshape([b, c] + list(y.shape[2:])))

def dynamic_conv_norm(
    spatial_dims: int,
    in_channels: int,
    out_channels: int,
    kernel_size: int = 3,
    num_kernels: int = 4,
    norm_eps: float = 1e-6,
) -> nn.Sequential:
    """LightAWNet's "weight" convolution: ``Sequential(conv, norm)``, a :class:`DynamicConv` then a batch norm.

    ``num_kernels == 0`` gives the static counterpart, a plain ``kernel_size`` convolution without bias of the same
    shape (the dynamic-convolution ablation). :func:`~monai_lite.networks.prepare_for_inference` folds the batch norm
    of either form (the dynamic one through :meth:`DynamicConv.fold_batch_norm`). No activation, as in the release.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: number of input channels.
        out_channels: number of output channels.
        kernel_size: odd kernel size, "same" padding. Defaults to 3.
        num_kernels: ``K >= 1`` for a dynamic convolution with ``K`` kernels, 0 for a static one. Defaults to 4.
        norm_eps: the batch norm's epsilon. Defaults to 1e-6 (the release's).

    Raises:
        ValueError: when ``num_kernels`` < 0, or from :class:`DynamicConv`.

    Examples::

        >>> dynamic_conv_norm(2, 16, 32)(torch.randn(2, 16, 8, 8)).shape
        torch.Size([2, 32, 8, 8])
        >>> type(dynamic_conv_norm(3, 16, 32, num_kernels=0).conv).__name__
        'Conv3d'
    """
    check_at_least(0, hint="0 = static convolution", num_kernels=num_kernels)
    conv: nn.Module
    if num_kernels == 0:
        check_odd(kernel_size=kernel_size)
        conv = Conv[Conv.CONV, spatial_dims](in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)
    else:
        conv = DynamicConv(spatial_dims, in_channels, out_channels, kernel_size, num_kernels=num_kernels)
    norm = Norm[Norm.BATCH, spatial_dims](out_channels, eps=norm_eps)
    return nn.Sequential(OrderedDict([("conv", conv), ("norm", norm)]))
