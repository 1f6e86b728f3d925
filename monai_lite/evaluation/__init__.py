# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Evaluation of segmentations on MONAI's metrics: per case and class, in millimetres, with an empty-mask policy.

- :func:`evaluate_folder`: a folder of predicted masks against a folder of masks or a datalist fold, written as
  ``metrics.csv`` + ``summary.json`` + ``boxplot.png`` (what ``monai-lite evaluate --pred`` runs);
- :func:`combine_reports`: the reports of k folds as one (``monai-lite evaluate --combine``);
- :class:`CaseMetricsSaver`: the same report from a bundle's evaluator (``evaluate.json``);
- :func:`compute_case_metrics`: the metrics of one case, for scripts.

The empty-mask policy is described in :mod:`monai_lite.evaluation.metrics`.
"""

from __future__ import annotations

from monai_lite.evaluation.evaluate import evaluate_folder, evaluate_pairs, parse_labels, score_case
from monai_lite.evaluation.handler import CaseMetricsSaver, class_names_from_metadata
from monai_lite.evaluation.matching import GroundTruth, match_cases
from monai_lite.evaluation.metrics import METRICS, POLICIES, compute_case_metrics, image_diagonal_mm
from monai_lite.evaluation.reader import Mask, read_mask
from monai_lite.evaluation.report import combine_reports, summarise, write_report

__all__ = [
    "METRICS",
    "POLICIES",
    "CaseMetricsSaver",
    "GroundTruth",
    "Mask",
    "class_names_from_metadata",
    "combine_reports",
    "compute_case_metrics",
    "evaluate_folder",
    "evaluate_pairs",
    "image_diagonal_mm",
    "match_cases",
    "parse_labels",
    "read_mask",
    "score_case",
    "summarise",
    "write_report",
]
