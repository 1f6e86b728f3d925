# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""LightAWNet as its authors released it: inverted-bottleneck encoder blocks with a spatial gate, two cross-gated
branches, SAGAN self-attention, a lightweight up-sampling decoder with SE channel attention, dynamic convolutions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from monai.networks.blocks import Convolution
from monai.networks.layers.factories import Conv, Norm, Pool

from monai_lite.networks.blocks import PAD_MODES, crop_to_size, dynamic_conv_norm, fast_conv_layout, pad_to_multiple
from monai_lite.networks.blocks.factories import linear_interp_mode
from monai_lite.networks.blocks.validation import check_at_least, check_odd, check_segmentation_network, check_widths
from monai_lite.networks.registry import register_network

__all__ = ["LightAWNet"]

#: LightAWNet's total stride: four 2x poolings on the spatial branch (1/16 at the self-attention).
_DIVISOR = 16


def _pointwise(spatial_dims: int, in_channels: int, out_channels: int) -> nn.Module:
    """A ``1 x 1`` convolution with bias (the release's "1x1")."""
    return Conv[Conv.CONV, spatial_dims](in_channels, out_channels, kernel_size=1)


def _pointwise_norm_act(spatial_dims: int, in_channels: int, out_channels: int) -> Convolution:
    """``LReLU(BN(1x1(a -> b)))``, the conv keeping its bias as in the release (MONAI ``Convolution``, "NDA")."""
    return Convolution(
        spatial_dims,
        in_channels,
        out_channels,
        kernel_size=1,
        act=("leakyrelu", {"negative_slope": 0.01}),
        norm=Norm.BATCH,
        bias=True,
    )


def _resize(x: torch.Tensor, like: torch.Tensor, mode: str) -> torch.Tensor:
    """``x`` linearly resized to the spatial size of ``like`` (align_corners, as the release's cross-gates)."""
    return F.interpolate(x, size=like.shape[2:], mode=mode, align_corners=True)


class _EncoderBlock(nn.Module):
    """``Block(c_in, c_out)``: depthwise ``k^d`` conv, 1x1 expansion + BN + LReLU, one-channel spatial gate,
    ``concat(a, gated a)`` -> 1x1 back to ``c_in`` + the block input, then the dynamic 3x3 conv ``c_in -> c_out``.

    Without the spatial gate (``spatial_gate=False``) the gate conv is absent and the projection reads ``a`` alone
    (``4 c_in -> c_in`` instead of ``8 c_in -> c_in``).
    """

    __constants__ = ["use_gate"]

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        expansion: int,
        depthwise_kernel_size: int,
        num_kernels: int,
        spatial_gate: bool,
    ) -> None:
        super().__init__()
        conv = Conv[Conv.CONV, spatial_dims]
        hidden = expansion * in_channels
        self.use_gate = spatial_gate
        self.depthwise = conv(
            in_channels, in_channels, depthwise_kernel_size, padding=depthwise_kernel_size // 2, groups=in_channels
        )
        self.expand = _pointwise_norm_act(spatial_dims, in_channels, hidden)
        self.gate: nn.Module = _pointwise(spatial_dims, hidden, 1) if spatial_gate else nn.Identity()
        self.project = _pointwise(spatial_dims, 2 * hidden if spatial_gate else hidden, in_channels)
        self.conv = dynamic_conv_norm(spatial_dims, in_channels, out_channels, 3, num_kernels=num_kernels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # a 1-channel input (the first Block) leaves oneDNN free to answer in the default layout: force 3D
        # activations back to channels-last (a no-op otherwise)
        a = fast_conv_layout(self.expand(self.depthwise(x)))
        if self.use_gate:
            a = torch.cat([a, a * torch.sigmoid(self.gate(a))], dim=1)
        return self.conv(self.project(a) + x)


class _TwoBranches(nn.Module):
    """Levels 1/8 and 1/16: the spatial branch A (encoder blocks, pooled to 1/16) and the detail branch B (1x1
    convs, at 1/8), each gating the other twice (``cross_gates``); returns A's 1/16 features for the
    self-attention and B's 1/8 features (1x1 to the first decoder width) for the first skip."""

    __constants__ = ["cross_gates", "interp_mode"]

    def __init__(self, spatial_dims: int, channels: Sequence[int], block_args: dict, cross_gates: bool) -> None:
        super().__init__()
        c3, c4, c5 = channels[2], channels[3], channels[4]
        self.cross_gates = cross_gates
        self.interp_mode = linear_interp_mode(spatial_dims)
        self.pool = Pool[Pool.MAX, spatial_dims](kernel_size=2)
        self.spatial4 = _EncoderBlock(spatial_dims, c3, c4, **block_args)
        self.spatial5 = _EncoderBlock(spatial_dims, c4, c5, **block_args)
        self.detail4 = _pointwise(spatial_dims, c3, c4)
        self.detail5 = _pointwise(spatial_dims, c4, c5)
        self.detail_skip = _pointwise(spatial_dims, c5, c4)

    def forward(self, d: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        a4, b4 = self.spatial4(d), self.detail4(d)
        a4b = self.pool(a4)
        if self.cross_gates:
            a4b = a4b * torch.sigmoid(_resize(b4, a4b, self.interp_mode))
            b4 = torch.sigmoid(a4) * b4
        a5, b5 = self.spatial5(a4b), self.detail5(b4)
        if self.cross_gates:
            a5, b5 = a5 * torch.sigmoid(_resize(b5, a5, self.interp_mode)), b5 * torch.sigmoid(_resize(a5, b5, self.interp_mode))
        return a5, self.detail_skip(b5)


class _SpatialBranchOnly(nn.Module):
    """The two-branch ablation: branch A alone (same blocks, same keys); its 1/8 output is the first skip."""

    def __init__(self, spatial_dims: int, channels: Sequence[int], block_args: dict) -> None:
        super().__init__()
        self.pool = Pool[Pool.MAX, spatial_dims](kernel_size=2)
        self.spatial4 = _EncoderBlock(spatial_dims, channels[2], channels[3], **block_args)
        self.spatial5 = _EncoderBlock(spatial_dims, channels[3], channels[4], **block_args)

    def forward(self, d: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        a4 = self.spatial4(d)
        return self.spatial5(self.pool(a4)), a4


class _SelfAttention(nn.Module):
    """SAGAN self-attention (Zhang et al., ICML 2019, https://arxiv.org/abs/1805.08318): query/key 1x1 convs to
    ``C / reduction``, value 1x1 conv ``C -> C``, softmax over key positions (no ``1/sqrt(d)`` scaling),
    ``gamma * attention + x`` with a learnable scalar ``gamma`` that starts at 0 (the block starts as identity).

    Computed by :func:`torch.nn.functional.scaled_dot_product_attention` with ``scale=1``, query and key
    zero-padded to ``C`` channels (same dot products): the same numbers, but PyTorch's fused kernel does not
    materialise the ``N x N`` attention matrix, so memory grows linearly with the ``N`` positions (what matters in
    3D, where ``N`` is the volume over ``16^3``).
    """

    __constants__ = ["inner"]

    def __init__(self, spatial_dims: int, channels: int, reduction: int) -> None:
        super().__init__()
        inner = max(channels // reduction, 1)
        self.inner = inner
        self.query = _pointwise(spatial_dims, channels, inner)
        self.key = _pointwise(spatial_dims, channels, inner)
        self.value = _pointwise(spatial_dims, channels, channels)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, 1, N, C): one "head", the 4D layout every SDPA exporter accepts. Query and key are zero-padded
        # from C/r to C channels: q.k is unchanged, and with equal widths PyTorch takes its fused (flash)
        # kernel instead of the one that materialises the N x N matrix (also faster on CPU, measured); that kernel
        # also wants the channel axis contiguous (already so for channels-last 3D activations)
        width = x.shape[1]
        q = F.pad(self.query(x).flatten(2), [0, 0, 0, width - self.inner]).transpose(1, 2).unsqueeze(1).contiguous()
        k = F.pad(self.key(x).flatten(2), [0, 0, 0, width - self.inner]).transpose(1, 2).unsqueeze(1).contiguous()
        v = self.value(x).flatten(2).transpose(1, 2).unsqueeze(1).contiguous()
        out = F.scaled_dot_product_attention(q, k, v, scale=1.0).squeeze(1)  # (B, N, C)
        return self.gamma * out.transpose(1, 2).reshape(x.shape) + x


class _SqueezeExcitation(nn.Module):
    """SE channel attention (Hu et al., CVPR 2018): GAP -> Linear ``C -> C/r`` -> ReLU -> Linear ``C/r -> C``
    (no biases, as in the release) -> sigmoid, multiplying the channels."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.fc = nn.Sequential(
            nn.Linear(channels, hidden, bias=False), nn.ReLU(), nn.Linear(hidden, channels, bias=False), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.fc(x.flatten(2).mean(dim=2))
        return x * w.reshape(w.shape + (1,) * (x.dim() - 2))


class _DecoderBlock(nn.Module):
    """``De(c_in -> c_out)``: 1x1 + BN + LReLU at the coarse size, linear x2 up-sampling (no transposed conv),
    SE channel attention, **add** the skip, dynamic 3x3 conv ``c_out -> c_out`` (+ BN), optional dropout."""

    __constants__ = ["interp_mode"]

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        num_kernels: int,
        channel_attention: bool,
        se_reduction: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.interp_mode = linear_interp_mode(spatial_dims)
        self.reduce = _pointwise_norm_act(spatial_dims, in_channels, out_channels)
        self.channel_attention: nn.Module = (
            _SqueezeExcitation(out_channels, se_reduction) if channel_attention else nn.Identity()
        )
        self.conv = dynamic_conv_norm(spatial_dims, out_channels, out_channels, 3, num_kernels=num_kernels)
        self.dropout: nn.Module = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        # the 1x1 before the x2: the pointwise conv then runs on 1/2^d of the positions (both are linear maps
        # per position, the order only changes the cost and where the BN/LReLU sit)
        h = F.interpolate(self.reduce(x), size=skip.shape[2:], mode=self.interp_mode, align_corners=False)
        return self.dropout(self.conv(self.channel_attention(h) + skip))


@register_network("lightawnet")
class LightAWNet(nn.Module):
    """LightAWNet, the lightweight adaptive-weighting network built on dynamic convolutions, in 2D and 3D.

    Wang, Yu, Zhang, Huang, Shen and Xia, "LightAWNet: Lightweight adaptive weighting network based on dynamic
    convolutions for medical image segmentation", J Appl Clin Med Phys 26(3), 2025 (online 2024),
    https://doi.org/10.1002/acm2.14584. Only the abstract is published as text; the architecture follows the
    authors' released implementation, as recorded in ``../shared/seeds/lightawnet-reference.md`` (our own
    code, written from that description). In 2D with one input and one output channel it has **2,838,179**
    parameters, the paper's 2.83 M. Layout (``channels = (16, 32, 64, 128, 256)``, scale w.r.t. the input)::

        x1 = Block(in, 16)(x)                           16 @ 1      encoder: Blocks, 2x max pooling between
        x2 = Block(16, 32)(pool x1)                     32 @ 1/2
        x3 = Block(32, 64)(pool x2)                     64 @ 1/4
        d  = pool x3                                    64 @ 1/8
        branch A (spatial): a4 = Block(64, 128)(d)                      128 @ 1/8
        branch B (detail):  b4 = 1x1(64 -> 128)(d)                      128 @ 1/8
        cross-gate 1:  a4 <- pool(a4) * sigmoid(resize b4),  b4 <- sigmoid(a4) * b4
        branch A: a5 = Block(128, 256)(a4)  @ 1/16;   branch B: b5 = 1x1(128 -> 256)(b4) @ 1/8
        cross-gate 2:  a5 * sigmoid(resize b5),  b5 * sigmoid(resize a5)
        c = SelfAttention(256)(a5) @ 1/16;  s = 1x1(256 -> 128)(b5) @ 1/8
        decoder: De(256 -> 128)(c, skip s), De(128 -> 64)(., x3), De(64 -> 32)(., x2), De(32 -> 16)(., x1)
        logits = dynamic 3x3 conv 16 -> out_channels, + BN

    - ``Block(c_in, c_out)``, the "inverted bottleneck encoder block optimised by spatial attention": depthwise
      ``7^d`` conv (bias) -> ``a = LReLU(BN(1x1(c_in -> 4 c_in)))`` -> one-channel spatial gate
      ``g = sigmoid(1x1(4 c_in -> 1)(a))`` -> ``1x1(concat(a, a * g) -> c_in)`` + the block input (residual)
      -> dynamic 3x3 conv ``c_in -> c_out`` + BN.
    - Dynamic convolution (the "adaptive weighting", :class:`~monai_lite.networks.blocks.DynamicConv`): a bank of
      ``num_kernels`` = 4 kernels mixed per sample by sigmoid routing weights from the pooled input, followed by
      ``BN(eps=1e-6)``; it is every 3x3 conv of the network (the end of each Block and decoder block, the
      output). The batch runs as one grouped convolution.
    - Two branches (the paper's "two-branch strategy ... detailed and spatial features"): the cross-gates above;
      A reaches the decoder through the self-attention, B as the first skip.
    - Self-attention: SAGAN, query/key ``C -> C/8``, value ``C -> C``, ``gamma`` initialised to 0.
    - ``De(c_in -> c_out)``, the "lightweight up-sampling" with "channel attention in the decoder":
      ``LReLU(BN(1x1(c_in -> c_out)))``, linear x2, SE (``C -> C/8 -> C``, no biases), add the skip, dynamic
      3x3 conv + BN.

    Where this class differs from the release, and why:

    - Raw logits are returned (the release ends with a sigmoid and trains with ``BCELoss``): monai-lite bundles
      apply the activation in their loss and post-processing (``BCEWithLogits``/``DiceCE`` is the numerically
      stable form of the same objective). ``out_channels >= 2`` gives a softmax head for multi-class tasks.
    - Any input size: the input is padded on the high side of each axis to a multiple of 16 (``padding_mode``)
      and the logits are cropped back (the release requires sizes divisible by 16).
    - Linear interpolation: ``align_corners=True`` in both cross-gates (the reference states it for the second;
      we use it for the first too), ``align_corners=False`` (PyTorch's default) for the decoder's x2.
    - ``dropout`` (default 0, the release has none) after each decoder block, for small data sets.
    - The SE and attention hidden widths are ``max(C // reduction, 1)`` so narrow custom widths still build.

    3D (``spatial_dims=3``) keeps the same structure, with these choices:

    - Depthwise kernel ``7^3`` by default (``depthwise_kernel_size``): the same receptive field per Block as in
      2D. It costs 343 weights per channel instead of 49 (about 200,000 more weights in total) and, being
      depthwise, a small share of the MACs; ``depthwise_kernel_size=5`` (or 3) trades receptive field for speed.
    - Max pooling, "same"-padded convs and linear interpolation are their 3D counterparts (trilinear).
    - The self-attention runs where the release puts it, at 1/16, i.e. on ``V / 4096`` positions of a volume
      of ``V`` voxels (12 for the 32 x 48 x 32 training patch of the hippocampus bundle, 64 for ``64^3``), and
      through PyTorch's fused (flash) scaled-dot-product attention, so its memory grows linearly, not
      quadratically, with the positions; sliding-window inference bounds ``V`` by the patch size in any case. Its time grows as
      ``N^2``: at 1/16 that stays negligible up to ``256^3`` inputs (4096 positions).
    - 3D activations run channels-last (:func:`~monai_lite.networks.blocks.fast_conv_layout`), where PyTorch's
      CPU backward of the grouped (per-sample dynamic) and depthwise ``conv3d`` uses oneDNN instead of a slow
      fallback.
    - The parameter count grows with the kernels' volume (``3^3`` dynamic kernels instead of ``3^2``): about
      7.6 M parameters at 1 -> 3 channels (7,614,957).

    Ablation switches (each removes one component of the paper; the rest is unchanged):

    - ``dynamic_conv=False``: every dynamic conv becomes a static 3x3 conv without bias (+ the same BN), i.e. one
      kernel instead of four and no routing.
    - ``use_spatial_gate=False``: no spatial gate in the Blocks; the projection reads ``a`` alone
      (``4 c_in -> c_in``).
    - ``use_channel_attention=False``: no SE in the decoder blocks.
    - ``use_two_branch=False``: no detail branch B (its three 1x1 convs) and no cross-gates; branch A's 1/8
      output ``a4`` is the first skip, as in a plain U-Net.
    - ``use_cross_gates=False``: both branches kept, the four sigmoid cross-gates skipped (parameter-free: it
      changes the computation, not the weights).
    - ``use_self_attention=False``: no self-attention at the bottleneck.

    Args:
        spatial_dims: number of spatial dimensions, 2 or 3. Defaults to 2.
        in_channels: number of input channels. Defaults to 1 (the release trains on single-channel images).
        out_channels: number of output channels; 1 for a binary task (apply a sigmoid), >= 2 for
            ``out_channels`` mutually exclusive classes (apply a softmax over dim 1). Defaults to 1.
        channels: the five widths: Blocks at 1, 1/2, 1/4, then branch A's Blocks (and branch B's 1x1s) at 1/8 and
            1/16; the decoder mirrors them. Defaults to (16, 32, 64, 128, 256).
        expansion: expansion factor of the Blocks. Defaults to 4.
        depthwise_kernel_size: odd kernel size of the Blocks' depthwise convolution. Defaults to 7.
        num_kernels: kernels ``K`` in each dynamic convolution's bank. Defaults to 4.
        attention_reduction: query/key width ``C // attention_reduction`` of the self-attention. Defaults to 8.
        se_reduction: hidden width ``C // se_reduction`` of the SE channel attention. Defaults to 8.
        padding_mode: how inputs are padded to a multiple of 16, ``"replicate"`` or ``"zeros"``.
            Defaults to ``"replicate"``.
        dropout: dropout probability after each decoder block. Defaults to 0.0.
        dynamic_conv: dynamic (True) or static (False) 3x3 convolutions. Defaults to True.
        use_spatial_gate: the Blocks' spatial gate. Defaults to True.
        use_channel_attention: SE channel attention in the decoder. Defaults to True.
        use_two_branch: the detail branch and the cross-gates. Defaults to True.
        use_cross_gates: the cross-gates between the branches (ignored without the second branch).
            Defaults to True.
        use_self_attention: the self-attention at the bottleneck. Defaults to True.

    Raises:
        ValueError: when ``spatial_dims`` is not 2 or 3, a channel count is not positive, ``channels`` does not
            hold five widths, ``expansion``/``num_kernels``/``attention_reduction``/``se_reduction`` < 1,
            ``depthwise_kernel_size`` is not a positive odd number, ``padding_mode`` is unknown or ``dropout``
            is not in [0, 1).

    Examples::

        >>> net = LightAWNet(spatial_dims=2, in_channels=1, out_channels=1)     # 2,838,179 parameters
        >>> net(torch.randn(2, 1, 256, 256)).shape
        torch.Size([2, 1, 256, 256])
        >>> net3d = LightAWNet(spatial_dims=3, in_channels=1, out_channels=3)
        >>> net3d(torch.randn(1, 1, 35, 51, 37)).shape                          # padded internally, cropped back
        torch.Size([1, 3, 35, 51, 37])
        >>> static = LightAWNet(dynamic_conv=False, use_self_attention=False)  # an ablation

    See Also:
        :class:`~monai_lite.networks.blocks.DynamicConv`, :func:`~monai_lite.networks.blocks.dynamic_conv_norm`.
    """

    __constants__ = ["spatial_dims", "divisor", "pad_mode"]

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 1,
        out_channels: int = 1,
        channels: Sequence[int] = (16, 32, 64, 128, 256),
        expansion: int = 4,
        depthwise_kernel_size: int = 7,
        num_kernels: int = 4,
        attention_reduction: int = 8,
        se_reduction: int = 8,
        padding_mode: str = "replicate",
        dropout: float = 0.0,
        dynamic_conv: bool = True,
        use_spatial_gate: bool = True,
        use_channel_attention: bool = True,
        use_two_branch: bool = True,
        use_cross_gates: bool = True,
        use_self_attention: bool = True,
    ) -> None:
        super().__init__()
        channels = tuple(int(c) for c in channels)
        check_segmentation_network(spatial_dims, in_channels, out_channels, padding_mode, dropout)
        check_widths("channels", channels)
        if len(channels) != 5:
            raise ValueError(
                f"channels={channels}: LightAWNet needs exactly five widths "
                "(three encoder levels, then the two branch levels)."
            )
        check_at_least(
            1,
            expansion=expansion,
            num_kernels=num_kernels,
            attention_reduction=attention_reduction,
            se_reduction=se_reduction,
        )
        check_odd(depthwise_kernel_size=depthwise_kernel_size)
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.channels = channels
        self.divisor = _DIVISOR
        self.pad_mode = PAD_MODES[padding_mode]
        self.dynamic_conv = dynamic_conv
        self.use_spatial_gate = use_spatial_gate
        self.use_channel_attention = use_channel_attention
        self.use_two_branch = use_two_branch
        self.use_cross_gates = use_cross_gates and use_two_branch
        self.use_self_attention = use_self_attention
        kernels = num_kernels if dynamic_conv else 0
        block_args = {
            "expansion": expansion,
            "depthwise_kernel_size": depthwise_kernel_size,
            "num_kernels": kernels,
            "spatial_gate": use_spatial_gate,
        }

        self.pool = Pool[Pool.MAX, spatial_dims](kernel_size=2)
        self.encoder = nn.ModuleList()
        prev = in_channels
        for width in channels[:3]:
            self.encoder.append(_EncoderBlock(spatial_dims, prev, width, **block_args))
            prev = width
        self.branches: nn.Module = (
            _TwoBranches(spatial_dims, channels, block_args, cross_gates=use_cross_gates)
            if use_two_branch
            else _SpatialBranchOnly(spatial_dims, channels, block_args)
        )
        self.self_attention: nn.Module = (
            _SelfAttention(spatial_dims, channels[4], attention_reduction) if use_self_attention else nn.Identity()
        )
        self.decoder = nn.ModuleList(
            _DecoderBlock(spatial_dims, c_in, c_out, kernels, use_channel_attention, se_reduction, dropout)
            for c_in, c_out in zip(channels[:0:-1], channels[-2::-1])
        )
        self.head = dynamic_conv_norm(spatial_dims, channels[0], out_channels, 3, num_kernels=kernels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Segment ``x`` ``(B, in_channels, *spatial)`` (any size); returns raw logits ``(B, out_channels, *spatial)``."""
        x, size = pad_to_multiple(x, self.divisor, self.pad_mode)
        h = fast_conv_layout(x)
        skips: List[torch.Tensor] = []
        for i, block in enumerate(self.encoder):
            h = block(h if i == 0 else self.pool(h))
            skips.append(h)
        h, skip = self.branches(self.pool(h))
        h = self.self_attention(h)
        skips.append(skip)
        for i, block in enumerate(self.decoder):
            h = block(h, skips[len(skips) - 1 - i])
        return crop_to_size(self.head(h), size)
