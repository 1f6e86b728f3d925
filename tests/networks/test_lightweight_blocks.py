# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The blocks added for LightAWNet/LACNet (dynamic convolution, two-branch fusion, pad/crop) are correct.

Proves: ``DynamicConv`` equals, sample by sample, a static convolution with that sample's attention-mixed
kernel and bias, and also the attention-weighted mix of the K static convolutions' outputs (so the batched
grouped-conv trick is exact and leaks nothing across the batch), for dense, grouped and depthwise kernels,
strides and dilations, in 1D/2D/3D; its kernel weights are a per-sample softmax that a high temperature
flattens to uniform; ``dynamic_convolution`` returns MONAI's ``Convolution`` when static and the same
``conv``/``adn`` layout when dynamic; ``MBConv(dynamic_kernels=0)`` is unchanged (same modules and
state-dict keys) and ``dynamic_kernels=K`` swaps in a dynamic depthwise conv; ``DualBranchFusion`` keeps or
changes the width as asked, its branch weights are convex per channel, it trains at batch size 1 and its
residual is the identity; ``pad_to_multiple``/``crop_to_size`` pad only the high side, are no-ops on
multiples and round-trip; everything scripts with TorchScript; bad arguments raise ValueError naming the value.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from monai.networks.blocks import Convolution

from monai_lite.networks.blocks import (
    PAD_MODES,
    DualBranchFusion,
    DynamicConv,
    MBConv,
    crop_to_size,
    dynamic_convolution,
    pad_to_multiple,
)
from network_checks import assert_all_parameters_get_gradients, script

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _x(dims: int, channels: int, size: int = 9, batch: int = 3) -> torch.Tensor:
    return torch.randn(batch, channels, *([size] * dims))


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize(
    "cin, cout, groups, strides, dilation, bias",
    [(6, 8, 1, 1, 1, True), (8, 8, 8, 2, 1, False), (8, 4, 2, 1, 2, True)],
)
def test_dynamic_conv_equals_per_sample_static_conv(dims, cin, cout, groups, strides, dilation, bias):
    torch.manual_seed(0)
    conv = DynamicConv(dims, cin, cout, strides=strides, dilation=dilation, groups=groups, num_kernels=3, bias=bias)
    x = _x(dims, cin)
    y = conv(x)
    pi = conv.kernel_attention(x)
    pad = dilation
    for b in range(x.shape[0]):
        w = torch.einsum("k,k...->...", pi[b], conv.weight)
        bb = pi[b] @ conv.bias if bias else None
        ref = CONV[dims](x[b : b + 1], w, bb, strides, pad, dilation, groups)
        assert torch.allclose(y[b : b + 1], ref, atol=1e-5), f"sample {b}: {(y[b:b+1] - ref).abs().max():.2e}"
        # same as running the K static kernels and mixing their outputs
        mix = sum(
            pi[b, k] * CONV[dims](x[b : b + 1], conv.weight[k], conv.bias[k] if bias else None, strides, pad,
                                  dilation, groups)
            for k in range(3)
        )
        assert torch.allclose(y[b : b + 1], mix, atol=1e-5)
    expected = [(s + strides - 1) // strides for s in x.shape[2:]]
    assert list(y.shape) == [3, cout, *expected]


def test_dynamic_conv_attention_is_per_sample_softmax_and_temperature_flattens_it():
    torch.manual_seed(0)
    conv = DynamicConv(2, 8, 8, num_kernels=4)
    nn.init.normal_(conv.attention[2].weight, std=2.0)
    x = torch.randn(4, 8, 6, 6) * torch.arange(1.0, 5.0).reshape(4, 1, 1, 1)
    pi = conv.kernel_attention(x)
    assert pi.shape == (4, 4)
    assert torch.allclose(pi.sum(1), torch.ones(4)) and (pi > 0).all()
    assert not torch.allclose(pi[0], pi[3], atol=1e-3), "attention should depend on the input"
    conv.temperature = 1e6
    assert torch.allclose(conv.kernel_attention(x), torch.full((4, 4), 0.25), atol=1e-4)


def test_dynamic_conv_kernels_are_initialised_independently():
    conv = DynamicConv(2, 4, 4, num_kernels=4)
    assert not torch.equal(conv.weight[0], conv.weight[1])


def test_dynamic_convolution_factory_static_and_dynamic():
    static = dynamic_convolution(2, 8, 16, num_kernels=0)
    dyn = dynamic_convolution(3, 8, 8, groups=8, num_kernels=4, act="relu", norm="batch")
    assert isinstance(static, Convolution)
    assert isinstance(dyn.conv, DynamicConv) and dyn.conv.groups == 8 and dyn.conv.bias is None
    assert isinstance(dyn.adn.N, nn.BatchNorm3d)
    assert dyn(_x(3, 8, 5)).shape == (3, 8, 5, 5, 5)
    bare = dynamic_convolution(1, 4, 4, num_kernels=2, act=None, norm=None)
    assert bare.conv.bias is not None and list(dict(bare.named_children())) == ["conv"]


def test_mbconv_static_default_is_unchanged_and_dynamic_swaps_depthwise():
    torch.manual_seed(0)
    static = MBConv(2, 16, 24, strides=2)
    explicit = MBConv(2, 16, 24, strides=2, dynamic_kernels=0)
    assert list(static.state_dict()) == list(explicit.state_dict())
    assert isinstance(static.block[1], Convolution) and static.block[1].conv.groups == 96
    dyn = MBConv(2, 16, 24, strides=2, dynamic_kernels=4)
    assert isinstance(dyn.block[1].conv, DynamicConv) and dyn.block[1].conv.num_kernels == 4
    assert dyn(_x(2, 16, 11)).shape == static(_x(2, 16, 11)).shape == (3, 24, 6, 6)
    same = MBConv(3, 8, 8, dynamic_kernels=2)
    assert same.use_residual and same(_x(3, 8, 5)).shape == (3, 8, 5, 5, 5)


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_dual_branch_fusion_shapes_and_convex_weights(dims):
    torch.manual_seed(0)
    fuse = DualBranchFusion(dims, 16)
    fuse_wide = DualBranchFusion(dims, 16, 24, dynamic_kernels=3)
    x = _x(dims, 16, 7)
    assert fuse(x).shape == x.shape and fuse.use_residual
    assert fuse_wide(x).shape == (3, 24, *x.shape[2:]) and not fuse_wide.use_residual
    assert isinstance(fuse_wide.detail.conv, DynamicConv) and fuse_wide.context.conv.dilation == 3
    fuse.eval()
    d, s = fuse.detail(x), fuse.context(x)
    a = fuse.branch_weights(d, s)
    assert a.shape == (3, 2, 16) and torch.allclose(a.sum(1), torch.ones(3, 16)) and (a >= 0).all()


def test_dual_branch_fusion_residual_and_batch_one_training():
    torch.manual_seed(0)
    fuse = DualBranchFusion(2, 8, dynamic_kernels=2)
    assert_all_parameters_get_gradients(fuse, torch.randn(1, 8, 5, 5))
    fuse.eval()
    nn.init.zeros_(fuse.project.adn.N.weight)
    nn.init.zeros_(fuse.project.adn.N.bias)
    x = torch.randn(2, 8, 5, 5)
    assert torch.equal(fuse(x), x), "with a zeroed projection the block is the identity (residual)"


@pytest.mark.parametrize("mode", sorted(PAD_MODES))
def test_pad_to_multiple_and_crop(mode):
    x = torch.randn(1, 2, 5, 17, 32)
    padded, size = pad_to_multiple(x, 16, PAD_MODES[mode])
    assert size == [5, 17, 32] and padded.shape == (1, 2, 16, 32, 32)
    assert torch.equal(padded[:, :, :5, :17, :32], x), "only the high side is padded"
    if mode == "replicate":
        assert torch.equal(padded[:, :, 15, :17], x[:, :, 4])
    else:
        assert padded[:, :, 5:].abs().sum() == 0
    assert torch.equal(crop_to_size(padded, size), x)
    same, size2 = pad_to_multiple(padded, 16)
    assert same is padded and crop_to_size(same, size2) is same


def test_pad_crop_script():
    fn = script(pad_to_multiple)
    out, size = fn(torch.randn(1, 1, 7, 9), 4, "replicate")
    assert out.shape == (1, 1, 8, 12) and size == [7, 9]
    assert script(crop_to_size)(out, size).shape == (1, 1, 7, 9)


@pytest.mark.parametrize(
    "factory, match",
    [
        (lambda: DynamicConv(4, 8, 8), "spatial_dims=4"),
        (lambda: DynamicConv(2, 6, 8, groups=4), "groups=4"),
        (lambda: DynamicConv(2, 8, 8, kernel_size=2), "kernel_size=2"),
        (lambda: DynamicConv(2, 8, 8, num_kernels=0), "num_kernels=0"),
        (lambda: DynamicConv(2, 8, 8, temperature=0.0), "temperature=0.0"),
        (lambda: dynamic_convolution(2, 8, 8, num_kernels=-1), "num_kernels=-1"),
        (lambda: MBConv(2, 8, 8, dynamic_kernels=-2), "dynamic_kernels=-2"),
        (lambda: DualBranchFusion(2, 8, context_dilation=0), "context_dilation=0"),
        (lambda: DualBranchFusion(2, 0), "in_channels=0"),
        (lambda: DualBranchFusion(2, 8, dropout=1.0), "dropout=1.0"),
        (lambda: DualBranchFusion(5, 8), "spatial_dims=5"),
    ],
)
def test_invalid_arguments(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


@pytest.mark.parametrize(
    "factory, shape",
    [
        (lambda: DynamicConv(2, 8, 8, groups=8, bias=True), (2, 8, 6, 6)),
        (lambda: DynamicConv(3, 4, 6, strides=2), (2, 4, 5, 5, 5)),
        (lambda: DynamicConv(1, 4, 4), (2, 4, 9)),
        (lambda: MBConv(2, 8, 8, dynamic_kernels=4), (2, 8, 6, 6)),
        (lambda: DualBranchFusion(3, 8, 12, dynamic_kernels=2), (2, 8, 4, 4, 4)),
    ],
)
def test_blocks_script(factory, shape):
    torch.manual_seed(0)
    block = factory().eval()
    x = torch.randn(*shape)
    scripted = script(block)
    with torch.no_grad():
        assert torch.allclose(scripted(x), block(x), atol=1e-6)
