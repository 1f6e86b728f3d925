# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""prepare_for_inference (monai_lite.networks.inference_prep) changes how a network runs, never what it computes.

Proves: for every monai-lite network in 2D and 3D (and two MONAI networks the benchmark prepares the same way), the
prepared network's output equals the original's to float rounding, with non-trivial BatchNorm statistics so that
a wrong fold would show; each rewrite does what it says (BatchNorm replaced by Identity inside MONAI Convolution
blocks and plain Sequentials, and after LightAWNet's dynamic convolutions for any per-sample routing; in-place only for activations inside Convolution blocks; channels-last strides that
survive load_state_dict); and the bundle loader prepares by default and can be told not to.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn
from monai.networks.blocks import Convolution
from monai.networks.nets import AttentionUnet, SegResNet

from monai_lite.networks import LACNet, LightAWNet, MedLiteNet, MSAUNet, prepare_for_inference
from monai_lite.networks.blocks import dynamic_conv_norm
from monai_lite.networks.inference_prep import channels_last_weights, fold_batch_norms, inplace_activations

NETWORKS = {
    "medlitenet": lambda d, i, o: MedLiteNet(d, i, o),
    "lightawnet": lambda d, i, o: LightAWNet(d, i, o),
    "lacnet": lambda d, i, o: LACNet(d, i, o),
    "msaunet": lambda d, i, o: MSAUNet(d, i, o, width_multiplier=0.25),
}
SHAPES = {2: (2, 3, 64, 48), 3: (1, 1, 32, 32, 32)}


def _randomise_norms(model: nn.Module) -> nn.Module:
    """Running statistics and affine parameters far from identity, so an unfolded or wrongly folded norm shows."""
    gen = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            module.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
            module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            if module.affine:
                module.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
                module.bias.data.copy_(torch.rand(n, generator=gen) - 0.5)
    return model.eval()


def _assert_same_output(model: nn.Module, x: torch.Tensor) -> nn.Module:
    prepared = prepare_for_inference(copy.deepcopy(model))
    with torch.no_grad():
        expected, actual = model(x), prepared(x)
    assert actual.shape == expected.shape
    tol = 1e-5 * max(1.0, float(expected.abs().max()))
    assert float((actual - expected).abs().max()) <= tol
    return prepared


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_prepared_network_computes_the_same(name, spatial_dims):
    torch.manual_seed(0)
    shape = SHAPES[spatial_dims]
    out_channels = 1 if spatial_dims == 2 else 3
    model = _randomise_norms(NETWORKS[name](spatial_dims, shape[1], out_channels))
    prepared = _assert_same_output(model, torch.randn(shape))
    counts = prepared.inference_prep
    assert counts.folded_batch_norms > 0 and counts.inplace_activations > 0 and counts.channels_last_convs > 0
    assert not prepared.training
    remaining = [m for m in prepared.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    # every batch norm follows a convolution, LightAWNet's per-sample dynamic ones included
    assert remaining == []


@pytest.mark.parametrize(
    "build",
    [
        lambda: SegResNet(2, in_channels=3, out_channels=1),
        lambda: AttentionUnet(2, 3, 1, channels=(8, 16, 32), strides=(2, 2)),
    ],
    ids=["segresnet", "attentionunet"],
)
def test_monai_networks_prepare_the_same_way(build):
    torch.manual_seed(0)
    _assert_same_output(_randomise_norms(build()), torch.randn(1, 3, 64, 64))


def test_fold_in_monai_convolution_and_plain_sequential():
    torch.manual_seed(0)
    model = nn.Sequential(
        Convolution(2, 3, 8, kernel_size=3, act="relu", norm="batch", bias=False),
        nn.Conv2d(8, 4, 1),
        nn.BatchNorm2d(4),
        nn.Conv2d(4, 4, 1),
        nn.InstanceNorm2d(4),  # not a BatchNorm: kept
    )
    _randomise_norms(model)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        expected = model(x)
        assert fold_batch_norms(model) == 2
        assert torch.allclose(model(x), expected, atol=1e-5)
    assert isinstance(model[0].adn.N, nn.Identity) and isinstance(model[2], nn.Identity)
    assert isinstance(model[4], nn.InstanceNorm2d)


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_dynamic_conv_folds_its_norm_for_any_routing(spatial_dims):
    """Samples of one batch get different mixed kernels; the folded bank must match the norm for each of them."""
    torch.manual_seed(0)
    block = _randomise_norms(dynamic_conv_norm(spatial_dims, 6, 5, num_kernels=4))
    assert "conv.bias" not in block.state_dict()  # checkpoints keep the release's keys
    x = torch.randn((3, 6) + (9,) * spatial_dims)
    with torch.no_grad():
        routing = block.conv.kernel_weights(x)
        expected = block(x)
        assert fold_batch_norms(block) == 1
        actual = block(x)
    assert not torch.allclose(routing[0], routing[1])  # per-sample mixes really differ
    assert isinstance(block.norm, nn.Identity) and block.conv.bias is not None
    assert torch.allclose(actual, expected, rtol=1e-5, atol=1e-5 * float(expected.abs().max()))


def test_batch_norm_without_running_stats_is_not_folded():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, track_running_stats=False))
    assert fold_batch_norms(model) == 0
    assert isinstance(model[1], nn.BatchNorm2d)


def test_inplace_only_inside_convolution_blocks():
    block = Convolution(2, 4, 4, act="silu", norm="batch")
    standalone = nn.SiLU()
    model = nn.Sequential(block, standalone)
    assert inplace_activations(model) == 1
    assert block.adn.A.inplace and not standalone.inplace
    assert inplace_activations(model) == 0  # idempotent


def test_channels_last_weights_survive_load_state_dict():
    model = nn.Sequential(nn.Conv2d(16, 96, 1), nn.Conv3d(2, 4, 3), nn.ConvTranspose2d(4, 4, 2))
    state = copy.deepcopy(model.state_dict())
    assert channels_last_weights(model) == 2  # the transposed convolution is left alone
    pointwise = model[0].weight
    assert pointwise.stride() == pointwise.data.to(memory_format=torch.channels_last).stride() != (16, 1, 1, 1)
    assert model[1].weight.is_contiguous(memory_format=torch.channels_last_3d)
    model.load_state_dict(state)
    assert model[0].weight.stride() == pointwise.stride()
    assert torch.equal(model[0].weight, state["0.weight"])


def test_bundle_loader_prepares_by_default():
    from monai_lite.inference.model import load_bundle_model

    prepared = load_bundle_model("medlitenet", device="cpu", overrides={"load_pretrain": False})
    plain = load_bundle_model("medlitenet", device="cpu", overrides={"load_pretrain": False}, prepare=False)
    assert prepared.network.inference_prep.folded_batch_norms > 0
    assert not hasattr(plain.network, "inference_prep")
    assert any(isinstance(m, nn.BatchNorm2d) for m in plain.network.modules())
