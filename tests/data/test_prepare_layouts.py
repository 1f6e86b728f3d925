# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""prepare_datalist recognises every supported layout (2D PNG/JPEG folders, dataset root, MSD NIfTI, DICOM series,
pairs table), writes a decathlon datalist with paths relative to the data root that MONAI can read, records the
``>0`` remap for {0, 255} masks, never writes into the inputs, and refuses an output inside them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from data_builders import make_2d_set, make_mask, make_msd_set, save_nifti, tree_digest, write_dicom_series
from PIL import Image

from monai_lite.data import load_datalist, prepare_datalist


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def test_2d_root_layout_png(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_2d_set(data)
    before = tree_digest(data)
    summary = prepare_datalist(data, output=tmp_path / "out" / "dl.json", folds=2, progress=False)
    assert tree_digest(data) == before
    content = _read(tmp_path / "out" / "dl.json")
    assert summary["layout"] == content["layout"] == "2d-folders"
    assert content["numTraining"] == summary["num_training"] == 5
    assert content["labels"] == {"background": 0, "foreground": 1}
    assert content["label_remap"] == ">0" and summary["masks_stored_255"] == 5
    assert content["channel_names"] == {"0": "R", "1": "G", "2": "B"}
    assert content["spatial_dims"] == 2 and content["file_ending"] == ".png"
    stems = sorted(Path(e["image"]).name for e in content["training"])
    assert "case.b.day0.png" in stems  # dots in a stem: only the last extension is split off
    for entry in content["training"]:
        assert not Path(entry["image"]).is_absolute() and entry["image"].startswith("images/")
        assert entry["label"].startswith("masks/") and entry["fold"] in (0, 1)
    assert not list((tmp_path / "out").glob(".*.tmp"))  # the temporary file was renamed away


def test_2d_separate_folders_jpeg_and_01_masks(tmp_path: Path) -> None:
    images, masks = make_2d_set(tmp_path / "set", image_ext=".jpg", mask_value=1)
    summary = prepare_datalist(images, masks, tmp_path / "dl.json", progress=False)
    content = _read(tmp_path / "dl.json")
    assert summary["data_root"] == (tmp_path / "set").as_posix()  # the common parent of images/ and masks/
    assert content["image_file_ending"] == ".jpg" and summary["masks_stored_255"] == 0
    assert content["training"][0]["image"].startswith("images/") and content["training"][0]["image"].endswith(".jpg")


def test_2d_multiclass_with_labels(tmp_path: Path) -> None:
    images, masks = make_2d_set(tmp_path / "set", stems=("a", "b"))
    for stem in ("a", "b"):
        mask = make_mask(20, 28, value=1)
        mask[0:3, 0:3] = 2
        Image.fromarray(mask, mode="L").save(masks / f"{stem}.png")
    summary = prepare_datalist(images, masks, tmp_path / "dl.json", labels=[0, 1, 2], folds=2, progress=False,
                               label_names={"0": "background", "1": "organ", "2": "tumour"})
    content = _read(tmp_path / "dl.json")
    assert content["labels"] == {"background": 0, "organ": 1, "tumour": 2}
    assert content["label_remap"] is None and summary["label_values_found"] == [0, 1, 2]


def test_msd_layout_with_test_images(tmp_path: Path) -> None:
    root = make_msd_set(tmp_path / "Task99", n=5, n_test=2)
    before = tree_digest(root)
    summary = prepare_datalist(root, output=tmp_path / "msd.json", folds=5, progress=False)
    assert tree_digest(root) == before
    content = _read(tmp_path / "msd.json")
    assert content["layout"] == "msd" and content["spatial_dims"] == 3
    assert content["numTraining"] == 5 and content["numTest"] == 2 == summary["num_test"]
    assert sorted(e["fold"] for e in content["training"]) == [0, 1, 2, 3, 4]
    assert all(e["image"].startswith("imagesTr/") and e["label"].startswith("labelsTr/") for e in content["training"])
    assert content["test"] == [{"image": "imagesTs/test_000.nii.gz"}, {"image": "imagesTs/test_001.nii.gz"}]
    assert content["labels"] == {"background": 0, "label_1": 1, "label_2": 2} and content["file_ending"] == ".nii.gz"
    # MONAI's own reader resolves the same file against the data root
    from monai.data import load_decathlon_datalist

    entries = load_decathlon_datalist(tmp_path / "msd.json", data_list_key="training", base_dir=root)
    assert all(Path(e["image"]).is_file() for e in entries)


def test_msd_dataset_json_names_and_test_fraction(tmp_path: Path) -> None:
    root = make_msd_set(tmp_path / "Task98", n=10, n_test=0)
    labels = {"0": "background", "1": "Anterior", "2": "Posterior"}
    (root / "dataset.json").write_text(json.dumps({"name": "Hippo", "modality": {"0": "MRI"}, "labels": labels}))
    summary = prepare_datalist(root, output=tmp_path / "msd.json", test_fraction=0.2, progress=False)
    content = _read(tmp_path / "msd.json")
    assert content["name"] == "Hippo" and content["channel_names"] == {"0": "MRI"}
    assert content["labels"] == {"background": 0, "Anterior": 1, "Posterior": 2}  # MSD's int -> name turned around
    assert summary["num_training"] == 8 and len(content["test"]) == 2 and all("label" in e for e in content["test"])
    assert not {e["image"] for e in content["test"]} & {e["image"] for e in content["training"]}


def test_dicom_single_series_and_label_file(tmp_path: Path) -> None:
    stored = np.full((6, 5, 4), 1024, dtype=np.uint16)
    write_dicom_series(tmp_path / "study" / "series_a", stored)
    label = np.zeros((5, 6, 4), dtype=np.uint8)
    label[1:3, 2:4, 1:3] = 3
    # the label on exactly the grid ITK gives the series (RAS affine of an LPS-stored axial series)
    affine = np.array([[-0.7, 0, 0, 20.0], [0, -0.8, 0, 10.0], [0, 0, 2.5, -100.0], [0, 0, 0, 1]])
    save_nifti(tmp_path / "study" / "series_a_seg.nii.gz", label, affine)
    study = tmp_path / "study"
    summary = prepare_datalist(study / "series_a", study / "series_a_seg.nii.gz", tmp_path / "ct.json", folds=1, progress=False)
    content = _read(tmp_path / "ct.json")
    assert summary["layout"] == "dicom" and summary["warnings"] == []
    assert content["training"] == [{"image": "series_a", "label": "series_a_seg.nii.gz", "fold": 0}]
    assert content["channel_names"] == {"0": "CT"} and content["image_file_ending"] == ""


def test_dicom_folder_of_series(tmp_path: Path) -> None:
    affine = np.array([[-0.7, 0, 0, 20.0], [0, -0.8, 0, 10.0], [0, 0, 2.5, -100.0], [0, 0, 0, 1]])
    label = np.zeros((5, 6, 3), dtype=np.uint8)
    label[1:3, 2:4, 1:2] = 1
    for name in ("p1", "p2"):
        write_dicom_series(tmp_path / "series" / name, np.full((6, 5, 3), 1000, dtype=np.uint16))
        save_nifti(tmp_path / "labels" / f"{name}.nii.gz", label, affine)
    summary = prepare_datalist(tmp_path / "series", tmp_path / "labels", tmp_path / "out.json", folds=2, progress=False)
    content = _read(tmp_path / "out.json")
    assert summary["layout"] == "dicom" and content["numTraining"] == 2
    assert sorted(e["image"] for e in content["training"]) == ["series/p1", "series/p2"]


def test_pairs_table_with_data_root(tmp_path: Path) -> None:
    data = tmp_path / "ct"
    shape = (6, 7, 5)
    save_nifti(data / "big.nii.gz", np.zeros(shape, dtype=np.int16))
    label = np.zeros(shape, dtype=np.uint8)
    label[1:3, 1:3, 1:3] = 7
    save_nifti(data / "seg_for_big.nii.gz", label)
    table = tmp_path / "manifests" / "pairs.csv"
    table.parent.mkdir()
    table.write_text("image,label\nbig.nii.gz,seg_for_big.nii.gz\n")
    summary = prepare_datalist(table, None, tmp_path / "manifests" / "ct.json", data_root=data, folds=1, progress=False,
                               label_names={"background": 0, "liver": 7})
    content = _read(tmp_path / "manifests" / "ct.json")
    assert summary["layout"] == "pairs-table" and content["data_root_hint"] == data.as_posix()
    assert content["training"] == [{"image": "big.nii.gz", "label": "seg_for_big.nii.gz", "fold": 0}]
    assert content["labels"] == {"background": 0, "liver": 7}
    train, val = load_datalist(tmp_path / "manifests" / "ct.json", data, fold=None)
    assert Path(train[0]["image"]).is_absolute() and val == []


def test_output_inside_input_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    images, _ = make_2d_set(data)
    before = tree_digest(data)
    for target in (images / "dl.json", data / "dl.json"):
        with pytest.raises(ValueError, match="must not be inside an input folder"):
            prepare_datalist(data, output=target, progress=False)
    assert tree_digest(data) == before


def test_bad_arguments(tmp_path: Path) -> None:
    make_2d_set(tmp_path / "d")
    with pytest.raises(ValueError, match="folds must be >= 1"):
        prepare_datalist(tmp_path / "d", output=tmp_path / "x.json", folds=0)
    with pytest.raises(ValueError, match="test_fraction must be in"):
        prepare_datalist(tmp_path / "d", output=tmp_path / "x.json", test_fraction=1.0)
    with pytest.raises(ValueError, match="labels must be"):
        prepare_datalist(tmp_path / "d", output=tmp_path / "x.json", labels=[-1, 0])
