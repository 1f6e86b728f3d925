# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Train on a subset of a large label map: keep chosen label values, renumbered 1..K, and drop the rest.

Atlases such as TotalSegmentator's label 117 structures, far more than one small CT volume can teach a small
network. A bundle then trains on a few of them: ``label_values=[1, 5, 6]`` turns source value 1 into class 1, 5
into class 2, 6 into class 3, and every other value into background 0. MONAI's ``MapLabelValued`` maps listed
values only and leaves the others unchanged, so it cannot express "everything else is background" without listing
every value the source might hold; :func:`select_labels` does.

:class:`SelectLabelsd` runs on the ``label`` key of a preset (``label_values=None`` leaves labels untouched, so
presets can carry it switched off); :mod:`monai_lite.transforms.relabel` writes a reference label map in a bundle's
class numbering, which is what ``monai-lite evaluate`` compares a bundle's predictions with.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform

__all__ = ["check_label_values", "select_labels", "SelectLabelsd"]


def check_label_values(label_values: Sequence[int] | None) -> list[int] | None:
    """``label_values`` as a list of distinct integers > 0, or None.

    Raises:
        ValueError: a value that is not an integer > 0 (0 is the background), a repeated value, or an empty list.
    """
    if label_values is None:
        return None
    if isinstance(label_values, (str, bytes)) or not isinstance(label_values, Sequence) or not label_values:
        raise ValueError(f"label_values must be null or a non-empty list of label values such as [1, 5, 6]; got {label_values!r}.")
    bad = [v for v in label_values if isinstance(v, bool) or not isinstance(v, Integral) or v <= 0]
    if bad:
        raise ValueError(f"label_values must be integers > 0 (0 is the background); got {bad} in {list(label_values)}.")
    doubled = sorted({int(v) for v in label_values if list(label_values).count(v) > 1})
    if doubled:
        raise ValueError(f"label_values lists {doubled} more than once: {list(label_values)}.")
    return [int(v) for v in label_values]


def select_labels(label: Any, label_values: Sequence[int]) -> Any:
    """Map ``label_values[i]`` to ``i + 1`` and every other value to 0.

    Args:
        label: an integer-valued label map (numpy array, torch tensor or MONAI ``MetaTensor``; any shape).
        label_values: the source values to keep, in the order of the output classes.

    Returns:
        A label map of the same type, shape, dtype and metadata.
    """
    values = check_label_values(label_values)
    if isinstance(label, torch.Tensor):
        out = torch.zeros_like(label)
        for index, value in enumerate(values, start=1):
            out[label == value] = index
        return out
    array = np.asarray(label)
    out = np.zeros_like(array)
    for index, value in enumerate(values, start=1):
        out[array == value] = index
    return out


class SelectLabelsd(MapTransform):
    """Dictionary transform of :func:`select_labels`; ``label_values=None`` passes the data through unchanged.

    Args:
        keys: the label keys, e.g. ``"label"``.
        label_values: source values to keep, in class order (see :func:`select_labels`), or None to keep the
            labels as they are.
        allow_missing_keys: do not fail when a key is absent (e.g. ``label`` at inference). Defaults to False.

    Raises:
        ValueError: if ``label_values`` is not None and not a list of distinct integers > 0.
    """

    def __init__(
        self, keys: KeysCollection, label_values: Sequence[int] | None, allow_missing_keys: bool = False
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.label_values = check_label_values(label_values)

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        if self.label_values is None:
            return d
        for key in self.key_iterator(d):
            d[key] = select_labels(d[key], self.label_values)
        return d
