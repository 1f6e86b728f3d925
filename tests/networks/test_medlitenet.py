# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""MedLiteNet (Yu et al., arXiv 2025) works as specified in 2D and 3D.

Proves, through the shared ``BaseNetworkTester`` checks: logits come back at the input size for multiples of 32
and for odd sizes (internal pad + crop, checked against explicit padding), in 2D and 3D, with binary and
multi-class heads; the paper-setting model has 2.9-3.25 M parameters (under the paper's 3.3 M budget); every
ablation switch removes parameters of its own component only, and the ablated nets still train and script;
variants (learnable positions, Sobel, instance norm, narrow widths) train and script; every parameter receives a
finite gradient; TorchScript (after a save/reload) and torch.export match eager; eval mode is deterministic;
bad arguments raise ValueError naming the value; the registry builds it by name; a few steps lower the loss.
Specific to the paper, below: the ~1.8 M encoder, the placement of the boundary-aware attention, the
stride-32 bottleneck, that the transformer arguments are not checked when the transformer is off, the exact
default parameter counts (2D and 3D), that no ASPP branch runs with a rate >= the map it sees (2D 128/256/512,
3D bundle patch), and that the cross-scale token mixer attends over two resolutions and passes gradients to the
earlier one (switch off: the single-scale transformer).
"""

from __future__ import annotations

import torch

import pytest

from monai_lite.networks import MedLiteNet, list_networks
from monai_lite.networks.blocks import TransformerBottleneck
from monai_lite.networks.blocks.multiscale import MapCappedDilationConv2d, MapCappedDilationConv3d, capped_dilation
from monai_lite.networks.blocks.transformer import CrossScaleTokenMixer
from network_checks import BaseNetworkTester, count_parameters

SWITCHES = ("use_transformer", "use_cross_scale_tokens", "use_boundary_attention", "use_aspp", "use_scse")


class TestMedLiteNetCommon(BaseNetworkTester):
    network_name = "medlitenet"
    sizes_2d = ((256, 256), (96, 128), (100, 75), (32, 32), (1, 1), (33, 97))
    sizes_3d = ((64, 64, 64), (35, 51, 37))
    params_2d = (2.9e6, 3.25e6)  # paper: ~3.2 M, under a 3.3 M budget
    params_3d = (0, 3.5e6)
    paper_params = 3.2e6
    switches = SWITCHES
    switch_components = {
        "use_transformer": r"^(transformer|token_mixer|fusion)\.|^encoder_boundary\.context_proj\.",
        "use_cross_scale_tokens": r"^(transformer|token_mixer)\.",
        "use_boundary_attention": r"^encoder_boundary\.|^decoder\.\d+\.boundary\.",
        "use_aspp": r"^aspp\.",
        "use_scse": r"^decoder\.\d+\.scse\.",
    }
    train_input = (2, 3, 64, 64)
    script_input = (1, 3, 50, 61)
    variants = (
        {"pos_embed": "learnable", "boundary_operator": "sobel", "padding_mode": "zeros"},
        {"act": "swish", "norm": ("instance", {"affine": True}), "dropout": 0.1},
        {"channels": (16, 32, 64), "blocks_per_stage": (1, 1, 1), "transformer_dim": 64, "stem_channels": 8},
    )
    invalid_arguments = (
        ({"channels": ()}, "channels=()"),
        ({"blocks_per_stage": (1, 2, 3)}, "blocks_per_stage=(1, 2, 3)"),
        ({"blocks_per_stage": (1, 0, 3, 2)}, "blocks_per_stage=(1, 0, 3, 2)"),
        ({"decoder_channels": (64, 32)}, "decoder_channels=(64, 32)"),
        ({"expansion": 0}, "expansion=0"),
        ({"transformer_dim": 100, "transformer_heads": 8}, "transformer_dim=100"),
        ({"transformer_layers": 0}, "transformer_layers=0"),
        ({"pos_embed": "rope"}, "pos_embed='rope'"),
        ({"aspp_dilations": (1, 0, 6)}, "aspp_dilations=(1, 0, 6)"),
        ({"boundary_operator": "canny"}, "boundary_operator='canny'"),
    )


def test_encoder_parameter_budget(capsys):
    net = MedLiteNet(spatial_dims=2, in_channels=3, out_channels=1)
    encoder = count_parameters(net.stem) + count_parameters(net.encoder)
    with capsys.disabled():
        print(f"\nMedLiteNet 2D 3->1 encoder: {encoder:,} parameters")
    assert 1.6e6 <= encoder <= 2.0e6, f"encoder has {encoder:,} parameters, paper reports ~1.8 M"


def test_all_ablations_off_builds_none_of_the_modules():
    net = MedLiteNet(**{s: False for s in SWITCHES})
    names = [n for n, _ in net.named_modules()]
    assert not any("transformer." in n or "aspp." in n or "scse." in n or "boundary." in n for n in names)


def test_boundary_attention_placement():
    """BAA at the encoder end (with transformer context) and in every decoder stage except the last."""
    net = MedLiteNet()
    assert net.encoder_boundary.use_context
    flags = [not isinstance(stage.boundary, torch.nn.Identity) for stage in net.decoder]
    assert flags == [True, True, True, False]
    assert not MedLiteNet(use_transformer=False).encoder_boundary.use_context


def test_total_stride_is_32():
    net = MedLiteNet().eval()
    feats = []
    net.encoder[-1].register_forward_hook(lambda m, i, o: feats.append(o))
    with torch.no_grad():
        net(torch.randn(1, 3, 256, 256))
    assert feats[0].shape[2:] == (8, 8)
    assert net.divisor == 32


def test_transformer_args_ignored_when_transformer_off():
    net = MedLiteNet(use_transformer=False, transformer_dim=100, transformer_heads=8)
    assert net.transformer is None and net.token_mixer is None


def test_registry_pattern():
    assert list_networks("med*") == ["medlitenet"]


def test_default_parameter_counts_are_pinned():
    """Exact counts of the networks the bundles build (2D 3 -> 1, 3D 1 -> 3), as the docstring states them."""
    assert count_parameters(MedLiteNet(spatial_dims=2, in_channels=3, out_channels=1)) == 3_040_362
    assert count_parameters(MedLiteNet(spatial_dims=3, in_channels=1, out_channels=3)) == 3_178_060
    assert count_parameters(MedLiteNet(use_cross_scale_tokens=False)) == 3_015_210


@pytest.mark.parametrize(
    "dims, size",
    [(2, (128, 128)), (2, (256, 256)), (2, (512, 512)), (3, (32, 48, 32)), (3, (64, 64, 64))],
)
def test_aspp_rates_stay_below_the_map_size(dims, size):
    """Every atrous branch runs with a rate < the size of the map it convolves (rate 1 on a 1-wide axis), so none
    degenerates to a 1x1 conv; 2D at the bundle's 128 and the paper's 256/512, 3D at the bundle's patch."""
    net = MedLiteNet(spatial_dims=dims, in_channels=3 if dims == 2 else 1, out_channels=1 if dims == 2 else 3).eval()
    capped = [m for m in net.aspp.modules() if isinstance(m, (MapCappedDilationConv2d, MapCappedDilationConv3d))]
    assert len(capped) == 4 and sorted(m.dilation[0] for m in capped) == [1, 3, 6, 12]
    runs = []

    def record(mod, inputs, output):
        spatial = list(inputs[0].shape[2:])
        runs.append((spatial, capped_dilation(spatial, list(mod.dilation), list(mod.kernel_size))[0]))

    for m in capped:
        m.register_forward_hook(record)
    with torch.no_grad():
        net(torch.randn(1, net.in_channels, *size))
    assert len(runs) == 4
    for spatial, dilation in runs:
        for s, d in zip(spatial, dilation):
            assert d < s or (s == 1 and d == 1), f"rate {d} on an axis of {s}"
    if size == (256, 256):  # 8x8 bottleneck: r = 12 runs as 7, the others unchanged
        assert sorted(max(d) for _, d in runs) == [1, 3, 6, 7]
    if size == (512, 512):  # the paper's 16x16 bottleneck keeps the paper's rates
        assert sorted(max(d) for _, d in runs) == [1, 3, 6, 12]


def test_cross_scale_tokens_mix_two_resolutions():
    """On: the transformer attends over the bottleneck's 8x8 tokens and the s16 stage's 16x16 tokens, and its
    output (hence the bottleneck output) depends on, and back-propagates into, the s16 features. Off: the old
    single-scale transformer, blind to the s16 features."""
    torch.manual_seed(0)
    net = MedLiteNet().eval()
    assert isinstance(net.token_mixer, CrossScaleTokenMixer) and net.transformer is None
    seen = []
    net.token_mixer.layers.register_forward_hook(lambda m, i, o: seen.append(i[0].shape))
    with torch.no_grad():
        net(torch.randn(1, 3, 256, 256))
    assert seen == [torch.Size([1, 8 * 8 + 16 * 16, 192])]

    h = torch.randn(1, 256, 8, 8)
    finer = torch.randn(1, 128, 16, 16, requires_grad=True)
    with torch.no_grad():
        out_a = net.bottleneck_forward(h, finer)
        out_b = net.bottleneck_forward(h, finer + 1.0)
    assert not torch.allclose(out_a, out_b)
    net.bottleneck_forward(h, finer).square().mean().backward()
    assert finer.grad is not None and finer.grad.abs().sum() > 0

    single = MedLiteNet(use_cross_scale_tokens=False).eval()
    assert isinstance(single.transformer, TransformerBottleneck) and single.token_mixer is None
    with torch.no_grad():
        assert torch.equal(single.bottleneck_forward(h, finer), single.bottleneck_forward(h, finer + 1.0))

