# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""LightAWNet (Wang et al., J Appl Clin Med Phys 2024) works as specified in 2D and 3D.

Proves: logits come back at the input size for multiples of the stride and for odd sizes (internal pad +
crop, checked against explicit padding), in 2D and 3D, with binary and multi-class heads; the default model
is within 15 % of the paper's 2.83 M parameters; every switch runs, trains and scripts, and changes exactly
what it names (spatial/channel attention modules gone, dynamic depthwise convs replaced by static ones of
the same shape, lightweight up-sampling replaced by transposed convs, with the expected parameter deltas);
the dynamic convolutions really adapt per sample, and in eval mode a sample's logits do not depend on the
rest of the batch; every parameter receives a finite gradient; TorchScript (after a save/reload) matches
eager; bad arguments raise ValueError naming the value; the registry builds it by name.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from monai_lite.networks import LightAWNet, create_network, list_networks
from monai_lite.networks.blocks import ChannelAttention, DynamicConv, SpatialAttention
from network_checks import (
    BaseNetworkTester,
    assert_all_parameters_get_gradients,
    assert_output_shape,
    assert_torchscript_parity,
    count_parameters,
)

PAPER_PARAMS = 2.83e6
SWITCHES = ("use_spatial_attention", "use_channel_attention", "dynamic_conv", "lightweight_upsampling")
SMALL = {"channels": (16, 24, 32, 48), "blocks_per_stage": (1, 1, 1, 1), "stem_channels": 8}


class TestLightAWNetCommon(BaseNetworkTester):
    network_name = "lightawnet"
    kwargs_2d = {"spatial_dims": 2, "in_channels": 3, "out_channels": 1}
    kwargs_3d = {"spatial_dims": 3, "in_channels": 1, "out_channels": 3}
    input_2d = (2, 3, 64, 64)
    input_3d = (2, 1, 32, 32, 32)
    odd_input_2d = (45, 70)
    odd_input_3d = (19, 33, 21)


@pytest.fixture(scope="module")
def net2d():
    torch.manual_seed(0)
    return LightAWNet().eval()


def _count(net: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in net.modules())


@pytest.mark.parametrize("size", [(256, 256), (96, 128), (100, 75), (1, 1), (33, 97)])
def test_output_shape_2d(net2d, size):
    assert_output_shape(net2d, (1, 3, *size), (1, 1, *size))


@pytest.mark.parametrize("out_channels", [1, 2, 4])
def test_binary_and_multiclass_heads(out_channels):
    net = LightAWNet(out_channels=out_channels, **SMALL)
    assert_output_shape(net, (2, 3, 64, 96), (2, out_channels, 64, 96))


@pytest.mark.parametrize("size", [(32, 32, 32), (35, 51, 37)])
def test_output_shape_3d(size):
    torch.manual_seed(0)
    net = LightAWNet(spatial_dims=3, in_channels=1, out_channels=3)
    assert_output_shape(net, (1, 1, *size), (1, 3, *size))


@pytest.mark.parametrize("padding_mode", ["replicate", "zeros"])
def test_odd_size_equals_explicit_pad_then_crop(padding_mode):
    """The internal padding is exactly "pad the high side to a multiple of 32, run, crop the logits"."""
    torch.manual_seed(0)
    net = LightAWNet(padding_mode=padding_mode, **SMALL).eval()
    x = torch.randn(1, 3, 100, 75)
    mode = "replicate" if padding_mode == "replicate" else "constant"
    padded = F.pad(x, [0, 96 - 75, 0, 128 - 100], mode=mode)
    with torch.no_grad():
        got = net(x)
        expected = net(padded)[:, :, :100, :75]
    assert torch.allclose(got, expected, atol=1e-5), f"max abs diff {(got - expected).abs().max().item():.3e}"


def test_parameter_budget_paper_setting(capsys):
    total = count_parameters(LightAWNet(spatial_dims=2, in_channels=3, out_channels=1))
    with capsys.disabled():
        print(f"\nLightAWNet 2D 3->1: {total:,} parameters (paper 2.83 M, {100 * (total / PAPER_PARAMS - 1):+.1f} %)")
    assert abs(total / PAPER_PARAMS - 1) <= 0.15, f"{total:,} parameters, paper reports 2.83 M (+-15 %)"


def test_parameter_count_3d(capsys):
    total = count_parameters(LightAWNet(spatial_dims=3, in_channels=1, out_channels=3))
    with capsys.disabled():
        print(f"\nLightAWNet 3D 1->3: {total:,} parameters")
    assert total < 3.5e6


def test_switches_change_what_they_name(capsys):
    full = LightAWNet()
    n_full = count_parameters(full)
    nets = {s: LightAWNet(**{s: False}) for s in SWITCHES}
    counts = {s: count_parameters(n) for s, n in nets.items()}
    with capsys.disabled():
        for s, n in counts.items():
            print(f"\nLightAWNet {s}=False: {n:,} parameters ({n - n_full:+,})", end="")
        print()
    assert _count(full, SpatialAttention) == 4 and _count(nets["use_spatial_attention"], SpatialAttention) == 0
    assert _count(full, ChannelAttention) == 4 and _count(nets["use_channel_attention"], ChannelAttention) == 0
    # dynamic -> static: every DynamicConv (10 encoder blocks + 2 fusion branches) becomes a static depthwise
    # conv of the same (channels, 1, 3, 3) shape; nothing else changes
    assert _count(full, DynamicConv) == 12 and _count(nets["dynamic_conv"], DynamicConv) == 0

    def depthwise_shapes(net, dynamic):
        mods = [*net.encoder.modules(), *net.bottleneck.modules()]
        if dynamic:
            return sorted(tuple(m.weight.shape[1:]) for m in mods if isinstance(m, DynamicConv))
        return sorted(tuple(m.weight.shape) for m in mods if isinstance(m, nn.Conv2d) and m.groups > 1)

    assert depthwise_shapes(full, True) == depthwise_shapes(nets["dynamic_conv"], False)
    dynamic_extra = sum(count_parameters(m) - m.weight[0].numel() for m in full.modules() if isinstance(m, DynamicConv))
    assert n_full - counts["dynamic_conv"] == dynamic_extra, "only the dynamic kernels/routing may differ"
    # transposed convs replace the lightweight up-sampling, with 2^d x the pointwise weights
    assert _count(full, nn.ConvTranspose2d) == 0 and _count(nets["lightweight_upsampling"], nn.ConvTranspose2d) == 4
    for s in SWITCHES:
        expected_more = s == "lightweight_upsampling"
        assert (counts[s] > n_full) == expected_more, f"{s}=False: {counts[s]:,} vs {n_full:,}"


@pytest.mark.parametrize("switch", SWITCHES)
def test_each_switch_trains_and_keeps_shapes(switch):
    torch.manual_seed(0)
    net = LightAWNet(**{switch: False}, **SMALL)
    assert_all_parameters_get_gradients(net, torch.randn(2, 3, 64, 64))
    assert_output_shape(net, (1, 3, 70, 45), (1, 1, 70, 45))


@pytest.mark.parametrize("dims", [2, 3])
def test_all_switches_off_scripts(dims):
    torch.manual_seed(0)
    net = LightAWNet(spatial_dims=dims, in_channels=1, **{s: False for s in SWITCHES}, **SMALL)
    assert _count(net, DynamicConv) == 0 and _count(net, SpatialAttention) == 0
    assert_torchscript_parity(net, torch.randn(1, 1, *([24] * dims)))


def test_dynamic_convs_adapt_to_each_sample():
    torch.manual_seed(0)
    net = LightAWNet(**SMALL).eval()
    pis = []
    dyn = next(m for m in net.modules() if isinstance(m, DynamicConv))
    for m in dyn.attention:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=1.0)
    dyn.register_forward_hook(lambda m, i, o: pis.append(m.kernel_attention(i[0])))
    with torch.no_grad():
        net(torch.cat([torch.randn(1, 3, 64, 64), 5 * torch.rand(1, 3, 64, 64)]))
    pi = pis[0]
    assert pi.shape == (2, 4) and torch.allclose(pi.sum(1), torch.ones(2))
    assert not torch.allclose(pi[0], pi[1], atol=1e-4), "kernel weights should differ between samples"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stem_stride": 1, "fusion_blocks": 0, "decoder_convs": 1},
        {"act": "silu", "norm": ("instance", {"affine": True}), "dropout": 0.1, "num_kernels": 2},
    ],
)
def test_variants_train_and_script(kwargs):
    torch.manual_seed(0)
    net = LightAWNet(**kwargs, **SMALL)
    assert_all_parameters_get_gradients(net, torch.randn(2, 3, 64, 64))  # instance norm needs > 1 voxel at s32
    assert_torchscript_parity(net, torch.randn(1, 3, 40, 21))


def test_stride_and_bottleneck_resolution():
    net = LightAWNet().eval()
    assert net.divisor == 32 and LightAWNet(stem_stride=1).divisor == 16
    feats = []
    net.bottleneck.register_forward_hook(lambda m, i, o: feats.append(o))
    with torch.no_grad():
        net(torch.randn(1, 3, 256, 256))
    assert feats[0].shape == (1, 256, 8, 8)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"spatial_dims": 1}, "spatial_dims=1"),
        ({"spatial_dims": 4}, "spatial_dims=4"),
        ({"out_channels": 0}, "out_channels=0"),
        ({"in_channels": -1}, "in_channels=-1"),
        ({"channels": ()}, "channels=()"),
        ({"blocks_per_stage": (1, 2, 3)}, "blocks_per_stage=(1, 2, 3)"),
        ({"blocks_per_stage": (1, 0, 3, 2)}, "blocks_per_stage=(1, 0, 3, 2)"),
        ({"expansion": 0}, "expansion=0"),
        ({"num_kernels": 0}, "num_kernels=0"),
        ({"fusion_blocks": -1}, "fusion_blocks=-1"),
        ({"decoder_convs": 0}, "decoder_convs=0"),
        ({"stem_stride": 3}, "stem_stride=3"),
        ({"spatial_kernel_size": 4}, "spatial_kernel_size=4"),
        ({"padding_mode": "reflect"}, "padding_mode='reflect'"),
        ({"dropout": 1.0}, "dropout=1.0"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(")", r"\)")):
        LightAWNet(**kwargs)


def test_registry():
    assert "lightawnet" in list_networks()
    net = create_network("LightAWNet", spatial_dims=3, in_channels=1, out_channels=2)
    assert isinstance(net, LightAWNet) and net.spatial_dims == 3
