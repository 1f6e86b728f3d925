# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves inference_log.json: after Predictor.write on two pictures with the MedLiteNet bundle (random weights in a
temporary checkpoint) it records the monai-lite, torch and MONAI versions, the bundle, the checkpoint path with its
true sha256, the weight, the options (TTA with its six transforms, threshold, overlap, blend), and per case the input,
the outputs actually written, the shape, spacing (none for pictures) and seconds."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import monai
import pytest
import torch
from inference_helpers import asymmetric_picture
from PIL import Image

import monai_lite


def test_log_contents(random_ckpt, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    Image.fromarray(asymmetric_picture(40, 64)).save(tmp_path / "in" / "a.png")
    Image.fromarray(asymmetric_picture(32, 32)).save(tmp_path / "in" / "b.jpg")
    ckpt = random_ckpt("medlitenet")
    predictor = monai_lite.load_bundle("medlitenet", ckpt_path=ckpt, device="cpu", tta=True, threshold=0.4)
    predictor.write(tmp_path / "in", tmp_path / "out", progress=False)
    log = json.loads((tmp_path / "out" / "inference_log.json").read_text())
    assert log["monai_lite_version"] == monai_lite.__version__
    assert log["torch_version"] == torch.__version__ and log["monai_version"] == monai.__version__
    assert log["device"] == "cpu" and log["output_dir"] == str((tmp_path / "out").resolve())
    (model,) = log["models"]
    assert model["bundle"].endswith("bundles/medlitenet") and model["checkpoint"] == str(ckpt.resolve())
    assert model["sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest() and model["weight"] == pytest.approx(1.0)
    options = log["options"]
    assert options["tta"] is True and len(options["tta_transforms"]) == 6 and options["threshold"] == 0.4
    assert options["overlap"] == 0.25 and options["blend"] == "gaussian"
    assert [Path(c["input"]).name for c in log["cases"]] == ["a.png", "b.jpg"]
    first = log["cases"][0]
    assert first["kind"] == "picture" and first["shape"] == [40, 64] and first["spacing"] is None
    assert first["series_uid"] is None and first["seconds"] > 0
    for output in first["outputs"]:
        assert Path(output).is_file() and Path(output).parent == (tmp_path / "out").resolve()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a_overlay.png", "a_seg.png", "b_overlay.png", "b_seg.png", "inference_log.json"
    ]
