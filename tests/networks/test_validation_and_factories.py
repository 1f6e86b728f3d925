# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The shared argument checks (``blocks/validation.py``) and layer factories (``blocks/factories.py``,
``pointwise_linear_upsample``) behave as documented.

Proves: each check accepts valid values and raises one ValueError sentence naming every argument and value;
``conv_norm_act`` has a bias only without norm (unless told) and no dropout layer at rate 0; ``stack_blocks``
strides only the first block and changes the width only there; ``linear_interp_mode`` maps 1/2/3 axes;
``pointwise_linear_upsample`` doubles the size with or without its depthwise refinement.
"""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn as nn

from monai_lite.networks.blocks import MBConv
from monai_lite.networks.blocks.decoder import pointwise_linear_upsample
from monai_lite.networks.blocks.factories import conv_norm_act, linear_interp_mode, stack_blocks
from monai_lite.networks.blocks.validation import (
    check_at_least,
    check_choice,
    check_multiple_of,
    check_odd,
    check_per_stage,
    check_positive,
    check_probability,
    check_segmentation_network,
    check_spatial_dims,
    check_widths,
)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: check_spatial_dims(4, (2, 3)), "spatial_dims must be 2 or 3, got spatial_dims=4."),
        (lambda: check_spatial_dims(0), "spatial_dims must be 1, 2 or 3, got spatial_dims=0."),
        (lambda: check_positive(a=1, b=0), "a and b must be positive, got a=1 b=0."),
        (lambda: check_positive(r=-0.5), "r must be positive, got r=-0.5."),
        (lambda: check_at_least(1, a=1, b=2, c=0), "a, b and c must be >= 1, got a=1 b=2 c=0."),
        (lambda: check_at_least(0, hint="0 = off", k=-1), "k must be >= 0 (0 = off), got k=-1."),
        (
            lambda: check_odd(kernel_size=3, spatial_kernel_size=4),
            "spatial_kernel_size must be a positive odd integer, got spatial_kernel_size=4.",
        ),
        (lambda: check_probability(dropout=1.0), "dropout must be in [0, 1), got dropout=1.0."),
        (lambda: check_choice("mode", "x", ("a", "b")), "mode must be one of ('a', 'b'), got mode='x'."),
        (
            lambda: check_multiple_of("heads", 3, dim=10),
            "dim must be a positive multiple of heads, got dim=10 heads=3.",
        ),
        (lambda: check_multiple_of("g", 0, a=4, b=4), "a and b must be positive multiples of g, got a=4 b=4 g=0."),
        (
            lambda: check_widths("channels", ()),
            "channels must be a non-empty sequence of positive widths, got channels=().",
        ),
        (lambda: check_widths("f", (8, 0), min_count=2), "f must hold at least 2 positive widths, got f=(8, 0)."),
        (
            lambda: check_per_stage("n", (1,), "c", (8, 16)),
            "n needs one count >= 1 per stage, got n=(1,) for c=(8, 16).",
        ),
        (
            lambda: check_segmentation_network(2, 3, 1, "reflect", 0.0),
            "padding_mode must be one of ('replicate', 'zeros'), got padding_mode='reflect'.",
        ),
    ],
)
def test_checks_raise_one_sentence_naming_the_values(call, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        call()


def test_checks_accept_valid_values():
    check_spatial_dims(3, (2, 3))
    check_positive(a=1, r=0.5)
    check_at_least(0, k=0)
    check_odd(kernel_size=7)
    check_probability(dropout=0.0)
    check_choice("padding_mode", "zeros", {"replicate": "replicate", "zeros": "constant"})
    check_multiple_of("heads", 4, dim=128)
    check_widths("channels", (8, 16), min_count=2)
    check_per_stage("n", (1, 2), "c", (8, 16))
    check_segmentation_network(3, 1, 3, "replicate", 0.3)


def test_conv_norm_act_bias_and_dropout_rules():
    with_norm = conv_norm_act(2, 4, 8, act="relu", norm="batch")
    assert with_norm.conv.bias is None and not any(isinstance(m, nn.Dropout) for m in with_norm.modules())
    assert conv_norm_act(2, 4, 8, act=None, norm=None).conv.bias is not None
    assert conv_norm_act(2, 4, 8, act=None, norm="batch", bias=True).conv.bias is not None
    dropped = conv_norm_act(3, 4, 8, 1, strides=2, act="relu", norm="batch", dropout=0.2)
    assert any(isinstance(m, nn.Dropout3d) or isinstance(m, nn.Dropout) for m in dropped.modules())
    assert dropped(torch.randn(2, 4, 6, 6, 6)).shape == (2, 8, 3, 3, 3)


def test_stack_blocks_strides_and_widens_only_the_first():
    blocks = stack_blocks(MBConv, 2, 8, 16, 3, strides=2, expansion=2)
    assert len(blocks) == 3 and not blocks[0].use_residual and all(b.use_residual for b in blocks[1:])
    assert nn.Sequential(*blocks)(torch.randn(2, 8, 10, 10)).shape == (2, 16, 5, 5)
    with pytest.raises(ValueError, match="num_blocks=0"):
        stack_blocks(MBConv, 2, 8, 16, 0)


def test_linear_interp_mode():
    assert [linear_interp_mode(d) for d in (1, 2, 3)] == ["linear", "bilinear", "trilinear"]
    with pytest.raises(ValueError, match="spatial_dims=4"):
        linear_interp_mode(4)


@pytest.mark.parametrize("refine", [False, True])
def test_pointwise_linear_upsample(refine):
    up = pointwise_linear_upsample(3, 8, 4, act="relu", norm="batch", refine=refine)
    assert up(torch.randn(2, 8, 3, 4, 5)).shape == (2, 4, 6, 8, 10)
    assert any(k.startswith("postconv.") for k in up.state_dict()) == refine
