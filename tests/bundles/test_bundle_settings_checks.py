# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Bundle settings are checked when a workflow starts (monai_lite.bundle.checks.check_bundle_settings).

Proves: every bad override the issue lists (image size of the wrong length, zero, a bare number; an unknown preset or preset parameter; config syntax in preset_params; epochs that are not a positive
integer; a fold the datalist does not have; a missing dataset folder or datalist; a damaged ckpt_path or one of
another network) is refused naming the id, the value and what is allowed; weights recorded as trained on other
input channels name the flags that fit them; the shipped defaults pass; and through
``python -m monai.bundle run`` the refusal is one line on stderr, exit status 1, with the traceback only under
``MONAI_LITE_DEBUG=1``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from monai_lite.bundle.checks import check_bundle_settings
from monai_lite.bundle.runner import BUNDLES_DIR
from monai_lite.errors import CheckpointError, SettingError
from monai_lite.networks import MedLiteNet

NET = MedLiteNet(spatial_dims=2, in_channels=3, out_channels=1)
OK = {"network": NET, "image_size": [128, 128], "preset": "dermoscopy", "preset_params": {"spatial_size": [128, 128]}}


def test_shipped_defaults_pass() -> None:
    assert check_bundle_settings(**OK, epochs=15, fold=0) is True


BAD = {
    "image_size_bare_number": ({"image_size": 96}, "'image_size' = 96 is not allowed: a list of 2 positive integers"),
    "image_size_wrong_length": ({"image_size": [96, 96, 96]}, "one per spatial axis of this 2D network"),
    "image_size_zero": ({"image_size": [0, 128]}, "'image_size' = [0, 128] is not allowed: a list of 2 positive"),
    "image_size_not_integers": ({"image_size": [64.5, 64]}, "a list of 2 positive integers"),
    "preset_unknown": ({"preset": "nosuch"}, "'preset' = 'nosuch' is not allowed: one of the presets chest_xray"),
    "preset_param_unknown": ({"preset_params": {"spatial_sise": [64, 64]}}, "unknown: ['spatial_sise']"),
    "preset_param_expression": ({"preset_params": {"spatial_size": "$print(1)"}}, "starts with '$'"),
    "epochs_negative": ({"epochs": -3}, "'epochs' = -3 is not allowed: a positive integer"),
    "epochs_zero": ({"epochs": 0}, "'epochs' = 0 is not allowed"),
    "epochs_text": ({"epochs": "ten"}, "'epochs' = 'ten' is not allowed"),
    "fold_text": ({"fold": "one"}, "'fold' = 'one' is not allowed: an integer"),
    "dataset_dir_missing": ({"dataset_dir": "/no/such/folder"}, "'dataset_dir' = '/no/such/folder' is not allowed"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_settings_name_id_value_and_what_is_allowed(case: str) -> None:
    override, message = BAD[case]
    with pytest.raises(ValueError) as caught:
        check_bundle_settings(**{**OK, **override})
    assert message in str(caught.value)


def test_fold_must_be_one_of_the_datalist(tmp_path: Path) -> None:
    datalist = tmp_path / "datalist.json"
    datalist.write_text(json.dumps({"training": [{"image": "a.png", "label": "a_m.png", "fold": f} for f in (0, 1, 2)]}))
    check_bundle_settings(**OK, fold=2, dataset_dir=str(tmp_path), datalist=str(datalist))
    with pytest.raises(SettingError, match=r"'fold' = 5 is not allowed: a fold of .*datalist.json \(0, 1, 2\)"):
        check_bundle_settings(**OK, fold=5, dataset_dir=str(tmp_path), datalist=str(datalist))
    with pytest.raises(SettingError, match=r"'datalist' = '.*nosuch.json' is not allowed: an existing datalist"):
        check_bundle_settings(**OK, dataset_dir=str(tmp_path), datalist=str(tmp_path / "nosuch.json"))


def test_weights_settings_are_read_and_fitted(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"bundle setting 'ckpt_path': .*empty.pt is empty \(0 bytes\)"):
        check_bundle_settings(**OK, ckpt_path=str(empty))
    other = tmp_path / "other.pt"
    torch.save(nn.Conv2d(3, 1, 3).state_dict(), other)
    with pytest.raises(CheckpointError, match=r"'init_weights': .*other.pt does not fit the network MedLiteNet"):
        check_bundle_settings(**OK, init_weights=str(other))


def test_weights_of_other_input_channels_say_what_to_pass(tmp_path: Path) -> None:
    """1-channel weights (as LightAWNet's paper overlay trains them) given to the bundle's 3-channel network: the
    record beside them names the flags that build the network they fit."""
    grey = tmp_path / "grey" / "model.pt"
    grey.parent.mkdir()
    torch.save(MedLiteNet(spatial_dims=2, in_channels=1, out_channels=1).state_dict(), grey)
    record = {"format": 1, "preset": "grey_minmax", "preset_params": {"spatial_size": [64, 64]},
              "image_size": [64, 64]}
    (grey.parent / "preprocessing.json").write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match="does not fit") as caught:  # no recorded channels: no hint
        check_bundle_settings(**OK, ckpt_path=str(grey))
    assert "--in_channels" not in str(caught.value)
    (grey.parent / "preprocessing.json").write_text(json.dumps({**record, "in_channels": 1}))
    with pytest.raises(CheckpointError, match=r"does not fit the network MedLiteNet.* trained on 1 input channel\(s\)"
                       r" .*pass --in_channels 1 --preset grey_minmax --image_size \"\[64, 64\]\""):
        check_bundle_settings(**OK, ckpt_path=str(grey))


def _bundle_run(*overrides: str, debug: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "MONAI_LITE_DEBUG": "1" if debug else ""}
    config = BUNDLES_DIR / "medlitenet" / "configs" / "train.json"
    return subprocess.run([sys.executable, "-m", "monai.bundle", "run", "training", "--config_file", str(config),
                           "--bundle_root", "/nonexistent-root-not-written", *overrides],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("override, message", [
    (("--image_size", "96"), "bundle setting 'image_size' = 96 is not allowed"),
    (("--preset", "nosuch"), "bundle setting 'preset' = 'nosuch' is not allowed"),
    (("--epochs", "-3"), "bundle setting 'epochs' = -3 is not allowed"),
])
def test_bundle_command_reports_one_line(override: tuple[str, str], message: str) -> None:
    result = _bundle_run(*override)
    assert result.returncode == 1
    assert f"monai-lite: error: {message}" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_bundle_command_debug_shows_the_traceback() -> None:
    result = _bundle_run("--epochs", "-3", debug=True)
    assert result.returncode == 1 and "Traceback" in result.stderr and "SettingError" in result.stderr


def test_bundle_inference_names_a_damaged_checkpoint(tmp_path: Path) -> None:
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"\0" * 10)
    config = BUNDLES_DIR / "medlitenet" / "configs" / "inference.json"
    result = subprocess.run([sys.executable, "-m", "monai.bundle", "run", "inference", "--config_file", str(config),
                             "--ckpt_path", str(weights), "--output_dir", str(tmp_path / "out")],
                            capture_output=True, text=True, env={**os.environ, "MONAI_LITE_DEBUG": ""}, timeout=300)
    assert result.returncode == 1
    assert f"monai-lite: error: bundle setting 'ckpt_path': {weights} is not a PyTorch checkpoint" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
