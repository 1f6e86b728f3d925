# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The shared blocks in ``monai_lite.networks.blocks`` are dimension-generic, correct and scriptable.

Proves: every block maps ``(B, C, *S)`` to the documented shape in 1D/2D/3D; MBConv uses its residual only
when shapes match; the fixed edge operators have zero response on constant (and, with replicate padding,
border) regions and respond at a step edge; boundary-aware attention keeps ``F <= F' <= 2F`` and accepts
context of another size; the attention is exact scaled-dot-product attention; the transformer without
position encoding is permutation-equivariant over tokens and the sinusoidal encoding makes positions
distinguishable (and, with ``scale``, encodes cell centres of a finer grid in a coarser grid's units); the
cross-scale token mixer attends over every input map, returns the coarsest map's tokens and back-propagates
into all of them; local-global fusion computes Eq. 5; ASPP trains at batch size 1, and with its rates capped
by the map size a rate-12 branch reaches pixels of an 8x8 map that uncapped it cannot; bad arguments raise
ValueError naming the value; every block scripts with TorchScript.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from monai.networks.layers.factories import Act

from monai_lite.networks.blocks import (
    ASPP,
    CBAM,
    SCSE,
    BoundaryAwareAttention,
    ChannelAttention,
    DepthwiseSeparableConv,
    LocalGlobalFusion,
    MBConv,
    MultiHeadSelfAttention,
    SpatialAttention,
    TransformerBottleneck,
    UpFuse,
    boundary_kernels,
    sincos_position_encoding,
)
from monai_lite.networks.blocks.transformer import CrossScaleTokenMixer
from network_checks import assert_all_parameters_get_gradients, script

DIMS = [1, 2, 3]


def _x(dims: int, channels: int = 8, size: int = 12, batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, channels, *([size] * dims))


def test_silu_registered_with_monai_act_factory():
    assert Act["silu"] is nn.SiLU
    assert Act["hardswish"] is nn.Hardswish


@pytest.mark.parametrize("dims", DIMS)
def test_mbconv_shapes_and_residual(dims):
    x = _x(dims, 8, 11)
    down = MBConv(dims, 8, 16, strides=2)
    same = MBConv(dims, 8, 8)
    assert down(x).shape == (2, 16, *([6] * dims))
    assert not down.use_residual and same.use_residual
    assert same(x).shape == x.shape
    assert len(MBConv(dims, 8, 8, expansion=1).block) == 2  # no expansion conv when t == 1


def test_mbconv_paper_cost_formula():
    """Eq. (2): the 1x1 expand/project and the depthwise conv replace the dense K^2 C_in C_out weights."""
    block = MBConv(2, 32, 64, strides=2, expansion=6)
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    hidden = 32 * 6
    assert [c.weight.numel() for c in convs] == [32 * hidden, 9 * hidden, hidden * 64]


@pytest.mark.parametrize("dims", DIMS)
def test_depthwise_separable(dims):
    conv = DepthwiseSeparableConv(dims, 8, 16, dilation=2)
    assert conv(_x(dims)).shape == (2, 16, *([12] * dims))
    dense = nn.Conv2d(64, 64, 3, bias=False).weight.numel()
    assert sum(p.numel() for p in DepthwiseSeparableConv(2, 64, 64).parameters()) < dense / 4


@pytest.mark.parametrize("dims", DIMS)
@pytest.mark.parametrize("operator", ["laplacian", "sobel"])
def test_boundary_kernels(dims, operator):
    k = boundary_kernels(dims, operator)
    assert k.shape == ((1 if operator == "laplacian" else dims), 1, *([3] * dims))
    assert torch.allclose(k.flatten(1).sum(1), torch.zeros(k.shape[0]))


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("operator", ["laplacian", "sobel"])
def test_boundary_map_is_zero_on_constant_input_and_fires_at_edges(dims, operator):
    baa = BoundaryAwareAttention(dims, 1, operator=operator)
    with torch.no_grad():
        baa.reduce.weight.fill_(1.0)
        baa.reduce.bias.zero_()
        flat = baa.boundary_map(torch.full((1, 1, *([8] * dims)), 3.0))
        step = torch.zeros(1, 1, *([8] * dims))
        step[:, :, 4:] = 1.0
        edge = baa.boundary_map(step)
    eps = 1e-3 if operator == "sobel" else 0.0  # sobel magnitude carries sqrt(1e-6)
    assert flat.abs().max() <= eps, "constant input (incl. the image border) must give no boundary response"
    profile = edge.flatten(3).amax(-1)[0, 0] if dims == 3 else edge.amax(-1)[0, 0]
    assert profile[3] > 0.1 and profile[4] > 0.1 and profile[0] <= eps and profile[7] <= eps


@pytest.mark.parametrize("dims", DIMS)
def test_boundary_aware_attention_bounds_and_context(dims):
    x = _x(dims).abs()
    baa = BoundaryAwareAttention(dims, 8, context_channels=4)
    y = baa(x, torch.randn(2, 4, *([6] * dims)))  # context at another resolution is resized
    assert y.shape == x.shape
    assert (y >= x - 1e-6).all() and (y <= 2 * x + 1e-6).all(), "F' = F * (1 + M) with M in [0, 1]"
    assert baa(x).shape == x.shape  # context is optional
    plain = BoundaryAwareAttention(dims, 8)
    assert plain.context_proj is None and torch.equal(plain(x, torch.randn(2, 3, 2)), plain(x))


def test_boundary_kernel_is_a_fixed_buffer():
    baa = BoundaryAwareAttention(2, 16, boundary_channels=2)
    assert "edge_kernel" not in baa.state_dict() and baa.edge_kernel.shape == (2, 1, 3, 3)
    assert all(p is not baa.edge_kernel for p in baa.parameters())
    assert sum(p.numel() for p in baa.parameters()) == (16 * 2 + 2) + (16 + 1) + 2


@pytest.mark.parametrize("dims", DIMS)
@pytest.mark.parametrize("block", ["scse", "scse_max", "cbam", "channel", "spatial"])
def test_attention_shapes(dims, block):
    x = _x(dims, 16)
    module = {
        "scse": lambda: SCSE(dims, 16),
        "scse_max": lambda: SCSE(dims, 16, combine="max"),
        "cbam": lambda: CBAM(dims, 16, r=4, kernel_size=3),
        "channel": lambda: ChannelAttention(dims, 16),
        "spatial": lambda: SpatialAttention(dims),
    }[block]()
    assert module(x).shape == x.shape


def test_scse_is_sum_of_channel_and_spatial_recalibration():
    scse = SCSE(2, 8)
    x = _x(2, 8)
    expected = scse.cse(x) + x * torch.sigmoid(scse.sse(x))
    assert torch.allclose(scse(x), expected)


@pytest.mark.parametrize("dims", DIMS)
def test_aspp_shapes_and_batch_one_training(dims):
    aspp = ASPP(dims, 16, 32, dilations=(1, 2, 3))
    assert aspp(_x(dims, 16, 5)).shape == (2, 32, *([5] * dims))
    assert_all_parameters_get_gradients(aspp, _x(dims, 16, 5, batch=1))
    assert len(ASPP(dims, 16, 32, dilations=(1, 2), image_pooling=False).branches) == 2


def test_sincos_position_encoding():
    pe = sincos_position_encoding([4, 6], 16)
    assert pe.shape == (24, 16)
    assert torch.unique(pe, dim=0).shape[0] == 24, "every grid position gets a distinct code"
    # the first 8 channels depend only on the row index, the last 8 only on the column index
    grid = pe.reshape(4, 6, 16)
    assert torch.allclose(grid[:, :1, :8].expand(4, 6, 8), grid[..., :8])
    assert torch.allclose(grid[:1, :, 8:].expand(4, 6, 8), grid[..., 8:])
    assert torch.allclose(grid[1, 0, :4], torch.sin(1.0 / 10000 ** (torch.arange(4) / 4.0)))
    pe3 = sincos_position_encoding([2, 3, 4], 20)  # 20 = 3 axes * 6 + 2 zero channels
    assert pe3.shape == (24, 20) and torch.equal(pe3[:, 18:], torch.zeros(24, 2))
    with pytest.raises(ValueError, match="dim=5"):
        sincos_position_encoding([2, 2, 2], 5)
    scripted = script(sincos_position_encoding)
    assert torch.equal(scripted([4, 6], 16), pe)


def test_attention_is_scaled_dot_product_attention():
    torch.manual_seed(0)
    attn = MultiHeadSelfAttention(16, 2, qkv_bias=True).eval()
    x = torch.randn(2, 5, 16)
    q, k, v = attn.qkv(x).split(16, dim=-1)
    heads = [slice(0, 8), slice(8, 16)]
    outs = [torch.softmax(q[..., h] @ k[..., h].transpose(1, 2) / math.sqrt(8), -1) @ v[..., h] for h in heads]
    expected = attn.out_proj(torch.cat(outs, dim=-1))
    assert torch.allclose(attn(x), expected, atol=1e-5)


@pytest.mark.parametrize("dims", DIMS)
def test_transformer_bottleneck_any_grid(dims):
    tb = TransformerBottleneck(dims, 16, hidden_size=24, num_heads=2)
    for size in (3, 5):
        assert tb(_x(dims, 16, size)).shape == (2, 24, *([size] * dims))
    learn = TransformerBottleneck(dims, 16, hidden_size=24, num_heads=2, pos_embed="learnable", pos_grid_size=4)
    assert learn(_x(dims, 16, 3)).shape == (2, 24, *([3] * dims))
    assert_all_parameters_get_gradients(learn, _x(dims, 16, 3))


def test_transformer_token_equivariance():
    """Without position encoding, permuting positions permutes the output: attention is global, not local."""
    torch.manual_seed(0)
    x = torch.randn(1, 8, 4, 4)
    perm = torch.randperm(16)
    permuted = x.flatten(2)[..., perm].reshape(1, 8, 4, 4)
    none = TransformerBottleneck(2, 8, hidden_size=16, num_heads=2, pos_embed="none").eval()
    assert torch.allclose(none(x).flatten(2)[..., perm], none(permuted).flatten(2), atol=1e-5)
    sincos = TransformerBottleneck(2, 8, hidden_size=16, num_heads=2).eval()
    assert not torch.allclose(sincos(x).flatten(2)[..., perm], sincos(permuted).flatten(2), atol=1e-3)


@pytest.mark.parametrize("dims", DIMS)
def test_local_global_fusion_equation_5(dims):
    fuse = LocalGlobalFusion(dims, 8, 8, act="relu")
    a, b = _x(dims, 8, 4), _x(dims, 8, 4)
    assert isinstance(fuse.align_conv, nn.Identity) and isinstance(fuse.align_trans, nn.Identity)
    assert torch.allclose(fuse(a, b), F.relu(fuse.fuse(torch.cat([a, b], 1))) + a + b)
    aligned = LocalGlobalFusion(dims, 16, 6, out_channels=8)
    assert aligned(_x(dims, 16, 8), _x(dims, 6, 4)).shape == (2, 8, *([4] * dims))  # F_conv pooled to F_trans


@pytest.mark.parametrize("dims", DIMS)
def test_upfuse_odd_sizes(dims):
    up = UpFuse(dims, 16, 8, 12)
    assert up(_x(dims, 16, 3), _x(dims, 8, 7)).shape == (2, 12, *([7] * dims))
    dense = UpFuse(dims, 16, 0, 12, separable=False, num_convs=1)
    assert dense(_x(dims, 16, 3), _x(dims, 0, 6)).shape == (2, 12, *([6] * dims))


@pytest.mark.parametrize(
    "factory, match",
    [
        (lambda: MBConv(4, 8, 8), "spatial_dims=4"),
        (lambda: MBConv(2, 8, 8, expansion=0), "expansion=0"),
        (lambda: DepthwiseSeparableConv(2, 8, 8, kernel_size=4), "kernel_size=4"),
        (lambda: BoundaryAwareAttention(2, 8, operator="canny"), "operator='canny'"),
        (lambda: BoundaryAwareAttention(2, 0), "in_channels=0"),
        (lambda: SCSE(2, 4, r=8), "r=8 in_channels=4"),
        (lambda: SCSE(2, 8, combine="mul"), "combine='mul'"),
        (lambda: SpatialAttention(2, kernel_size=6), "kernel_size=6"),
        (lambda: ASPP(2, 8, 8, dilations=()), "dilations=()"),
        (lambda: MultiHeadSelfAttention(10, 3), "hidden_size=10 num_heads=3"),
        (lambda: TransformerBottleneck(3, 8, hidden_size=4, num_heads=1), "hidden_size=4"),
        (lambda: TransformerBottleneck(2, 8, pos_embed="rope"), "pos_embed='rope'"),
        (lambda: LocalGlobalFusion(2, 8, 0), "trans_channels=0"),
        (lambda: UpFuse(2, 8, -1, 8), "skip_channels=-1"),
    ],
)
def test_invalid_block_arguments(factory, match):
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(")", r"\)")):
        factory()


@pytest.mark.parametrize(
    "factory, inputs",
    [
        (lambda: MBConv(3, 8, 8), lambda: (_x(3, 8, 6),)),
        (lambda: BoundaryAwareAttention(2, 8, context_channels=4, operator="sobel"), lambda: (_x(2), _x(2, 4, 6))),
        (lambda: SCSE(3, 8, combine="max"), lambda: (_x(3, 8, 5),)),
        (lambda: CBAM(2, 16, r=4), lambda: (_x(2, 16),)),
        (lambda: ASPP(3, 8, 8, dilations=(1, 2)), lambda: (_x(3, 8, 5),)),
        (lambda: TransformerBottleneck(3, 8, 16, pos_embed="learnable", pos_grid_size=2), lambda: (_x(3, 8, 3),)),
        (lambda: LocalGlobalFusion(2, 16, 8, 8), lambda: (_x(2, 16, 8), _x(2, 8, 4))),
        (lambda: UpFuse(2, 16, 8, 8), lambda: (_x(2, 16, 3), _x(2, 8, 7))),
    ],
)
def test_blocks_script(factory, inputs):
    torch.manual_seed(0)
    module = factory().eval()
    args = inputs()
    scripted = script(module)
    with torch.no_grad():
        assert torch.allclose(scripted(*args), module(*args), atol=1e-5)


def test_aspp_capped_rate_reaches_the_map_where_the_nominal_rate_does_not():
    """On an 8x8 map a rate-12 branch is a 1x1 conv; capped (rate 7) it sees a pixel 7 away. Same weights."""
    torch.manual_seed(0)
    x = torch.randn(1, 4, 8, 8)
    y = x.clone()
    y[0, :, 0, 7] += 10.0
    for cap in (True, False):
        torch.manual_seed(0)
        aspp = ASPP(2, 4, 4, dilations=(12,), image_pooling=False, norm=None, cap_dilation_to_input=cap).eval()
        branch = aspp.branches[0]
        with torch.no_grad():
            changed = not torch.allclose(branch(x)[0, :, 0, 0], branch(y)[0, :, 0, 0])
        assert changed == cap
    # on a map larger than the rate, capped and plain branches are the same function
    torch.manual_seed(0)
    capped = ASPP(2, 4, 4, dilations=(3, 12), cap_dilation_to_input=True).eval()
    torch.manual_seed(0)
    plain = ASPP(2, 4, 4, dilations=(3, 12)).eval()
    plain.load_state_dict(capped.state_dict())
    big = torch.randn(1, 4, 20, 20)
    with torch.no_grad():
        assert torch.allclose(capped(big), plain(big), atol=1e-6)
    scripted = script(capped)
    assert torch.allclose(scripted(x), capped(x), atol=1e-6)


def test_sincos_position_encoding_scale_encodes_cell_centres():
    """With ``scale = 0.5`` row ``i`` is encoded at ``(i + 0.5) * 0.5 - 0.5`` (its centre in coarse-grid units)."""
    fine = sincos_position_encoding([4, 4], 16, scale=[0.5, 0.5]).reshape(4, 4, 16)
    omega = torch.exp(torch.arange(4, dtype=torch.float32) / 4 * (-math.log(10000.0)))
    for i in range(4):
        pos = (i + 0.5) * 0.5 - 0.5
        expected = torch.cat([torch.sin(pos * omega), torch.cos(pos * omega)])
        assert torch.allclose(fine[i, 0, :8], expected, atol=1e-6)
    assert torch.allclose(sincos_position_encoding([2, 2], 16, scale=[1.0, 1.0]), sincos_position_encoding([2, 2], 16))


@pytest.mark.parametrize("dims", DIMS)
def test_cross_scale_token_mixer(dims):
    torch.manual_seed(0)
    mixer = CrossScaleTokenMixer(dims, (16, 8), hidden_size=24, num_heads=2)
    coarse = torch.randn(2, 16, *([3] * dims), requires_grad=True)
    finer = torch.randn(2, 8, *([6] * dims), requires_grad=True)
    out = mixer([coarse, finer])
    assert out.shape == (2, 24, *([3] * dims))
    out.square().mean().backward()
    assert coarse.grad.abs().sum() > 0 and finer.grad.abs().sum() > 0
    # the coarse output depends on the finer map (attention crosses the resolutions)
    mixer.eval()
    with torch.no_grad():
        a = mixer([coarse, finer])
        b = mixer([coarse, finer + 1.0])
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError):
        mixer([coarse])
    learn = CrossScaleTokenMixer(dims, (16, 8), hidden_size=24, num_heads=2, pos_embed="learnable", pos_grid_size=4)
    assert learn([coarse, finer]).shape == out.shape
    scripted = script(mixer)
    with torch.no_grad():
        assert torch.allclose(scripted([coarse, finer]), mixer([coarse, finer]), atol=1e-5)
