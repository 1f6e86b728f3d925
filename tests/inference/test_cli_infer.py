# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the ``monai-lite infer`` verb end to end on a temporary folder: positional inputs and the older ``-i``
alias both segment every picture into OUTDIR with masks, overlays and inference_log.json, forwarding the options
(--tta, --threshold, --ckpt-path, --device, --no-overlay); an output folder inside the input folder or in a new
subfolder of an input file's folder (nothing created), a single DICOM slice file and an unknown bundle fail with
exit code 1 and one line; no input at all is a usage error (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inference_helpers import asymmetric_picture, builders
from PIL import Image

from monai_lite import cli


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(asymmetric_picture(40, 64)).save(folder / "one.png")
    Image.fromarray(asymmetric_picture(24, 32)).save(folder / "two.png")
    return folder


def test_infer_writes_masks_overlays_and_log(random_ckpt, images: Path, tmp_path: Path, capsys) -> None:
    ckpt = str(random_ckpt("medlitenet"))
    out = tmp_path / "out"
    code = cli.main(["infer", "--bundle", "medlitenet", str(images), "-o", str(out), "--ckpt-path", ckpt,
                     "--device", "cpu", "--tta", "--threshold", "0.3"])
    assert code == 0
    assert "segmented 2 case(s); wrote 4 file(s)" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "inference_log.json", "one_overlay.png", "one_seg.png", "two_overlay.png", "two_seg.png"
    ]
    log = json.loads((out / "inference_log.json").read_text())
    assert log["options"]["tta"] is True and log["options"]["threshold"] == 0.3
    assert Image.open(out / "one_seg.png").size == (64, 40)
    assert sorted(p.name for p in images.iterdir()) == ["one.png", "two.png"]  # the input folder is untouched

    alias_out = tmp_path / "alias"
    assert cli.main(["infer", "-i", str(images / "one.png"), "-o", str(alias_out), "--ckpt", ckpt, "--no-overlay"]) == 0
    assert sorted(p.name for p in alias_out.iterdir()) == ["inference_log.json", "one_seg.png"]


@pytest.mark.parametrize("problem", ["inside", "dicom_file", "bundle"])
def test_problems_are_one_line(problem: str, images: Path, tmp_path: Path, capsys) -> None:
    args = ["infer", str(images), "-o", str(tmp_path / "out")]
    expected = ""
    if problem == "inside":
        args = ["infer", str(images), "-o", str(images / "predictions")]
        expected = f"output folder {images / 'predictions'} is inside the input folder {images}"
    elif problem == "dicom_file":
        files = builders.write_dicom_series(tmp_path / "series", (asymmetric_picture(8, 6)[..., :3] * 3).astype("uint16"))
        args = ["infer", str(files[0]), "-o", str(tmp_path / "out"), "--bundle", "medlitenet_hippocampus",
                "--set", "load_pretrain=false"]
        expected = f"inference input {files[0]} is a single DICOM file; pass the folder"
    else:
        args += ["--bundle", "no_such_bundle"]
        expected = "'no_such_bundle' is neither a bundle folder"
    assert cli.main(args) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("monai-lite infer: error: ") and expected in last
    assert not (images / "predictions").exists()


def test_no_input_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["infer", "-o", "somewhere"])
    assert exc.value.code == 2


def test_infer_command_refuses_a_subfolder_of_an_input_files_folder(tmp_path: Path, capsys) -> None:
    images = tmp_path / "images"
    images.mkdir()
    picture = images / "a.png"
    Image.fromarray(asymmetric_picture()).save(picture)
    code = cli.main(["infer", str(picture), "-o", str(images / "preds"), "--device", "cpu"])
    assert code == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"output folder {(images / 'preds').resolve()} is inside the folder of the input file" in last
    assert sorted(p.name for p in images.iterdir()) == ["a.png"]
