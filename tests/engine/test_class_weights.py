# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the frequency-derived cross-entropy class weights of :mod:`monai_lite.engine.class_weights`.

- pixel counts of small synthetic masks (0/255 PNGs for a sigmoid head, NIfTI label maps for a softmax head) are
  exact, and the median-frequency weights are ``median(f) / f_c`` (rarer class, larger weight);
- the weights are written to ``class_weights.json`` and reused from it without reading a label again while the
  label files are unchanged; a changed label file is read again;
- a list given with ``--class_weights`` is used as given and recorded; null writes no record (and neutralises a
  stale one);
- empty training lists, cases without labels, label values the head cannot have, a class that never occurs and
  malformed lists are refused with a message naming the problem (and the file).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from monai_lite.engine import class_weights as cw


def _png(path: Path, foreground: int, size: int = 10) -> dict:
    array = np.zeros((size, size), dtype=np.uint8)
    array.flat[:foreground] = 255
    Image.fromarray(array).save(path)
    return {"image": str(path), "label": str(path)}


def _nifti(path: Path, counts: tuple[int, ...]) -> dict:
    array = np.concatenate([np.full(n, c, dtype=np.uint8) for c, n in enumerate(counts)]).reshape(-1, 1, 1)
    nib.save(nib.Nifti1Image(array, np.eye(4)), str(path))
    return {"image": str(path), "label": str(path)}


def test_binary_counts_and_median_frequency(tmp_path: Path) -> None:
    cases = [_png(tmp_path / "a.png", 10), _png(tmp_path / "b.png", 30)]
    counts = cw.label_frequencies(cases, out_channels=1, progress=False)
    assert counts.tolist() == [160, 40]
    weights = cw.resolve_class_weights("median_frequency", cases, 1, tmp_path / "models", progress=False)
    frequencies = np.array([160, 40]) / 200
    assert weights == pytest.approx((np.median(frequencies) / frequencies).tolist())
    assert weights[1] / weights[0] == pytest.approx(4.0), "weights are inversely proportional to the frequencies"
    record = json.loads((tmp_path / "models" / cw.CLASS_WEIGHTS_NAME).read_text())
    assert record["method"] == "median_frequency" and record["class_voxels"] == [160, 40]
    assert record["label_files"] == 2 and record["weights"] == pytest.approx(weights)


def test_multiclass_counts(tmp_path: Path) -> None:
    cases = [_nifti(tmp_path / "a.nii.gz", (50, 5, 20)), _nifti(tmp_path / "b.nii.gz", (30, 5, 20))]
    assert cw.label_frequencies(cases, out_channels=3, progress=False).tolist() == [80, 10, 40]
    weights = cw.resolve_class_weights("median_frequency", cases, 3, None, progress=False)
    assert weights == pytest.approx([40 / 80, 40 / 10, 1.0])


def test_record_is_a_cache_until_a_label_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [_png(tmp_path / "a.png", 20)]
    models = tmp_path / "models"
    first = cw.resolve_class_weights("median_frequency", cases, 1, models, progress=False)
    reads = []
    original = cw.label_frequencies
    monkeypatch.setattr(cw, "label_frequencies", lambda *a, **k: reads.append(1) or original(*a, **k))
    assert cw.resolve_class_weights("median_frequency", cases, 1, models, progress=False) == first
    assert not reads, "unchanged labels must come from the record"
    _png(tmp_path / "a.png", 50)
    os.utime(tmp_path / "a.png", ns=(1, 10**18))  # a different modification time, whatever the clock resolution
    changed = cw.resolve_class_weights("median_frequency", cases, 1, models, progress=False)
    assert reads and changed != first and changed[1] / changed[0] == pytest.approx(1.0)


def test_given_weights_and_null(tmp_path: Path) -> None:
    models = tmp_path / "models"
    assert cw.resolve_class_weights([0.5, 2], [], 1, models) == [0.5, 2.0]
    assert json.loads((models / cw.CLASS_WEIGHTS_NAME).read_text())["method"] == "given"
    assert cw.resolve_class_weights(None, [], 1, models) is None
    assert cw.read_class_weights_record(models)["method"] == "none", "a stale record must not describe this run"
    assert cw.resolve_class_weights(None, [], 1, tmp_path / "other") is None
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize(
    ("weights", "out_channels", "message"),
    [
        ([1.0], 1, r"\[w_background, w_foreground\]"),
        ([1.0, -1.0], 1, "finite numbers >= 0"),
        ([0, 0, 0], 3, "not all 0"),
        ([1.0, float("nan")], 1, "finite"),
        ("inverse", 1, "not a known method"),
        (3, 1, "null, a list of numbers or a method"),
    ],
)
def test_malformed_weights_are_refused(weights, out_channels: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cw.resolve_class_weights(weights, [], out_channels)


def test_invalid_label_sets_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="training list is empty"):
        cw.resolve_class_weights("median_frequency", [], 1)
    with pytest.raises(ValueError, match="has no 'label'"):
        cw.resolve_class_weights("median_frequency", [{"image": "x.png"}], 1)
    with pytest.raises(FileNotFoundError, match="missing.png"):
        cw.resolve_class_weights("median_frequency", [{"label": str(tmp_path / "missing.png")}], 1)
    empty = [_png(tmp_path / "empty.png", 0)]
    with pytest.raises(ValueError, match=r"class\(es\) \[1\] never occur"):
        cw.resolve_class_weights("median_frequency", empty, 1, progress=False)
    three = [_nifti(tmp_path / "three.nii.gz", (5, 5, 5))]
    with pytest.raises(ValueError, match=r"three.nii.gz holds the value 2.*0\.\.1"):
        cw.resolve_class_weights("median_frequency", three, 2, progress=False)


def test_unreadable_record_names_the_file(tmp_path: Path) -> None:
    (tmp_path / cw.CLASS_WEIGHTS_NAME).write_text("{not json")
    with pytest.raises(ValueError, match="class_weights.json: unreadable"):
        cw.read_class_weights_record(tmp_path)
