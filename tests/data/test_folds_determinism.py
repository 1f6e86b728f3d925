# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Fold and test assignment is deterministic: the same input and seed give a byte-identical datalist (also from a
copy of the data in another folder and with files listed in another order), another seed gives another balanced
split, and the held-out test cases never appear in training."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from data_builders import make_2d_set

from monai_lite.data import prepare_datalist, split_cases

STEMS = tuple(f"img_{i:02d}" for i in range(23))


def test_same_input_gives_byte_identical_file(tmp_path: Path) -> None:
    make_2d_set(tmp_path / "d", stems=STEMS, size=(8, 10))
    prepare_datalist(tmp_path / "d", output=tmp_path / "a.json", progress=False)
    prepare_datalist(tmp_path / "d", output=tmp_path / "b.json", progress=False)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_creation_order_does_not_matter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_2d_set(tmp_path / "one" / "d", stems=STEMS, size=(8, 10))
    make_2d_set(tmp_path / "two" / "d", stems=tuple(reversed(STEMS)), size=(8, 10))
    for name in ("one", "two"):
        monkeypatch.chdir(tmp_path / name)  # relative arguments: data_root_hint is "d" in both
        prepare_datalist("d", output=tmp_path / f"{name}.json", progress=False)
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "two.json").read_bytes()


def test_seed_changes_split_but_keeps_balance(tmp_path: Path) -> None:
    folds0, _ = split_cases(STEMS, folds=5, seed=0)
    folds1, _ = split_cases(STEMS, folds=5, seed=1)
    assert folds0 != folds1
    for assignment in (folds0, folds1):
        sizes = Counter(assignment.values())
        assert sorted(sizes) == [0, 1, 2, 3, 4] and max(sizes.values()) - min(sizes.values()) <= 1


def test_split_is_stable_when_a_case_is_added() -> None:
    before, _ = split_cases(STEMS, folds=1, seed=0)
    after, _ = split_cases(STEMS + ("img_99",), folds=1, seed=0)
    assert {k: after[k] for k in before} == before


def test_test_fraction(tmp_path: Path) -> None:
    folds, test = split_cases(STEMS, folds=3, seed=0, test_fraction=0.2)
    assert len(test) == round(0.2 * len(STEMS)) == 5
    assert not set(test) & set(folds) and len(folds) + len(test) == len(STEMS)
    assert split_cases(STEMS, folds=3, seed=0, test_fraction=0.2) == (folds, test)


def test_split_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="folds must be >= 1"):
        split_cases(STEMS, folds=0)
    with pytest.raises(ValueError, match="unique"):
        split_cases(("a", "a"))


def test_copy_elsewhere_gives_same_entries(tmp_path: Path) -> None:
    make_2d_set(tmp_path / "d", stems=STEMS, size=(8, 10))
    shutil.copytree(tmp_path / "d", tmp_path / "copy" / "d")
    prepare_datalist(tmp_path / "d", output=tmp_path / "a.json", progress=False)
    prepare_datalist(tmp_path / "copy" / "d", output=tmp_path / "b.json", progress=False)
    a, b = (json.loads((tmp_path / n).read_text()) for n in ("a.json", "b.json"))
    assert a.pop("data_root_hint") != b.pop("data_root_hint")
    assert a == b  # only the hint differs; entries and folds are identical
