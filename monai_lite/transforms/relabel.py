# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Write a reference label map in a bundle's class numbering, to score the bundle's predictions against it.

A bundle that trains on a subset of a label map (``preset_params#label_values``, see
:mod:`monai_lite.transforms.labels`) predicts classes 1..K, while the reference holds the source values (e.g.
TotalSegmentator's 1..117). :func:`relabel_file` applies the same selection to the reference file, optionally in the
prediction's axis order, so ``monai-lite evaluate`` can compare the two::

    python -m monai_lite.transforms.relabel SEG.nii.gz -o REF/CASE.nii.gz --bundle medlitenet_ct --like PRED/CASE_seg.nii.gz
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monai_lite.transforms.labels import check_label_values, select_labels

__all__ = ["relabel_file", "bundle_label_values", "main"]


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
    """``python -m monai_lite.transforms.relabel LABEL_MAP -o OUT --bundle NAME [--like PRED]`` (or ``--values 1 5 6``)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m monai_lite.transforms.relabel",
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
