# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Train on a subset of a large label map: keep chosen label values, renumbered 1..K, and drop the rest.

Atlases such as TotalSegmentator's label 117 structures, far more than one small CT volume can teach a small
network. A bundle then trains on a few of them: ``label_values=[1, 5, 6]`` turns source value 1 into class 1, 5
into class 2, 6 into class 3, and every other value into background 0. MONAI's ``MapLabelValued`` maps listed
values only and leaves the others unchanged, so it cannot express "everything else is background" without listing
every value the source might hold; :func:`select_labels` does.

:class:`SelectLabelsd` runs on the ``label`` key of a preset (``label_values=None`` leaves labels untouched, so
presets can carry it switched off), and :func:`relabel_file` writes a reference label map in a bundle's class
numbering, which is what ``monai-lite evaluate`` compares a bundle's predictions with.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform

__all__ = ["check_label_values", "select_labels", "SelectLabelsd", "relabel_file"]


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


def relabel_file(
    source: str | Path, output: str | Path, label_values: Sequence[int], like: str | Path | None = None
) -> Path:
    """Write ``source`` (a NIfTI label map) with :func:`select_labels` applied; voxels keep their world positions.

    ``monai-lite evaluate`` compares arrays as stored, so a reference must be stored in the prediction's axis order.
    A prediction from a DICOM series is stored as ITK reads the series (e.g. LPS) while TotalSegmentator stores its
    NIfTI of the same scan as LAS: ``like`` reorients the output (exact axis flips and permutations, no
    interpolation) to the axis order of that file and checks that both then share one grid.

    Args:
        source: the label map, e.g. a TotalSegmentator segmentation. It is only read.
        output: the file to write (``.nii`` or ``.nii.gz``); its folder is created. It must not be ``source``.
        label_values: the source values to keep, in the order of the bundle's classes.
        like: a NIfTI file (e.g. the prediction) whose axis order the output takes; None keeps the source's.
            Defaults to None.

    Returns:
        The path written.

    Raises:
        FileNotFoundError: ``source`` or ``like`` does not exist. ValueError: bad ``label_values``, ``output`` is
            ``source``, ``source`` holds non-integer values, or after reorientation the grid differs from ``like``'s.
    """
    import nibabel as nib

    from monai_lite.engine.atomic import atomic_path

    values = check_label_values(label_values)
    source, output = Path(source), Path(output)
    if not source.is_file():
        raise FileNotFoundError(f"label map {source} does not exist.")
    if output.resolve() == source.resolve():
        raise ValueError(f"relabel output {output} is the input file; inputs are never modified, choose another path.")
    image = nib.load(str(source))
    array = np.asarray(image.dataobj)
    if not np.array_equal(array, np.round(array)):
        raise ValueError(f"label map {source} holds non-integer values; it is not a label map.")
    relabelled = select_labels(array.astype(np.int32), values).astype(np.uint8 if len(values) < 256 else np.uint16)
    header = image.header.copy()
    header.set_data_dtype(relabelled.dtype)
    header.set_slope_inter(1, 0)
    result = nib.Nifti1Image(relabelled, image.affine, header)
    if like is not None:
        result = _reoriented_like(result, source, Path(like))
    with atomic_path(output) as staging:
        nib.save(result, str(staging))
    return output


def _reoriented_like(image: Any, source: Path, like: Path) -> Any:
    import nibabel as nib
    from nibabel.orientations import io_orientation, ornt_transform

    if not like.is_file():
        raise FileNotFoundError(f"--like file {like} does not exist.")
    reference = nib.load(str(like))
    result = image.as_reoriented(ornt_transform(io_orientation(image.affine), io_orientation(reference.affine)))
    if result.shape[:3] != reference.shape[:3] or not np.allclose(result.affine, reference.affine, atol=1e-3):
        raise ValueError(
            f"label map {source} reoriented to the axes of {like} has shape {result.shape[:3]} and affine\n"
            f"{np.round(result.affine, 3)}\nbut {like} has {reference.shape[:3]} and\n{np.round(reference.affine, 3)}: "
            "they are not one grid (resample one onto the other first)."
        )
    return result


def bundle_label_values(bundle: str | Path) -> list[int]:
    """The ``label_values`` of a bundle's preset (``preset_params`` of its ``configs/inference.json``).

    The config is read as plain JSON, never evaluated: the value must be a literal list of integers.

    Raises:
        ValueError: the bundle trains on its labels as they are (no ``label_values``), or the value is not a
            literal list of integers > 0.
    """
    import json

    from monai_lite.bundle.runner import resolve_bundle

    config = resolve_bundle(bundle) / "configs" / "inference.json"
    params = json.loads(config.read_text()).get("preset_params", {})
    values = params.get("label_values") if isinstance(params, dict) else None
    if values is None:
        raise ValueError(f"{config} sets no preset_params#label_values: the bundle predicts its labels unchanged.")
    return check_label_values(values)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m monai_lite.transforms.labels LABEL_MAP -o OUT --bundle NAME [--like PRED]`` (or ``--values 1 5 6``)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m monai_lite.transforms.labels",
        description="Write a label map in a bundle's class numbering (kept values renumbered 1..K, the rest 0), "
        "to evaluate the bundle's predictions against it.",
    )
    parser.add_argument("source", help="[REQUIRED] NIfTI label map, e.g. a TotalSegmentator segmentation (only read)")
    parser.add_argument("-o", "--output", required=True, help="[REQUIRED] NIfTI file to write")
    parser.add_argument("--like", default=None, help="[OPTIONAL] NIfTI file (the prediction) whose axis order the output takes")
    choice = parser.add_mutually_exclusive_group(required=True)
    choice.add_argument("--bundle", help="take the values from this bundle's preset_params#label_values")
    choice.add_argument("--values", nargs="+", type=int, metavar="VALUE", help="source values to keep, in class order")
    args = parser.parse_args(argv)
    try:
        values = bundle_label_values(args.bundle) if args.bundle else args.values
        written = relabel_file(args.source, args.output, values, like=args.like)
    except (FileNotFoundError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    print(f"wrote {written}: source values {values} -> classes 1..{len(values)}, everything else 0")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
