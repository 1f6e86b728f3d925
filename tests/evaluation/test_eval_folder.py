# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves ``evaluate_folder`` end to end on files in tmp_path: 0/255 PNG masks with ``_seg`` names give the
hand-computed Dice; metrics.csv (one row per case and class, with the policy), summary.json (mean/std/median/n and
policy counts) and boxplot.png are written and nothing is written into the inputs; a size mismatch names both files
and shapes; a datalist fold is the ground truth; --allow-missing scores a miss at the worst-case distance; NIfTI
spacing reaches the HD95 in mm; label names come from the caller or the datalist; affines must agree; pictures
without --spacing report distances in px; only_predicted scores the predicted cases and lists the rest; the
overlays ``monai-lite infer`` writes beside its masks are neither scored nor reported as unmatched."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from _eval_helpers import save_nifti, save_png, square

from monai_lite.evaluation import evaluate_folder


def _rows(folder: Path) -> list[dict]:
    with (folder / "metrics.csv").open() as handle:
        return list(csv.DictReader(handle))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def png_set(tmp_path: Path) -> tuple[Path, Path]:
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    shape = (6, 10)  # non-square
    save_png(gt / "a.png", square(shape, slice(1, 3), slice(1, 3), 255))          # 4 px
    save_png(pred / "a_seg.png", square(shape, slice(1, 3), slice(1, 4), 255))    # 6 px over it: Dice 0.8
    save_png(gt / "b.png", square(shape, slice(2, 5), slice(4, 8), 255))
    save_png(pred / "b_seg.png", square(shape, slice(2, 5), slice(4, 8), 255))    # perfect
    save_png(gt / "c.png", np.zeros(shape))                                         # both empty
    save_png(pred / "c_seg.png", np.zeros(shape))
    return pred, gt


def test_png_folders_report(png_set: tuple[Path, Path], tmp_path: Path) -> None:
    pred, gt = png_set
    before = (_snapshot(pred), _snapshot(gt))
    out = tmp_path / "report"
    summary = evaluate_folder(pred, gt, out, progress=False)
    assert (_snapshot(pred), _snapshot(gt)) == before, "inputs must never be written"
    rows = _rows(out)
    assert [(r["case"], r["label"], r["name"], r["policy"]) for r in rows] == [
        ("a", "1", "class_1", "both_present"), ("b", "1", "class_1", "both_present"), ("c", "1", "class_1", "both_empty"),
    ]
    assert float(rows[0]["dice"]) == pytest.approx(0.8)
    assert rows[0]["pred_file"] == str(pred / "a_seg.png") and rows[0]["gt_file"] == str(gt / "a.png")
    assert math.isnan(float(rows[2]["sensitivity"]))
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == summary
    dice = summary["metrics"]["class_1"]["dice"]
    assert dice["mean"] == pytest.approx((0.8 + 1 + 1) / 3)
    assert dice["median"] == pytest.approx(1.0)
    assert dice["std"] == pytest.approx(float(np.std([0.8, 1.0, 1.0])))
    assert dice["n"] == 3 and dice["excluded"] == 0
    assert summary["metrics"]["class_1"]["sensitivity"]["excluded"] == 1
    assert summary["policy_counts"]["class_1"] == {"both_present": 2, "both_empty": 1, "false_positive": 0, "missed": 0}
    assert summary["n_cases"] == 3
    assert (out / "boxplot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob(".*.tmp")), "no temporary file is left behind"


def test_size_mismatch_names_both_files(png_set: tuple[Path, Path], tmp_path: Path) -> None:
    pred, gt = png_set
    save_png(pred / "b_seg.png", np.zeros((10, 6)))  # transposed
    message = (f"prediction {pred / 'b_seg.png'} has shape (10, 6) but ground truth {gt / 'b.png'} has shape (6, 10)")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate_folder(pred, gt, tmp_path / "report", progress=False)


def test_missing_prediction_and_allow_missing(png_set: tuple[Path, Path], tmp_path: Path) -> None:
    pred, gt = png_set
    (pred / "b_seg.png").unlink()
    with pytest.raises(ValueError, match="have no prediction: b"):
        evaluate_folder(pred, gt, tmp_path / "r1", progress=False)
    summary = evaluate_folder(pred, gt, tmp_path / "r2", allow_missing=True, progress=False, plot=False)
    row = _rows(tmp_path / "r2")[1]
    assert (row["case"], row["policy"], float(row["dice"])) == ("b", "missed", 0.0)
    assert float(row["hd95"]) == pytest.approx(math.hypot(6, 10))
    assert summary["missing_predictions"] == ["b"]
    assert summary["policy_counts"]["class_1"]["missed"] == 1
    assert not (tmp_path / "r2" / "boxplot.png").exists()


def test_output_inside_an_input_is_refused(png_set: tuple[Path, Path]) -> None:
    pred, gt = png_set
    with pytest.raises(ValueError, match="inside the input folder"):
        evaluate_folder(pred, gt, pred / "report", progress=False)


def test_datalist_ground_truth_with_names(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shape = (8, 8)
    for index, fold in ((1, 0), (2, 0), (3, 1)):
        save_png(data / "images" / f"c{index}.png", np.zeros(shape))
        save_png(data / "masks" / f"c{index}.png", square(shape, slice(0, index + 1), slice(0, 3), 255))
    entries = [{"image": f"images/c{i}.png", "label": f"masks/c{i}.png", "fold": f} for i, f in ((1, 0), (2, 0), (3, 1))]
    datalist = tmp_path / "list.json"
    datalist.write_text(json.dumps({"labels": {"background": 0, "polyp": 1}, "training": entries}))
    pred = tmp_path / "pred"
    for index in (1, 2):
        save_png(pred / f"c{index}_seg.png", square(shape, slice(0, index + 1), slice(0, 3), 255))
    summary = evaluate_folder(pred, datalist, tmp_path / "out", dataset_dir=data, fold=0, progress=False)
    assert summary["fold"] == 0 and summary["n_cases"] == 2
    assert summary["metrics"]["polyp"]["dice"]["mean"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="pass dataset_dir"):
        evaluate_folder(pred, datalist, tmp_path / "out2")


def test_nifti_spacing_and_names(tmp_path: Path) -> None:
    gt = np.zeros((10, 10, 10), np.uint8)
    gt[2:4, 2:4, 2:4] = 1
    gt[6:8, 6:8, 6:8] = 2
    pred = gt.copy()
    pred[6:8, 6:8, 6:8] = 0
    pred[6:8, 6:8, 7:9] = 2  # class 2 shifted by one voxel along z
    save_nifti(tmp_path / "gt" / "case.nii.gz", gt, (1.0, 1.0, 3.0))
    save_nifti(tmp_path / "pred" / "case_seg.nii.gz", pred, (1.0, 1.0, 3.0))
    summary = evaluate_folder(tmp_path / "pred", tmp_path / "gt", tmp_path / "out", labels=["1=anterior", "2=posterior"],
                              progress=False)
    assert list(summary["metrics"]) == ["anterior", "posterior"]
    assert summary["metrics"]["anterior"]["hd95"]["mean"] == pytest.approx(0.0)
    assert summary["metrics"]["posterior"]["hd95"]["mean"] == pytest.approx(3.0)  # 1 voxel x 3 mm
    assert summary["metrics"]["posterior"]["dice"]["mean"] == pytest.approx(0.5)
    # The same arrays with a different affine (another spacing) are refused unless asked.
    save_nifti(tmp_path / "pred" / "case_seg.nii.gz", pred, (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="different affines"):
        evaluate_folder(tmp_path / "pred", tmp_path / "gt", tmp_path / "out", progress=False)
    summary = evaluate_folder(tmp_path / "pred", tmp_path / "gt", tmp_path / "out", check_affine=False, progress=False)
    assert summary["metrics"]["class_2"]["hd95"]["mean"] == pytest.approx(3.0), "spacing comes from the ground truth"


def test_spacing_override_for_png_and_unnamed_values(png_set: tuple[Path, Path], tmp_path: Path) -> None:
    pred, gt = png_set
    plain = evaluate_folder(pred, gt, tmp_path / "r1", progress=False, plot=False)
    scaled = evaluate_folder(pred, gt, tmp_path / "r2", spacing=(0.5, 0.5), progress=False, plot=False)
    # a: 1 px extra (HD95 1 px) -> 0.5 mm; b and c: 0.
    assert plain["metrics"]["class_1"]["hd95"]["mean"] == pytest.approx(1 / 3)
    assert scaled["metrics"]["class_1"]["hd95"]["mean"] == pytest.approx(0.5 / 3)
    save_png(pred / "a_seg.png", square((6, 10), slice(1, 3), slice(1, 4), 2))
    with pytest.raises(ValueError, match=r"label value\(s\) \[2\] that labels does not name"):
        evaluate_folder(pred, gt, tmp_path / "r3", labels={1: "lesion"}, progress=False)


def test_picture_distances_are_pixels_unless_spacing_is_given(png_set: tuple[Path, Path], tmp_path: Path) -> None:
    from monai_lite.evaluation.report import format_summary

    pred, gt = png_set
    plain = evaluate_folder(pred, gt, tmp_path / "r1", progress=False, plot=False)
    assert plain["distance_unit"] == "px"
    assert "HD95 0.33 ± 0.47 px" in format_summary(plain)
    scaled = evaluate_folder(pred, gt, tmp_path / "r2", spacing=(0.5, 0.5), progress=False, plot=False)
    assert scaled["distance_unit"] == "mm"
    assert " mm (n=3" in format_summary(scaled)


def test_nifti_distances_are_millimetres(tmp_path: Path) -> None:
    gt = np.zeros((6, 6, 6), np.uint8)
    gt[1:3, 1:3, 1:3] = 1
    save_nifti(tmp_path / "gt" / "case.nii.gz", gt)
    save_nifti(tmp_path / "pred" / "case.nii.gz", gt)
    assert evaluate_folder(tmp_path / "pred", tmp_path / "gt", tmp_path / "out", progress=False,
                           plot=False)["distance_unit"] == "mm"


def test_only_predicted_scores_the_intersection(png_set: tuple[Path, Path], tmp_path: Path) -> None:
    pred, gt = png_set
    (pred / "b_seg.png").unlink()
    summary = evaluate_folder(pred, gt, tmp_path / "r", only_predicted=True, progress=False, plot=False)
    assert [r["case"] for r in _rows(tmp_path / "r")] == ["a", "c"]
    assert summary["n_cases"] == 2 and summary["not_predicted"] == ["b"]
    assert summary["missing_predictions"] == [] and summary["policy_counts"]["class_1"]["missed"] == 0
    assert summary["metrics"]["class_1"]["dice"]["mean"] == pytest.approx((0.8 + 1.0) / 2)
    with pytest.raises(ValueError, match="exclude each other"):
        evaluate_folder(pred, gt, tmp_path / "r2", only_predicted=True, allow_missing=True, progress=False)
    for path in pred.iterdir():
        path.rename(path.with_name("other_" + path.name))
    with pytest.raises(ValueError, match="no prediction in .* matches a ground-truth case"):
        evaluate_folder(pred, gt, tmp_path / "r3", only_predicted=True, progress=False)


def test_infer_overlays_are_skipped(png_set: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pred, gt = png_set
    for case in ("a", "b", "c"):  # what monai-lite infer writes beside NAME_seg.png
        save_png(pred / f"{case}_overlay.png", np.full((6, 10), 128))
    summary = evaluate_folder(pred, gt, tmp_path / "r", progress=False, plot=False)
    assert summary["unmatched_predictions"] == [] and summary["n_cases"] == 3
    assert not [r for r in caplog.records if "match no ground truth" in r.getMessage()]
    save_png(pred / "d_overlay.png", np.zeros((6, 10)))  # no mask of case d beside it: kept, and reported
    summary = evaluate_folder(pred, gt, tmp_path / "r2", progress=False, plot=False)
    assert summary["unmatched_predictions"] == [str(pred / "d_overlay.png")]
