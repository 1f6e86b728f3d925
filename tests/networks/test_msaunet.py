# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""MSAUNet (Smith, Carter and Walker) works as specified in 2D and 3D.

Proves: logits come back at the input size for multiples of the stride (16) and for odd sizes (internal pad +
crop, checked against explicit padding), in 2D and 3D, with binary and multi-class heads; the default 2D model
is within 15 % of the paper's 13.7 M parameters and ``width_multiplier=0.5`` is ~1/4 of it; every switch
removes exactly the parameters of the modules it controls, and the ablated nets still train and script; the
decoder's fusion at level ``i`` is fed by the skip plus every coarser decoder output (dense pathways); every
parameter receives a finite gradient; TorchScript (after a save/reload) and torch.export match eager; eval mode
is deterministic; bad arguments raise ValueError naming the value; the registry builds it by name. Parameter
counts use the real widths; forward/backward checks use ``width_multiplier`` 0.5 or 0.25 (same topology, 1/4 or
1/16 of the cost) on small inputs; the default-width 3D forward at 64^3 is marked slow.
"""

from __future__ import annotations

import time

import pytest
import torch
import torch.nn.functional as F

from monai_lite.networks import MSAUNet, create_network, list_networks
from monai_lite.networks.blocks import ChannelAttention, GatedMultiScaleFusion, SpatialAttention
from network_checks import (
    BaseNetworkTester,
    assert_all_parameters_get_gradients,
    assert_output_shape,
    assert_torchscript_parity,
    count_parameters,
)

PAPER_PARAMS = 13.7e6
SWITCHES = ("use_channel_attention", "use_spatial_attention", "use_multiscale_fusion")
LIGHT = {"width_multiplier": 0.5}


class TestMSAUNetCommon(BaseNetworkTester):
    network_name = "msaunet"
    kwargs_2d = {"spatial_dims": 2, "in_channels": 3, "out_channels": 1, "width_multiplier": 0.5}
    kwargs_3d = {"spatial_dims": 3, "in_channels": 1, "out_channels": 3, "width_multiplier": 0.25}
    input_2d = (2, 3, 32, 48)
    input_3d = (2, 1, 16, 16, 16)
    odd_input_2d = (45, 70)
    odd_input_3d = (9, 17, 11)


@pytest.fixture(scope="module")
def tiny2d():
    torch.manual_seed(0)
    return MSAUNet(spatial_dims=2, in_channels=3, out_channels=1, width_multiplier=0.25).eval()


@pytest.mark.parametrize("size", [(64, 96), (100, 75), (16, 16), (1, 1), (33, 17)])
def test_output_shape_2d(tiny2d, size):
    assert_output_shape(tiny2d, (1, 3, *size), (1, 1, *size))


@pytest.mark.parametrize("dims, out_channels", [(2, 1), (2, 2), (2, 4), (3, 1), (3, 4)])
def test_binary_and_multiclass_heads(dims, out_channels):
    net = MSAUNet(spatial_dims=dims, in_channels=2, out_channels=out_channels, width_multiplier=0.25)
    size = (16, 32) if dims == 2 else (16, 8, 19)
    assert_output_shape(net, (2, 2, *size), (2, out_channels, *size))


@pytest.mark.parametrize("padding_mode", ["replicate", "zeros"])
def test_odd_size_equals_explicit_pad_then_crop(padding_mode):
    """The internal padding is exactly "pad the high side to a multiple of 16, run, crop the logits"."""
    torch.manual_seed(0)
    net = MSAUNet(padding_mode=padding_mode, width_multiplier=0.25).eval()
    x = torch.randn(1, 3, 20, 37)
    mode = "replicate" if padding_mode == "replicate" else "constant"
    padded = F.pad(x, [0, 48 - 37, 0, 32 - 20], mode=mode)
    with torch.no_grad():
        got = net(x)
        expected = net(padded)[:, :, :20, :37]
    assert torch.allclose(got, expected, atol=1e-5), f"max abs diff {(got - expected).abs().max().item():.3e}"


def test_parameter_budget_paper_setting(capsys):
    total = count_parameters(MSAUNet(spatial_dims=2, in_channels=3, out_channels=1))
    light = count_parameters(MSAUNet(spatial_dims=2, in_channels=3, out_channels=1, **LIGHT))
    with capsys.disabled():
        print(
            f"\nMSAUNet 2D 3->1: {total:,} parameters ({total / PAPER_PARAMS - 1:+.1%} vs paper 13.7 M); "
            f"width_multiplier=0.5: {light:,}"
        )
    assert abs(total - PAPER_PARAMS) <= 0.15 * PAPER_PARAMS, f"{total:,} parameters, paper reports 13.7 M (+-15 %)"
    assert 3.0e6 <= light <= 4.0e6, f"width_multiplier=0.5 gives {light:,} parameters, expected ~3.4 M"


def test_parameter_count_3d(capsys):
    full = count_parameters(MSAUNet(spatial_dims=3, in_channels=1, out_channels=3))
    light = count_parameters(MSAUNet(spatial_dims=3, in_channels=1, out_channels=3, **LIGHT))
    with capsys.disabled():
        print(f"\nMSAUNet 3D 1->3: {full:,} parameters; width_multiplier=0.5: {light:,}")
    assert 35e6 <= full <= 42e6 and 8.5e6 <= light <= 10.5e6


def test_width_multiplier_scales_widths():
    assert MSAUNet().features == (32, 64, 128, 256, 512)
    assert MSAUNet(**LIGHT).features == (16, 32, 64, 128, 256)
    assert MSAUNet(features=(8, 16, 32), blocks_per_stage=(1, 1, 1), width_multiplier=1.5).features == (12, 24, 48)
    assert MSAUNet(features=(8, 16, 32), blocks_per_stage=(1, 1, 1)).divisor == 4


def _params_of(net, cls) -> int:
    return sum(count_parameters(m) for m in net.modules() if isinstance(m, cls))


@pytest.mark.parametrize(
    "switch, removed",
    [(SWITCHES[0], ChannelAttention), (SWITCHES[1], SpatialAttention), (SWITCHES[2], GatedMultiScaleFusion)],
)
def test_each_switch_removes_its_modules_and_still_trains(switch, removed, capsys):
    full_net = MSAUNet()
    full = count_parameters(full_net)
    torch.manual_seed(0)
    n = count_parameters(MSAUNet(**{switch: False}))
    with capsys.disabled():
        print(f"\nMSAUNet 2D 3->1 {switch}=False: {n:,} parameters ({n - full:+,})")
    assert full - n == _params_of(full_net, removed) > 0, f"{switch}=False removed {full - n:,} parameters"
    net = MSAUNet(width_multiplier=0.25, **{switch: False})
    assert _params_of(net, removed) == 0
    assert_all_parameters_get_gradients(net, torch.randn(2, 3, 32, 16))
    assert_output_shape(net, (1, 3, 20, 45), (1, 1, 20, 45))


def test_all_switches_off_is_a_plain_residual_unet_and_scripts():
    net = MSAUNet(width_multiplier=0.25, **{s: False for s in SWITCHES})
    assert all(lvl.fusion is None for lvl in net.decoder)
    assert _params_of(net, (ChannelAttention, SpatialAttention, GatedMultiScaleFusion)) == 0
    assert_torchscript_parity(net, torch.randn(1, 3, 20, 24))


def test_dense_pathways_feed_every_coarser_decoder_output():
    """Decoder level i (coarse to fine) fuses its skip with all L-1-i coarser decoder outputs, coarsest first."""
    net = MSAUNet(width_multiplier=0.25).eval()
    w = net.features
    seen = []
    for lvl in net.decoder:
        lvl.fusion.register_forward_hook(lambda m, args, out: seen.append([tuple(f.shape[1:]) for f in args[0]]))
    with torch.no_grad():
        net(torch.randn(1, 3, 64, 64))
    assert [lvl.fusion.n_inputs for lvl in net.decoder] == [2, 3, 4, 5]
    finest = seen[-1]
    assert finest[0] == (w[0], 64, 64)  # the skip E_0
    assert finest[1:] == [(w[4], 4, 4), (w[3], 8, 8), (w[2], 16, 16), (w[1], 32, 32)]  # D_4 .. D_1


def test_variant_knobs_train_and_script():
    torch.manual_seed(0)
    net = MSAUNet(
        features=(8, 16, 32),
        blocks_per_stage=(2, 1, 3),
        reduction=4,
        spatial_kernel_size=3,
        padding_mode="zeros",
        act="silu",
        norm=("instance", {"affine": True}),
        dropout=0.1,
    )
    assert net.divisor == 4 and [len(stage) for stage in net.encoder] == [2, 1, 3]
    assert_all_parameters_get_gradients(net, torch.randn(2, 3, 16, 16))
    assert_torchscript_parity(net, torch.randn(1, 3, 21, 34))


@pytest.mark.slow
def test_default_width_3d_64_cube_forward(capsys):
    """The heaviest documented setting (3D, default width) runs a 64^3 volume on CPU."""
    torch.manual_seed(0)
    net = MSAUNet(spatial_dims=3, in_channels=1, out_channels=3).eval()
    start = time.perf_counter()
    assert_output_shape(net, (1, 1, 64, 64, 64), (1, 3, 64, 64, 64))
    with capsys.disabled():
        print(f"\nMSAUNet 3D default width, 1x1x64^3 forward: {time.perf_counter() - start:.1f} s")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"spatial_dims": 4}, "spatial_dims=4"),
        ({"spatial_dims": 1}, "spatial_dims=1"),
        ({"out_channels": 0}, "out_channels=0"),
        ({"in_channels": -1}, "in_channels=-1"),
        ({"features": (32,), "blocks_per_stage": (1,)}, "features=(32,)"),
        ({"features": (32, 0, 64), "blocks_per_stage": (1, 1, 1)}, "features=(32, 0, 64)"),
        ({"blocks_per_stage": (1, 2, 3)}, "blocks_per_stage=(1, 2, 3)"),
        ({"blocks_per_stage": (1, 0, 1, 1, 2)}, "blocks_per_stage=(1, 0, 1, 1, 2)"),
        ({"width_multiplier": 0.0}, "width_multiplier=0.0"),
        ({"width_multiplier": -0.5}, "width_multiplier=-0.5"),
        ({"reduction": 0}, "reduction=0"),
        ({"spatial_kernel_size": 4}, "spatial_kernel_size=4"),
        ({"padding_mode": "reflect"}, "padding_mode='reflect'"),
        ({"dropout": 1.0}, "dropout=1.0"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(")", r"\)")):
        MSAUNet(**kwargs)


def test_registry():
    assert "msaunet" in list_networks()
    net = create_network("MSAUNet", spatial_dims=3, in_channels=1, out_channels=2, width_multiplier=0.25)
    assert isinstance(net, MSAUNet) and net.spatial_dims == 3
    with pytest.raises(ValueError, match="Valid names: .*msaunet"):
        create_network("msaunett")
