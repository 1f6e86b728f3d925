# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves every shipped bundle, 2D and 3D, trains on its embedded default data through MONAI's own command.

``python -m monai.bundle run training --config_file bundles/<name>/train.json`` is run for one short epoch with a
temporary ``--bundle_root``; the run must exit 0, validate, and leave best weights that load into the bundle's own
network definition, a resumable ``last.pt``, and ``preprocessing.json`` recording the preset and the image size the
run used (the command line's, not the bundle's default) and the network's input channels.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from monai.bundle import ConfigParser

from monai_lite.bundle.runner import BUNDLES_DIR, list_bundles

REPO = BUNDLES_DIR.parent


def _short_run(bundle: str) -> list[str]:
    """One epoch at a small size: 2D 64x64, 3D 16^3 patches (every network pads to its own stride)."""
    spatial_dims = ConfigParser.load_config_file(BUNDLES_DIR / bundle / "configs" / "train.json")["network_def"]["spatial_dims"]
    size = [64, 64] if spatial_dims == 2 else [16, 16, 16]
    return ["--epochs", "1", "--image_size", json.dumps(size), "--batch_size", "2", "--num_workers", "0"]


@pytest.mark.slow
@pytest.mark.parametrize("bundle", list_bundles())
def test_bundle_trains_one_epoch_on_the_default_data(bundle: str, tmp_path: Path) -> None:
    args = [sys.executable, "-m", "monai.bundle", "run", "training", "--config_file", f"bundles/{bundle}/train.json",
            "--bundle_root", str(tmp_path), *_short_run(bundle)]
    result = subprocess.run(args, cwd=REPO, capture_output=True, text=True, env=os.environ.copy(), timeout=900)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    assert "val_mean_dice" in result.stdout + result.stderr, "the epoch was validated"
    parser = ConfigParser()
    parser.read_config(BUNDLES_DIR / bundle / "configs" / "train.json")
    network = parser.get_parsed_content("network_def")
    network.load_state_dict(torch.load(tmp_path / "models" / "model.pt", weights_only=True))
    last = torch.load(tmp_path / "models" / "last.pt", weights_only=True)
    assert last["trainer"]["iteration"] > 0 and "optimizer" in last
    record = json.loads((tmp_path / "models" / "preprocessing.json").read_text())
    assert record["preset"] == parser["preset"]
    assert record["image_size"] == json.loads(_short_run(bundle)[3])
    assert record["in_channels"] == parser["in_channels"]
