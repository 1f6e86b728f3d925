# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""One broken synthetic dataset per problem kind: prepare_datalist reports it as an ``Error:``/``Warning:`` line of
the right kind that names the offending file, collects every problem before raising ONE DatasetValidationError
(message starting with the counts), writes nothing on error, and never changes the input folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from data_builders import make_2d_set, make_mask, make_msd_set, make_picture, save_nifti, tree_digest, write_dicom_series
from PIL import Image

from monai_lite.data import KINDS, DatasetValidationError, prepare_datalist

H, W = 20, 28  # non-square on purpose, so a swapped H/W shows in messages


def _nifti_affine() -> np.ndarray:
    affine = np.diag([1.5, 1.5, 2.0, 1.0])
    affine[:3, 3] = (-10.0, 5.0, 30.0)
    return affine


# Each scenario builds a broken dataset under `root` and returns (prepare kwargs, path of the offending file).
Scenario = Callable[[Path], tuple[dict[str, Any], Path]]


def _layout(root: Path) -> tuple[dict[str, Any], Path]:
    (root / "something_else").mkdir(parents=True)
    return {"images": root}, root


def _empty_folder(root: Path) -> tuple[dict[str, Any], Path]:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    return {"images": root}, root / "images"


def _unreadable_png(root: Path) -> tuple[dict[str, Any], Path]:
    images, _ = make_2d_set(root)
    bad = images / "case_c.png"
    bad.write_bytes(bad.read_bytes()[:60])  # truncated
    return {"images": root}, bad


def _unreadable_nifti(root: Path) -> tuple[dict[str, Any], Path]:
    make_msd_set(root, n_test=0)
    bad = root / "labelsTr" / "vol_002.nii.gz"
    bad.write_bytes(b"this is not a NIfTI file")
    return {"images": root}, bad


def _duplicate_stem(root: Path) -> tuple[dict[str, Any], Path]:
    images, _ = make_2d_set(root)
    Image.fromarray(make_picture(H, W), mode="RGB").save(images / "case_a.jpg")
    return {"images": root}, images / "case_a.jpg"


def _missing_label(root: Path) -> tuple[dict[str, Any], Path]:
    images, masks = make_2d_set(root)
    (masks / "case_c.png").unlink()
    return {"images": root}, images / "case_c.png"


def _missing_image(root: Path) -> tuple[dict[str, Any], Path]:
    _, masks = make_2d_set(root)
    Image.fromarray(make_mask(H, W), mode="L").save(masks / "orphan.png")
    return {"images": root}, masks / "orphan.png"


def _size_mismatch_2d(root: Path) -> tuple[dict[str, Any], Path]:
    _, masks = make_2d_set(root, size=(H, W))
    Image.fromarray(make_mask(W, H), mode="L").save(masks / "case_d.png")  # transposed mask
    return {"images": root}, masks / "case_d.png"


def _size_mismatch_3d(root: Path) -> tuple[dict[str, Any], Path]:
    make_msd_set(root, n_test=0)
    bad = save_nifti(root / "labelsTr" / "vol_001.nii.gz", np.ones((8, 9, 6), dtype=np.uint8))
    return {"images": root}, bad


def _spacing_mismatch(root: Path) -> tuple[dict[str, Any], Path]:
    make_msd_set(root, n_test=0)
    label = np.zeros((8, 9, 7), dtype=np.uint8)
    label[2:4, 2:4, 2:4] = 1
    bad = save_nifti(root / "labelsTr" / "vol_003.nii.gz", label, np.eye(4))
    return {"images": root}, bad


def _geometry_mismatch(root: Path) -> tuple[dict[str, Any], Path]:
    make_msd_set(root, n_test=0)
    label = np.zeros((8, 9, 7), dtype=np.uint8)
    label[2:4, 2:4, 2:4] = 1
    affine = _nifti_affine()
    affine[:3, 3] += (5.0, 0.0, 0.0)
    bad = save_nifti(root / "labelsTr" / "vol_000.nii.gz", label, affine)
    return {"images": root}, bad


def _orientation_differs(root: Path) -> tuple[dict[str, Any], Path]:
    make_msd_set(root, n_test=0)
    label = np.zeros((8, 9, 7), dtype=np.uint8)
    label[1:3, 2:4, 2:4] = 1
    affine = _nifti_affine()
    flipped = affine.copy()
    flipped[:3, 0] = -affine[:3, 0]
    flipped[:3, 3] = affine[:3, 3] + affine[:3, 0] * (label.shape[0] - 1)  # same world grid, x stored reversed
    bad = save_nifti(root / "labelsTr" / "vol_004.nii.gz", label[::-1].copy(), flipped)
    return {"images": root}, bad


def _label_values_2d(root: Path) -> tuple[dict[str, Any], Path]:
    _, masks = make_2d_set(root)
    mask = make_mask(H, W)
    mask[0, 0] = 128
    Image.fromarray(mask, mode="L").save(masks / "case_e.png")
    return {"images": root}, masks / "case_e.png"


def _label_values_3d(root: Path) -> tuple[dict[str, Any], Path]:
    make_msd_set(root, n_test=0)
    label = np.zeros((8, 9, 7), dtype=np.uint8)
    label[2:4, 2:4, 2:4] = 5
    bad = save_nifti(root / "labelsTr" / "vol_002.nii.gz", label)
    return {"images": root, "labels": [0, 1, 2]}, bad


def _rgb_mask(root: Path) -> tuple[dict[str, Any], Path]:
    _, masks = make_2d_set(root)
    Image.fromarray(make_mask(H, W), mode="L").convert("RGB").save(masks / "case_b.day0.png".replace("case_b", "case.b"))
    return {"images": root}, masks / "case.b.day0.png"


def _empty_mask(root: Path) -> tuple[dict[str, Any], Path]:
    _, masks = make_2d_set(root)
    Image.fromarray(np.zeros((H, W), np.uint8), mode="L").save(masks / "case_a.png")
    return {"images": root}, masks / "case_a.png"


def _full_mask(root: Path) -> tuple[dict[str, Any], Path]:
    _, masks = make_2d_set(root)
    Image.fromarray(np.full((H, W), 255, np.uint8), mode="L").save(masks / "case_c.png")
    return {"images": root}, masks / "case_c.png"


def _multiframe_tiff(root: Path) -> tuple[dict[str, Any], Path]:
    images, _ = make_2d_set(root)
    (images / "case_d.png").unlink()
    frames = [Image.fromarray(make_picture(H, W, seed=i), mode="RGB") for i in range(3)]
    frames[0].save(images / "case_d.tif", save_all=True, append_images=frames[1:])
    return {"images": root}, images / "case_d.tif"


def _volume_in_2d_set(root: Path) -> tuple[dict[str, Any], Path]:
    images, _ = make_2d_set(root)
    (images / "case_e.png").unlink()
    bad = save_nifti(images / "case_e.nii.gz", np.zeros((H, W, 4), np.float32))
    return {"images": root}, bad


def _2d_file_in_3d_set(root: Path) -> tuple[dict[str, Any], Path]:
    make_msd_set(root, n_test=0)
    bad = save_nifti(root / "imagesTr" / "vol_001.nii.gz", np.zeros((8, 9), np.float32))
    save_nifti(root / "labelsTr" / "vol_001.nii.gz", np.ones((8, 9), np.uint8))
    return {"images": root}, bad


def _channels(root: Path) -> tuple[dict[str, Any], Path]:
    images, _ = make_2d_set(root)
    Image.fromarray(make_picture(H, W, channels=1), mode="L").save(images / "case_c.png")
    return {"images": root}, images / "case_c.png"


def _nan(root: Path) -> tuple[dict[str, Any], Path]:
    make_msd_set(root, n_test=0)
    image = np.random.default_rng(3).normal(size=(8, 9, 7)).astype(np.float32)
    image[1, 2, 3] = np.nan
    bad = save_nifti(root / "imagesTr" / "vol_003.nii.gz", image)
    return {"images": root}, bad


def _dicom_single_slice(root: Path) -> tuple[dict[str, Any], Path]:
    write_dicom_series(root / "one_slice", np.full((6, 5, 1), 1024, np.uint16))
    label = save_nifti(root / "one_slice_seg.nii.gz", np.ones((5, 6, 1), np.uint8))
    return {"images": root / "one_slice", "masks": label}, root / "one_slice"


def _dicom_uneven(root: Path) -> tuple[dict[str, Any], Path]:
    write_dicom_series(root / "gappy", np.full((6, 5, 4), 1024, np.uint16), positions=[0.0, 2.5, 5.0, 10.0])
    label = save_nifti(root / "gappy_seg.nii.gz", np.ones((5, 6, 4), np.uint8))
    return {"images": root / "gappy", "masks": label}, root / "gappy"


ERROR_SCENARIOS: dict[str, tuple[Scenario, str, str]] = {
    # name: (builder, kind, words the message must contain)
    "layout": (_layout, "layout", "images/ and masks/"),
    "empty_folder": (_empty_folder, "empty_folder", "found none"),
    "unreadable_png": (_unreadable_png, "unreadable", "Pillow failed"),
    "unreadable_nifti": (_unreadable_nifti, "unreadable", "reader failed"),
    "duplicate_stem": (_duplicate_stem, "duplicate_stem", "'case_a' appears 2 times"),
    "missing_label": (_missing_label, "missing_label", "found none for image case_c.png"),
    "missing_image": (_missing_image, "missing_image", "found label orphan.png but no image"),
    "size_mismatch_2d": (_size_mismatch_2d, "size_mismatch", "image is 20x28, mask is 28x20"),
    "size_mismatch_3d": (_size_mismatch_3d, "size_mismatch", "image is (8, 9, 7)"),
    "spacing_mismatch": (_spacing_mismatch, "spacing_mismatch", "[1.5, 1.5, 2.0] mm, label has [1.0, 1.0, 1.0] mm"),
    "label_values_2d": (_label_values_2d, "label_values", "found {0, 128, 255}"),
    "label_values_3d": (_label_values_3d, "label_values", "found unexpected {5}"),
    "rgb_mask": (_rgb_mask, "rgb_mask", "grayscale mask saved in colour"),
    "empty_mask": (_empty_mask, "empty_mask", "allow_empty=True"),
    "full_mask": (_full_mask, "full_mask", "allow_full=True"),
    "multiframe_tiff": (_multiframe_tiff, "dimensionality", "3 frames"),
    "volume_in_2d_set": (_volume_in_2d_set, "dimensionality", "3D volume"),
    "2d_file_in_3d_set": (_2d_file_in_3d_set, "dimensionality", "found 2D data"),
    "channels": (_channels, "channels", "expected 3 (as 4 other images), found 1"),
    "nan": (_nan, "nan", "1 NaN/Inf voxel"),
    "dicom_single_slice": (_dicom_single_slice, "dicom_series", "at least 2 slices"),
    "dicom_uneven": (_dicom_uneven, "dicom_series", "evenly spaced"),
}


@pytest.mark.parametrize("name", sorted(ERROR_SCENARIOS))
def test_error_fixture(tmp_path: Path, name: str) -> None:
    build, kind, words = ERROR_SCENARIOS[name]
    root = tmp_path / "data"
    kwargs, offender = build(root)
    before = tree_digest(root)
    output = tmp_path / "out" / "datalist.json"
    with pytest.raises(DatasetValidationError) as caught:
        prepare_datalist(output=output, progress=False, **kwargs)
    error = caught.value
    assert isinstance(error, ValueError)
    assert str(error).split(" ")[1].startswith("error")  # "<n> error(s) and <m> warning(s) in ..."
    matching = [p for p in error.errors if p.kind == kind]
    assert matching, f"no {kind} error in:\n{error}"
    problem = matching[0]
    assert str(offender) in problem.paths, f"{offender} not named in {problem}"
    assert words in problem.message, problem.message
    assert f"Error: {problem.message}" in str(error) and str(offender) in str(error)
    assert not output.exists() and not output.parent.exists()
    assert tree_digest(root) == before


def _lossy_mask(root: Path) -> tuple[dict[str, Any], Path]:
    _, masks = make_2d_set(root)
    (masks / "case_a.png").unlink()
    mask = make_mask(H, W, box=(8, 16, 8, 16))  # 8x8-aligned flat blocks survive JPEG exactly
    Image.fromarray(mask, mode="L").save(masks / "case_a.jpg", quality=100)
    assert set(np.unique(np.asarray(Image.open(masks / "case_a.jpg")))) == {0, 255}
    return {"images": root}, masks / "case_a.jpg"


def _exif(root: Path) -> tuple[dict[str, Any], Path]:
    images, _ = make_2d_set(root, image_ext=".jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees when displayed
    Image.fromarray(make_picture(H, W), mode="RGB").save(images / "case_b.jpg".replace("case_b", "case.b.day0"), exif=exif)
    return {"images": root}, images / "case.b.day0.jpg"


def _ignored(root: Path) -> tuple[dict[str, Any], Path]:
    images, _ = make_2d_set(root)
    (images / "notes.txt").write_text("not an image")
    return {"images": root}, images / "notes.txt"


def _few_cases(root: Path) -> tuple[dict[str, Any], Path]:
    make_2d_set(root, stems=("a", "b", "c"))
    return {"images": root, "folds": 5}, root


WARNING_SCENARIOS: dict[str, tuple[Scenario, str, str]] = {
    "geometry_mismatch": (_geometry_mismatch, "geometry_mismatch", "should share origin and direction"),
    "orientation_differs": (_orientation_differs, "orientation_differs", "Orientationd"),
    "lossy_mask": (_lossy_mask, "lossy_mask", "JPEG"),
    "exif_orientation": (_exif, "exif_orientation", "orientation tag 6"),
    "ignored_file": (_ignored, "ignored_file", "skipped notes.txt"),
    "folds": (_few_cases, "folds", "folds [3, 4] are empty"),
    "empty_mask_allowed": (_empty_mask, "empty_mask", "kept because allow_empty=True"),
    "full_mask_allowed": (_full_mask, "full_mask", "kept because allow_full=True"),
}


@pytest.mark.parametrize("name", sorted(WARNING_SCENARIOS))
def test_warning_fixture(tmp_path: Path, name: str) -> None:
    build, kind, words = WARNING_SCENARIOS[name]
    root = tmp_path / "data"
    kwargs, offender = build(root)
    before = tree_digest(root)
    kwargs.setdefault("folds", 2)
    summary = prepare_datalist(output=tmp_path / "dl.json", progress=False, allow_empty=True, allow_full=True, **kwargs)
    lines = [w for w in summary["warnings"] if w.startswith("Warning: ") and words in w]
    assert lines, summary["warnings"]
    if offender != root:
        assert str(offender) in lines[0]
    assert (tmp_path / "dl.json").is_file()
    assert tree_digest(root) == before


def test_every_kind_has_a_fixture() -> None:
    covered = {kind for _, kind, _ in ERROR_SCENARIOS.values()} | {kind for _, kind, _ in WARNING_SCENARIOS.values()}
    assert covered == set(KINDS)


def test_all_problems_collected_before_one_raise(tmp_path: Path) -> None:
    root = tmp_path / "data"
    images, masks = make_2d_set(root)
    (masks / "case_a.png").unlink()  # missing label
    Image.fromarray(make_mask(H, W).T.copy(), mode="L").save(masks / "case_c.png")  # size mismatch
    Image.fromarray(np.zeros((H, W), np.uint8), mode="L").save(masks / "case_d.png")  # empty
    (images / "readme.md").write_text("x")  # ignored (warning)
    with pytest.raises(DatasetValidationError) as caught:
        prepare_datalist(root, output=tmp_path / "dl.json", folds=2, progress=False)
    message = str(caught.value)
    assert message.startswith("3 errors and 1 warning in ")
    assert {p.kind for p in caught.value.problems} == {"missing_label", "size_mismatch", "empty_mask", "ignored_file"}
    assert message.count("\nError: ") == 3 and message.count("\nWarning: ") == 1
    assert not (tmp_path / "dl.json").exists()


def test_near_miss_names_get_a_hint(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _, masks = make_2d_set(root, stems=("a", "b"))
    (masks / "a.png").rename(masks / "a_lesion.png")
    with pytest.raises(DatasetValidationError) as caught:
        prepare_datalist(root, output=tmp_path / "dl.json", progress=False)
    missing = next(p for p in caught.value.problems if p.kind == "missing_label")
    assert "A label named 'a_lesion' exists" in missing.message


def test_existing_output_is_kept_on_error(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _, masks = make_2d_set(root)
    output = tmp_path / "dl.json"
    prepare_datalist(root, output=output, progress=False)
    good = output.read_bytes()
    Image.fromarray(np.zeros((H, W), np.uint8), mode="L").save(masks / "case_a.png")
    with pytest.raises(DatasetValidationError):
        prepare_datalist(root, output=output, progress=False)
    assert output.read_bytes() == good and json.loads(good)["numTraining"] == 5
