# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Turn a folder of images and labels into a checked, deterministic datalist: ``monai-lite prepare``.

The steps are: recognise the layout and pair files (:mod:`~monai_lite.data.layout`), check every case and the set
(:mod:`~monai_lite.data.validation`), raise ONE :class:`~monai_lite.data.problems.DatasetValidationError` listing
all errors if there are any, else split test/folds (:mod:`~monai_lite.data.folds`) and write the datalist atomically
(:mod:`~monai_lite.data.datalist`). Input folders are only read: the output may not be inside them.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from monai_lite.data.datalist import write_json_atomic
from monai_lite.data.folds import split_cases
from monai_lite.data.io import split_name
from monai_lite.data.layout import Case, Layout, detect_layout
from monai_lite.data.problems import ERROR, WARNING, DatasetValidationError, Problem
from monai_lite.data.validation import CaseReport, LabelPolicy, check_case, check_set

__all__ = ["prepare_datalist"]

logger = logging.getLogger(__name__)

_RGB_NAMES = ("R", "G", "B", "A")


def _progress(items: Sequence[Case], enabled: bool) -> Iterable[Case]:
    if not enabled:
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, desc="Checking cases", unit="case", leave=False)


def _inside(child: Path, parent: Path) -> bool:
    child_abs, parent_abs = os.path.abspath(child), os.path.abspath(parent)
    return os.path.commonpath([child_abs, parent_abs]) == parent_abs


def _label_map(label_names: Mapping[Any, Any] | str | Path | None, what: str) -> dict[str, int] | None:
    """Name -> int from a mapping in either direction (or a JSON file holding one)."""
    if label_names is None:
        return None
    if isinstance(label_names, (str, Path)):
        path = Path(label_names)
        if not path.is_file():
            raise FileNotFoundError(f"labels file {path} does not exist.")
        try:
            label_names = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"labels file {path} is not JSON ({exc}).") from exc
        what = f"labels file {path}"
    if not isinstance(label_names, Mapping) or not label_names:
        raise ValueError(f"{what} must be a non-empty mapping of label name -> value (or value -> name); got {label_names!r}.")
    keys = [str(k) for k in label_names]
    if all(k.lstrip("-").isdigit() for k in keys):
        pairs = [(str(v), int(k)) for k, v in label_names.items()]
    else:
        pairs = [(str(k), int(v)) for k, v in label_names.items()]
    names = [n for n, _ in pairs]
    values = [v for _, v in pairs]
    if len(set(names)) != len(names) or len(set(values)) != len(values):
        raise ValueError(f"{what} must map each name to one value and back; got {dict(pairs)}.")
    return dict(sorted(pairs, key=lambda item: item[1]))


def _channel_map(channel_names: Mapping[Any, Any] | Sequence[str] | None) -> dict[str, str] | None:
    if channel_names is None:
        return None
    if isinstance(channel_names, Mapping):
        return {str(k): str(v) for k, v in sorted(channel_names.items(), key=lambda kv: int(kv[0]))}
    return {str(i): str(v) for i, v in enumerate(channel_names)}


def _relative(path: Path, layout: Layout) -> str | None:
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(layout.root))
    if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        return None
    return Path(rel).as_posix()


def _default_channels(reports: list[CaseReport], spatial_dims: int) -> dict[str, str]:
    channels = Counter(r.channels for r in reports if r.channels).most_common(1)
    count = channels[0][0] if channels else 1
    modality = Counter(r.modality for r in reports if r.modality).most_common(1)
    if spatial_dims == 2 and count in (3, 4):
        return {str(i): _RGB_NAMES[i] for i in range(count)}
    if count == 1:
        return {"0": modality[0][0] if modality else ("gray" if spatial_dims == 2 else "image")}
    return {str(i): f"channel_{i}" for i in range(count)}


def _header_labels(names: dict[str, int] | None, expected: frozenset[int] | None, binary_2d: bool, found: set[int]) -> dict[str, int]:
    values = sorted(expected if expected is not None else ({0, 1} if binary_2d else found | {0}))
    by_value = {v: n for n, v in (names or {}).items()}
    if binary_2d and names is None:
        by_value = {0: "background", 1: "foreground"}
    return {by_value.get(v, "background" if v == 0 else f"label_{v}"): v for v in values}


def _entry(case: Case, relative: dict[Path, str], fold: int | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"image": relative[case.image]}
    if case.label is not None:
        entry["label"] = relative[case.label]
    if fold is not None:
        entry["fold"] = fold
    return entry


def _ending(paths: Iterable[Path], dicom: bool = False) -> str:
    endings = Counter("" if dicom and p.is_dir() else split_name(p)[1] for p in paths)
    return endings.most_common(1)[0][0] if endings else ""


def _check_arguments(folds: int, test_fraction: float, labels: Sequence[int] | None) -> None:
    if folds < 1:
        raise ValueError(f"folds must be >= 1, got folds={folds}.")
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got test_fraction={test_fraction}.")
    if labels is not None and (not labels or any(int(v) < 0 or int(v) != v for v in labels)):
        raise ValueError(f"labels must be a non-empty list of integers >= 0, got labels={list(labels)}.")


def _refuse_output_inside_inputs(output: Path, layout: Layout) -> None:
    for folder in layout.protected:
        if folder.exists() and _inside(output, folder):
            raise ValueError(
                f"output must not be inside an input folder (inputs are never written); {output} is inside {folder}. "
                "Write the datalist elsewhere, e.g. data_manifests/<dataset>.json."
            )


def _relative_paths(cases: Sequence[Case], layout: Layout, problems: list[Problem]) -> dict[Path, str]:
    """Datalist paths of every image and label; a file outside the data root becomes a ``layout`` error."""
    relative: dict[Path, str] = {}
    for case in cases:
        for path in (case.image, case.label):
            if path is None:
                continue
            rel = _relative(path, layout)
            if rel is None:
                message = f"every file must be inside the data root {layout.root_hint}; {path} is not. Pass a data_root that holds it."
                problems.append(Problem(ERROR, "layout", message, (str(path),), case.case_id))
            else:
                relative[path] = rel
    return relative


def _split_warnings(num_cases: int, num_training: int, num_test: int, folds: int, test_fraction: float) -> list[Problem]:
    problems = []
    if num_training < folds:
        empty = list(range(num_training, folds))
        message = f"{folds} folds need at least {folds} training cases; found {num_training}, so folds {empty} are empty."
        problems.append(Problem(WARNING, "folds", message))
    if test_fraction > 0 and not num_test:
        message = f"test_fraction={test_fraction} of {num_cases} cases rounds to 0 test cases; none were held out."
        problems.append(Problem(WARNING, "folds", message))
    return problems


def prepare_datalist(
    images: str | Path,
    masks: str | Path | None = None,
    output: str | Path = "datalist.json",
    *,
    folds: int = 5,
    seed: int = 0,
    allow_empty: bool = False,
    allow_full: bool = False,
    labels: Sequence[int] | None = None,
    test_fraction: float = 0.0,
    data_root: str | Path | None = None,
    progress: bool = True,
    name: str | None = None,
    description: str | None = None,
    channel_names: Mapping[Any, Any] | Sequence[str] | None = None,
    label_names: Mapping[Any, Any] | str | Path | None = None,
    source: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Check a dataset and write its datalist; nothing is written if any case has an error.

    Layouts (see :mod:`monai_lite.data.layout`): 2D image/mask folders paired by stem, or a root with ``images/`` and
    ``masks/``; an MSD root (``imagesTr``/``labelsTr``, optional ``imagesTs``); DICOM: one series folder + one label
    file, or a folder of series folders + a folder of label files named after them; a CSV pairs table.

    Args:
        images: images folder, dataset root, DICOM series folder (or folder of them), or CSV pairs table.
        masks: masks folder, or the label file of a single DICOM series. Defaults to None.
        output: the datalist JSON to write; must not be inside an input folder. Defaults to "datalist.json".
        folds: number of cross-validation folds. Defaults to 5.
        seed: seed of the deterministic split (same input and seed -> byte-identical file). Defaults to 0.
        allow_empty: keep labels without foreground (reported as warnings). Defaults to False.
        allow_full: keep labels without background (reported as warnings). Defaults to False.
        labels: the allowed label values. ``None``: 2D masks must be binary ({0, 1} or {0, 255}, recorded as
            ``"label_remap": ">0"``); 3D labels may hold any non-negative integers (unless ``label_names`` or an MSD
            ``dataset.json`` lists them). Defaults to None.
        test_fraction: share of labelled cases held out in ``test``, in [0, 1). Defaults to 0.0.
        data_root: folder the datalist's paths are relative to. Defaults to None (the layout's root).
        progress: show a progress bar over cases. Defaults to True.
        name: dataset name in the header. Defaults to None (dataset.json's, else the root folder's name).
        description: header description. Defaults to None.
        channel_names: names of the image channels (mapping index -> name, or a list). Defaults to None (guessed:
            R/G/B for colour 2D, the DICOM Modality, else "gray"/"image").
        label_names: label name <-> value, as a mapping in either direction or a JSON file. Also sets the allowed
            values when ``labels`` is None. Defaults to None.
        source: provenance (URL, licence, checksums) written verbatim under ``"source"``. Defaults to None.

    Returns:
        Summary: ``output``, ``layout``, ``data_root``, ``spatial_dims``, ``num_training``, ``num_test``,
        ``fold_sizes``, ``labels``, ``label_values_found``, ``label_remap``, ``masks_stored_255``, ``warnings``
        (``Warning:`` lines).

    Raises:
        ValueError: bad arguments, or ``output`` inside an input folder (checked before reading any image).
        DatasetValidationError: the dataset has errors; ``.problems`` lists all of them, warnings included.
    """
    _check_arguments(folds, test_fraction, labels)
    names = _label_map(label_names, "label_names")
    layout = detect_layout(images, masks, data_root)
    output = Path(output)
    _refuse_output_inside_inputs(output, layout)
    problems: list[Problem] = list(layout.problems)
    everything = layout.cases + layout.test_cases
    if not everything:
        if not any(p.is_error for p in problems):
            message = f"a dataset needs at least one image/label pair; found none under {layout.root}."
            problems.append(Problem(ERROR, "empty_folder", message, (str(layout.root),)))
        raise DatasetValidationError(problems, where=str(images))

    if names is None and layout.dataset_json and layout.dataset_json.get("labels"):
        names = _label_map(layout.dataset_json["labels"], "dataset.json labels")
    expected = frozenset(int(v) for v in labels) if labels is not None else (frozenset(names.values()) if names else None)
    kinds = Counter(c.image_kind for c in everything)
    spatial_dims = 2 if 2 * kinds.get("2d", 0) >= len(everything) else 3
    binary_2d = spatial_dims == 2 and (expected is None or expected <= {0, 1})
    policy = LabelPolicy(expected=expected, binary_2d=binary_2d, allow_empty=allow_empty, allow_full=allow_full)

    reports = [check_case(case, policy) for case in _progress(everything, progress)]
    for report in reports:
        problems += report.problems
    problems += check_set(reports)
    relative = _relative_paths(everything, layout, problems)
    fold_of, test_ids = split_cases([c.case_id for c in layout.cases], folds=folds, seed=seed, test_fraction=test_fraction)
    problems += _split_warnings(len(layout.cases), len(fold_of), len(test_ids), folds, test_fraction)
    if any(p.is_error for p in problems):
        raise DatasetValidationError(problems, where=str(images))

    found: set[int] = set().union(*(r.label_values for r in reports))
    dataset_json = layout.dataset_json or {}
    by_id = {c.case_id: c for c in layout.cases}
    test = [_entry(by_id[i], relative) for i in test_ids]
    test += [_entry(c, relative) for c in sorted(layout.test_cases, key=lambda c: c.case_id)]
    default_description = f"Datalist made by monai_lite.data.prepare_datalist from a {layout.name} layout."
    datalist: dict[str, Any] = {
        "name": name or dataset_json.get("name") or Path(os.path.abspath(layout.root)).name,
        "description": description or dataset_json.get("description") or default_description,
    }
    if source is not None:
        datalist["source"] = dict(source)
    channels = (
        _channel_map(channel_names)
        or _channel_map(dataset_json.get("channel_names") or dataset_json.get("modality"))
        or _default_channels(reports, spatial_dims)
    )
    datalist.update(
        {
            "layout": layout.name,
            "spatial_dims": spatial_dims,
            "channel_names": channels,
            "modality": channels,
            "labels": _header_labels(names, expected, binary_2d, found),
            "label_remap": ">0" if binary_2d else None,
            "file_ending": _ending([c.label for c in layout.cases if c.label is not None]),
            "image_file_ending": _ending([c.image for c in everything], dicom=True),
            "numTraining": len(fold_of),
            "numTest": len(test),
            "folds": folds,
            "seed": seed,
            "data_root_hint": layout.root_hint,
            "training": [_entry(by_id[i], relative, fold_of[i]) for i in sorted(fold_of)],
            "test": test,
        }
    )
    write_json_atomic(output, datalist)
    warnings = [str(p) for p in problems if not p.is_error]
    for line in warnings:
        logger.warning(line)
    return {
        "output": str(output),
        "layout": layout.name,
        "data_root": layout.root_hint,
        "spatial_dims": spatial_dims,
        "num_training": len(fold_of),
        "num_test": len(test),
        "fold_sizes": {str(k): v for k, v in sorted(Counter(fold_of.values()).items())},
        "labels": datalist["labels"],
        "label_values_found": sorted(found),
        "label_remap": datalist["label_remap"],
        "masks_stored_255": sum(1 for r in reports if r.stored_255),
        "warnings": warnings,
    }
