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
stride-32 bottleneck, and that the transformer arguments are not checked when the transformer is off.
"""

from __future__ import annotations

import torch

from monai_lite.networks import MedLiteNet, list_networks
from network_checks import BaseNetworkTester, count_parameters

SWITCHES = ("use_transformer", "use_boundary_attention", "use_aspp", "use_scse")


class TestMedLiteNetCommon(BaseNetworkTester):
    network_name = "medlitenet"
    sizes_2d = ((256, 256), (96, 128), (100, 75), (32, 32), (1, 1), (33, 97))
    sizes_3d = ((64, 64, 64), (35, 51, 37))
    params_2d = (2.9e6, 3.25e6)  # paper: ~3.2 M, under a 3.3 M budget
    params_3d = (0, 3.5e6)
    paper_params = 3.2e6
    switches = SWITCHES
    switch_components = {
        "use_transformer": r"^(transformer|fusion)\.|^encoder_boundary\.context_proj\.",
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
    assert isinstance(net.transformer, torch.nn.Identity)


def test_registry_pattern():
    assert list_networks("med*") == ["medlitenet"]
