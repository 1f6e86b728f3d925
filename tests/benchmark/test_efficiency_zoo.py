# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the benchmark zoo lists every monai-lite network with each paper ablation and MONAI's reference networks,
that every entry's fixed arguments are accepted by its class, and that entries build by name offline."""

from __future__ import annotations

import inspect

import pytest
import torch
from monai.utils import optional_import

from monai_lite.benchmark.zoo import BASELINE, get_model, list_models, zoo_models
from monai_lite.networks import list_networks


def test_zoo_has_every_network_its_ablations_and_monai_references() -> None:
    names = list_models()
    assert len(names) == len(set(names))
    for network in list_networks():
        assert network in names
    expected = {
        "medlitenet-no-transformer", "medlitenet-no-cross-scale-tokens", "medlitenet-no-boundary-attention",
        "medlitenet-no-aspp", "medlitenet-no-scse",
        "lightawnet-no-dynamic-conv", "lightawnet-no-spatial-gate", "lightawnet-no-channel-attention",
        "lightawnet-no-two-branch", "lightawnet-no-cross-gates", "lightawnet-no-self-attention",
        "lacnet-no-attention", "lacnet-no-lightweight-conv",
        "lacnet-no-attention-no-lightweight-conv", "msaunet-no-channel-attention", "msaunet-no-spatial-attention",
        "msaunet-no-multiscale-fusion", "msaunet-w0.5", "basicunet", "unet", "attentionunet", "segresnet",
        "flexibleunet-efficientnet-b0", "swinunetr", "unetr",
    }
    assert expected <= set(names)
    assert BASELINE == "basicunet" and "flexibleunet-efficientnet-b0" not in list_models(spatial_dims=3)
    assert set(list_models(spatial_dims=3, family="monai")) == {"basicunet", "unet", "attentionunet", "segresnet", "swinunetr", "unetr"}


@pytest.mark.parametrize("entry", zoo_models(), ids=lambda m: m.name)
def test_fixed_arguments_are_accepted_by_the_class(entry) -> None:
    module, _, name = entry.target.rpartition(".")
    cls, ok = optional_import(module, name=name)
    assert ok, entry.target
    params = inspect.signature(cls.__init__).parameters
    for key in (*entry.kwargs, "spatial_dims", "in_channels", "out_channels"):
        assert key in params, f"{entry.name}: {key}"


def test_ablation_switches_reach_the_network() -> None:
    full = get_model("lacnet").build(2, 3, 1)
    plain = get_model("lacnet-no-attention-no-lightweight-conv").build(2, 3, 1)
    half = get_model("msaunet-w0.5").build(3, 1, 3)
    assert sum(p.numel() for p in plain.parameters()) > sum(p.numel() for p in full.parameters())
    assert list(half.features) == [16, 32, 64, 128, 256]
    assert get_model("medlitenet-no-aspp").network_def(2, 3, 1)["use_aspp"] is False
    lawn = sum(p.numel() for p in get_model("lightawnet").build(2, 1, 1).parameters())
    no_attention = sum(p.numel() for p in get_model("lightawnet-no-self-attention").build(2, 1, 1).parameters())
    assert lawn - no_attention == 82_241  # SAGAN q, k, v and gamma at 256 channels


def test_flexibleunet_builds_offline_with_random_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("the zoo tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    net = get_model("flexibleunet-efficientnet-b0").build(2, 3, 1).eval()
    with torch.no_grad():
        assert net(torch.rand(1, 3, 64, 64)).shape == (1, 1, 64, 64)


def test_unetr_gets_the_input_size_and_names_a_missing_package() -> None:
    entry = get_model("unetr")
    assert entry.network_def(3, 1, 3, spatial_size=(32, 32, 32))["img_size"] == [32, 32, 32]
    with pytest.raises(ValueError, match="spatial_size"):
        entry.network_def(3, 1, 3)
    if optional_import("einops")[1]:
        pytest.skip("einops is installed, so UNETR builds")
    with pytest.raises(ImportError, match="einops"):
        entry.build(3, 1, 3, (32, 32, 32))


def test_unknown_names_and_dimensions_give_one_sentence_errors() -> None:
    with pytest.raises(ValueError, match="unknown benchmark model 'nope'; valid names: medlitenet"):
        get_model("nope")
    with pytest.raises(ValueError, match="2D only"):
        get_model("flexibleunet-efficientnet-b0").build(3, 1, 3)
    with pytest.raises(ValueError, match="family"):
        list_models(family="other")
