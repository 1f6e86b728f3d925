# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Check each case (image + label) and the set as a whole; report problems in nnU-Net's style.

Every check adds a :class:`~monai_lite.data.problems.Problem` instead of raising, so one run lists everything that
is wrong. Per case: the files decode; no NaN/Inf in float images; 2D files have one frame and masks one channel;
image and label have the same size (3D: also spacing; origin and direction differences are warnings, as in
nnU-Net); label values are integers in the expected set; the label has foreground and background unless allowed.
Across the set: all images share the number of spatial dimensions and the channel count.

3D grids are compared in world space: both affines are reoriented to the closest RAS axes first, so a label that
stores the same grid flipped (the TotalSegmentator DICOM label is LAS while the series reads as LPS) is only a
warning telling the pipeline to reorient both, not a size error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from monai_lite.data.io import LOSSY_SUFFIXES, read_picture, read_volume, split_name
from monai_lite.data.layout import Case
from monai_lite.data.problems import ERROR, WARNING, Problem

__all__ = ["LabelPolicy", "CaseReport", "check_case", "check_set", "compare_grids", "format_values"]

_SPACING_ATOL_MM = 1e-3
_ORIGIN_ATOL_MM = 1e-3
_DIRECTION_ATOL = 1e-3


@dataclass(frozen=True)
class LabelPolicy:
    """What label values are acceptable.

    Attributes:
        expected: the allowed label values, or None to accept any non-negative integers.
        binary_2d: 2D binary masks: accept ``{0, 1}`` and ``{0, 255}`` (the latter is remapped with ``> 0``).
        allow_empty: a label with no foreground is a warning instead of an error.
        allow_full: a label with no background is a warning instead of an error.
    """

    expected: frozenset[int] | None = None
    binary_2d: bool = False
    allow_empty: bool = False
    allow_full: bool = False


@dataclass
class CaseReport:
    """What the check of one case found.

    Attributes:
        case: the case checked.
        problems: its problems.
        spatial_dims: 2 or 3 when the image could be read.
        channels: the image's channel count when it could be read.
        label_values: the values found in the label.
        stored_255: True when a 2D binary mask uses 255 for foreground.
        modality: the DICOM Modality, for DICOM images.
    """

    case: Case
    problems: list[Problem] = field(default_factory=list)
    spatial_dims: int | None = None
    channels: int | None = None
    label_values: frozenset[int] = frozenset()
    stored_255: bool = False
    modality: str | None = None

    def add(self, severity: str, kind: str, message: str, *paths: object) -> None:
        """Record a problem for this case."""
        self.problems.append(Problem(severity, kind, message, tuple(str(p) for p in paths), self.case.case_id))


def format_values(values: Iterable[int], limit: int = 12) -> str:
    """``{0, 1, 255}``, shortened to ``limit`` values."""
    ordered = sorted(values)
    shown = ", ".join(str(v) for v in ordered[:limit])
    more = f", ... ({len(ordered)} values)" if len(ordered) > limit else ""
    return "{" + shown + more + "}"


def _describe_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _check_finite(report: CaseReport, array: np.ndarray, path: object) -> None:
    if np.issubdtype(array.dtype, np.floating):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        if bad:
            report.add(
                ERROR,
                "nan",
                f"images must hold finite values; found {bad} NaN/Inf voxel(s) of {array.size}. "
                "Replace them (e.g. numpy.nan_to_num) or drop the case.",
                path,
            )


def _check_label_values(report: CaseReport, values: np.ndarray, policy: LabelPolicy, label: object, is_2d: bool) -> None:
    if np.issubdtype(values.dtype, np.floating):
        fractional = values[values != np.round(values)]
        if fractional.size:
            report.add(
                ERROR,
                "label_values",
                f"label values must be integers; found {fractional.size} non-integer value(s), e.g. {float(fractional[0]):g}. "
                "Round or re-threshold the label, and save it with an integer type.",
                label,
            )
            return
    found = frozenset(int(v) for v in values)
    report.label_values = found
    negative = sorted(v for v in found if v < 0)
    if negative:
        message = f"label values must be >= 0; found {format_values(negative)} (all values {format_values(found)})."
        report.add(ERROR, "label_values", message, label)
        return
    lossy = split_name(str(label))[1] in LOSSY_SUFFIXES
    if policy.binary_2d and is_2d:
        if found <= {0, 255} and 255 in found:
            report.stored_255 = True
        elif not found <= {0, 1}:
            hint = " JPEG is lossy and blurs edges: threshold the original (e.g. > 127) and save masks as PNG." if lossy else ""
            report.add(
                ERROR,
                "label_values",
                f"2D binary masks must hold {{0, 1}} or {{0, 255}}; found {format_values(found)}.{hint} "
                "Binarise the masks (e.g. mask > 127), or pass labels=[...] listing the classes of a multi-class mask.",
                label,
            )
            return
    elif policy.expected is not None:
        extra = found - policy.expected
        if extra:
            report.add(
                ERROR,
                "label_values",
                f"label values must be in {format_values(policy.expected)}; found unexpected {format_values(extra)} "
                f"(all values {format_values(found)}). Fix the label, or add the values to labels=[...].",
                label,
            )
            return
    if not any(v > 0 for v in found):
        if policy.allow_empty:
            severity, advice = WARNING, "kept because allow_empty=True."
        else:
            severity, advice = ERROR, "Remove the case, or pass allow_empty=True (--allow-empty) if empty cases are intended."
        message = f"labels must contain foreground (a value > 0); this one is all background. {advice}"
        report.add(severity, "empty_mask", message, label)
    elif 0 not in found:
        if policy.allow_full:
            severity, advice = WARNING, "kept because allow_full=True."
        else:
            severity, advice = ERROR, "Check the mask is not inverted, or pass allow_full=True (--allow-full) if intended."
        message = f"labels must contain background (value 0); this one is all foreground {format_values(found)}. {advice}"
        report.add(severity, "full_mask", message, label)


def _check_2d(report: CaseReport, policy: LabelPolicy) -> None:
    case = report.case
    try:
        picture = read_picture(case.image)
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a finding, not a crash
        message = f"images must be readable 2D files; Pillow failed ({_describe_error(exc)}). Re-export or remove the file."
        report.add(ERROR, "unreadable", message, case.image)
        return
    if picture.frames > 1:
        report.add(
            ERROR,
            "dimensionality",
            f"a 2D dataset needs single-frame images; found {picture.frames} frames (a stack/3D file in a 2D set). "
            "Split it into separate 2D files or use a 3D layout.",
            case.image,
        )
        return
    report.spatial_dims, report.channels = 2, picture.channels
    _check_finite(report, picture.array, case.image)
    if picture.exif_orientation != 1:
        report.add(
            WARNING,
            "exif_orientation",
            f"images should not carry an EXIF rotation; found orientation tag {picture.exif_orientation}, which viewers apply "
            "but array readers (PIL, MONAI) ignore. Check the mask matches the stored, unrotated pixels.",
            case.image,
        )
    if case.label is None:
        return
    try:
        mask = read_picture(case.label)
    except Exception as exc:  # noqa: BLE001
        message = f"masks must be readable 2D files; Pillow failed ({_describe_error(exc)}). Re-export or remove the file."
        report.add(ERROR, "unreadable", message, case.label)
        return
    if mask.frames > 1:
        message = f"a 2D dataset needs single-frame masks; found {mask.frames} frames. Save one 2D mask per image."
        report.add(ERROR, "dimensionality", message, case.label)
        return
    if mask.array.ndim == 3:
        gray = bool(np.all(mask.array[..., :1] == mask.array[..., : min(3, mask.channels)]))
        hint = (
            "Its colour channels are identical, so it is a grayscale mask saved in colour: convert it with "
            "PIL Image.open(path).convert('L') and save as PNG."
            if gray
            else "Colour-coded masks need a colour -> class index mapping: convert them to single-channel index PNGs."
        )
        message = f"masks must be single-channel (mode L, P, 1 or I); found mode {mask.mode} with {mask.channels} channels."
        report.add(ERROR, "rgb_mask", f"{message} {hint}", case.label)
        return
    if split_name(case.label)[1] in LOSSY_SUFFIXES:
        message = "masks should be stored lossless (PNG, BMP, TIFF); found a JPEG mask, whose edges JPEG alters."
        report.add(WARNING, "lossy_mask", message + " Save masks as PNG.", case.label)
    if picture.height_width != mask.height_width:
        (ih, iw), (mh, mw) = picture.height_width, mask.height_width
        report.add(
            ERROR,
            "size_mismatch",
            f"image and mask must have the same height x width; image is {ih}x{iw}, mask is {mh}x{mw}. "
            "Resize the mask with nearest-neighbour interpolation, or fix the pairing.",
            case.image,
            case.label,
        )
        return
    _check_label_values(report, np.unique(mask.array), policy, case.label, is_2d=True)


def _canonical(shape: Sequence[int], affine: np.ndarray) -> tuple[tuple[int, ...], np.ndarray]:
    from nibabel.orientations import inv_ornt_aff, io_orientation

    ornt = io_orientation(affine)
    new_shape = [0, 0, 0]
    for axis, (target, _flip) in enumerate(ornt):
        new_shape[int(target)] = int(shape[axis])
    return tuple(new_shape), affine @ inv_ornt_aff(ornt, shape)


def compare_grids(
    image_shape: Sequence[int], image_affine: np.ndarray, label_shape: Sequence[int], label_affine: np.ndarray
) -> list[tuple[str, str, str]]:
    """Compare two 3D grids in world space.

    Returns:
        ``(severity, kind, message)`` triples; empty when the grids are identical.
    """
    from nibabel.orientations import aff2axcodes

    image_shape, label_shape = tuple(int(s) for s in image_shape), tuple(int(s) for s in label_shape)
    if image_shape == label_shape and np.allclose(image_affine, label_affine, atol=_ORIGIN_ATOL_MM):
        return []
    codes_i, codes_l = "".join(aff2axcodes(image_affine)), "".join(aff2axcodes(label_affine))
    shape_i, aff_i = _canonical(image_shape, image_affine)
    shape_l, aff_l = _canonical(label_shape, label_affine)
    if shape_i != shape_l:
        reoriented = f" (in RAS axis order: {shape_i} vs {shape_l})" if (shape_i, shape_l) != (image_shape, label_shape) else ""
        message = (
            f"image and label must have the same size; image is {image_shape} ({codes_i}), label is {label_shape} "
            f"({codes_l}){reoriented}. Resample the label onto the image grid, or fix the pairing."
        )
        return [(ERROR, "size_mismatch", message)]
    spacing_i = np.linalg.norm(aff_i[:3, :3], axis=0)
    spacing_l = np.linalg.norm(aff_l[:3, :3], axis=0)
    if not np.allclose(spacing_i, spacing_l, rtol=1e-4, atol=_SPACING_ATOL_MM):
        message = (
            f"image and label must have the same voxel spacing; image has {np.round(spacing_i, 4).tolist()} mm, "
            f"label has {np.round(spacing_l, 4).tolist()} mm. Resample the label onto the image grid, or fix the pairing."
        )
        return [(ERROR, "spacing_mismatch", message)]
    found: list[tuple[str, str, str]] = []
    direction_i, direction_l = aff_i[:3, :3] / spacing_i, aff_l[:3, :3] / spacing_l
    origin_i, origin_l = aff_i[:3, 3], aff_l[:3, 3]
    same_direction = np.allclose(direction_i, direction_l, atol=_DIRECTION_ATOL)
    if not same_direction or not np.allclose(origin_i, origin_l, rtol=1e-6, atol=_ORIGIN_ATOL_MM):
        found.append(
            (
                WARNING,
                "geometry_mismatch",
                f"image and label should share origin and direction; origin (RAS, mm) image "
                f"{np.round(origin_i, 3).tolist()} vs label {np.round(origin_l, 3).tolist()}, direction image "
                f"{np.round(direction_i, 4).tolist()} vs label {np.round(direction_l, 4).tolist()}. "
                "Overlay them (ITK-SNAP, 3D Slicer) to see which is right; world-space resampling will misplace the label.",
            )
        )
    elif image_shape != label_shape or not np.allclose(image_affine, label_affine, atol=_ORIGIN_ATOL_MM):
        found.append(
            (
                WARNING,
                "orientation_differs",
                f"image ({codes_i}, {image_shape}) and label ({codes_l}, {label_shape}) cover the same grid but store the axes "
                "differently; their raw arrays do not line up. Reorient both before pairing arrays "
                "(e.g. Orientationd(keys=['image', 'label'], axcodes='RAS')).",
            )
        )
    return found


def _read_image_3d(report: CaseReport) -> tuple[np.ndarray, np.ndarray] | None:
    from monai_lite.data.dicom import DicomSeriesError, load_dicom_series

    case = report.case
    try:
        if case.image_kind == "dicom":
            image = load_dicom_series(case.image)
            report.modality = str(image.meta.get("modality") or "") or None
            return image.numpy(), image.affine.numpy()
        volume = read_volume(case.image)
        return volume.array, volume.affine
    except DicomSeriesError as exc:
        report.add(ERROR, "dicom_series", str(exc), case.image)
    except Exception as exc:  # noqa: BLE001
        message = f"images must be readable volumes; the reader failed ({_describe_error(exc)}). Re-export or remove the file."
        report.add(ERROR, "unreadable", message, case.image)
    return None


def _check_3d(report: CaseReport, policy: LabelPolicy) -> None:
    case = report.case
    loaded = _read_image_3d(report)
    if loaded is None:
        return
    array, affine = loaded
    if array.ndim not in (3, 4):
        message = (
            f"a 3D dataset needs 3D images (or 4D with channels last); found {array.ndim}D data of shape "
            f"{tuple(array.shape)}. Move it to a {array.ndim}D dataset."
        )
        report.add(ERROR, "dimensionality", message, case.image)
        return
    report.spatial_dims, report.channels = 3, 1 if array.ndim == 3 else int(array.shape[3])
    _check_finite(report, array, case.image)
    if case.label is None:
        return
    try:
        label = read_volume(case.label)
    except Exception as exc:  # noqa: BLE001
        message = f"labels must be readable volumes; the reader failed ({_describe_error(exc)}). Re-export or remove the file."
        report.add(ERROR, "unreadable", message, case.label)
        return
    values = label.array
    if values.ndim == 4 and values.shape[3] == 1:
        values = values[..., 0]
    if values.ndim != 3:
        message = f"a 3D dataset needs 3D labels (one channel); found {values.ndim}D data of shape {tuple(values.shape)}."
        report.add(ERROR, "dimensionality", message, case.label)
        return
    problems = compare_grids(array.shape[:3], affine, values.shape, label.affine)
    for severity, kind, message in problems:
        report.add(severity, kind, message, case.image, case.label)
    if any(severity == ERROR for severity, _, _ in problems):
        return
    _check_label_values(report, np.unique(values), policy, case.label, is_2d=False)


def check_case(case: Case, policy: LabelPolicy) -> CaseReport:
    """Check one case (image, and label when it has one) and return what was found."""
    report = CaseReport(case)
    if case.image_kind == "2d":
        _check_2d(report, policy)
    else:
        _check_3d(report, policy)
    return report


def check_set(reports: Sequence[CaseReport]) -> list[Problem]:
    """Problems that only show across cases: mixed 2D/3D images and mixed channel counts (the minority is flagged)."""
    problems: list[Problem] = []
    readable = [r for r in reports if r.spatial_dims is not None]
    dims = Counter(r.spatial_dims for r in readable)
    if len(dims) > 1:
        majority = dims.most_common(1)[0][0]
        for r in readable:
            if r.spatial_dims != majority:
                problems.append(
                    Problem(
                        ERROR,
                        "dimensionality",
                        f"all images of a dataset must have the same number of spatial dimensions; expected {majority}D "
                        f"(as {dims[majority]} other images), found {r.spatial_dims}D. Move it to a {r.spatial_dims}D dataset.",
                        (str(r.case.image),),
                        r.case.case_id,
                    )
                )
        readable = [r for r in readable if r.spatial_dims == majority]
    channels = Counter(r.channels for r in readable)
    if len(channels) > 1:
        majority = channels.most_common(1)[0][0]
        for r in readable:
            if r.channels != majority:
                if r.spatial_dims == 2:
                    fix = "Convert it, e.g. PIL Image.open(path).convert('RGB' or 'L')."
                else:
                    fix = "Check the 4th (channel) axis."
                problems.append(
                    Problem(
                        ERROR,
                        "channels",
                        f"all images of a dataset must have the same channel count; expected {majority} (as {channels[majority]} other "
                        f"images), found {r.channels}. {fix}",
                        (str(r.case.image),),
                        r.case.case_id,
                    )
                )
    return problems
