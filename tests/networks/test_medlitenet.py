# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""MedLiteNet (Yu et al., arXiv 2025) works as specified in 2D and 3D.

Proves: logits come back at the input size for multiples of 32 and for odd sizes (internal pad + crop,
checked against explicit padding), in 2D and 3D, with binary and multi-class heads; the paper-setting model
stays under the 3.3 M parameter budget with a ~1.8 M encoder; every ablation switch removes parameters and
the ablated nets still train and script; every parameter receives a finite gradient; TorchScript (after a
save/reload) and torch.export match eager; eval mode is deterministic; bad arguments raise ValueError naming the value;
the registry builds it by name.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from monai_lite.networks import MedLiteNet, create_network, list_networks
from network_checks import (
    BaseNetworkTester,
    assert_all_parameters_get_gradients,
    assert_output_shape,
    assert_torchscript_parity,
    count_parameters,
)

PAPER_BUDGET = 3.3e6
SWITCHES = ("use_transformer", "use_boundary_attention", "use_aspp", "use_scse")


class TestMedLiteNetCommon(BaseNetworkTester):
    network_name = "medlitenet"
    kwargs_2d = {"spatial_dims": 2, "in_channels": 3, "out_channels": 1}
    kwargs_3d = {"spatial_dims": 3, "in_channels": 1, "out_channels": 3}
    input_2d = (2, 3, 64, 64)
    input_3d = (2, 1, 32, 32, 32)
    odd_input_2d = (45, 70)
    odd_input_3d = (19, 33, 21)


@pytest.fixture(scope="module")
def net2d():
    torch.manual_seed(0)
    return MedLiteNet(spatial_dims=2, in_channels=3, out_channels=1).eval()


@pytest.mark.parametrize("size", [(256, 256), (96, 128), (100, 75), (32, 32), (1, 1), (33, 97)])
def test_output_shape_2d(net2d, size):
    assert_output_shape(net2d, (1, 3, *size), (1, 1, *size))


@pytest.mark.parametrize("out_channels", [1, 2, 4])
def test_binary_and_multiclass_heads(out_channels):
    net = MedLiteNet(out_channels=out_channels)
    assert_output_shape(net, (2, 3, 64, 96), (2, out_channels, 64, 96))


@pytest.mark.parametrize("size", [(64, 64, 64), (35, 51, 37)])
def test_output_shape_3d(size):
    torch.manual_seed(0)
    net = MedLiteNet(spatial_dims=3, in_channels=1, out_channels=3)
    assert_output_shape(net, (1, 1, *size), (1, 3, *size))


@pytest.mark.parametrize("padding_mode", ["replicate", "zeros"])
def test_odd_size_equals_explicit_pad_then_crop(padding_mode):
    """The internal padding is exactly "pad the high side to a multiple of 32, run, crop the logits"."""
    net = MedLiteNet(padding_mode=padding_mode).eval()
    x = torch.randn(1, 3, 100, 75)
    mode = "replicate" if padding_mode == "replicate" else "constant"
    padded = F.pad(x, [0, 96 - 75, 0, 128 - 100], mode=mode)
    with torch.no_grad():
        got = net(x)
        expected = net(padded)[:, :, :100, :75]
    assert torch.allclose(got, expected, atol=1e-5), f"max abs diff {(got - expected).abs().max().item():.3e}"


def test_parameter_budget_paper_setting(capsys):
    net = MedLiteNet(spatial_dims=2, in_channels=3, out_channels=1)
    total = count_parameters(net)
    encoder = count_parameters(net.stem) + count_parameters(net.encoder)
    with capsys.disabled():
        print(f"\nMedLiteNet 2D 3->1: {total:,} parameters (encoder {encoder:,})")
    assert total < PAPER_BUDGET, f"{total:,} parameters exceed the paper's 3.3 M budget"
    assert 2.9e6 <= total <= 3.25e6, f"{total:,} parameters, paper reports ~3.2 M"
    assert 1.6e6 <= encoder <= 2.0e6, f"encoder has {encoder:,} parameters, paper reports ~1.8 M"


def test_parameter_count_3d(capsys):
    net = MedLiteNet(spatial_dims=3, in_channels=1, out_channels=3)
    with capsys.disabled():
        print(f"\nMedLiteNet 3D 1->3: {count_parameters(net):,} parameters")
    assert count_parameters(net) < 3.5e6


@pytest.mark.parametrize("switch", SWITCHES)
def test_each_ablation_removes_parameters_and_still_trains(switch, capsys):
    full = count_parameters(MedLiteNet())
    torch.manual_seed(0)
    net = MedLiteNet(**{switch: False})
    n = count_parameters(net)
    with capsys.disabled():
        print(f"\nMedLiteNet {switch}=False: {n:,} parameters ({n - full:+,})")
    assert n < full, f"{switch}=False did not remove any parameter ({n:,} vs {full:,})"
    assert_all_parameters_get_gradients(net, torch.randn(2, 3, 64, 64))
    assert_output_shape(net, (1, 3, 70, 45), (1, 1, 70, 45))


def test_all_ablations_off_scripts():
    net = MedLiteNet(**{s: False for s in SWITCHES})
    names = [n for n, _ in net.named_modules()]
    assert not any("transformer." in n or "aspp." in n or "scse." in n or "boundary." in n for n in names)
    assert_torchscript_parity(net, torch.randn(1, 3, 64, 48))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pos_embed": "learnable", "boundary_operator": "sobel", "padding_mode": "zeros"},
        {"act": "swish", "norm": ("instance", {"affine": True}), "dropout": 0.1},
        {"channels": (16, 32, 64), "blocks_per_stage": (1, 1, 1), "transformer_dim": 64, "stem_channels": 8},
    ],
)
def test_variants_train_and_script(kwargs):
    torch.manual_seed(0)
    net = MedLiteNet(**kwargs)
    assert_all_parameters_get_gradients(net, torch.randn(2, 3, 64, 64))
    assert_torchscript_parity(net, torch.randn(1, 3, 50, 61))


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


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"spatial_dims": 4}, "spatial_dims=4"),
        ({"spatial_dims": 1}, "spatial_dims=1"),
        ({"out_channels": 0}, "out_channels=0"),
        ({"in_channels": -1}, "in_channels=-1"),
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
        ({"padding_mode": "reflect"}, "padding_mode='reflect'"),
        ({"dropout": 1.5}, "dropout=1.5"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(")", r"\)")):
        MedLiteNet(**kwargs)


def test_transformer_args_ignored_when_transformer_off():
    net = MedLiteNet(use_transformer=False, transformer_dim=100, transformer_heads=8)
    assert isinstance(net.transformer, torch.nn.Identity)


def test_registry():
    assert "medlitenet" in list_networks()
    assert list_networks("med*") == ["medlitenet"]
    net = create_network("MedLiteNet", spatial_dims=3, in_channels=1, out_channels=2)
    assert isinstance(net, MedLiteNet) and net.spatial_dims == 3
    with pytest.raises(ValueError, match="Valid names: .*medlitenet"):
        create_network("medlitenett")


@pytest.mark.slow
def test_train_step_reduces_loss():
    """A few optimiser steps on one fixed batch lower the Dice+BCE loss (the net can fit)."""
    torch.manual_seed(0)
    net = MedLiteNet().train()
    x = torch.randn(2, 3, 32, 48)
    y = (x[:, :1] > 0.5).float()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)

    def loss_fn(logits):
        p = torch.sigmoid(logits)
        dice = 1 - (2 * (p * y).sum() + 1) / (p.sum() + y.sum() + 1)
        return 0.5 * F.binary_cross_entropy_with_logits(logits, y) + 0.5 * dice

    first = loss_fn(net(x)).item()
    for _ in range(8):
        opt.zero_grad()
        loss = loss_fn(net(x))
        loss.backward()
        opt.step()
    assert loss.item() < first, f"loss did not decrease: {first:.4f} -> {loss.item():.4f}"
