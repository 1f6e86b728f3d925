# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""A model folder is data, never code: a planted ``preprocessing.json`` never runs (issue 15, part 1).

Proves, for every payload of the issue (a ``$`` expression in ``image_size`` and in ``preset_params``, an
absolute path and a ``../`` path as ``preset``, ``@`` and ``%`` references, a ``_target_`` component), on every
path that loads weights from a folder (``monai-lite infer --ckpt``, ``load_bundle``, an ensemble of several
``--ckpt``): the record is refused in one message naming the file and the field, and the payload's marker file is
never created. Training's ``--resume`` and ``--init_weights`` paths are in tests/bundles/test_bundle_payload_training.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from monai_lite.cli import main
from monai_lite.inference import load_bundle


def payloads(marker: Path, evil_dir: Path) -> dict[str, tuple[dict, str]]:
    """name -> (record, the field the refusal must name). Each would create ``marker`` if it ran."""
    run = f"$open({str(marker)!r}, 'w').write('ran')"
    evil = {"deterministic": run, "random": [], "spatial_size": [64, 64]}
    (evil_dir / "evil.json").write_text(json.dumps(evil))
    (evil_dir / "macro.json").write_text(json.dumps({"payload": run}))
    base = {"format": 1, "preset": "dermoscopy", "preset_params": {"spatial_size": [64, 64]}, "image_size": [64, 64]}
    return {
        "dollar_image_size": ({**base, "image_size": run}, "image_size"),
        "dollar_preset_params": ({**base, "preset_params": {"spatial_size": run}}, "preset_params.spatial_size"),
        "absolute_preset": ({**base, "preset": str(evil_dir / "evil")}, "preset"),
        "dotdot_preset": ({**base, "preset": "../" * 12 + str(evil_dir / "evil").lstrip("/")}, "preset"),
        "at_reference": ({**base, "preset_params": {"spatial_size": "@image_size"}}, "preset_params.spatial_size"),
        "percent_macro": ({**base, "image_size": f"%{evil_dir / 'macro.json'}#payload"}, "image_size"),
        "target_component": ({**base, "preset_params": {"spatial_size": {
            "_target_": "builtins.open", "file": str(marker), "mode": "w"}}}, "preset_params.spatial_size"),
        "extra_field": ({**base, "imports": [f"$import os; os.mkdir({str(marker)!r})"]}, "imports"),
    }


PAYLOADS = list(payloads(Path("/m"), Path("/tmp")))


@pytest.fixture()
def planted(random_ckpt, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, Path, str]:
    """``(weights, marker, field)``: a copy of random MedLiteNet weights with the payload's record beside them."""
    marker = tmp_path / "marker"
    evil_dir = tmp_path / "evil"
    evil_dir.mkdir()
    record, field = payloads(marker, evil_dir)[request.param]
    folder = tmp_path / "shared_model"
    folder.mkdir()
    weights = folder / "model.pt"
    shutil.copy(random_ckpt("medlitenet"), weights)
    (folder / "preprocessing.json").write_text(json.dumps(record))
    return weights, marker, field


@pytest.fixture(scope="module")
def picture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pictures")
    Image.fromarray(np.full((40, 48, 3), 90, dtype=np.uint8)).save(folder / "case.png")
    return folder / "case.png"


def _refused(text: str, weights: Path, field: str) -> None:
    assert f"{weights.parent / 'preprocessing.json'}: field '{field}" in text, text


@pytest.mark.parametrize("planted", PAYLOADS, indirect=True)
def test_infer_ckpt_refuses_the_record_and_runs_nothing(planted, picture: Path, tmp_path: Path, capsys) -> None:
    weights, marker, field = planted
    assert main(["infer", str(picture), "-o", str(tmp_path / "out"), "--ckpt", str(weights), "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    _refused(err, weights, field)
    assert "Traceback" not in err and err.count("\n") == 1
    assert not marker.exists()


@pytest.mark.parametrize("planted", PAYLOADS, indirect=True)
def test_load_bundle_refuses_the_record_and_runs_nothing(planted) -> None:
    weights, marker, field = planted
    with pytest.raises(ValueError) as caught:
        load_bundle("medlitenet", ckpt_path=weights, device="cpu")
    _refused(str(caught.value), weights, field)
    assert not marker.exists()


@pytest.mark.parametrize("planted", ["dollar_image_size", "absolute_preset", "percent_macro"], indirect=True)
def test_ensemble_refuses_a_planted_member(planted, random_ckpt, picture: Path, tmp_path: Path, capsys) -> None:
    weights, marker, field = planted
    clean = random_ckpt("medlitenet")
    argv = ["infer", str(picture), "-o", str(tmp_path / "out"), "--ckpt", str(clean), "--ckpt", str(weights), "--device", "cpu"]
    assert main(argv) == 1
    _refused(capsys.readouterr().err, weights, field)
    assert not marker.exists()
    assert not (tmp_path / "out").exists()
