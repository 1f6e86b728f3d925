# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""LACNet (Yuan, lightweight attention CNN, doi:10.71222/0z430t65) works as specified in 2D and 3D.

Proves, through the shared ``BaseNetworkTester`` checks: logits come back at the input size for multiples of the
stride and for odd sizes (internal pad + crop, checked against explicit padding), in 2D and 3D, with binary and
multi-class heads; the default model is within 15 % of the paper's 2.95 M parameters (and pinned exactly, 2D
and 3D); each of the paper's
ablations changes only the weights of its component, and every ablated net (each one, and both together, the
plain residual U-Net, also in 3D) trains and scripts; a LeakyReLU / instance-norm variant trains and scripts;
every parameter receives a finite gradient; TorchScript (after a save/reload) and torch.export match eager;
bad arguments raise ValueError naming the value; the registry builds it by name. Specific to the paper, below:
without attention there are no gates and no self-attention, and all attention is under 5 % of the weights
(the paper's "minimal parameter increase"); the gates are global average pooling + FC layers re-weighting
channels and positions after the convolutions; the self-attention starts as the identity and mixes every
position; with standard convolutions there is no depthwise or
group convolution and the parameter count grows (the paper's "significantly increased"); the lightweight
blocks use depthwise-separable + group convs; the total stride; the weights are Xavier-initialised with zero
biases; dropout 0.3 acts at the bottleneck in training only; unused arguments are not checked.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from monai.networks.blocks import ChannelSELayer

from monai_lite.networks import LACNet
from monai_lite.networks.lacnet import _ChannelSpatialGate, _SelfAttentionBridge
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
    params_3d = (0, 7.5e6)  # 3D group convs cost 27 C^2 / groups: 6.94 M
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
        ({"attention_dim": 0}, "attention_dim=0"),
        ({"attention_heads": 3, "attention_dim": 63}, "attention_heads=3"),
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
    # attention: 9 gates (one per residual block) and one self-attention bridge
    assert _count(full, _ChannelSpatialGate) == 9 and _count(full, _SelfAttentionBridge) == 1
    for name in ("no_attention", "neither"):
        assert _count(nets[name], _ChannelSpatialGate) == 0 and _count(nets[name], _SelfAttentionBridge) == 0
    assert _count(nets["standard_conv"], _ChannelSpatialGate) == 9
    # lightweight convs: a depthwise and a group conv in each of the 9 blocks; none with standard convs
    grouped = _grouped_convs(full)
    assert sum(m.groups == m.in_channels for m in grouped) == 9 and sum(m.groups == 2 for m in grouped) == 9
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
    assert _count(LACNet(use_attention=False, attention_dim=100, attention_heads=8), _ChannelSpatialGate) == 0
    assert count_parameters(LACNet(lightweight_conv=False, groups=3, **SMALL)) > 0


def test_default_parameter_counts_are_pinned():
    """Exact counts of the networks the bundles build (2D 3 -> 1, 3D 1 -> 3), as the docstring states them."""
    assert count_parameters(LACNet(spatial_dims=2, in_channels=3, out_channels=1)) == 2_983_527
    assert count_parameters(LACNet(spatial_dims=3, in_channels=1, out_channels=3)) == 6_935_397
    assert count_parameters(LACNet(use_attention=False)) == 2_859_778


def test_attention_is_a_small_share_of_the_parameters():
    """The paper's self-attention comes "with minimal parameter increase" (Sec. 3.1) and its no-attention
    ablation is compared at (nearly) equal size: we bound all attention (gates + self-attention) at 5 % of the
    weights and the self-attention bridge at 3 %, in 2D and 3D."""
    for dims, c_in, c_out in ((2, 3, 1), (3, 1, 3)):
        full = LACNet(spatial_dims=dims, in_channels=c_in, out_channels=c_out)
        ablated = LACNet(spatial_dims=dims, in_channels=c_in, out_channels=c_out, use_attention=False)
        n_full = count_parameters(full)
        removed = (n_full - count_parameters(ablated)) / n_full
        assert 0 < removed < 0.05, f"{dims}D: the no-attention ablation removes {removed:.1%} of the parameters"
        assert count_parameters(full.self_attention) / n_full < 0.03


def test_gate_is_pooling_and_fully_connected_after_the_convolutions():
    """Channels: global average pooling + two FC layers (MONAI ChannelSELayer); positions: one FC layer over the
    channels of every position (a 1x1 conv to one map); applied to the output of the block's convolutions."""
    torch.manual_seed(0)
    net = LACNet(**SMALL)
    block = net.encoder[1]
    gate = block.attention
    assert isinstance(gate, _ChannelSpatialGate) and isinstance(gate.channel, ChannelSELayer)
    assert any(isinstance(m, nn.Linear) for m in gate.channel.modules())
    assert gate.spatial.kernel_size == (1, 1) and gate.spatial.out_channels == 1
    seen = []
    gate.register_forward_hook(lambda m, i, o: seen.append((i[0], o)))
    conv_out = []
    block.conv2.register_forward_hook(lambda m, i, o: conv_out.append(o))
    net.eval()
    with torch.no_grad():
        net(torch.randn(1, 3, 32, 32))
    gate_in, gate_out = seen[0]
    assert torch.equal(gate_in, conv_out[0])  # the gate re-weights what the convolutions produced
    ratio = gate_out / gate_in
    assert ((ratio > 0) & (ratio < 1)).float().mean() > 0.99  # sigmoid weights in (0, 1)
    # the channel part depends on the whole map (global pooling): changing one far pixel changes the weights
    wide = _ChannelSpatialGate(2, 16, reduction=2, act="relu")
    x = torch.randn(1, 16, 8, 8)
    y = x.clone()
    y[0, :, 7, 7] += 5.0
    with torch.no_grad():
        wx, wy = wide.channel(x) / x, wide.channel(y) / y
    assert not torch.allclose(wx[0, :, 0, 0], wy[0, :, 0, 0])


def test_self_attention_starts_as_identity_and_mixes_all_positions():
    torch.manual_seed(0)
    bridge = _SelfAttentionBridge(2, 32, key_dim=8, heads=2, dropout=0.0).eval()
    x = torch.randn(2, 32, 6, 5)
    with torch.no_grad():
        assert torch.equal(bridge(x), x)  # gamma starts at 0
        bridge.gamma.fill_(1.0)
        y = x.clone()
        y[:, :, 5, 4] += 3.0
        # position (0, 0) attends to the far corner
        assert not torch.allclose(bridge(x)[:, :, 0, 0], bridge(y)[:, :, 0, 0])
    assert count_parameters(bridge) == 2 * (32 * 8 + 8) + 32
