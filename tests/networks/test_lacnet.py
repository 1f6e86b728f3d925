# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""LACNet (Yuan, lightweight attention CNN, doi:10.71222/0z430t65) works as specified in 2D and 3D.

Proves: logits come back at the input size for multiples of the stride and for odd sizes (internal pad +
crop, checked against explicit padding), in 2D and 3D, with binary and multi-class heads; the default model
is within 15 % of the paper's 2.95 M parameters; the paper's three ablations build, train and script —
without attention there is no CBAM and no self-attention, with standard convolutions there is no depthwise
or group convolution and the parameter count grows (the paper's "significantly increased"), and both
together give the plain residual U-Net; the lightweight blocks use depthwise-separable + group convs; the
weights are Xavier-initialised with zero biases; dropout 0.3 acts at the bottleneck in training only; every
parameter receives a finite gradient; TorchScript (after a save/reload) matches eager; bad arguments raise
ValueError naming the value; the registry builds it by name.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from monai_lite.networks import LACNet, create_network, list_networks
from monai_lite.networks.blocks import CBAM, TransformerBottleneck
from network_checks import (
    BaseNetworkTester,
    assert_all_parameters_get_gradients,
    assert_output_shape,
    assert_torchscript_parity,
    count_parameters,
)

PAPER_PARAMS = 2.95e6
ABLATIONS = {
    "no_attention": {"use_attention": False},
    "standard_conv": {"lightweight_conv": False},
    "neither": {"use_attention": False, "lightweight_conv": False},
}
SMALL = {"channels": (8, 16, 24, 32), "attention_dim": 32, "attention_heads": 4}


class TestLACNetCommon(BaseNetworkTester):
    network_name = "lacnet"
    kwargs_2d = {"spatial_dims": 2, "in_channels": 3, "out_channels": 1}
    kwargs_3d = {"spatial_dims": 3, "in_channels": 1, "out_channels": 3}
    input_2d = (2, 3, 64, 64)
    input_3d = (2, 1, 32, 32, 32)
    odd_input_2d = (45, 70)
    odd_input_3d = (19, 33, 21)


def _count(net: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in net.modules())


def _grouped_convs(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d)) and m.groups > 1]


@pytest.mark.parametrize("size", [(64, 64), (100, 75), (1, 1), (33, 97)])
def test_output_shape_2d(size):
    torch.manual_seed(0)
    assert_output_shape(LACNet(**SMALL), (1, 3, *size), (1, 1, *size))


@pytest.mark.parametrize("out_channels", [1, 2, 4])
def test_binary_and_multiclass_heads(out_channels):
    net = LACNet(out_channels=out_channels, **SMALL)
    assert_output_shape(net, (2, 3, 48, 80), (2, out_channels, 48, 80))


def test_output_shape_3d_odd():
    torch.manual_seed(0)
    net = LACNet(spatial_dims=3, in_channels=2, out_channels=3, **SMALL)
    assert_output_shape(net, (1, 2, 17, 30, 9), (1, 3, 17, 30, 9))


@pytest.mark.parametrize("padding_mode", ["replicate", "zeros"])
def test_odd_size_equals_explicit_pad_then_crop(padding_mode):
    """The internal padding is exactly "pad the high side to a multiple of the stride, run, crop the logits"."""
    torch.manual_seed(0)
    net = LACNet(padding_mode=padding_mode, **SMALL).eval()
    assert net.divisor == 8 and LACNet().divisor == 16
    x = torch.randn(1, 3, 50, 35)
    mode = "replicate" if padding_mode == "replicate" else "constant"
    padded = F.pad(x, [0, 40 - 35, 0, 56 - 50], mode=mode)
    with torch.no_grad():
        got = net(x)
        expected = net(padded)[:, :, :50, :35]
    assert torch.allclose(got, expected, atol=1e-5), f"max abs diff {(got - expected).abs().max().item():.3e}"


def test_parameter_budget_paper_setting(capsys):
    total = count_parameters(LACNet(spatial_dims=2, in_channels=3, out_channels=1))
    with capsys.disabled():
        print(f"\nLACNet 2D 3->1: {total:,} parameters (paper 2.95 M, {100 * (total / PAPER_PARAMS - 1):+.1f} %)")
    assert abs(total / PAPER_PARAMS - 1) <= 0.15, f"{total:,} parameters, paper reports 2.95 M (+-15 %)"


def test_parameter_count_3d(capsys):
    total = count_parameters(LACNet(spatial_dims=3, in_channels=1, out_channels=3))
    with capsys.disabled():
        print(f"\nLACNet 3D 1->3: {total:,} parameters")
    assert total < 6e6


def test_ablations_change_what_they_name(capsys):
    full = LACNet()
    nets = {name: LACNet(**kw) for name, kw in ABLATIONS.items()}
    n_full = count_parameters(full)
    counts = {name: count_parameters(n) for name, n in nets.items()}
    with capsys.disabled():
        for name, n in counts.items():
            print(f"\nLACNet {name}: {n:,} parameters ({n - n_full:+,})", end="")
        print()
    # attention: 9 CBAM blocks (one per residual block) and one self-attention bridge
    assert _count(full, CBAM) == 9 and _count(full, TransformerBottleneck) == 1
    for name in ("no_attention", "neither"):
        assert _count(nets[name], CBAM) == 0 and _count(nets[name], TransformerBottleneck) == 0
    assert _count(nets["standard_conv"], CBAM) == 9
    # lightweight convs: a depthwise and a group conv in each of the 9 blocks; none with standard convs
    grouped = _grouped_convs(full)
    assert sum(m.groups == m.in_channels for m in grouped) == 9 and sum(m.groups == 4 for m in grouped) == 9
    assert not _grouped_convs(nets["standard_conv"]) and not _grouped_convs(nets["neither"])
    assert counts["no_attention"] < n_full < counts["standard_conv"]
    assert counts["standard_conv"] > 2 * n_full, "standard convolutions should cost far more parameters"
    assert counts["neither"] < counts["standard_conv"]


@pytest.mark.parametrize("name", sorted(ABLATIONS))
def test_ablations_train_and_script(name):
    torch.manual_seed(0)
    net = LACNet(**ABLATIONS[name], **SMALL)
    assert_all_parameters_get_gradients(net, torch.randn(2, 3, 32, 32))
    assert_torchscript_parity(net, torch.randn(1, 3, 40, 21))


def test_ablation_3d_scripts():
    torch.manual_seed(0)
    net = LACNet(spatial_dims=3, in_channels=1, out_channels=2, use_attention=False, **SMALL)
    assert_torchscript_parity(net, torch.randn(1, 1, 16, 20, 12))


def test_xavier_initialisation():
    torch.manual_seed(0)
    net = LACNet(**SMALL)
    layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers
    for m in layers:
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(m.weight)
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        assert m.weight.abs().max() <= bound + 1e-6, f"{m}: weights exceed the Xavier bound"
        if m.weight.numel() >= 512:
            assert m.weight.std() > 0.4 * bound / math.sqrt(3), f"{m}: weights too small for Xavier"
        if m.bias is not None:
            assert torch.count_nonzero(m.bias) == 0


def test_dropout_at_bottleneck_only_in_training():
    torch.manual_seed(0)
    net = LACNet(**SMALL)
    drops = [m for m in net.modules() if isinstance(m, nn.Dropout) and m.p > 0]
    assert len(drops) == 2 and all(d.p == 0.3 for d in drops)
    x = torch.randn(2, 3, 32, 32)
    net.train()
    with torch.no_grad():
        assert not torch.equal(net(x), net(x)), "dropout should make training forwards stochastic"
    assert not any(m.p > 0 for m in LACNet(dropout=0.0, **SMALL).modules() if isinstance(m, nn.Dropout))


def test_leaky_relu_and_instance_norm_variant():
    torch.manual_seed(0)
    net = LACNet(act=("leakyrelu", {"negative_slope": 0.1}), norm=("instance", {"affine": True}), **SMALL)
    assert any(isinstance(m, nn.LeakyReLU) for m in net.modules())
    assert_all_parameters_get_gradients(net, torch.randn(2, 3, 32, 32))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"spatial_dims": 1}, "spatial_dims=1"),
        ({"spatial_dims": 4}, "spatial_dims=4"),
        ({"out_channels": 0}, "out_channels=0"),
        ({"in_channels": 0}, "in_channels=0"),
        ({"channels": (32,)}, "channels=(32,)"),
        ({"channels": (32, 0, 64)}, "channels=(32, 0, 64)"),
        ({"groups": 3}, "groups=3"),
        ({"groups": 0}, "groups=0"),
        ({"reduction": 0}, "reduction=0"),
        ({"attention_dim": 100, "attention_heads": 8}, "attention_dim=100"),
        ({"attention_layers": 0}, "attention_layers=0"),
        ({"padding_mode": "reflect"}, "padding_mode='reflect'"),
        ({"dropout": 1.0}, "dropout=1.0"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(")", r"\)")):
        LACNet(**kwargs)


def test_attention_and_group_args_ignored_when_unused():
    assert _count(LACNet(use_attention=False, attention_dim=100, attention_heads=8), CBAM) == 0
    assert count_parameters(LACNet(lightweight_conv=False, groups=3, **SMALL)) > 0


def test_registry():
    assert "lacnet" in list_networks()
    net = create_network("LACNet", spatial_dims=3, in_channels=1, out_channels=2)
    assert isinstance(net, LACNet) and net.spatial_dims == 3
