# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Write an evaluation report (per-case CSV, summary JSON, box plot) and combine the reports of k folds.

A report folder holds:

- ``metrics.csv``: one row per case and class: ``case, label, name, policy``, the metrics of
  :data:`~monai_lite.evaluation.metrics.METRICS` (distances in mm; an undefined rate is ``nan``), the voxel counts
  and the spacing and files used;
- ``summary.json``: per class and metric the mean, population standard deviation (numpy's ``std``, ddof=0),
  median, ``n`` (cases with a defined value) and ``excluded`` (cases where it is undefined), plus per class the count
  of each empty-mask policy, so no case disappears from a report unnoticed;
- ``boxplot.png``: per-case Dice, IoU and HD95 per class (matplotlib's Agg canvas, no display needed).

Every file is written to a temporary name beside its target and renamed onto it, so a reader never sees half a
report. :func:`combine_reports` concatenates the CSVs of several report folders (k-fold cross-validation) with a
``fold`` column, and summarises both over all cases pooled and as the mean of the fold means.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monai_lite.engine.atomic import atomic_path, atomic_write_json, atomic_write_text, json_ready
from monai_lite.evaluation.metrics import METRICS, POLICIES

__all__ = [
    "CSV_NAME",
    "SUMMARY_NAME",
    "BOXPLOT_NAME",
    "POLICY_TEXT",
    "CSV_COLUMNS",
    "metric_stats",
    "summarise",
    "write_report",
    "read_rows",
    "check_output_dir",
    "combine_reports",
    "format_summary",
]

CSV_NAME, SUMMARY_NAME, BOXPLOT_NAME = "metrics.csv", "summary.json", "boxplot.png"
#: The empty-mask policy in one paragraph, written into every summary.
POLICY_TEXT = (
    "Per case and class: both masks empty -> Dice = IoU = 1, HD95 = ASD = 0 (both_empty); ground truth empty but "
    "prediction not (false_positive) or prediction empty but ground truth not (missed) -> Dice = IoU = 0 and "
    "HD95 = ASD = the image diagonal in mm (a finite worst case, so misses never improve the mean). Sensitivity is "
    "undefined (excluded) when the ground truth is empty, specificity when there is no background."
)
#: Leading CSV columns; any other keys of a row follow them.
CSV_COLUMNS: tuple[str, ...] = (
    "case", "label", "name", "policy", *METRICS, "gt_voxels", "pred_voxels", "voxels", "spacing", "pred_file", "gt_file",
)
_PLOTTED = (("dice", "Dice"), ("iou", "IoU"), ("hd95", "HD95 (mm)"))
_NUMERIC = (*METRICS, "gt_voxels", "pred_voxels", "voxels", "label")


def check_output_dir(output_dir: str | Path, inputs: Sequence[str | Path]) -> None:
    """Refuse a report folder that is, or lies inside, one of the input folders (inputs are never written to).

    Raises:
        ValueError: naming both folders.
    """
    target = Path(output_dir).resolve()
    for folder in inputs:
        source = Path(folder).resolve()
        if target == source or source in target.parents:
            raise ValueError(f"output folder {output_dir} is inside the input folder {folder}; inputs are never written to.")


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]


def metric_stats(values: Sequence[float]) -> dict[str, float | int | None]:
    """Mean, population std, median, ``n`` and ``excluded`` (NaN/None entries) of one metric.

    Example::

        metric_stats([1.0, 0.5, float("nan")])   # {"mean": 0.75, "std": 0.25, "median": 0.75, "n": 2, "excluded": 1}
    """
    kept = _finite(values)
    if not kept:
        return {"mean": None, "std": None, "median": None, "n": 0, "excluded": len(values)}
    array = np.asarray(kept, dtype=np.float64)
    return {
        "mean": float(array.mean()), "std": float(array.std()), "median": float(np.median(array)),
        "n": len(kept), "excluded": len(values) - len(kept),
    }


def _by_name(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: int(r["label"])):
        grouped.setdefault(str(row["name"]), []).append(row)
    return grouped


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The per-class statistics and policy counts of per-case rows.

    Args:
        rows: dicts with ``case``, ``label``, ``name``, ``policy`` and the :data:`METRICS`.

    Returns:
        ``{"n_cases", "labels": {value: name}, "policy_counts": {name: {policy: n}}, "metrics": {name: {metric:
        stats}}}`` with stats from :func:`metric_stats`.
    """
    grouped = _by_name(rows)
    return {
        "n_cases": len({str(r["case"]) if "fold" not in r else (str(r["fold"]), str(r["case"])) for r in rows}),
        "labels": {str(group[0]["label"]): name for name, group in grouped.items()},
        "policy_counts": {
            name: {policy: sum(r["policy"] == policy for r in group) for policy in POLICIES} for name, group in grouped.items()
        },
        "metrics": {
            name: {metric: metric_stats([r[metric] for r in group]) for metric in METRICS} for name, group in grouped.items()
        },
    }


def _csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    extra = [k for row in rows for k in row if k not in CSV_COLUMNS]
    columns = [c for c in CSV_COLUMNS if any(c in row for row in rows)] + list(dict.fromkeys(extra))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (" ".join(f"{s:g}" for s in v) if isinstance(v, (tuple, list)) else v) for k, v in row.items()})
    return buffer.getvalue()


def _write_boxplot(path: Path, rows: Sequence[Mapping[str, Any]], title: str, unit: str = "mm") -> None:
    # The object API with an Agg canvas draws without touching pyplot's global backend or needing a display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    grouped = _by_name(rows)
    figure = Figure(figsize=(4 * len(_PLOTTED), 4), layout="constrained")
    FigureCanvasAgg(figure)
    for index, (metric, label) in enumerate(_PLOTTED):
        label = label.replace("(mm)", f"({unit})")
        axes = figure.add_subplot(1, len(_PLOTTED), index + 1)
        data = [_finite([r[metric] for r in group]) for group in grouped.values()]
        axes.boxplot(data, showmeans=True)
        axes.set_xticks(range(1, len(grouped) + 1), list(grouped), rotation=30 if len(grouped) > 4 else 0)
        axes.set_title(label)
        if metric != "hd95":
            axes.set_ylim(-0.02, 1.02)
        axes.grid(axis="y", alpha=0.3)
    figure.suptitle(title)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)


def write_report(
    rows: Sequence[Mapping[str, Any]], output_dir: str | Path, extra: Mapping[str, Any] | None = None, plot: bool = True
) -> dict[str, Any]:
    """Write ``metrics.csv``, ``summary.json`` and (optionally) ``boxplot.png`` into ``output_dir``.

    Args:
        rows: per-case, per-class rows (see :data:`CSV_COLUMNS`).
        output_dir: the report folder (created if needed).
        extra: more entries for the summary (inputs, unmatched files, ...). Defaults to None.
        plot: draw the box plot. Defaults to True.

    Returns:
        The summary as written (NaN and inf as None).

    Raises:
        ValueError: if ``rows`` is empty.

    Example::

        write_report(rows, "eval/fold0", extra={"fold": 0})["metrics"]["lesion"]["dice"]["mean"]
    """
    if not rows:
        raise ValueError(f"no case to report in {output_dir}; nothing was evaluated.")
    output_dir = Path(output_dir)
    summary = {**summarise(rows), "distance_unit": "mm", "empty_mask_policy": POLICY_TEXT, **dict(extra or {})}
    summary = json_ready(summary)
    atomic_write_text(output_dir / CSV_NAME, _csv_text(rows))
    atomic_write_json(output_dir / SUMMARY_NAME, summary)
    if plot:
        _write_boxplot(output_dir / BOXPLOT_NAME, rows, f"{summary['n_cases']} cases", summary["distance_unit"])
    return summary


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a ``metrics.csv``, numbers converted back to float/int.

    Raises:
        FileNotFoundError: if the file is missing. ValueError: if it lacks the columns of a report.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; pass folders written by `monai-lite evaluate`.")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = sorted({"case", "label", "name", "policy", *METRICS} - set(reader.fieldnames or ()))
        if missing:
            raise ValueError(f"{path} is not a report of `monai-lite evaluate`; it lacks the column(s) {missing}.")
        rows = []
        for row in reader:
            for key in _NUMERIC:
                if row.get(key) not in (None, ""):
                    value = float(row[key])
                    row[key] = int(value) if key in ("gt_voxels", "pred_voxels", "voxels", "label") else value
            rows.append(dict(row))
    return rows


def combine_reports(paths: Sequence[str | Path], output_dir: str | Path, plot: bool = True) -> dict[str, Any]:
    """Combine the reports of several folds into one.

    Writes ``metrics.csv`` (all rows, with a ``fold`` column first), ``summary.json`` and ``boxplot.png`` into
    ``output_dir``. Per class and metric the summary has the pooled statistics over all cases (``mean``, ``std``,
    ``median``, ``n``, ``excluded``) plus ``fold_means``, ``mean_of_fold_means`` and ``std_of_fold_means``.

    Args:
        paths: report folders written by :func:`~monai_lite.evaluation.evaluate_folder` (one per fold).
        output_dir: the folder of the combined report; must not be (inside) one of ``paths``.
        plot: draw the box plot. Defaults to True.

    Returns:
        The combined summary.

    Raises:
        FileNotFoundError: a folder has no ``metrics.csv``. ValueError: no folder, or ``output_dir`` is (inside) one
            of the inputs.

    Example::

        combine_reports(["eval/fold0", "eval/fold1"], "eval/cv")["metrics"]["lesion"]["dice"]["mean_of_fold_means"]
    """
    folders = [Path(p) for p in paths]
    if not folders:
        raise ValueError("combine needs at least one report folder.")
    output_dir = Path(output_dir)
    check_output_dir(output_dir, folders)
    rows: list[dict[str, Any]] = []
    fold_rows: dict[str, list[dict[str, Any]]] = {}
    folds = []
    units: dict[str, str] = {}
    for index, folder in enumerate(folders):
        own = read_rows(folder / CSV_NAME)
        summary_file = folder / SUMMARY_NAME
        meta = json.loads(summary_file.read_text(encoding="utf-8")) if summary_file.is_file() else {}
        units[str(folder)] = meta.get("distance_unit", "mm")
        fold = meta.get("fold")
        label = str(fold) if fold is not None and str(fold) not in fold_rows else f"{index}:{folder.name}"
        for row in own:
            row.pop("fold", None)
            rows.append({"fold": label, **row})
        fold_rows[label] = own
        folds.append({"fold": label, "path": str(folder), "n_cases": len({r["case"] for r in own})})
    if len(set(units.values())) > 1:
        raise ValueError(f"the reports measure distances in different units ({units}); pool reports of one kind of "
                         "image, or give pictures a --spacing in mm.")
    unit = next(iter(units.values()))
    seen: dict[str, str] = {}
    duplicates = sorted({r["case"] for r in rows if seen.setdefault(r["case"], r["fold"]) != r["fold"]})
    combined = summarise(rows)
    per_fold = {label: summarise(own)["metrics"] for label, own in fold_rows.items()}
    for name, metrics in combined["metrics"].items():
        for metric, stats in metrics.items():
            means = [per_fold[label].get(name, {}).get(metric, {}).get("mean") for label in fold_rows]
            kept = _finite(means)
            stats["fold_means"] = means
            stats["mean_of_fold_means"] = float(np.mean(kept)) if kept else None
            stats["std_of_fold_means"] = float(np.std(kept)) if kept else None
    output_dir.mkdir(parents=True, exist_ok=True)
    summary = json_ready({
        **combined, "distance_unit": unit, "empty_mask_policy": POLICY_TEXT, "folds": folds,
        "duplicate_cases": duplicates,
    })
    atomic_write_text(output_dir / CSV_NAME, _csv_text(rows))
    atomic_write_json(output_dir / SUMMARY_NAME, summary)
    if plot:
        _write_boxplot(output_dir / BOXPLOT_NAME, rows, f"{len(folders)} folds, {len(rows)} rows", unit)
    return summary


def format_summary(summary: Mapping[str, Any]) -> str:
    """A few lines for the terminal: per class Dice, IoU and HD95 as mean ± std, and the policy counts.

    Example::

        lesion: Dice 0.853 ± 0.101, IoU 0.760 ± 0.132, HD95 4.21 ± 3.05 mm (n=200; missed 3, false_positive 0, both_empty 0)
    """
    lines = [f"{summary.get('n_cases', 0)} cases"]
    for name, metrics in summary.get("metrics", {}).items():
        parts = []
        for metric, label, digits in (("dice", "Dice", 3), ("iou", "IoU", 3), ("hd95", "HD95", 2)):
            stats = metrics.get(metric, {})
            if stats.get("mean") is None:
                parts.append(f"{label} -")
                continue
            unit = f" {summary.get('distance_unit', 'mm')}" if metric == "hd95" else ""
            parts.append(f"{label} {stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}{unit}")
        counts = summary.get("policy_counts", {}).get(name, {})
        n = metrics.get("dice", {}).get("n", 0)
        others = ", ".join(f"{p} {counts.get(p, 0)}" for p in POLICIES[1:])
        lines.append(f"{name}: {', '.join(parts)} (n={n}; {others})")
    missing = summary.get("missing_predictions") or []
    if missing:
        lines.append(f"{len(missing)} case(s) had no prediction and were scored as missed: {', '.join(missing[:10])}"
                     + (" ..." if len(missing) > 10 else ""))
    unmatched = summary.get("unmatched_predictions") or []
    if unmatched:
        lines.append(f"{len(unmatched)} prediction file(s) match no ground truth and were not scored: "
                     f"{', '.join(unmatched[:10])}" + (" ..." if len(unmatched) > 10 else ""))
    return "\n".join(lines)
