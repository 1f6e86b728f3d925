# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The preprocessing record's schema (monai_lite.engine.preprocessing_record.check_preprocessing_record).

Proves: a record as training writes it passes unchanged; each departure from the schema (unknown preset, preset
as a path, config syntax in any field, a path in a parameter, an unknown parameter, an image size that is not 2 or
3 positive integers, input channels that are not a positive integer, a non-finite number, another format, an
extra field) is refused naming the file and the field; a record without ``in_channels`` (as written before it was
recorded) passes; config syntax and paths are refused as ``UnsafeValueError``; and ``preset_path`` finds presets by name
only, never by joining a given string onto ``transforms/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monai_lite.engine.preprocessing_record import check_preprocessing_record
from monai_lite.errors import MonaiLiteError, UnsafeValueError
from monai_lite.transforms.presets import PRESET_DIR, preset_path

GOOD = {"format": 1, "preset": "endoscopy", "preset_params": {"spatial_size": [96, 96]}, "image_size": [96, 96],
        "in_channels": 3}
FILE = Path("/models/preprocessing.json")


def test_a_record_as_training_writes_it_passes() -> None:
    assert check_preprocessing_record(GOOD, FILE) == {k: v for k, v in GOOD.items() if k != "format"}
    ct = {"format": 1, "preset": "ct_liver", "preset_params": {"patch_size": [32, 48, 32], "axcodes": "RAS",
          "pixdim": None}, "image_size": [32, 48, 32]}
    assert check_preprocessing_record(ct, FILE)["preset_params"]["axcodes"] == "RAS"
    older = {k: v for k, v in GOOD.items() if k != "in_channels"}
    assert "in_channels" not in check_preprocessing_record(older, FILE)


BAD = {
    "unknown preset": ({"preset": "nosuch"}, "preset", MonaiLiteError),
    "absolute preset": ({"preset": "/tmp/evil"}, "preset", UnsafeValueError),
    "relative preset": ({"preset": "../transforms/ct"}, "preset", UnsafeValueError),
    "expression preset": ({"preset": "$'ct'"}, "preset", UnsafeValueError),
    "expression size": ({"image_size": "$[64, 64]"}, "image_size", UnsafeValueError),
    "reference in list": ({"image_size": [64, "@x"]}, "image_size", UnsafeValueError),
    "macro parameter": ({"preset_params": {"spatial_size": "%a.json#b"}}, "preset_params.spatial_size", UnsafeValueError),
    "component": ({"preset_params": {"spatial_size": {"_target_": "os.getcwd"}}}, "preset_params.spatial_size",
                  UnsafeValueError),
    "path parameter": ({"preset_params": {"spatial_size": "/etc/passwd"}}, "preset_params.spatial_size",
                       UnsafeValueError),
    "non-finite": ({"preset_params": {"spatial_size": [float("nan"), 5]}}, "preset_params.spatial_size[0]",
                   UnsafeValueError),
    "unknown parameter": ({"preset_params": {"spatial_sise": [64, 64]}}, "preset_params.spatial_sise",
                          MonaiLiteError),
    "params not an object": ({"preset_params": [1, 2]}, "preset_params", MonaiLiteError),
    "size of four": ({"image_size": [64, 64, 64, 64]}, "image_size", MonaiLiteError),
    "size zero": ({"image_size": [0, 64]}, "image_size", MonaiLiteError),
    "size boolean": ({"image_size": [True, 64]}, "image_size", MonaiLiteError),
    "channels zero": ({"in_channels": 0}, "in_channels", MonaiLiteError),
    "channels boolean": ({"in_channels": True}, "in_channels", MonaiLiteError),
    "channels float": ({"in_channels": 1.0}, "in_channels", MonaiLiteError),
    "channels huge": ({"in_channels": 10**9}, "in_channels", MonaiLiteError),
    "channels expression": ({"in_channels": "$1"}, "in_channels", UnsafeValueError),
    "other format": ({"format": 2}, "format", MonaiLiteError),
    "extra field": ({"imports": ["$import os"]}, "imports", UnsafeValueError),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_departures_are_refused_naming_file_and_field(case: str) -> None:
    change, field, kind = BAD[case]
    with pytest.raises(kind) as caught:
        check_preprocessing_record({**GOOD, **change}, FILE)
    assert str(caught.value).startswith(f"{FILE}: field '{field}'"), str(caught.value)


@pytest.mark.parametrize("name", ["../transforms/ct", str(PRESET_DIR / "ct"), "ct.json", "CT", "", "ct/"])
def test_presets_are_found_by_name_only(name: str) -> None:
    with pytest.raises(ValueError, match="unknown transform preset"):
        preset_path(name)
    assert preset_path("ct") == PRESET_DIR / "ct.json"
