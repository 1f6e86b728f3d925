# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The MSAUNet blocks (``ResidualDualAttentionBlock``, ``GatedMultiScaleFusion``) are dimension-generic and correct.

Proves: the residual block maps ``(B, C, *S)`` to ``(B, C', *ceil(S / stride))`` in 1D/2D/3D, uses an identity
shortcut exactly when shapes match, builds its channel/spatial attention only when asked, and with both off is
``act(norm(conv(act(norm(conv(x))))) + x)``; the fusion returns the reference's size from inputs of other sizes
and widths, its scale gate is a convex combination (identical inputs come back unchanged), it projects only the
inputs that need it, and it rejects a wrong number of inputs; every block trains (all parameters get
gradients) and scripts with TorchScript; bad arguments raise ValueError naming the value.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from monai_lite.networks.blocks import (
    ChannelAttention,
    GatedMultiScaleFusion,
    ResidualDualAttentionBlock,
    SpatialAttention,
)
from network_checks import assert_all_parameters_get_gradients, script

DIMS = [1, 2, 3]


@pytest.mark.parametrize("dims", DIMS)
def test_residual_block_shapes_and_shortcut(dims):
    x = torch.randn(2, 8, *([11] * dims))
    down = ResidualDualAttentionBlock(dims, 8, 16, strides=2, spatial_kernel_size=3)
    same = ResidualDualAttentionBlock(dims, 8, 8, spatial_kernel_size=3)
    assert down(x).shape == (2, 16, *([6] * dims))
    assert same(x).shape == x.shape
    assert down.shortcut is not None and same.shortcut is None
    assert isinstance(same.channel_attention, ChannelAttention)
    assert isinstance(same.spatial_attention, SpatialAttention)


@pytest.mark.parametrize("use_ca, use_sa", [(True, True), (True, False), (False, True), (False, False)])
def test_residual_block_attention_switches(use_ca, use_sa):
    block = ResidualDualAttentionBlock(2, 16, 16, use_channel_attention=use_ca, use_spatial_attention=use_sa)
    assert (block.channel_attention is not None) == use_ca
    assert (block.spatial_attention is not None) == use_sa
    assert_all_parameters_get_gradients(block, torch.randn(2, 16, 9, 10))
    block.eval()
    x = torch.randn(1, 16, 9, 10)
    with torch.no_grad():
        assert torch.allclose(script(block)(x), block(x), atol=1e-6)


def test_residual_block_without_attention_is_a_basic_residual_block():
    torch.manual_seed(0)
    block = ResidualDualAttentionBlock(2, 4, 4, use_channel_attention=False, use_spatial_attention=False).eval()
    x = torch.randn(1, 4, 7, 7)
    with torch.no_grad():
        expected = torch.relu(block.conv2(block.conv1(x)) + x)
        assert torch.allclose(block(x), expected)


@pytest.mark.parametrize("dims", DIMS)
def test_fusion_output_size_and_projections(dims):
    fuse = GatedMultiScaleFusion(dims, (8, 16, 8), 8, reduction=4)
    feats = [torch.randn(2, 8, *([12] * dims)), torch.randn(2, 16, *([6] * dims)), torch.randn(2, 8, *([3] * dims))]
    assert fuse(feats).shape == (2, 8, *([12] * dims))
    assert [isinstance(m, nn.Identity) for m in fuse.lateral] == [True, False, True]
    fuse.train()
    (fuse(feats).square().mean() + fuse(feats).mean()).backward()
    missing = [n for n, p in fuse.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"no or non-finite gradient: {missing}"


def test_fusion_gate_is_convex():
    """With identity laterals and no recalibration, n copies of the same map fuse back to that map."""
    torch.manual_seed(0)
    fuse = GatedMultiScaleFusion(2, (6, 6, 6), 6, recalibrate=False).eval()
    x = torch.randn(2, 6, 9, 13)
    assert torch.allclose(fuse([x, x, x]), x, atol=1e-6)
    assert fuse.recalibration is None
    assert all(isinstance(m, nn.Identity) for m in fuse.lateral)
    assert not all(isinstance(m, nn.Identity) for m in GatedMultiScaleFusion(2, (6, 6), 6, project_all=True).lateral)


def test_fusion_scripts_and_checks_input_count():
    fuse = GatedMultiScaleFusion(3, (4, 8), 4, reduction=2).eval()
    feats = [torch.randn(1, 4, 8, 8, 8), torch.randn(1, 8, 4, 4, 4)]
    with torch.no_grad():
        assert torch.allclose(script(fuse)(feats), fuse(feats), atol=1e-6)
    with pytest.raises(ValueError, match="expected 2 feature maps, got 1"):
        fuse(feats[:1])


@pytest.mark.parametrize(
    "factory, match",
    [
        (lambda: ResidualDualAttentionBlock(4, 8, 8), "spatial_dims=4"),
        (lambda: ResidualDualAttentionBlock(2, 0, 8), "in_channels=0"),
        (lambda: ResidualDualAttentionBlock(2, 8, 8, strides=0), "strides=0"),
        (lambda: ResidualDualAttentionBlock(2, 8, 8, reduction=0), "reduction=0"),
        (lambda: ResidualDualAttentionBlock(2, 8, 8, kernel_size=4), "kernel_size=4"),
        (lambda: ResidualDualAttentionBlock(2, 8, 8, spatial_kernel_size=6), "spatial_kernel_size=6"),
        (lambda: ResidualDualAttentionBlock(2, 8, 8, dropout=1.0), "dropout=1.0"),
        (lambda: GatedMultiScaleFusion(0, (8,), 8), "spatial_dims=0"),
        (lambda: GatedMultiScaleFusion(2, (), 8), r"in_channels=\(\)"),
        (lambda: GatedMultiScaleFusion(2, (8, 0), 8), r"in_channels=\(8, 0\)"),
        (lambda: GatedMultiScaleFusion(2, (8,), 0), "out_channels=0"),
        (lambda: GatedMultiScaleFusion(2, (8,), 8, reduction=0), "reduction=0"),
    ],
)
def test_invalid_arguments(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()
