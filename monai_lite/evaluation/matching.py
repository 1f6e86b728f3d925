# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Pair prediction files with ground-truth masks by case name.

A case name is the file stem without its ending (``.nii.gz``, ``.png``, ...; see
:func:`monai_lite.data.io.split_name`). Predictions match a ground truth with the same stem first; failing that,
a trailing ``_seg``, ``_pred``, ``_prediction``, ``_mask``, ``_label`` or ``_gt`` is ignored on either side, so
``case_seg.nii.gz`` as MONAI's ``SaveImaged(output_postfix="seg")`` writes it pairs with ``case.nii.gz``. Ground
truth comes from a folder of masks or from a datalist's fold; a datalist case also answers to its image's stem,
because inference names its outputs after the images.

Prediction folders are searched recursively (``SaveImaged(separate_folder=True)`` writes one folder per case);
ground-truth folders are not, so the images beside them are never taken for masks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from monai_lite.data.io import split_name
from monai_lite.evaluation.reader import is_mask_file

__all__ = [
    "POSTFIXES",
    "GroundTruth",
    "CasePair",
    "Matching",
    "case_key",
    "list_masks",
    "ground_truth_from_folder",
    "ground_truth_from_datalist",
    "match_cases",
    "without_overlays",
]

#: Postfixes that do not belong to the case name (compared case-insensitively).
POSTFIXES: tuple[str, ...] = ("_seg", "_pred", "_prediction", "_mask", "_label", "_gt")
_MAX_LISTED = 10


def case_key(stem: str) -> str:
    """``stem`` without one trailing postfix of :data:`POSTFIXES` (``"case_seg"`` -> ``"case"``)."""
    lower = stem.lower()
    for postfix in POSTFIXES:
        if lower.endswith(postfix) and len(stem) > len(postfix):
            return stem[: -len(postfix)]
    return stem


@dataclass(frozen=True)
class GroundTruth:
    """One ground-truth mask.

    Attributes:
        case: the case name reported in the CSV.
        path: the mask file.
        aliases: stems a prediction may carry to match this case (the mask's stem, and for datalists the image's).
    """

    case: str
    path: Path
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class CasePair:
    """A ground truth and its prediction (None when the prediction is missing and that was allowed)."""

    case: str
    gt: Path
    pred: Path | None


@dataclass
class Matching:
    """The result of :func:`match_cases`.

    Attributes:
        pairs: one per ground truth, in ground-truth order.
        unmatched_predictions: prediction files no ground truth claimed (reported, not scored).
        missing: case names of ground truths without a prediction.
    """

    pairs: list[CasePair] = field(default_factory=list)
    unmatched_predictions: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _listed(items: Sequence[object]) -> str:
    shown = ", ".join(str(i) for i in items[:_MAX_LISTED])
    return shown + (f" ... and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")


def list_masks(folder: str | Path, recursive: bool = False) -> list[Path]:
    """Mask files (see :func:`~monai_lite.evaluation.reader.is_mask_file`) in ``folder``, sorted.

    Args:
        folder: the folder to list.
        recursive: also look in sub-folders (hidden ones skipped). Defaults to False.

    Raises:
        FileNotFoundError: if ``folder`` is not a folder.
        ValueError: if it holds no mask file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of masks.")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    found = sorted(
        p for p in candidates
        if p.is_file() and is_mask_file(p) and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not found:
        raise ValueError(f"{folder} holds no mask file (.nii.gz, .nii, .nrrd, .mha, .png, .jpg, .bmp, .tif).")
    return found


#: What ``monai-lite infer`` appends to the case name of a picture's colour overlay (see
#: ``monai_lite.inference.predictor``: ``NAME_seg.png`` and ``NAME_overlay.png`` side by side).
OVERLAY_POSTFIX = "_overlay"


def without_overlays(files: Sequence[Path]) -> list[Path]:
    """``files`` without the colour overlays that ``monai-lite infer`` writes beside its masks.

    A file ``NAME_overlay.<ext>`` is an overlay, not a prediction, when a mask of the same case (``NAME`` or
    ``NAME_seg``, ...) lies in the same folder; a lone ``*_overlay`` file is kept, so nothing is dropped by name only.
    """
    files = [Path(f) for f in files]
    cases = {(f.parent, case_key(split_name(f)[0])) for f in files if not split_name(f)[0].endswith(OVERLAY_POSTFIX)}
    kept = []
    for f in files:
        stem = split_name(f)[0]
        if stem.endswith(OVERLAY_POSTFIX) and (f.parent, stem[: -len(OVERLAY_POSTFIX)]) in cases:
            continue
        kept.append(f)
    return kept


def ground_truth_from_folder(folder: str | Path) -> list[GroundTruth]:
    """Every mask directly inside ``folder`` as a :class:`GroundTruth` named by its stem.

    Raises:
        FileNotFoundError: if ``folder`` is not a folder. ValueError: if it holds no mask, or two masks share a stem.
    """
    masks = list_masks(folder)
    seen: dict[str, Path] = {}
    for path in masks:
        stem = split_name(path)[0]
        if stem in seen:
            raise ValueError(f"ground-truth masks {seen[stem]} and {path} share the case name {stem!r}; keep one.")
        seen[stem] = path
    return [GroundTruth(case=stem, path=path, aliases=(stem,)) for stem, path in seen.items()]


def ground_truth_from_datalist(path: str | Path, dataset_dir: str | Path, fold: int | None = 0) -> list[GroundTruth]:
    """The labelled cases of a datalist fold as :class:`GroundTruth` entries.

    Args:
        path: the datalist JSON (as ``monai-lite prepare`` writes it).
        dataset_dir: the folder its relative paths start from.
        fold: the validation fold to evaluate; None or a negative value takes every labelled training case.
            Defaults to 0.

    Returns:
        One entry per case, named by its image's stem (what inference names its output after).

    Raises:
        monai_lite.data.DatalistError (a ValueError): bad datalist, fold or missing files; ValueError: the selection
            has no labelled case.
    """
    from monai_lite.data.datalist import load_datalist

    chosen = None if fold is None or int(fold) < 0 else int(fold)
    train, val = load_datalist(path, dataset_dir, chosen)
    entries = train + val if chosen is None else val
    truths = []
    for entry in entries:
        if "label" not in entry or isinstance(entry["label"], list):
            continue
        image_stem = split_name(entry["image"])[0] if isinstance(entry.get("image"), str) else ""
        label_stem = split_name(entry["label"])[0]
        aliases = tuple(dict.fromkeys(a for a in (image_stem, label_stem) if a))
        truths.append(GroundTruth(case=image_stem or label_stem, path=Path(entry["label"]), aliases=aliases))
    if not truths:
        raise ValueError(f"datalist {path} has no labelled case in fold {fold}.")
    return truths


def match_cases(predictions: Sequence[str | Path], truths: Sequence[GroundTruth], allow_missing: bool = False) -> Matching:
    """Pair each ground truth with one prediction file.

    Args:
        predictions: prediction files (e.g. from :func:`list_masks` with ``recursive=True``).
        truths: the ground truths.
        allow_missing: when a ground truth has no prediction, pair it with None (scored as an empty prediction)
            instead of failing. Defaults to False.

    Returns:
        The :class:`Matching`.

    Raises:
        ValueError: two ground truths share a case name; two predictions claim one case; or a ground truth has no
            prediction and ``allow_missing`` is False (all such cases are listed in one message).

    Example::

        match_cases(["out/a_seg.png"], [GroundTruth("a", Path("gt/a.png"), ("a",))]).pairs[0].pred   # out/a_seg.png
    """
    cases = [t.case for t in truths]
    duplicated = sorted({c for c in cases if cases.count(c) > 1})
    if duplicated:
        raise ValueError(f"several ground truths share the case name(s) {_listed(duplicated)}; case names must be unique.")
    by_stem: dict[str, list[Path]] = defaultdict(list)
    by_key: dict[str, list[Path]] = defaultdict(list)
    for pred in map(Path, predictions):
        stem = split_name(pred)[0]
        by_stem[stem].append(pred)
        by_key[case_key(stem)].append(pred)
    used: set[Path] = set()
    result = Matching()
    for truth in truths:
        found: list[Path] = []
        for alias in truth.aliases:  # an exact stem wins over a postfix match
            found = [p for p in by_stem.get(alias, []) if p not in used]
            if found:
                break
        if not found:
            keys = dict.fromkeys(k for a in truth.aliases for k in (a, case_key(a)))
            found = list(dict.fromkeys(p for k in keys for p in by_key.get(k, []) if p not in used))
        if len(found) > 1:
            raise ValueError(f"several predictions match case {truth.case!r} ({_listed(found)}); keep one per case.")
        if found:
            used.add(found[0])
            result.pairs.append(CasePair(truth.case, truth.path, found[0]))
        else:
            result.missing.append(truth.case)
            result.pairs.append(CasePair(truth.case, truth.path, None))
    result.unmatched_predictions = sorted(p for p in map(Path, predictions) if p not in used)
    if result.missing and not allow_missing:
        raise ValueError(
            f"{len(result.missing)} of {len(truths)} ground-truth case(s) have no prediction: {_listed(result.missing)}. "
            "Check the prediction folder and names (case, case_seg, ...), or pass --allow-missing to score them as "
            "empty predictions."
        )
    return result
