# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves ``CaseMetricsSaver`` (the bundles' evaluation handler) scores an evaluator's post-processed outputs with
the same metric code as the folder evaluation: one-hot and thresholded outputs become label maps, case names come
from the label's file name, spacing from its affine, and the report is written when the run completes; class names
come from a bundle's metadata."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from ignite.engine import Engine
from monai.data import MetaTensor

from monai_lite.bundle.runner import BUNDLES_DIR
from monai_lite.evaluation import CaseMetricsSaver, class_names_from_metadata, compute_case_metrics
from monai_lite.evaluation.handler import label_map


def _one_hot(labels: np.ndarray, classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.as_tensor(labels).long(), classes).movedim(-1, 0).float()


def test_label_map() -> None:
    labels = np.array([[0, 1], [2, 2]])
    np.testing.assert_array_equal(label_map(_one_hot(labels, 3)), labels)
    np.testing.assert_array_equal(label_map(torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])), [[0, 1], [1, 0]])


def test_handler_scores_each_case_and_writes_the_report(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    cases = []
    for index in range(3):
        gt = np.zeros((6, 8, 4), np.int64)
        gt[1:4, 2:6, 1:3] = 1
        gt[4:6, 1:3, 0:2] = 2
        pred = gt.copy()
        pred[rng.integers(0, 6), rng.integers(0, 8), :] = rng.integers(0, 3)
        cases.append((f"/data/labels/case{index}.nii.gz", gt, pred))
    affine = torch.diag(torch.tensor([0.5, 1.0, 2.0, 1.0], dtype=torch.float64))
    batches = []
    for name, gt, pred in cases:
        meta = {"filename_or_obj": name, "affine": affine}
        batches.append([{"pred": MetaTensor(_one_hot(pred, 3), meta=dict(meta)),
                         "label": MetaTensor(_one_hot(gt, 3), meta=dict(meta))}])
    saver = CaseMetricsSaver(tmp_path / "eval", labels={1: "anterior", 2: "posterior"})
    engine = Engine(lambda e, batch: batch)
    saver.attach(engine)
    engine.run(batches, max_epochs=1)
    with (tmp_path / "eval" / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["case"], r["name"]) for r in rows] == [
        (f"case{i}", n) for i in range(3) for n in ("anterior", "posterior")
    ]
    expected = compute_case_metrics(cases[0][2], cases[0][1], [1, 2], (0.5, 1.0, 2.0))
    for got, want in zip(rows[:2], expected):
        assert got["policy"] == want["policy"]
        for metric in ("dice", "iou", "hd95", "asd"):
            assert float(got[metric]) == pytest.approx(want[metric])
    assert rows[0]["spacing"] == "0.5 1 2"
    assert saver.summary is not None and saver.summary["n_cases"] == 3
    assert (tmp_path / "eval" / "summary.json").is_file() and (tmp_path / "eval" / "boxplot.png").is_file()


def test_class_names_from_bundle_metadata(tmp_path: Path) -> None:
    assert class_names_from_metadata(BUNDLES_DIR / "medlitenet") == {1: "lesion"}
    assert class_names_from_metadata(BUNDLES_DIR / "medlitenet_hippocampus") == {1: "anterior", 2: "posterior"}
    assert class_names_from_metadata(tmp_path) is None
