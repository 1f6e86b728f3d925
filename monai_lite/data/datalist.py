# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Read and write decathlon-style datalists whose paths are relative to a dataset folder chosen at run time.

A datalist written by :func:`monai_lite.data.prepare_datalist` looks like::

    {
      "name": "kvasir-seg", "description": "...", "layout": "2d-folders", "spatial_dims": 2,
      "channel_names": {"0": "R", "1": "G", "2": "B"}, "modality": {...same...},
      "labels": {"background": 0, "polyp": 1},      # name -> int (nnU-Net's direction), written once
      "label_remap": ">0",                           # masks are {0, 255}: use label > 0 (null: use values as they are)
      "file_ending": ".png", "image_file_ending": ".jpg",
      "numTraining": 998, "numTest": 0, "folds": 5, "seed": 0,
      "data_root_hint": "../shared/data/kvasir-seg",
      "training": [{"image": "images/x.jpg", "label": "masks/x.png", "fold": 3}, ...],
      "test": [{"image": "...", "label": "..."}, ...]
    }

Paths are relative to the dataset folder (a bundle's ``dataset_dir``), never to the datalist file, so a datalist
kept in the project works with data stored anywhere. ``monai.data.load_decathlon_datalist(path, base_dir=dataset_dir)``
reads the same file; :func:`load_datalist` adds fold selection and checks that every referenced file exists.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["DatalistError", "load_datalist", "load_datalist_header", "write_json_atomic"]

_PATH_KEYS = ("image", "label")
_MAX_LISTED = 20


class DatalistError(ValueError):
    """A datalist that is malformed or names files that do not exist."""


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DatalistError(
            f"The datalist must be an existing JSON file; {path} does not exist. Build it with `monai-lite prepare`."
        )
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DatalistError(f"The datalist must be valid JSON; {path} is not ({exc}).") from exc
    if not isinstance(content, dict):
        kind = type(content).__name__
        raise DatalistError(f"The datalist must be a JSON object with a 'training' list; {path} holds a {kind}.")
    return content


def load_datalist_header(path: str | Path) -> dict[str, Any]:
    """Everything in the datalist except the ``training``, ``validation`` and ``test`` lists (labels, remap, ...)."""
    content = _read(Path(path))
    return {k: v for k, v in content.items() if k not in ("training", "validation", "test")}


def _entries(content: dict[str, Any], key: str, path: Path, required: bool) -> list[dict[str, Any]]:
    if key not in content:
        if required:
            raise DatalistError(f"The datalist must have a '{key}' list; {path} has the keys {sorted(content)}.")
        return []
    entries = content[key]
    if not isinstance(entries, list):
        raise DatalistError(f"'{key}' in {path} must be a list of {{'image', 'label'}} objects; found {type(entries).__name__}.")
    result = []
    for index, entry in enumerate(entries):
        if isinstance(entry, str):  # MSD writes test images as bare strings
            entry = {"image": entry}
        if not isinstance(entry, dict) or "image" not in entry:
            raise DatalistError(f"Entry {index} of '{key}' in {path} must be an object with an 'image' key; found {entry!r}.")
        if key == "training" and "label" not in entry:
            raise DatalistError(f"Entry {index} of 'training' in {path} must have a 'label' key; found keys {sorted(entry)}.")
        result.append(dict(entry))
    return result


def _absolute(entries: list[dict[str, Any]], root: Path, missing: list[str]) -> list[dict[str, Any]]:
    for entry in entries:
        for key in _PATH_KEYS:
            if key not in entry:
                continue
            values = entry[key] if isinstance(entry[key], list) else [entry[key]]
            resolved = []
            for value in values:
                target = Path(value) if Path(value).is_absolute() else root / value
                if not target.exists():
                    missing.append(str(target))
                resolved.append(str(target))
            entry[key] = resolved if isinstance(entry[key], list) else resolved[0]
    return entries


def load_datalist(
    path: str | Path, dataset_dir: str | Path, fold: int | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Training and validation lists with absolute paths, split by fold.

    Args:
        path: the datalist JSON.
        dataset_dir: the dataset folder the datalist's relative paths start from.
        fold: the validation fold. ``None`` puts every training case in the training list; the validation list is
            then the datalist's own ``validation`` list if it has one, else empty. Defaults to None.

    Returns:
        ``(train, val)``: lists of dicts with absolute ``image``/``label`` paths; other keys (``fold``) are kept.

    Raises:
        DatalistError: the file is missing or not JSON, a key is missing (named with the file), the fold has no
            case, or referenced files do not exist (all missing files are listed in one error).

    Example (bundle config)::

        "train#dataset#data": "$monai_lite.data.load_datalist(@datalist, @dataset_dir, @fold)[0]"
    """
    path = Path(path)
    root = Path(os.path.abspath(dataset_dir))
    content = _read(path)
    if not root.is_dir():
        hint = content.get("data_root_hint", "?")
        raise DatalistError(
            f"dataset_dir must be an existing folder; {root} (for datalist {path}) is not. The datalist suggests '{hint}'."
        )
    training = _entries(content, "training", path, required=True)
    if fold is None:
        train, val = training, _entries(content, "validation", path, required=False)
    else:
        without_fold = [i for i, e in enumerate(training) if "fold" not in e]
        if without_fold:
            raise DatalistError(
                f"Selecting fold={fold} needs a 'fold' key in every training entry; entries "
                f"{without_fold[:_MAX_LISTED]} of {path} have none."
            )
        available = sorted({int(e["fold"]) for e in training})
        if int(fold) not in available:
            raise DatalistError(f"fold must be one of the folds in {path}: {available}; got fold={fold}.")
        train = [e for e in training if int(e["fold"]) != int(fold)]
        val = [e for e in training if int(e["fold"]) == int(fold)]
    missing: list[str] = []
    train = _absolute(train, root, missing)
    val = _absolute(val, root, missing)
    if missing:
        listed = "\n  ".join(missing[:_MAX_LISTED])
        more = f"\n  ... and {len(missing) - _MAX_LISTED} more" if len(missing) > _MAX_LISTED else ""
        raise DatalistError(
            f"Every file named in datalist {path} must exist under dataset_dir={root}; {len(missing)} do not:\n  {listed}{more}\n"
            f"Check dataset_dir (the datalist suggests '{content.get('data_root_hint', '?')}')."
        )
    return train, val


def write_json_atomic(path: str | Path, content: dict[str, Any] | Sequence[Any]) -> Path:
    """Write JSON (2-space indent, trailing newline) to a temporary file beside ``path``, then ``os.replace`` it.

    Readers never see a half-written file; the file gets the usual permissions (0666 minus the umask).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(content, indent=2, ensure_ascii=False) + "\n"
    temporary = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
