# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves every bundle passes the model zoo's own checks offline: verify_metadata, verify_net_in_out, ckpt_export.

verify_metadata only downloads the schema named in metadata.json when no file exists at ``filepath``; we pass our
own schema of the zoo's required fields (bundles/metadata_schema.json), so nothing is downloaded.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from monai.bundle import ConfigParser, ckpt_export, verify_metadata, verify_net_in_out

from monai_lite.bundle.runner import BUNDLES_DIR, list_bundles

SCHEMA = BUNDLES_DIR / "metadata_schema.json"
BUNDLES = list_bundles()


def _files(bundle: str) -> tuple[str, str]:
    configs = BUNDLES_DIR / bundle / "configs"
    return str(configs / "metadata.json"), str(configs / "inference.json")


@pytest.mark.parametrize("bundle", BUNDLES)
def test_verify_metadata_offline(bundle: str, tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    shutil.copy(SCHEMA, schema)  # verify_metadata may write to filepath; keep the repo's copy untouched
    meta, _ = _files(bundle)
    verify_metadata(meta_file=meta, filepath=str(schema))


def test_schema_rejects_metadata_missing_a_required_field(tmp_path: Path) -> None:
    meta, _ = _files(BUNDLES[0])
    broken = json.loads(Path(meta).read_text())
    del broken["network_data_format"]
    (tmp_path / "metadata.json").write_text(json.dumps(broken))
    shutil.copy(SCHEMA, tmp_path / "schema.json")
    with pytest.raises(ValueError, match="network_data_format"):
        verify_metadata(meta_file=str(tmp_path / "metadata.json"), filepath=str(tmp_path / "schema.json"))


@pytest.mark.parametrize("bundle", BUNDLES)
def test_verify_net_in_out(bundle: str) -> None:
    meta, config = _files(bundle)
    verify_net_in_out(net_id="network_def", meta_file=meta, config_file=config, device="cpu", n=2, any=32)


@pytest.mark.parametrize("bundle", BUNDLES)
def test_ckpt_export_to_torchscript_matches_eager(bundle: str, tmp_path: Path) -> None:
    meta, config = _files(bundle)
    parser = ConfigParser()
    parser.read_config(config)
    torch.manual_seed(0)
    net = parser.get_parsed_content("network_def").eval()
    torch.save(net.state_dict(), tmp_path / "model.pt")
    ckpt_export(
        net_id="network_def", filepath=str(tmp_path / "model.ts"), ckpt_file=str(tmp_path / "model.pt"),
        meta_file=meta, config_file=config,
    )
    scripted = torch.jit.load(str(tmp_path / "model.ts")).eval()
    spatial = len(json.loads(Path(meta).read_text())["network_data_format"]["inputs"]["image"]["spatial_shape"])
    x = torch.randn(1, parser["in_channels"], *([64] * spatial))
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), net(x), atol=1e-4, rtol=1e-4)
