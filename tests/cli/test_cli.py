# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the ``monai-lite`` command parses its verbs, forwards to the API, and reports problems in one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monai_lite import cli
from monai_lite.bundle.runner import BUNDLES_DIR, parse_override, resolve_bundle


def test_list_prints_networks_bundles_presets(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "medlitenet" in out and "dermoscopy" in out


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["no-such-verb"])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    "text, expected",
    [("epochs=3", ("epochs", 3)), ("image_size=[64, 64]", ("image_size", [64, 64])),
     ("preset=endoscopy", ("preset", "endoscopy")), ("train::dataloader::batch_size=2", ("train#dataloader#batch_size", 2))],
)
def test_parse_override(text: str, expected: tuple) -> None:
    assert parse_override(text) == expected


def test_parse_override_needs_an_equals_sign() -> None:
    with pytest.raises(ValueError, match="ID=VALUE"):
        parse_override("epochs")


def test_unknown_bundle_lists_the_shipped_ones() -> None:
    with pytest.raises(ValueError, match="shipped bundles: .*medlitenet"):
        resolve_bundle("medlitenett")


def test_missing_weights_are_reported_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bundle = tmp_path / "medlitenet"
    shutil.copytree(BUNDLES_DIR / "medlitenet", bundle, symlinks=True, ignore=shutil.ignore_patterns("*.pt", "eval"))
    images = tmp_path / "images"
    images.mkdir()
    (images / "case.png").write_bytes(b"")  # only listed: the weights are checked before any image is read
    assert cli.main(["infer", "--bundle", str(bundle), "-i", str(images), "-o", str(tmp_path / "out")]) == 1
    # The last line is ours; earlier stderr lines may be MONAI's logging (pytest swaps the streams per test).
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"monai-lite infer: error: no trained weights at {bundle}/models/model.pt")


def test_empty_input_folder_is_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bundle = tmp_path / "medlitenet"
    shutil.copytree(BUNDLES_DIR / "medlitenet", bundle, symlinks=True, ignore=shutil.ignore_patterns("*.pt", "eval"))
    images = tmp_path / "empty"
    images.mkdir()
    code = cli.main(["infer", "--bundle", str(bundle), "-i", str(images), "--set", "load_pretrain=false"])
    assert code == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"monai-lite infer: error: inference input folder {images} holds no image")
