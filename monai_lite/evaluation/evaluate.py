# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Evaluate a folder of predicted masks against ground truth: match, read, score, report.

:func:`evaluate_folder` is what ``monai-lite evaluate --pred DIR --gt DIR|DATALIST -o OUTDIR`` runs. Cases are
paired by name (:mod:`~monai_lite.evaluation.matching`), read by one reader for both sides
(:mod:`~monai_lite.evaluation.reader`), scored with MONAI's metrics under the empty-mask policy of
:mod:`~monai_lite.evaluation.metrics`, and written as a report (:mod:`~monai_lite.evaluation.report`).

Classes: ``labels`` names them (``{1: "anterior", 2: "posterior"}`` or ``["1=anterior", "2=posterior"]``); with a
datalist the datalist's own ``labels`` are used; otherwise the classes are every value above 0 found in any
prediction or ground truth, and a class absent from both masks of a case counts as ``both_empty`` for that case.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monai_lite.data.io import IMAGE_2D_SUFFIXES, split_name
from monai_lite.evaluation.matching import (
    CasePair,
    ground_truth_from_datalist,
    ground_truth_from_folder,
    list_masks,
    match_cases,
    without_overlays,
)
from monai_lite.evaluation.metrics import both_empty_metrics, compute_case_metrics
from monai_lite.evaluation.reader import THRESHOLD_HINT, Mask, describe_values, read_mask
from monai_lite.evaluation.report import check_output_dir, write_report

__all__ = ["parse_labels", "class_name", "score_case", "complete_rows", "evaluate_pairs", "evaluate_folder"]

_AFFINE_ATOL = 1e-3
logger = logging.getLogger(__name__)


def class_name(label: int, labels: Mapping[int, str] | None = None) -> str:
    """The name of class ``label``: from ``labels`` when it names it, else ``"class_<label>"``."""
    return str(labels[label]) if labels and label in labels else f"class_{label}"


def parse_labels(labels: Mapping[int | str, str] | Sequence[str] | None) -> dict[int, str] | None:
    """Normalise class names to ``{value: name}``.

    Args:
        labels: a mapping ``{1: "anterior"}``, or strings ``"1=anterior"`` (or a bare ``"1"``, named ``class_1``)
            as given on the command line; None means "find the classes in the masks".

    Returns:
        ``{value: name}`` sorted by value, or None.

    Raises:
        ValueError: a value that is not an integer > 0, a value given twice, or a name used twice.

    Example::

        parse_labels(["1=anterior", "2=posterior"])   # {1: "anterior", 2: "posterior"}
    """
    if labels is None:
        return None
    items = labels.items() if isinstance(labels, Mapping) else (str(t).partition("=")[::2] for t in labels)
    parsed: dict[int, str] = {}
    for raw_value, raw_name in items:
        try:
            value = int(str(raw_value).strip())
        except ValueError:
            raise ValueError(f"labels must be VALUE=NAME with an integer VALUE > 0, e.g. 1=lesion; got {raw_value!r}.") from None
        if value <= 0:
            raise ValueError(f"label values must be > 0 (0 is the background); got {value}.")
        if value in parsed:
            raise ValueError(f"label value {value} is given twice in labels.")
        parsed[value] = str(raw_name).strip() or class_name(value)
    names = list(parsed.values())
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise ValueError(f"label names must be unique; {doubled} name several values.")
    if not parsed:
        raise ValueError("labels is empty; name at least one class, e.g. 1=lesion.")
    return dict(sorted(parsed.items()))


def _check_geometry(pred: Mask, gt: Mask, check_affine: bool) -> None:
    if pred.array.shape != gt.array.shape:
        raise ValueError(
            f"prediction {pred.path} has shape {tuple(pred.array.shape)} but ground truth {gt.path} has shape "
            f"{tuple(gt.array.shape)}; predictions must be saved on the ground truth's grid."
        )
    if check_affine and pred.affine is not None and gt.affine is not None:
        if not np.allclose(pred.affine, gt.affine, atol=_AFFINE_ATOL):
            raise ValueError(
                f"prediction {pred.path} and ground truth {gt.path} have the same shape but different affines "
                "(orientation, spacing or origin); save predictions on the ground truth's grid (e.g. Invertd before "
                "SaveImaged), or pass check_affine=False (--ignore-affine) if the arrays correspond voxel for voxel."
            )


class LabelValues:
    """The values a prediction may hold: 0 and the named classes, or, when none are named, every value that some
    ground truth of the evaluation holds.

    A prediction holding anything else (grey levels, probabilities scaled to 0-255, a stray value) would otherwise be
    scored as one class per value (a block of 128 in a perfect 0/255 mask scores Dice 0 "missed"), so it is refused.
    The ground truths of other cases are only read when a prediction holds a value its own ground truth lacks.

    Args:
        pairs: the cases of the evaluation (their ground truths give the values when ``labels`` is empty).
        labels: the named classes. Defaults to None.
    """

    def __init__(self, pairs: Sequence[CasePair] = (), labels: Mapping[int, str] | None = None) -> None:
        self.pairs = list(pairs)
        self.named = {0, *(int(v) for v in labels)} if labels else None
        self._all_truths: set[int] | None = None

    def _truth_values(self) -> set[int]:
        if self._all_truths is None:
            self._all_truths = {0}
            for pair in self.pairs:
                self._all_truths |= set(np.unique(read_mask(pair.gt).array).tolist())
        return self._all_truths

    def check(self, pred: Mask, gt: Mask) -> None:
        """Refuse ``pred`` if it holds a value that is not a label value.

        Raises:
            ValueError: naming the file, what it holds, the label values and how to binarise it.
        """
        found = set(np.unique(pred.array).tolist())
        allowed = self.named if self.named is not None else {0} | set(np.unique(gt.array).tolist())
        if found <= allowed:
            return
        if self.named is None:
            allowed = self._truth_values() | allowed
            if found <= allowed:
                return
        stray = sorted(found - allowed)
        shown = ", ".join(str(v) for v in stray[:8]) + (", ..." if len(stray) > 8 else "")
        if self.named is not None:
            raise ValueError(
                f"prediction {pred.path} holds label value(s) [{shown}] that labels does not name "
                f"({sorted(self.named - {0})}); it holds {describe_values(pred.array)}. If those values are classes, "
                f"add them to labels (--labels); if it is a probability or grey-level map, {THRESHOLD_HINT}."
            )
        source = "the values of the ground truth masks"
        raise ValueError(
            f"prediction {pred.path} holds {describe_values(pred.array)}; the label values are {sorted(allowed)} "
            f"({source}), so {shown} cannot be scored. If it is a probability or grey-level map, {THRESHOLD_HINT}; "
            "if those values are classes, name them with --labels (labels=...)."
        )


def score_case(
    pair: CasePair,
    labels: Mapping[int, str] | None = None,
    spacing: Sequence[float] | None = None,
    check_affine: bool = True,
    threshold: float | None = None,
    label_values: LabelValues | None = None,
) -> list[dict[str, Any]]:
    """Read and score one case.

    Args:
        pair: the case with its ground truth and prediction (None scores an empty prediction).
        labels: the classes to score with their names; None scores every value > 0 present in either mask.
            Defaults to None.
        spacing: pixel/voxel size in mm overriding the ground truth's (2D files have 1). Defaults to None.
        check_affine: refuse volumes whose affines differ. Defaults to True.
        threshold: binarise the prediction (``value >= threshold`` is 1) before scoring. Defaults to None.
        label_values: the values a prediction may hold; None allows 0, the named classes or, without names, the
            values of this case's ground truth. Defaults to None.

    Returns:
        One row per class (see :data:`~monai_lite.evaluation.report.CSV_COLUMNS`).

    Raises:
        FileNotFoundError, ValueError: unreadable files, a shape/affine mismatch naming both files, or a prediction
            holding values that are not label values.

    Example::

        rows = score_case(CasePair("a", Path("gt/a.png"), Path("pred/a_seg.png")), {1: "lesion"})
        rows[0]["dice"], rows[0]["policy"]
    """
    named = tuple(labels or ())
    gt = read_mask(pair.gt, named)
    if pair.pred is None:
        pred = Mask(path=Path(""), array=np.zeros_like(gt.array), spacing=gt.spacing, affine=gt.affine)
    else:
        pred = read_mask(pair.pred, named, threshold=threshold)
        _check_geometry(pred, gt, check_affine)
        (label_values or LabelValues([], labels)).check(pred, gt)
    voxel_size = tuple(float(s) for s in spacing) if spacing is not None else gt.spacing
    if len(voxel_size) != gt.array.ndim:
        raise ValueError(
            f"spacing {voxel_size} has {len(voxel_size)} values but {gt.path} has {gt.array.ndim} axes; give one per axis."
        )
    if labels:
        found = (set(np.unique(gt.array).tolist()) | set(np.unique(pred.array).tolist())) - {0} - set(labels)
        if found:
            raise ValueError(
                f"case {pair.case} ({gt.path}, {pair.pred}) holds label value(s) {sorted(found)} that labels does not "
                f"name ({sorted(labels)}); add them to labels."
            )
        classes = list(labels)
    else:
        classes = sorted((set(np.unique(gt.array).tolist()) | set(np.unique(pred.array).tolist())) - {0})
    context = {"spacing": voxel_size, "pred_file": str(pair.pred or ""), "gt_file": str(pair.gt)}
    if not classes:  # no foreground anywhere: a placeholder that complete_rows turns into both_empty rows
        return [{"case": pair.case, "label": None, "voxels": int(gt.array.size), **context}]
    return [{"case": pair.case, **row, **context} for row in compute_case_metrics(pred.array, gt.array, classes, voxel_size)]


def complete_rows(rows: Sequence[dict[str, Any]], labels: Mapping[int, str] | None = None) -> list[dict[str, Any]]:
    """Give every case a row for every class, and every row its class name.

    A class found in some cases but absent from both masks of another case is ``both_empty`` there (see
    :func:`~monai_lite.evaluation.metrics.both_empty_metrics`), so each class is averaged over every case. A row
    with ``label`` None stands for a case without any foreground and only carries its ``voxels``, ``spacing`` and
    files.

    Args:
        rows: per-case rows from :func:`score_case` (cases in order).
        labels: class names; classes without one are called ``class_<value>``. Defaults to None.

    Returns:
        The rows, ordered by case then class value, with a ``name`` column.

    Raises:
        ValueError: if no row names a class and ``labels`` is empty (nothing to score).

    Example::

        rows = [r for pair in pairs for r in score_case(pair)]
        write_report(complete_rows(rows), "eval/report")
    """
    classes = sorted(set(labels or ()) | {int(r["label"]) for r in rows if r["label"] is not None})
    if not classes:
        cases = len({r["case"] for r in rows})
        raise ValueError(f"no prediction or ground truth of the {cases} case(s) holds a label value > 0; nothing to score.")
    by_case: dict[str, dict[int, dict[str, Any]]] = {}
    context: dict[str, dict[str, Any]] = {}
    for row in rows:
        own = by_case.setdefault(row["case"], {})
        if row["label"] is not None:
            own[int(row["label"])] = row
        context.setdefault(row["case"], row)
    completed = []
    for case, own in by_case.items():
        first = context[case]
        for label in classes:
            row = own.get(label)
            if row is None:
                row = {"case": case, **both_empty_metrics(label, first["voxels"]), "spacing": first["spacing"],
                       "pred_file": first["pred_file"], "gt_file": first["gt_file"]}
            completed.append({"case": row["case"], "label": label, "name": class_name(label, labels), **row})
    return completed


def evaluate_pairs(
    pairs: Sequence[CasePair],
    output_dir: str | Path,
    labels: Mapping[int, str] | Sequence[str] | None = None,
    spacing: Sequence[float] | None = None,
    check_affine: bool = True,
    plot: bool = True,
    progress: bool | None = None,
    extra: Mapping[str, Any] | None = None,
    threshold: float | None = None,
) -> dict[str, Any]:
    """Score paired cases and write the report into ``output_dir``.

    Args:
        pairs: the cases (see :func:`~monai_lite.evaluation.matching.match_cases`).
        output_dir: the report folder.
        labels: class names (see :func:`parse_labels`); None finds the classes in the masks. Defaults to None.
        spacing: voxel size in mm overriding the files'. Defaults to None.
        check_affine: refuse volumes whose affines differ. Defaults to True.
        plot: write the box plot. Defaults to True.
        progress: show a tqdm bar; None shows it only on a terminal. Defaults to None.
        extra: more summary entries. Defaults to None.
        threshold: binarise every prediction (``value >= threshold`` is foreground 1), for probability or
            grey-level maps of a binary task; recorded in the summary. Defaults to None (predictions must hold
            label values).

    Returns:
        The summary dict.

    Raises:
        ValueError: no case, bad labels, a threshold with several named classes, or a case that fails (the message
            names its files).
    """
    from tqdm import tqdm

    names = parse_labels(labels)
    if not pairs:
        raise ValueError("there is no case to evaluate.")
    if threshold is not None and names and len(names) > 1:
        raise ValueError(
            f"threshold {threshold} binarises predictions, so it only applies to a task with one class; labels name "
            f"{len(names)} ({sorted(names)})."
        )
    values = LabelValues(pairs, names)
    if threshold is not None:
        extra = {**(extra or {}), "threshold": threshold}
    rows: list[dict[str, Any]] = []
    # disable=None lets tqdm show the bar on a terminal only, so logs of batch jobs stay clean.
    for pair in tqdm(pairs, desc="evaluate", unit="case", disable=None if progress is None else not progress):
        rows.extend(score_case(pair, names, spacing, check_affine, threshold, values))
    rows = complete_rows(rows, names)
    # Pictures carry no pixel size, so without --spacing their distances are in pixels, and are said to be.
    pictures = all(split_name(pair.gt)[1] in IMAGE_2D_SUFFIXES for pair in pairs)
    unit = {"distance_unit": "px" if spacing is None and pictures else "mm"}
    return write_report(rows, output_dir, extra={**unit, **dict(extra or {})}, plot=plot)


def evaluate_folder(
    pred: str | Path,
    gt: str | Path,
    output_dir: str | Path,
    dataset_dir: str | Path | None = None,
    fold: int | None = 0,
    labels: Mapping[int, str] | Sequence[str] | None = None,
    spacing: Sequence[float] | None = None,
    allow_missing: bool = False,
    check_affine: bool = True,
    plot: bool = True,
    progress: bool | None = None,
    threshold: float | None = None,
    only_predicted: bool = False,
) -> dict[str, Any]:
    """Evaluate a folder of predictions against a folder of masks or a datalist fold.

    Args:
        pred: folder of predicted masks (searched recursively), named like their cases (``case.png``,
            ``case_seg.nii.gz``, ...).
        gt: a folder of ground-truth masks, or a datalist JSON (then ``dataset_dir`` is needed).
        output_dir: where ``metrics.csv``, ``summary.json`` and ``boxplot.png`` go; never inside ``pred`` or ``gt``.
        dataset_dir: folder the datalist's relative paths start from (datalist only). Defaults to None.
        fold: the datalist fold whose cases are evaluated; None or negative evaluates every labelled training case.
            Defaults to 0.
        labels: class names, ``{1: "lesion"}`` or ``["1=lesion"]``; None takes the datalist's names, else every
            value > 0 found. Defaults to None.
        spacing: voxel size in mm for every case, overriding the files' (2D files otherwise have 1). Defaults to
            None.
        allow_missing: score a ground truth without prediction as an empty prediction (policy ``missed``) instead
            of failing. Defaults to False.
        check_affine: refuse NIfTI/NRRD pairs whose affines differ. Defaults to True.
        plot: write the box plot. Defaults to True.
        progress: tqdm bar over cases; None shows it on a terminal only. Defaults to None.
        threshold: binarise predictions saved as probabilities or grey levels (see :func:`evaluate_pairs`).
            Defaults to None.
        only_predicted: score only the ground truths that have a prediction (e.g. after segmenting a few cases);
            the others are listed in the summary as ``not_predicted``, never scored. Excludes ``allow_missing``.
            Defaults to False.

    Returns:
        The summary written to ``summary.json``.

    Raises:
        FileNotFoundError: a folder or file does not exist.
        ValueError: bad arguments, unmatched cases, or a case whose files do not fit (named in the message).

    Example::

        from monai_lite.evaluation import evaluate_folder
        summary = evaluate_folder("eval/predictions", "data/masks", "eval/report")
        summary["metrics"]["class_1"]["dice"]["mean"]
    """
    pred, gt, output_dir = Path(pred), Path(gt), Path(output_dir)
    if not pred.is_dir():
        raise FileNotFoundError(f"prediction folder {pred} does not exist.")
    if gt.is_dir():
        if dataset_dir is not None:
            raise ValueError(f"dataset_dir is only used with a datalist; {gt} is a folder of masks.")
        truths = ground_truth_from_folder(gt)
        inputs = [pred, gt]
        source: dict[str, Any] = {"pred": str(pred), "gt": str(gt)}
    elif gt.is_file():
        if dataset_dir is None:
            raise ValueError(f"ground truth {gt} is a datalist; pass dataset_dir (--dataset-dir), the folder its paths start from.")
        truths = ground_truth_from_datalist(gt, dataset_dir, fold)
        if labels is None:
            from monai_lite.data.datalist import load_datalist_header

            named = {name: value for name, value in (load_datalist_header(gt).get("labels") or {}).items()}
            labels = {int(v): str(n) for n, v in named.items() if isinstance(v, int) and v > 0} or None
        inputs = [pred, Path(dataset_dir)]
        chosen = None if fold is None or int(fold) < 0 else int(fold)
        source = {"pred": str(pred), "gt": str(gt), "dataset_dir": str(dataset_dir), "fold": chosen}
    else:
        raise FileNotFoundError(f"ground truth {gt} is neither a folder of masks nor a datalist file.")
    if only_predicted and allow_missing:
        raise ValueError("only_predicted (--only-predicted) and allow_missing (--allow-missing) exclude each other: "
                         "either skip the cases without prediction or score them as empty.")
    check_output_dir(output_dir, inputs)
    predictions = without_overlays(list_masks(pred, recursive=True))
    matching = match_cases(predictions, truths, allow_missing=allow_missing or only_predicted)
    not_predicted: list[str] = []
    if only_predicted:
        not_predicted, matching.missing = matching.missing, []
        matching.pairs = [p for p in matching.pairs if p.pred is not None]
        if not matching.pairs:
            raise ValueError(f"no prediction in {pred} matches a ground-truth case; nothing to score.")
        logger.info("scoring the %d case(s) with a prediction; %d ground-truth case(s) without one are skipped",
                    len(matching.pairs), len(not_predicted))
    if matching.unmatched_predictions:
        logger.warning("%d prediction file(s) in %s match no ground truth and are not scored, e.g. %s",
                       len(matching.unmatched_predictions), pred, matching.unmatched_predictions[0])
    if matching.missing:
        logger.warning("%d ground-truth case(s) have no prediction and are scored as missed, e.g. %s",
                       len(matching.missing), matching.missing[0])
    extra = {
        **source,
        "spacing_override": list(spacing) if spacing is not None else None,
        "missing_predictions": matching.missing,
        "unmatched_predictions": [str(p) for p in matching.unmatched_predictions],
        **({"not_predicted": not_predicted} if only_predicted else {}),
    }
    return evaluate_pairs(matching.pairs, output_dir, labels, spacing, check_affine, plot, progress, extra, threshold)
