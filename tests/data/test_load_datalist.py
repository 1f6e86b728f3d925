# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""load_datalist splits by fold and returns absolute paths; it names the datalist file in every error (missing key,
bad fold, missing dataset_dir) and lists ALL missing referenced files in one error. write_json_atomic leaves no
temporary file behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_builders import make_2d_set

from monai_lite.data import DatalistError, load_datalist, load_datalist_header, prepare_datalist, write_json_atomic


@pytest.fixture()
def prepared(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "data"
    make_2d_set(data, stems=tuple(f"c{i}" for i in range(10)), size=(8, 8))
    datalist = tmp_path / "lists" / "dl.json"
    prepare_datalist(data, output=datalist, folds=5, progress=False)
    return datalist, data


def test_fold_split(prepared: tuple[Path, Path]) -> None:
    datalist, data = prepared
    train, val = load_datalist(datalist, data, fold=2)
    assert len(train) == 8 and len(val) == 2
    assert all(e["fold"] == 2 for e in val) and all(e["fold"] != 2 for e in train)
    for entry in train + val:
        assert Path(entry["image"]).is_absolute() and Path(entry["image"]).is_file() and Path(entry["label"]).is_file()


def test_fold_none_puts_everything_in_train(prepared: tuple[Path, Path]) -> None:
    train, val = load_datalist(*prepared)
    assert len(train) == 10 and val == []


def test_relative_dataset_dir(prepared: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    datalist, data = prepared
    monkeypatch.chdir(data.parent)
    train, _ = load_datalist(datalist, "data", fold=None)
    assert Path(train[0]["image"]).is_absolute()


def test_header(prepared: tuple[Path, Path]) -> None:
    header = load_datalist_header(prepared[0])
    assert header["label_remap"] == ">0" and "training" not in header


def test_missing_files_listed_together(prepared: tuple[Path, Path]) -> None:
    datalist, data = prepared
    (data / "images" / "c1.png").unlink()
    (data / "masks" / "c7.png").unlink()
    with pytest.raises(DatalistError) as caught:
        load_datalist(datalist, data, fold=0)
    message = str(caught.value)
    assert str(datalist) in message and "2 do not" in message
    assert "c1.png" in message and "c7.png" in message


def test_wrong_dataset_dir(prepared: tuple[Path, Path], tmp_path: Path) -> None:
    datalist, _ = prepared
    with pytest.raises(DatalistError, match="dataset_dir must be an existing folder"):
        load_datalist(datalist, tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatalistError, match="20 do not"):  # wrong folder: all 10 images and 10 masks are missing
        load_datalist(datalist, tmp_path / "empty")


def test_missing_keys_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    write_json_atomic(path, {"name": "x"})
    with pytest.raises(DatalistError, match=r"must have a 'training' list; .*bad\.json"):
        load_datalist(path, tmp_path)
    write_json_atomic(path, {"training": [{"image": "a.png"}]})
    with pytest.raises(DatalistError, match=r"Entry 0 of 'training' in .*bad\.json must have a 'label' key"):
        load_datalist(path, tmp_path)
    write_json_atomic(path, {"training": [{"image": "a.png", "label": "b.png"}]})
    with pytest.raises(DatalistError, match="needs a 'fold' key"):
        load_datalist(path, tmp_path, fold=0)


def test_bad_fold_and_bad_json(prepared: tuple[Path, Path], tmp_path: Path) -> None:
    datalist, data = prepared
    with pytest.raises(DatalistError, match=r"fold must be one of the folds in .*: \[0, 1, 2, 3, 4\]; got fold=7"):
        load_datalist(datalist, data, fold=7)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(DatalistError, match="must be valid JSON"):
        load_datalist(broken, data)
    with pytest.raises(DatalistError, match="does not exist"):
        load_datalist(tmp_path / "absent.json", data)


def test_write_json_atomic(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "x.json"
    write_json_atomic(target, {"b": 1, "a": [1, 2]})
    write_json_atomic(target, {"b": 2})
    assert json.loads(target.read_text()) == {"b": 2} and target.read_text().endswith("}\n")
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.json"]
    assert target.stat().st_mode & 0o044  # readable by others (not mkstemp's 0600)
