# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The blocks added for LightAWNet/LACNet (dynamic convolution, pad/crop) are correct.

Proves: ``DynamicConv`` equals, sample by sample, a static convolution with that sample's routing-mixed
kernel, and also the routing-weighted sum of the K static convolutions' outputs (so the batched grouped-conv
trick is exact and leaks nothing across the batch), for dense, grouped and depthwise kernels, strides and
dilations, in 1D/2D/3D, on the default and the channels-last 3D layout (which it keeps); its routing weights are
per-sample sigmoids (independent, not a softmax); ``dynamic_conv_norm`` is ``conv`` + batch norm with the
release's epsilon, static (a plain bias-free conv of the same shape) with ``num_kernels=0``;
``pad_to_multiple``/``crop_to_size`` pad only the high side, are no-ops on multiples and round-trip; everything
scripts with TorchScript; bad arguments raise ValueError naming the value.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from monai_lite.networks.blocks import PAD_MODES, DynamicConv, crop_to_size, dynamic_conv_norm, pad_to_multiple
from network_checks import script

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _x(dims: int, channels: int, size: int = 9, batch: int = 3) -> torch.Tensor:
    return torch.randn(batch, channels, *([size] * dims))


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize(
    "cin, cout, groups, strides, dilation",
    [(6, 8, 1, 1, 1), (8, 8, 8, 2, 1), (8, 4, 2, 1, 2)],
)
def test_dynamic_conv_equals_per_sample_static_conv(dims, cin, cout, groups, strides, dilation):
    torch.manual_seed(0)
    conv = DynamicConv(dims, cin, cout, strides=strides, dilation=dilation, groups=groups, num_kernels=3)
    x = _x(dims, cin)
    layouts = [x, x.contiguous(memory_format=torch.channels_last_3d)] if dims == 3 else [x]
    r = conv.kernel_weights(x)
    for x_in in layouts:
        y = conv(x_in)
        if dims == 3:
            assert y.is_contiguous(memory_format=torch.channels_last_3d), "3D output should be channels-last"
        for b in range(x.shape[0]):
            w = torch.einsum("k,k...->...", r[b], conv.weight)
            ref = CONV[dims](x[b : b + 1], w, None, strides, dilation, dilation, groups)
            assert torch.allclose(y[b : b + 1], ref, atol=1e-4), f"sample {b}: {(y[b:b+1] - ref).abs().max():.2e}"
            # same as running the K static kernels and mixing their outputs
            mix = sum(
                r[b, k] * CONV[dims](x[b : b + 1], conv.weight[k], None, strides, dilation, dilation, groups)
                for k in range(3)
            )
            assert torch.allclose(y[b : b + 1], mix, atol=1e-4)
        expected = [(s + strides - 1) // strides for s in x.shape[2:]]
        assert list(y.shape) == [3, cout, *expected]


def test_dynamic_conv_routing_is_per_sample_sigmoid():
    torch.manual_seed(0)
    conv = DynamicConv(2, 8, 8, num_kernels=4)
    assert isinstance(conv.routing, nn.Linear) and conv.routing.out_features == 4 and conv.routing.bias is not None
    nn.init.normal_(conv.routing.weight, std=2.0)
    x = torch.randn(4, 8, 6, 6) * torch.arange(1.0, 5.0).reshape(4, 1, 1, 1)
    r = conv.kernel_weights(x)
    assert r.shape == (4, 4) and ((r > 0) & (r < 1)).all()
    assert not torch.allclose(r.sum(1), torch.ones(4)), "sigmoid routing: the weights do not sum to 1"
    assert not torch.allclose(r[0], r[3], atol=1e-3), "routing should depend on the input"
    expected = torch.sigmoid(conv.routing(x.mean(dim=(2, 3))))
    assert torch.allclose(r, expected)


def test_dynamic_conv_bank_is_standard_normal_and_independent():
    torch.manual_seed(0)
    conv = DynamicConv(2, 32, 32, num_kernels=4)
    assert conv.weight.shape == (4, 32, 32, 3, 3) and not torch.equal(conv.weight[0], conv.weight[1])
    assert abs(conv.weight.std().item() - 1.0) < 0.05 and abs(conv.weight.mean().item()) < 0.05


def test_dynamic_conv_norm_dynamic_and_static():
    dyn = dynamic_conv_norm(3, 8, 6)
    assert isinstance(dyn.conv, DynamicConv) and dyn.conv.num_kernels == 4
    assert isinstance(dyn.norm, nn.BatchNorm3d) and dyn.norm.eps == 1e-6
    assert dyn(_x(3, 8, 5)).shape == (3, 6, 5, 5, 5)
    static = dynamic_conv_norm(2, 8, 6, num_kernels=0)
    assert isinstance(static.conv, nn.Conv2d) and static.conv.bias is None and static.conv.weight.shape == (6, 8, 3, 3)
    assert sum(p.numel() for p in dyn.parameters()) - sum(p.numel() for p in dynamic_conv_norm(3, 8, 6, num_kernels=0).parameters()) == 3 * 6 * 8 * 27 + 8 * 4 + 4


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
        (lambda: dynamic_conv_norm(2, 8, 8, num_kernels=-1), "num_kernels=-1"),
        (lambda: dynamic_conv_norm(2, 8, 8, kernel_size=4, num_kernels=0), "kernel_size=4"),
    ],
)
def test_invalid_arguments(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


@pytest.mark.parametrize(
    "factory, shape",
    [
        (lambda: DynamicConv(2, 8, 8, groups=8), (2, 8, 6, 6)),
        (lambda: DynamicConv(3, 4, 6, strides=2), (2, 4, 5, 5, 5)),
        (lambda: DynamicConv(1, 4, 4), (2, 4, 9)),
        (lambda: dynamic_conv_norm(3, 4, 6), (2, 4, 5, 5, 5)),
    ],
)
def test_blocks_script(factory, shape):
    torch.manual_seed(0)
    block = factory().eval()
    x = torch.randn(*shape)
    scripted = script(block)
    with torch.no_grad():
        assert torch.allclose(scripted(x), block(x), atol=1e-6)
