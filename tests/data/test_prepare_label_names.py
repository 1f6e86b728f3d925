# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves ``prepare`` writes class names given on the command line (``--labels 1=polyp``) or in a labels JSON file
into the datalist, and names the file when it is missing or not JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from data_builders import make_2d_set

from monai_lite import cli


@pytest.fixture()
def folders(tmp_path: Path) -> tuple[Path, Path]:
    return make_2d_set(tmp_path / "ds")


def test_names_from_the_flag(folders: tuple[Path, Path], tmp_path: Path) -> None:
    images, masks = folders
    out = tmp_path / "dl.json"
    assert cli.main(["prepare", str(images), "--labels", "1=polyp", str(masks), "-o", str(out), "--folds", "2"]) == 0
    assert json.loads(out.read_text())["labels"] == {"background": 0, "polyp": 1}


def test_names_from_a_labels_file(folders: tuple[Path, Path], tmp_path: Path) -> None:
    images, masks = folders
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"0": "background", "1": "lesion"}))  # value -> name, as ct-totalseg/labels.json
    out = tmp_path / "dl.json"
    assert cli.main(["prepare", str(images), str(masks), "--labels", str(labels), "-o", str(out), "--folds", "2"]) == 0
    assert json.loads(out.read_text())["labels"] == {"background": 0, "lesion": 1}


@pytest.mark.parametrize("content, message", [(None, "labels file .*missing.json does not exist"),
                                              ("{", "labels file .*missing.json is not JSON")])
def test_bad_labels_file_is_named(folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture,
                                  content: str | None, message: str) -> None:
    images, masks = folders
    labels = tmp_path / "missing.json"
    if content is not None:
        labels.write_text(content)
    out = tmp_path / "dl.json"
    assert cli.main(["prepare", str(images), str(masks), "--labels", str(labels), "-o", str(out)]) == 1
    assert re.search(message, capsys.readouterr().err.strip().splitlines()[-1])
    assert not out.exists()
