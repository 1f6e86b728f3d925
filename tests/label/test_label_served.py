# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""What the MONAI Label app serves, without MONAI Label: bundles are chosen by name only (a path is refused), the
labels advertised are the values the masks store, and ``/train``'s datalist holds out validation cases only when
there are enough labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monai_lite.label.served import (
    DEFAULT_BUNDLES_DIR,
    MIN_CASES_FOR_HOLDOUT,
    RequestError,
    bundle_folders,
    bundle_labels,
    fine_tune_datalist,
)


def test_bundle_names_resolve_inside_the_bundles_folder():
    found = bundle_folders("medlitenet, medlitenet_hippocampus", DEFAULT_BUNDLES_DIR)
    assert list(found) == ["medlitenet", "medlitenet_hippocampus"]
    assert all(folder.parent == DEFAULT_BUNDLES_DIR.resolve() for folder in found.values())


@pytest.mark.parametrize("name", ["../bundles/medlitenet", "/etc", "medlitenet/configs", ".."])
def test_a_path_is_refused_as_a_model_name(name):
    with pytest.raises(ValueError, match="bundle names, not paths"):
        bundle_folders(name, DEFAULT_BUNDLES_DIR)


def test_an_unknown_bundle_lists_the_available_ones():
    with pytest.raises(ValueError, match="no bundle 'nosuch'.*medlitenet"):
        bundle_folders("nosuch", DEFAULT_BUNDLES_DIR)


def test_a_missing_bundles_folder_is_named(tmp_path):
    with pytest.raises(ValueError, match="is not a folder"):
        bundle_folders("medlitenet", tmp_path / "absent")


def test_labels_are_the_values_masks_store():
    labels, dimension, _ = bundle_labels(DEFAULT_BUNDLES_DIR / "medlitenet")
    assert (labels, dimension) == ({"lesion": 1}, 2)  # the sigmoid channel 0 is stored as mask value 1
    labels, dimension, _ = bundle_labels(DEFAULT_BUNDLES_DIR / "medlitenet_hippocampus")
    assert (labels, dimension) == ({"anterior": 1, "posterior": 2}, 3)


def _pairs(count: int) -> list[dict]:
    return [{"image": f"/s/img{i}.png", "label": f"/s/labels/final/img{i}.png"} for i in range(count)]


def test_few_labels_all_train_and_validation_reuses_them(tmp_path):
    path = fine_tune_datalist(_pairs(2), tmp_path / "d.json")
    content = json.loads(path.read_text())
    assert content["training"] == _pairs(2) and content["validation"] == _pairs(2)


def test_enough_labels_hold_out_every_fifth_case(tmp_path):
    count = 2 * MIN_CASES_FOR_HOLDOUT
    content = json.loads(fine_tune_datalist(_pairs(count), tmp_path / "d.json").read_text())
    train = {c["image"] for c in content["training"]}
    val = {c["image"] for c in content["validation"]}
    assert not train & val and len(train | val) == count and len(val) == count // 5


def test_no_labels_is_a_request_error(tmp_path):
    with pytest.raises(RequestError, match="no saved labels"):
        fine_tune_datalist([], tmp_path / "d.json")
    assert not Path(tmp_path / "d.json").exists()
