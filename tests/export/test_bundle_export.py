# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves every bundle exports to TorchScript (ckpt_export) and ONNX (onnx_export) and that each export, reloaded
with torch.jit.load / ONNX Runtime, reproduces the eager network (max |diff| <= 1e-4 x max(1, max |output|)) and
records the torch version it was made with.

Weights are random (seeded) and saved to tmp_path: no trained weights are in git. Inputs are small and not
multiples of the networks' strides, so the internal pad-and-crop is part of what is exported and checked.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import onnx
import pytest
import torch
from monai.bundle import ConfigParser

from monai_lite.bundle.runner import list_bundles
from monai_lite.export import (
    bundle_files,
    check_export_parity,
    eager_network,
    export_bundle_onnx,
    export_bundle_torchscript,
)

BUNDLES = list_bundles()
TORCH_VERSION = torch.__version__.split("+")[0]


def _random_checkpoint(bundle: str, folder: Path) -> tuple[Path, tuple[int, ...]]:
    """Seeded random weights of the bundle's network in ``folder/model.pt``, and a small odd-sized input shape."""
    _, _, config = bundle_files(bundle)
    parser = ConfigParser()
    parser.read_config(str(config))
    torch.manual_seed(0)
    net = parser.get_parsed_content("network_def")
    ckpt = folder / "model.pt"
    torch.save(net.state_dict(), ckpt)
    spatial = (40, 24, 32) if parser["network_def"]["spatial_dims"] == 3 else (72, 56)
    return ckpt, (1, parser["in_channels"], *spatial)


#: exported in the fast suite; the other bundles' exports take 10-30 s each on two loaded CPU cores
FAST = "medlitenet"
PARAMS = [b if b == FAST else pytest.param(b, marks=pytest.mark.slow) for b in BUNDLES]


def test_every_bundle_is_covered() -> None:
    assert len(BUNDLES) == 9, BUNDLES


@pytest.mark.parametrize("bundle", PARAMS)
def test_torchscript_export_reloads_with_parity_and_torch_version(bundle: str, tmp_path: Path) -> None:
    ckpt, shape = _random_checkpoint(bundle, tmp_path)
    ts = export_bundle_torchscript(bundle, tmp_path / "model.ts", ckpt)
    result = check_export_parity(ts, bundle, ckpt, shape)
    assert result.passed, result
    with zipfile.ZipFile(ts) as archive:
        meta_name = next(n for n in archive.namelist() if n.endswith("extra/metadata.json"))
        meta = json.loads(archive.read(meta_name))
    assert meta["pytorch_version"] == TORCH_VERSION
    assert not list(tmp_path.glob(".*tmp*")), "temporary export file left behind"


@pytest.mark.parametrize("bundle", PARAMS)
def test_onnx_export_reloads_with_parity_and_torch_version(bundle: str, tmp_path: Path) -> None:
    ckpt, shape = _random_checkpoint(bundle, tmp_path)
    path = export_bundle_onnx(bundle, tmp_path / "model.onnx", ckpt, input_shape=shape)
    result = check_export_parity(path, bundle, ckpt, shape)
    assert result.passed, result
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    assert props["torch_version"] == torch.__version__
    assert props["bundle"] == bundle and json.loads(props["input_shape"]) == list(shape)
    assert props["exporter"] in ("torchscript", "dynamo")
    assert model.producer_name == "pytorch" and model.producer_version.split("+")[0] == TORCH_VERSION
    assert not list(tmp_path.glob(".*tmp*")), "temporary export file left behind"


def test_parity_detects_different_weights(tmp_path: Path) -> None:
    bundle = "lacnet"
    ckpt, shape = _random_checkpoint(bundle, tmp_path)
    ts = export_bundle_torchscript(bundle, tmp_path / "model.ts", ckpt)
    other = eager_network(bundle, ckpt)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.1)
    torch.save(other.state_dict(), tmp_path / "other.pt")
    result = check_export_parity(ts, bundle, tmp_path / "other.pt", shape)
    assert not result.passed and result.max_abs_diff > result.tolerance


def test_bad_arguments_give_one_sentence_errors(tmp_path: Path) -> None:
    ckpt, _ = _random_checkpoint("lacnet", tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        export_bundle_torchscript("lacnet", tmp_path / "m.ts", tmp_path / "missing.pt")
    with pytest.raises(ValueError, match=r"must end with \.onnx"):
        export_bundle_onnx("lacnet", tmp_path / "m.ts", ckpt, input_shape=(1, 3, 32, 32))
    with pytest.raises(ValueError, match="input_shape"):
        export_bundle_onnx("lacnet", tmp_path / "m.onnx", ckpt, input_shape=(1, 3, 32, 32, 32))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_bundle_onnx("lacnet", tmp_path / "no" / "m.onnx", ckpt, input_shape=(1, 3, 32, 32))
    with pytest.raises(ValueError, match="neither a bundle folder"):
        export_bundle_onnx("no-such-bundle", tmp_path / "m.onnx", ckpt, input_shape=(1, 3, 32, 32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]
