# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the report statistics (mean, population std, median, n, excluded NaNs, policy counts), that a report
reads back from its CSV, and that ``combine_reports`` joins two folds: all rows with a fold column, pooled
statistics, the mean of the fold means, and no overwrite of an input folder; the distance unit (mm, or px for
pictures) is carried into the combined report and the terminal summary, and reports in different units are not pooled."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from monai_lite.evaluation.metrics import METRICS
from monai_lite.evaluation.report import combine_reports, metric_stats, read_rows, summarise, write_report


def _row(case: str, dice: float, policy: str = "both_present", label: int = 1, name: str = "lesion") -> dict:
    values = {m: dice for m in METRICS}
    values["sensitivity"] = math.nan if policy in ("both_empty", "false_positive") else dice
    return {"case": case, "label": label, "name": name, "policy": policy, **values, "gt_voxels": 1, "pred_voxels": 1,
            "voxels": 4, "spacing": (1.0, 1.0), "pred_file": f"p/{case}.png", "gt_file": f"g/{case}.png"}


def test_metric_stats() -> None:
    stats = metric_stats([1.0, 0.5, math.nan, 0.0])
    assert stats == {"mean": pytest.approx(0.5), "std": pytest.approx(float(np.std([1.0, 0.5, 0.0]))),
                     "median": pytest.approx(0.5), "n": 3, "excluded": 1}
    assert metric_stats([math.nan]) == {"mean": None, "std": None, "median": None, "n": 0, "excluded": 1}


def test_summarise_counts_policies_per_class() -> None:
    rows = [_row("a", 0.8), _row("b", 0.0, "missed"), _row("a", 1.0, "both_empty", 2, "other"),
            _row("b", 0.0, "false_positive", 2, "other")]
    summary = summarise(rows)
    assert summary["n_cases"] == 2
    assert summary["labels"] == {"1": "lesion", "2": "other"}
    assert summary["policy_counts"]["lesion"]["missed"] == 1
    assert summary["policy_counts"]["other"] == {"both_present": 0, "both_empty": 1, "false_positive": 1, "missed": 0}
    assert summary["metrics"]["other"]["sensitivity"]["excluded"] == 2


def test_write_and_read_back(tmp_path: Path) -> None:
    rows = [_row("a", 0.8), _row("b", 0.6)]
    summary = write_report(rows, tmp_path / "r", extra={"fold": 0}, plot=False)
    assert summary["fold"] == 0 and "empty_mask_policy" in summary
    back = read_rows(tmp_path / "r" / "metrics.csv")
    assert [r["dice"] for r in back] == pytest.approx([0.8, 0.6])
    assert back[0]["spacing"] == "1 1"
    with pytest.raises(ValueError, match="no case to report"):
        write_report([], tmp_path / "empty")


def test_combine_two_folds(tmp_path: Path) -> None:
    write_report([_row("a", 1.0), _row("b", 0.8)], tmp_path / "f0", extra={"fold": 0}, plot=False)
    write_report([_row("c", 0.6), _row("d", 0.4), _row("e", 0.2, "missed")], tmp_path / "f1", extra={"fold": 1},
                 plot=False)
    summary = combine_reports([tmp_path / "f0", tmp_path / "f1"], tmp_path / "cv")
    dice = summary["metrics"]["lesion"]["dice"]
    assert dice["n"] == 5 and dice["mean"] == pytest.approx(0.6)
    assert dice["fold_means"] == pytest.approx([0.9, 0.4])
    assert dice["mean_of_fold_means"] == pytest.approx(0.65)
    assert dice["std_of_fold_means"] == pytest.approx(0.25)
    assert summary["policy_counts"]["lesion"]["missed"] == 1
    assert [f["n_cases"] for f in summary["folds"]] == [2, 3] and summary["duplicate_cases"] == []
    with (tmp_path / "cv" / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["fold"], r["case"]) for r in rows] == [("0", "a"), ("0", "b"), ("1", "c"), ("1", "d"), ("1", "e")]
    assert json.loads((tmp_path / "cv" / "summary.json").read_text()) == summary
    assert (tmp_path / "cv" / "boxplot.png").is_file()
    with pytest.raises(ValueError, match="is inside the input folder"):
        combine_reports([tmp_path / "f0", tmp_path / "f1"], tmp_path / "f0")
    with pytest.raises(FileNotFoundError, match="metrics.csv does not exist"):
        combine_reports([tmp_path / "f0", tmp_path / "nothing"], tmp_path / "cv2")


def test_combine_keeps_the_distance_unit(tmp_path: Path) -> None:
    from monai_lite.evaluation.report import format_summary

    for fold in (0, 1):
        write_report([_row(f"c{fold}", 0.5)], tmp_path / f"px{fold}", extra={"fold": fold, "distance_unit": "px"},
                     plot=False)
    summary = combine_reports([tmp_path / "px0", tmp_path / "px1"], tmp_path / "cv", plot=False)
    assert summary["distance_unit"] == "px"
    assert "HD95 0.50 ± 0.00 px" in format_summary(summary)
    write_report([_row("m", 0.5)], tmp_path / "mm", extra={"fold": 2}, plot=False)  # default unit: mm
    with pytest.raises(ValueError, match="different units"):
        combine_reports([tmp_path / "px0", tmp_path / "mm"], tmp_path / "cv2", plot=False)
