# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves how inference inputs are found: a folder of files is many cases and a DICOM series folder one case; a
single DICOM slice file, a folder with several series (unless --series-uid picks one), a folder without images and
an unknown file type give one clear sentence; repeated names get suffixes; and an output folder that is an input
folder, lies inside one, or lies in a file input's own folder tree (its folder or a new subfolder of it) is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from inference_helpers import asymmetric_picture, builders
from PIL import Image

from monai_lite.inference import check_output_dir, find_cases


def _series(folder: Path, uid: str | None = None, slices: int = 3) -> list[Path]:
    stored = (np.arange(6 * 5 * slices) % 900).reshape(6, 5, slices).astype(np.uint16)
    return builders.write_dicom_series(folder, stored, series_uid=uid)


def test_folder_of_files_and_series(tmp_path: Path) -> None:
    Image.fromarray(asymmetric_picture()).save(tmp_path / "b.png")
    Image.fromarray(asymmetric_picture()).save(tmp_path / "a.jpg")
    builders.save_nifti(tmp_path / "vol.nii.gz", np.zeros((4, 5, 6), np.float32))
    (tmp_path / "notes.txt").write_text("not an image")
    _series(tmp_path / "ct")
    cases = find_cases(tmp_path)
    assert [(c.name, c.kind) for c in cases] == [("a", "picture"), ("b", "picture"), ("ct", "dicom"), ("vol", "volume")]
    dicom = cases[2]
    assert len(dicom.series_files) == 3 and dicom.series_uid


def test_series_folder_is_one_case(tmp_path: Path) -> None:
    _series(tmp_path / "s", uid="1.2.3.4")
    (case,) = find_cases(tmp_path / "s")
    assert case.kind == "dicom" and case.series_uid == "1.2.3.4" and case.name == "s"


def test_single_dicom_file_asks_for_the_series_folder(tmp_path: Path) -> None:
    files = _series(tmp_path / "s")
    with pytest.raises(ValueError, match=f"{files[0]} is a single DICOM file; pass the folder"):
        find_cases(files[0])


def test_folder_with_one_slice_is_refused(tmp_path: Path) -> None:
    _series(tmp_path / "s", slices=1)
    with pytest.raises(ValueError, match="holds a single slice"):
        find_cases(tmp_path / "s")


def test_several_series_need_a_choice(tmp_path: Path) -> None:
    (tmp_path / "mixed").mkdir()
    for uid in ("1.2.3.10", "1.2.3.20"):
        for path in _series(tmp_path / uid, uid=uid):
            path.rename(tmp_path / "mixed" / f"{uid}-{path.name}")
    with pytest.raises(ValueError, match=r"holds 2 series; choose one with --series-uid .*1\.2\.3\.10.*1\.2\.3\.20"):
        find_cases(tmp_path / "mixed")
    (case,) = find_cases(tmp_path / "mixed", series_uid="1.2.3.20")
    assert case.series_uid == "1.2.3.20" and len(case.series_files) == 3
    with pytest.raises(ValueError, match="holds no series 9.9"):
        find_cases(tmp_path / "mixed", series_uid="9.9")


def test_empty_folder_missing_path_and_unknown_file(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=f"inference input folder {tmp_path / 'empty'} holds no image"):
        find_cases(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_cases(tmp_path / "nowhere")
    (tmp_path / "table.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match="table.csv is not an image"):
        find_cases(tmp_path / "table.csv")


def test_repeated_names_get_suffixes(tmp_path: Path) -> None:
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        Image.fromarray(asymmetric_picture()).save(tmp_path / folder / "case.png")
    assert [c.name for c in find_cases([tmp_path / "x", tmp_path / "y"])] == ["case", "case_2"]


def test_output_folder_inside_an_input_is_refused(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    picture = images / "a.png"
    Image.fromarray(asymmetric_picture()).save(picture)
    for bad in (images, images / "predictions", images / "deep" / "er"):
        with pytest.raises(ValueError, match="inference never writes into its inputs"):
            check_output_dir(bad, [images])
    with pytest.raises(ValueError, match="is the folder of the input"):
        check_output_dir(images, [picture])
    with pytest.raises(ValueError, match="is not a folder"):
        check_output_dir(picture, [tmp_path / "other"])
    assert check_output_dir(tmp_path / "out", [images, picture]) == (tmp_path / "out").resolve()


def test_output_never_inside_an_input_files_folder_tree(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    picture = images / "a.png"
    Image.fromarray(asymmetric_picture()).save(picture)
    for bad in (images, images / "new", images / "new" / "deeper"):
        with pytest.raises(ValueError, match=f"of the input file {picture}"):
            check_output_dir(bad, [picture])
    assert check_output_dir(tmp_path / "elsewhere", [picture]) == (tmp_path / "elsewhere").resolve()
