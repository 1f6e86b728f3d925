# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""MSAUNet (Smith, Carter and Walker) works as specified in 2D and 3D.

Proves, through the shared ``BaseNetworkTester`` checks: logits come back at the input size for multiples of the
stride (16) and for odd sizes (internal pad + crop, checked against explicit padding), in 2D and 3D, with binary
and multi-class heads; the default 2D model is within 15 % of the paper's 13.7 M parameters and the default 3D
one has 35-42 M; every switch changes only the weights of its component, and the ablated nets still train and
script; a variant with other knobs trains and scripts; every parameter receives a finite gradient; TorchScript
(after a save/reload) and torch.export match eager; eval mode is deterministic; bad arguments raise ValueError
naming the value; the registry builds it by name. Specific to the paper, below: ``width_multiplier=0.5`` is ~1/4
of the parameters and scales the widths; every switch removes exactly the parameters of the modules it
controls; with all switches off it is a plain residual U-Net; the decoder's fusion at level ``i`` is fed by the
skip plus every coarser decoder output (dense pathways). Parameter counts use the real widths; forward/backward
checks use ``width_multiplier`` 0.5 or 0.25 (same topology, 1/4 or 1/16 of the cost) on small inputs; the
default-width 3D forward at 64^3 is marked slow.
"""

from __future__ import annotations

import time

import pytest
import torch

from monai_lite.networks import MSAUNet
from monai_lite.networks.blocks import ChannelAttention, GatedMultiScaleFusion, SpatialAttention
from network_checks import BaseNetworkTester, assert_output_shape, count_parameters

PAPER_PARAMS = 13.7e6
SWITCHES = ("use_channel_attention", "use_spatial_attention", "use_multiscale_fusion")
LIGHT = {"width_multiplier": 0.5}
TINY = {"width_multiplier": 0.25}


class TestMSAUNetCommon(BaseNetworkTester):
    network_name = "msaunet"
    kwargs_2d = {"spatial_dims": 2, "in_channels": 3, "out_channels": 1, "width_multiplier": 0.5}
    kwargs_3d = {"spatial_dims": 3, "in_channels": 1, "out_channels": 3, "width_multiplier": 0.25}
    input_2d = (2, 3, 32, 48)
    input_3d = (2, 1, 16, 16, 16)
    odd_input_3d = (9, 17, 11)
    small_kwargs = TINY
    shape_kwargs = TINY
    sizes_2d = ((64, 96), (100, 75), (16, 16), (1, 1), (33, 17))
    sizes_3d = ((9, 17, 11),)
    head_inputs = {2: (2, 2, 16, 32), 3: (2, 2, 16, 8, 19)}
    head_cases = ((2, 1), (2, 2), (2, 4), (3, 1), (3, 4))
    total_stride = 16
    pad_check_size = (20, 37)
    params_2d = (0.85 * PAPER_PARAMS, 1.15 * PAPER_PARAMS)
    params_3d = (35e6, 42e6)
    paper_params = PAPER_PARAMS
    switches = SWITCHES
    switch_components = {
        "use_channel_attention": r"\.channel_attention\.",
        "use_spatial_attention": r"\.spatial_attention\.",
        "use_multiscale_fusion": r"^decoder\.\d+\.fusion\.",
    }
    train_input = (2, 3, 32, 16)
    script_input = (1, 3, 21, 34)
    variants = (
        {
            "width_multiplier": 1.0,
            "features": (8, 16, 32),
            "blocks_per_stage": (2, 1, 3),
            "reduction": 4,
            "spatial_kernel_size": 3,
            "padding_mode": "zeros",
            "act": "silu",
            "norm": ("instance", {"affine": True}),
            "dropout": 0.1,
        },
    )
    invalid_arguments = (
        ({"features": (32,), "blocks_per_stage": (1,)}, "features=(32,)"),
        ({"features": (32, 0, 64), "blocks_per_stage": (1, 1, 1)}, "features=(32, 0, 64)"),
        ({"blocks_per_stage": (1, 2, 3)}, "blocks_per_stage=(1, 2, 3)"),
        ({"blocks_per_stage": (1, 0, 1, 1, 2)}, "blocks_per_stage=(1, 0, 1, 1, 2)"),
        ({"width_multiplier": 0.0}, "width_multiplier=0.0"),
        ({"width_multiplier": -0.5}, "width_multiplier=-0.5"),
        ({"reduction": 0}, "reduction=0"),
        ({"spatial_kernel_size": 4}, "spatial_kernel_size=4"),
    )


def _params_of(net, cls) -> int:
    return sum(count_parameters(m) for m in net.modules() if isinstance(m, cls))


def test_half_width_parameter_counts(capsys):
    light_2d = count_parameters(MSAUNet(spatial_dims=2, in_channels=3, out_channels=1, **LIGHT))
    light_3d = count_parameters(MSAUNet(spatial_dims=3, in_channels=1, out_channels=3, **LIGHT))
    with capsys.disabled():
        print(f"\nMSAUNet width_multiplier=0.5: 2D 3->1 {light_2d:,}, 3D 1->3 {light_3d:,} parameters")
    assert 3.0e6 <= light_2d <= 4.0e6, f"width_multiplier=0.5 gives {light_2d:,} parameters, expected ~3.4 M"
    assert 8.5e6 <= light_3d <= 10.5e6, f"3D width_multiplier=0.5 gives {light_3d:,} parameters, expected ~9.6 M"


def test_width_multiplier_scales_widths():
    assert MSAUNet().features == (32, 64, 128, 256, 512)
    assert MSAUNet(**LIGHT).features == (16, 32, 64, 128, 256)
    assert MSAUNet(features=(8, 16, 32), blocks_per_stage=(1, 1, 1), width_multiplier=1.5).features == (12, 24, 48)
    assert MSAUNet(features=(8, 16, 32), blocks_per_stage=(1, 1, 1)).divisor == 4


@pytest.mark.parametrize(
    "switch, removed",
    [(SWITCHES[0], ChannelAttention), (SWITCHES[1], SpatialAttention), (SWITCHES[2], GatedMultiScaleFusion)],
)
def test_each_switch_removes_exactly_its_modules(switch, removed):
    full_net = MSAUNet()
    n = count_parameters(MSAUNet(**{switch: False}))
    full = count_parameters(full_net)
    assert full - n == _params_of(full_net, removed) > 0, f"{switch}=False removed {full - n:,} parameters"
    assert _params_of(MSAUNet(**TINY, **{switch: False}), removed) == 0


def test_all_switches_off_is_a_plain_residual_unet():
    net = MSAUNet(**TINY, **{s: False for s in SWITCHES})
    assert all(lvl.fusion is None for lvl in net.decoder)
    assert _params_of(net, (ChannelAttention, SpatialAttention, GatedMultiScaleFusion)) == 0


def test_dense_pathways_feed_every_coarser_decoder_output():
    """Decoder level i (coarse to fine) fuses its skip with all L-1-i coarser decoder outputs, coarsest first."""
    net = MSAUNet(**TINY).eval()
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


def test_variant_knobs_shape_the_encoder():
    net = MSAUNet(features=(8, 16, 32), blocks_per_stage=(2, 1, 3))
    assert net.divisor == 4 and [len(stage) for stage in net.encoder] == [2, 1, 3]


@pytest.mark.slow
def test_default_width_3d_64_cube_forward(capsys):
    """The heaviest documented setting (3D, default width) runs a 64^3 volume on CPU."""
    torch.manual_seed(0)
    net = MSAUNet(spatial_dims=3, in_channels=1, out_channels=3).eval()
    start = time.perf_counter()
    assert_output_shape(net, (1, 1, 64, 64, 64), (1, 3, 64, 64, 64))
    with capsys.disabled():
        print(f"\nMSAUNet 3D default width, 1x1x64^3 forward: {time.perf_counter() - start:.1f} s")
