# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Cross-entropy class weights from the training labels' frequencies, computed once and written beside the weights.

Paper 000 (the lightweight attention CNN, ``lacnet``) trains with a *weighted* cross-entropy whose weight ``w_c``
"balances the influence of each class" and is raised for classes that are "underrepresented in the training set"
(section 3.3); it does not say how the weights are computed. monai-lite uses **median frequency balancing** (Eigen
and Fergus, ICCV 2015, as in SegNet): ``w_c = median_k(f_k) / f_c``, with ``f_c`` the fraction of labelled pixels
(voxels) of class ``c`` over the training fold. Why this choice:

- it is the usual frequency-derived weighting for segmentation and follows the paper's rule (rarer class, larger
  weight) exactly: the weights are inversely proportional to the frequencies;
- :class:`~monai_lite.engine.losses.WeightedDiceCELoss` normalises the weighted mean by the weights (like
  ``torch.nn.CrossEntropyLoss(weight=...)``), so only the ratios between weights matter and plain inverse frequency
  would train identically; the median scaling just keeps the numbers readable (the median class weighs 1).

A one-channel (sigmoid) head counts background (0) and foreground (every value > 0, so 0/255 masks work) and gets
``[w_background, w_foreground]``; a ``C``-channel (softmax) head counts the values 0..C-1 and gets ``C`` weights.

The bundle's ``loss#class_weights`` calls :func:`resolve_class_weights` with the run's ``class_weights`` id, which is
``null`` (unweighted), a list (used as given: ``--class_weights "[0.6, 2.4]"``) or ``"median_frequency"``
(computed from ``@train#dataset#data``, the cases the run trains on). Weights in use are written to
``<ckpt_dir>/class_weights.json`` (atomically). That file is also the cache: when it holds ``median_frequency`` weights computed from the same label
files (same paths, sizes and modification times) and class count, they are reused without reading a label again.

File format (JSON)::

    {"format": 1, "method": "median_frequency", "weights": [0.56, 4.6], "classes": ["background", "foreground"],
     "class_voxels": [1201345, 146551], "label_files": 51, "fingerprint": "<sha256 of the label files' stat>"}
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monai_lite.engine.atomic import atomic_write_json

__all__ = [
    "CLASS_WEIGHTS_NAME",
    "WEIGHT_METHODS",
    "label_frequencies",
    "median_frequency_weights",
    "resolve_class_weights",
    "read_class_weights_record",
]

#: File name of the record, in the folder of the weights (the bundle's ``ckpt_dir``).
CLASS_WEIGHTS_NAME = "class_weights.json"
#: The ways of computing weights that ``class_weights`` may name.
WEIGHT_METHODS = ("median_frequency",)
_FORMAT = 1


def _label_paths(train_files: Sequence[Mapping[str, Any]]) -> list[Path]:
    if not train_files:
        raise ValueError("class weights from label frequencies need training cases, but the training list is empty.")
    paths = []
    for index, case in enumerate(train_files):
        label = case.get("label") if isinstance(case, Mapping) else None
        if not isinstance(label, (str, os.PathLike)) or not str(label):
            raise ValueError(f"training case {index} has no 'label' file ({case!r}); class weights need every label.")
        paths.append(Path(label))
    return paths


def _fingerprint(paths: Sequence[Path], num_classes: int) -> str:
    """Identity of a label set: every path with its size and modification time, and the class count."""
    digest = hashlib.sha256(f"classes={num_classes}".encode())
    for path in paths:
        try:
            stat = path.stat()
        except OSError as err:
            raise FileNotFoundError(f"label file {path} cannot be read ({err.strerror or err}).") from err
        digest.update(f"\n{path.resolve()}\t{stat.st_size}\t{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def label_frequencies(
    train_files: Sequence[Mapping[str, Any]], out_channels: int, progress: bool | None = None
) -> np.ndarray:
    """Pixel (voxel) count of every class over the label files of ``train_files``, each file read once.

    Args:
        train_files: the training cases, ``{"image": ..., "label": path}`` dicts (the bundle's ``@train#dataset#data``).
        out_channels: the network's output channels: 1 counts background (0) and foreground (> 0); ``C > 1``
            counts the class values ``0..C-1``.
        progress: show a tqdm bar; None shows it on a terminal only. Defaults to None.

    Returns:
        int64 array of length 2 (one-channel head) or ``out_channels``.

    Raises:
        ValueError: no training case, a case without a label, or a label value that the head has no class for
            (the message names the file). FileNotFoundError: a missing label file.
    """
    from tqdm import tqdm

    from monai_lite.evaluation.reader import read_mask

    if int(out_channels) < 1:
        raise ValueError(f"out_channels must be >= 1, got {out_channels}.")
    num_classes = 2 if int(out_channels) == 1 else int(out_channels)
    counts = np.zeros(num_classes, dtype=np.int64)
    paths = _label_paths(train_files)
    for path in tqdm(paths, desc="class frequencies", unit="label", disable=None if progress is None else not progress):
        array = read_mask(path).array
        if num_classes == 2 and out_channels == 1:
            foreground = int(np.count_nonzero(array))
            counts += (array.size - foreground, foreground)
            continue
        if array.size and int(array.max()) >= num_classes:
            raise ValueError(
                f"label file {path} holds the value {int(array.max())}, but a {num_classes}-channel head has classes "
                f"0..{num_classes - 1}; fix the label or out_channels."
            )
        counts += np.bincount(array.ravel().astype(np.int64), minlength=num_classes)
    return counts


def median_frequency_weights(counts: Sequence[int], source: str = "the training labels") -> list[float]:
    """``median(f) / f_c`` for every class ``c``, from per-class pixel counts.

    Raises:
        ValueError: no pixel at all, or a class that never occurs (its weight would be infinite); the message says
            which class and how to give weights by hand.
    """
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if counts.ndim != 1 or counts.size < 2 or total <= 0:
        raise ValueError(f"{source} hold no labelled pixel; class weights cannot be computed from them.")
    missing = [int(c) for c in np.flatnonzero(counts == 0)]
    if missing:
        raise ValueError(
            f"class(es) {missing} never occur in {source}, so a frequency weight would be infinite; check the labels "
            "and out_channels, or give weights explicitly with --class_weights \"[...]\"."
        )
    frequencies = counts / total
    return [float(w) for w in np.median(frequencies) / frequencies]


def read_class_weights_record(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The record in ``folder`` (a run's ``models/``), or None when there is none.

    Raises:
        ValueError: a record that exists but is unreadable, naming the file.
    """
    path = Path(folder) / CLASS_WEIGHTS_NAME
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: unreadable class-weights record ({err}); delete it or fix it.") from err
    if not isinstance(record, dict) or not isinstance(record.get("weights"), (list, type(None))):
        raise ValueError(f"{path}: not a class-weights record (needs a 'weights' list or null); delete it or fix it.")
    return record


def _class_names(out_channels: int) -> list[str]:
    return ["background", "foreground"] if out_channels == 1 else [f"class_{c}" for c in range(out_channels)]


def _given(weights: Sequence[Any], out_channels: int) -> list[float]:
    expected = 2 if out_channels == 1 else out_channels
    values = list(weights)
    valid = all(isinstance(w, (int, float)) and not isinstance(w, bool) and np.isfinite(w) and w >= 0 for w in values)
    if not valid or len(values) != expected or sum(values) == 0:
        layout = "[w_background, w_foreground]" if out_channels == 1 else f"one weight per class ({expected})"
        raise ValueError(
            f"class_weights must be {layout}: finite numbers >= 0, not all 0, or "
            f"{' / '.join(repr(m) for m in WEIGHT_METHODS)} or null; got {weights!r}."
        )
    return [float(w) for w in values]


def resolve_class_weights(
    class_weights: str | Sequence[float] | None,
    train_files: Sequence[Mapping[str, Any]],
    out_channels: int,
    save_dir: str | os.PathLike | None = None,
    progress: bool | None = None,
) -> list[float] | None:
    """The cross-entropy class weights of a run, computed when asked for, and recorded in ``save_dir``.

    Args:
        class_weights: None (unweighted: returns None and writes nothing), a list of weights (validated and
            recorded as ``"given"``), or a method of :data:`WEIGHT_METHODS` (computed from ``train_files``).
        train_files: the training fold's cases (``@train#dataset#data``); only read for a method.
        out_channels: the network's output channels (1 = sigmoid head with ``[w_bg, w_fg]``).
        save_dir: folder of the record (``@ckpt_dir``); None records nothing and caches nothing. Defaults to None.
        progress: tqdm bar while reading labels; None shows it on a terminal only. Defaults to None.

    Returns:
        The weights, one per class, or None.

    Raises:
        ValueError: an unknown method, a malformed list, no training label, an impossible label value, or a class
            that never occurs; each message names the problem (and the file when there is one).
    """
    if class_weights is None:
        if save_dir is not None and (Path(save_dir) / CLASS_WEIGHTS_NAME).is_file():
            # a record left by an earlier weighted run in the same folder would describe weights no longer in use
            stale = {"format": _FORMAT, "method": "none", "weights": None}
            atomic_write_json(Path(save_dir) / CLASS_WEIGHTS_NAME, stale)
        return None
    out_channels = int(out_channels)
    record: dict[str, Any] = {"format": _FORMAT, "classes": _class_names(out_channels)}
    if isinstance(class_weights, str):
        if class_weights not in WEIGHT_METHODS:
            raise ValueError(
                f"class_weights {class_weights!r} is not a known method ({', '.join(WEIGHT_METHODS)}); give a method, "
                "a list of weights or null."
            )
        paths = _label_paths(train_files)
        fingerprint = _fingerprint(paths, 2 if out_channels == 1 else out_channels)
        cached = read_class_weights_record(save_dir) if save_dir is not None else None
        if cached and cached.get("method") == class_weights and cached.get("fingerprint") == fingerprint \
                and isinstance(cached.get("weights"), list):
            return [float(w) for w in cached["weights"]]
        counts = label_frequencies(train_files, out_channels, progress=progress)
        weights = median_frequency_weights(counts, f"the {len(paths)} training label files")
        record.update(method=class_weights, weights=weights, class_voxels=[int(c) for c in counts],
                      label_files=len(paths), fingerprint=fingerprint)
    elif isinstance(class_weights, Sequence):
        weights = _given(class_weights, out_channels)
        record.update(method="given", weights=weights)
    else:
        raise ValueError(f"class_weights must be null, a list of numbers or a method name, got {class_weights!r}.")
    if save_dir is not None:
        atomic_write_json(Path(save_dir) / CLASS_WEIGHTS_NAME, record)
    return weights
