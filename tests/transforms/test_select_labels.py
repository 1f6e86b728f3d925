# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves monai_lite.transforms.labels and .relabel: kept values become classes 1..K in list order and every other value 0
(numpy, torch and MetaTensor, metadata kept); ``None`` passes labels through; bad value lists are refused with the
list in the message; the ct preset applies ``label_values`` to labels only; ``relabel_file`` and its command write a
relabelled copy with the source's affine and never touch the source, taking the values from a bundle's config.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from monai.transforms import Compose

from monai_lite.transforms import SelectLabelsd, load_preset, select_labels
from monai_lite.transforms.relabel import bundle_label_values, main, relabel_file

SOURCE = np.array([[0, 1, 5], [52, 6, 99], [5, 0, 117]], dtype=np.uint8)
EXPECTED = np.array([[0, 1, 2], [4, 3, 0], [2, 0, 0]], dtype=np.uint8)  # for values [1, 5, 6, 52]


def test_kept_values_are_renumbered_in_list_order_and_the_rest_is_background() -> None:
    np.testing.assert_array_equal(select_labels(SOURCE, [1, 5, 6, 52]), EXPECTED)
    np.testing.assert_array_equal(select_labels(SOURCE, [52, 1]), np.where(SOURCE == 52, 1, np.where(SOURCE == 1, 2, 0)))


def test_tensors_keep_type_dtype_and_metadata() -> None:
    affine = torch.diag(torch.tensor([2.0, 2.0, 3.0, 1.0]))
    label = MetaTensor(torch.as_tensor(SOURCE, dtype=torch.float32)[None], affine=affine)
    out = SelectLabelsd("label", [1, 5, 6, 52])({"label": label, "image": "untouched"})
    assert isinstance(out["label"], MetaTensor) and out["label"].dtype == torch.float32
    torch.testing.assert_close(out["label"].affine, affine.double(), check_dtype=False)
    np.testing.assert_array_equal(out["label"][0].numpy(), EXPECTED)
    assert out["image"] == "untouched"


def test_none_passes_labels_through_and_missing_keys_are_allowed() -> None:
    label = torch.as_tensor(SOURCE)
    assert SelectLabelsd("label", None)({"label": label})["label"] is label
    assert SelectLabelsd("label", [1], allow_missing_keys=True)({"image": 1}) == {"image": 1}


@pytest.mark.parametrize("values, words", [([], "non-empty"), ([0, 1], "integers > 0"), ([1, 2.5], "integers > 0"),
                                           ([5, 1, 5], "more than once"), ("1,5", "non-empty")])
def test_bad_value_lists_are_refused(values, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        SelectLabelsd("label", values)


def test_ct_preset_selects_on_labels_only(tmp_path: Path) -> None:
    hu = np.full((8, 8, 4), 40, np.int16)
    seg = np.zeros((8, 8, 4), np.uint8)
    seg[2:4, 2:4, :] = 5
    seg[5:7, 5:7, :] = 32  # not kept
    nib.save(nib.Nifti1Image(hu, np.eye(4)), tmp_path / "ct.nii.gz")
    nib.save(nib.Nifti1Image(seg, np.eye(4)), tmp_path / "seg.nii.gz")
    chain = Compose(load_preset("ct_abdomen", "deterministic", label_values=[1, 5]))
    out = chain({"image": str(tmp_path / "ct.nii.gz"), "label": str(tmp_path / "seg.nii.gz")})
    np.testing.assert_array_equal(out["label"][0].numpy(), np.where(seg == 5, 2, 0))
    np.testing.assert_allclose(out["image"][0].numpy(), 0.5)  # 40 HU in W400/L40
    only_image = chain({"image": str(tmp_path / "ct.nii.gz")})  # inference: no label key
    assert "label" not in only_image


def test_relabel_file_keeps_the_grid_and_never_touches_the_source(tmp_path: Path) -> None:
    affine = np.diag([0.9765625, 0.9765625, 2.0, 1.0])
    affine[:3, 3] = [-249.5, -61.5, -804.5]
    source = tmp_path / "seg.nii.gz"
    nib.save(nib.Nifti1Image(SOURCE[..., None], affine), source)
    before = source.read_bytes()
    written = relabel_file(source, tmp_path / "ref" / "case.nii.gz", [1, 5, 6, 52])
    image = nib.load(written)
    np.testing.assert_array_equal(np.asarray(image.dataobj)[..., 0], EXPECTED)
    np.testing.assert_allclose(image.affine, affine)
    assert source.read_bytes() == before
    with pytest.raises(ValueError, match="inputs are never modified"):
        relabel_file(source, source, [1])
    with pytest.raises(FileNotFoundError, match="missing.nii.gz"):
        relabel_file(tmp_path / "missing.nii.gz", tmp_path / "x.nii.gz", [1])


def test_command_takes_the_values_from_the_ct_bundle(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    values = bundle_label_values("medlitenet_ct")
    assert values == [1, 5, 6, 7, 52, 63, 64]
    source = tmp_path / "seg.nii.gz"
    nib.save(nib.Nifti1Image(np.array([[[64, 7, 2]]], np.uint8), np.eye(4)), source)
    assert main([str(source), "-o", str(tmp_path / "out.nii.gz"), "--bundle", "medlitenet_ct"]) == 0
    np.testing.assert_array_equal(np.asarray(nib.load(tmp_path / "out.nii.gz").dataobj), [[[7, 4, 0]]])
    with pytest.raises(SystemExit) as exit_info:
        main([str(source), "-o", str(tmp_path / "x.nii.gz"), "--bundle", "medlitenet_hippocampus"])
    assert exit_info.value.code == 2 and "label_values" in capsys.readouterr().err


def test_like_reorients_to_the_prediction_axes_and_refuses_another_grid(tmp_path: Path) -> None:
    # the shared CT's case: TotalSegmentator stores LAS, ITK gives the DICOM series LPS (rows flipped)
    las = np.diag([-1.0, 1.0, 2.0, 1.0])
    las[:3, 3] = [3.0, -2.0, 0.0]
    lps = las.copy()
    lps[1, 1], lps[1, 3] = -1.0, -2.0 + 2 * 1.0  # y axis flipped: origin moves to the last row
    seg = np.zeros((2, 3, 1), np.uint8)
    seg[0, 0, 0], seg[1, 2, 0] = 5, 52
    nib.save(nib.Nifti1Image(seg, las), tmp_path / "seg.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros((2, 3, 1), np.uint8), lps), tmp_path / "pred.nii.gz")
    out = nib.load(relabel_file(tmp_path / "seg.nii.gz", tmp_path / "ref.nii.gz", [5, 52], like=tmp_path / "pred.nii.gz"))
    np.testing.assert_allclose(out.affine, lps)
    expected = np.zeros((2, 3, 1), np.uint8)
    expected[0, 2, 0], expected[1, 0, 0] = 1, 2  # same world positions, rows reversed
    np.testing.assert_array_equal(np.asarray(out.dataobj), expected)
    nib.save(nib.Nifti1Image(np.zeros((2, 3, 1), np.uint8), lps @ np.diag([1.0, 1.0, 1.5, 1.0])), tmp_path / "other.nii.gz")
    with pytest.raises(ValueError, match="not one grid"):
        relabel_file(tmp_path / "seg.nii.gz", tmp_path / "x.nii.gz", [5], like=tmp_path / "other.nii.gz")
