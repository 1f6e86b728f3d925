# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""An ignite handler that gives a bundle's evaluator the same per-case report as ``monai-lite evaluate``.

The bundles' ``evaluate.json`` lists :class:`CaseMetricsSaver` among ``validate#handlers``. After each iteration
it turns the evaluator's post-processed ``pred`` and ``label`` (one-hot or label maps, channel first) into label
maps and scores them with :func:`~monai_lite.evaluation.metrics.compute_case_metrics`, the function the folder
evaluation uses, under the same empty-mask policy; when the run completes it writes ``metrics.csv``,
``summary.json`` and ``boxplot.png`` with :func:`~monai_lite.evaluation.report.write_report`.

The evaluator scores the preprocessed grid (e.g. images resized to the bundle's ``image_size``); distances are
still in millimetres (or original pixels for 2D files) because the spacing is read from the label's affine, which
MONAI's spatial transforms keep up to date. With several processes (``torch.distributed``), the rows of every rank
are gathered and rank 0 writes the report, so the handler must run on every rank.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from monai_lite.data.io import split_name
from monai_lite.evaluation.evaluate import complete_rows, parse_labels
from monai_lite.evaluation.metrics import compute_case_metrics
from monai_lite.evaluation.report import write_report

__all__ = ["CaseMetricsSaver", "class_names_from_metadata", "label_map"]


def class_names_from_metadata(bundle_root: str | Path) -> dict[int, str] | None:
    """Class names from a bundle's ``configs/metadata.json`` (the output ``channel_def``).

    A single-channel (sigmoid) head names class 1 with its channel 0; a multi-channel (softmax) head names class
    ``i`` with channel ``i``, channel 0 being the background.

    Args:
        bundle_root: the bundle folder.

    Returns:
        ``{value: name}``, or None when the metadata is missing or has no ``channel_def``.

    Example (bundle config)::

        "labels": "$monai_lite.evaluation.class_names_from_metadata(@bundle_root)"
    """
    path = Path(bundle_root) / "configs" / "metadata.json"
    try:
        pred = json.loads(path.read_text(encoding="utf-8"))["network_data_format"]["outputs"]["pred"]
        channels = {int(k): str(v) for k, v in pred["channel_def"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if len(channels) == 1:
        return {1: next(iter(channels.values()))}
    return {k: v for k, v in sorted(channels.items()) if k > 0} or None


def label_map(tensor: Any) -> np.ndarray:
    """A channel-first tensor as an integer label map: argmax of several channels, else the rounded single one.

    Args:
        tensor: ``(C, *spatial)``: one-hot/probabilities with C > 1, or one channel of class values (0/1 for a
            thresholded binary output).

    Returns:
        ``(*spatial)`` int64 array.
    """
    data = torch.as_tensor(tensor).detach().cpu()
    if data.shape[0] > 1:
        return data.argmax(dim=0).numpy().astype(np.int64)
    return torch.round(data[0].float()).numpy().astype(np.int64)


def _spacing(tensor: Any, ndim: int) -> tuple[float, ...]:
    pixdim = getattr(tensor, "pixdim", None)
    if pixdim is None:
        return (1.0,) * ndim
    values = [float(v) for v in torch.as_tensor(pixdim).flatten().tolist()][:ndim]
    return tuple(values) if len(values) == ndim else (1.0,) * ndim


def _source(tensor: Any) -> str:
    meta = getattr(tensor, "meta", None) or {}
    name = meta.get("filename_or_obj", "")
    return str(name[0] if isinstance(name, (list, tuple)) and name else name or "")


class CaseMetricsSaver:
    """Score every case an evaluator sees and write the report of :mod:`monai_lite.evaluation.report`.

    Args:
        output_dir: the report folder (``metrics.csv``, ``summary.json``, ``boxplot.png``).
        labels: class names (``{1: "lesion"}`` or ``["1=lesion"]``); None scores every value > 0 found, named
            ``class_<value>``. Defaults to None.
        spacing: voxel size in mm overriding the label's affine. Defaults to None.
        pred_key: key of the prediction in each output dict. Defaults to "pred".
        label_key: key of the ground truth in each output dict. Defaults to "label".
        plot: write the box plot. Defaults to True.

    Example (``evaluate.json``)::

        {"_target_": "monai_lite.evaluation.CaseMetricsSaver", "output_dir": "@output_dir",
         "labels": "$monai_lite.evaluation.class_names_from_metadata(@bundle_root)"}
    """

    #: For multi-process runs (monai_lite.engine.distributed): every rank scores its cases; rank 0 gathers
    #: them and writes.
    every_rank = True

    def __init__(
        self,
        output_dir: str | Path,
        labels: Mapping[int, str] | Sequence[str] | None = None,
        spacing: Sequence[float] | None = None,
        pred_key: str = "pred",
        label_key: str = "label",
        plot: bool = True,
    ) -> None:
        self.output_dir = Path(output_dir)
        self.labels = parse_labels(labels)
        self.spacing = tuple(float(s) for s in spacing) if spacing is not None else None
        self.pred_key, self.label_key, self.plot = pred_key, label_key, plot
        self.cases: list[list[dict[str, Any]]] = []  # this rank's cases in the order seen, rows of each
        self.summary: dict[str, Any] | None = None

    def attach(self, engine: Any) -> None:
        """Collect on every iteration and write the report when the run completes."""
        from ignite.engine import Events

        engine.add_event_handler(Events.STARTED, self.reset)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self.collect)
        engine.add_event_handler(Events.COMPLETED, self.write)

    def reset(self, engine: Any = None) -> None:
        """Forget the rows of a previous run."""
        self.cases, self.summary = [], None

    def collect(self, engine: Any) -> None:
        """Score the cases of the current iteration (``engine.state.output``, decollated or a single dict)."""
        output = engine.state.output
        items = output if isinstance(output, (list, tuple)) else [output]
        for item in items:
            pred, gt = label_map(item[self.pred_key]), label_map(item[self.label_key])
            source = _source(item[self.label_key]) or _source(item[self.pred_key])
            spacing = self.spacing or _spacing(item[self.label_key], gt.ndim)
            if self.labels:
                classes = list(self.labels)
            else:
                classes = sorted((set(np.unique(gt).tolist()) | set(np.unique(pred).tolist())) - {0})
            stem = split_name(source)[0] if source else "case"
            context = {"case": stem, "spacing": spacing, "pred_file": "", "gt_file": source}
            if not classes:
                self.cases.append([{**context, "label": None, "voxels": int(gt.size)}])
                continue
            rows = compute_case_metrics(pred, gt, classes, spacing)
            self.cases.append([{"case": stem, **row, **context} for row in rows])

    @property
    def rows(self) -> list[dict[str, Any]]:
        """This rank's rows, cases named as in the report."""
        return _named_rows(self.cases)

    def write(self, engine: Any = None) -> dict[str, Any] | None:
        """Gather the rows of all ranks and write the report on rank 0; returns the summary there (else None).

        The cases of several ranks are put back in the dataset's order (MONAI's ``DistributedSampler`` without
        shuffling gives rank ``r`` the cases ``r, r + N, r + 2N, ...``), so the report equals a single process's.
        """
        cases = self.cases
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            gathered: list[Any] = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(gathered, cases)
            if torch.distributed.get_rank() > 0:
                return None
            longest = max(len(part) for part in gathered)
            cases = [part[i] for i in range(longest) for part in gathered if i < len(part)]
        rows = _named_rows(cases)
        if not rows:
            return None
        extra = {"source": "bundle evaluator (post-processed outputs on the preprocessed grid)"}
        self.summary = write_report(complete_rows(rows, self.labels), self.output_dir, extra=extra, plot=self.plot)
        return self.summary


def _named_rows(cases: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    # Two validation files may share a stem (different folders): the second is "stem#2", and so on, in case order.
    seen: dict[str, int] = {}
    rows = []
    for case_rows in cases:
        stem = case_rows[0]["case"]
        seen[stem] = seen.get(stem, 0) + 1
        name = stem if seen[stem] == 1 else f"{stem}#{seen[stem]}"
        rows.extend({**row, "case": name} for row in case_rows)
    return rows
