# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Recognise how a dataset is laid out on disk and pair every image with its label, without opening any image.

Supported layouts (``images`` and ``masks`` are the arguments of :func:`monai_lite.data.prepare_datalist`):

``2d-folders``
    ``images`` is a folder of PNG/JPEG/BMP/TIFF files and ``masks`` a folder of mask files, paired by file stem
    (only the last extension is split off, so stems may contain dots). With ``masks=None``, ``images`` may be a
    dataset root holding ``images/`` and ``masks/`` (or ``labels/``) subfolders.
``volume-folders``
    The same pairing for NIfTI / NRRD / MetaImage files (``case.nii.gz`` with ``case.nii.gz``).
``msd``
    ``images`` is a Medical Segmentation Decathlon root with ``imagesTr/`` and ``labelsTr/`` (same file names),
    optionally ``imagesTs/`` (unlabelled test images) and ``dataset.json`` (read for names and labels).
``dicom``
    Either ``images`` is ONE series folder (its files are the slices) and ``masks`` ONE label file
    (``dicom/`` + ``example_seg_dicom.nii.gz``); or ``images`` is a folder of series folders and ``masks`` a folder
    of label files named after the series folders (``series_a/`` + ``series_a.nii.gz``).
``pairs-table``
    ``images`` is a CSV file with the columns ``image`` and ``label`` (``label`` may be blank for a test image),
    one case per row; paths are relative to ``data_root`` (or to the CSV's folder when ``data_root`` is None).
    Use it when the pairing is not by name, e.g. the TotalSegmentator CT with three image/label pairings.

The data root is where the datalist's relative paths start. It defaults to the dataset root (root-style
layouts), the common parent of ``images`` and ``masks``, or the CSV's folder.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monai_lite.data.dicom import is_dicom_file
from monai_lite.data.io import IMAGE_2D_SUFFIXES, VOLUME_SUFFIXES, split_name
from monai_lite.data.problems import ERROR, WARNING, Problem

__all__ = ["Case", "Layout", "detect_layout", "IMAGE_KINDS"]

#: ``Case.image_kind`` values.
IMAGE_KINDS = ("2d", "volume", "dicom")

_IMAGE_DIR_NAMES = ("images",)
_MASK_DIR_NAMES = ("masks", "labels")


@dataclass(frozen=True)
class Case:
    """One image (a file, or a DICOM series folder) with its label file, if any.

    Attributes:
        case_id: the name shared by image and label (file stem or series folder name).
        image: path of the image file or DICOM series folder.
        label: path of the label file, or None for an unlabelled test image.
        image_kind: ``"2d"``, ``"volume"`` or ``"dicom"``.
    """

    case_id: str
    image: Path
    label: Path | None
    image_kind: str


@dataclass
class Layout:
    """What :func:`detect_layout` found.

    Attributes:
        name: one of ``2d-folders``, ``volume-folders``, ``msd``, ``dicom``, ``pairs-table``, or ``unknown``.
        root: the data root; datalist paths are relative to it.
        root_hint: the data root spelled as the caller gave it (no resolution against the working directory).
        protected: folders that hold the inputs (and the dataset root of root-style layouts); never written to.
        cases: labelled cases.
        test_cases: unlabelled images (MSD ``imagesTs``, blank labels in a pairs table).
        problems: problems found while listing and pairing files.
        dataset_json: the MSD ``dataset.json`` content, when one was found.
    """

    name: str
    root: Path
    root_hint: str
    protected: list[Path] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    test_cases: list[Case] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    dataset_json: dict[str, Any] | None = None


def _spell(path: str | Path) -> str:
    """The path as the user wrote it, normalised, with forward slashes."""
    return Path(os.path.normpath(str(path))).as_posix()


def _common_root(paths: list[str | Path]) -> str:
    spelled = [os.path.normpath(str(p)) for p in paths]
    if len({os.path.isabs(p) for p in spelled}) > 1:
        spelled = [os.path.abspath(p) for p in spelled]
    common = os.path.commonpath(spelled)
    return Path(common or ".").as_posix()


def _kind_of(path: Path) -> str | None:
    ending = split_name(path)[1]
    if ending in IMAGE_2D_SUFFIXES:
        return "2d"
    if ending in VOLUME_SUFFIXES:
        return "volume"
    return None


def _folder_kind(folder: Path) -> str:
    """``2d``, ``volume``, ``dicom-series`` (DICOM files inside), ``dicom-folders`` (series subfolders) or ``empty``."""
    counts = {"2d": 0, "volume": 0}
    dicom_files = 0
    dicom_dirs = 0
    for p in folder.iterdir():
        if p.name.startswith("."):
            continue
        if p.is_dir():
            if any(is_dicom_file(q) for q in p.iterdir() if q.is_file()):
                dicom_dirs += 1
            continue
        kind = _kind_of(p)
        if kind is not None:
            counts[kind] += 1
        elif is_dicom_file(p):
            dicom_files += 1
    if dicom_files:
        return "dicom-series"
    if counts["2d"] or counts["volume"]:
        return "2d" if counts["2d"] >= counts["volume"] else "volume"
    if dicom_dirs:
        return "dicom-folders"
    return "empty"


def _error(kind: str, message: str, *paths: object, case: str | None = None) -> Problem:
    return Problem(ERROR, kind, message, tuple(str(p) for p in paths), case)


def _warning(kind: str, message: str, *paths: object, case: str | None = None) -> Problem:
    return Problem(WARNING, kind, message, tuple(str(p) for p in paths), case)


def _scan(folder: Path, kind: str, role: str) -> tuple[dict[str, Path], set[str], list[Problem]]:
    """List the files of one kind directly in ``folder``.

    Returns ``(stem -> path, stems excluded because of a problem, problems)``.
    """
    problems: list[Problem] = []
    found: dict[str, list[Path]] = {}
    excluded: set[str] = set()
    other = "volume" if kind == "2d" else "2d"
    expected = IMAGE_2D_SUFFIXES if kind == "2d" else VOLUME_SUFFIXES
    dims, wanted = ("2D", "2D pictures") if kind == "2d" else ("3D", "3D volumes")
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_dir():
            problems.append(_warning("ignored_file", f"the {role} folder should hold only files; skipped subfolder {p.name}/.", p))
            continue
        stem, ending = split_name(p)
        if _kind_of(p) == other:
            found_kind = "3D volume" if kind == "2d" else "2D picture"
            message = f"a {dims} dataset must hold only {wanted}; found a {found_kind} file ({ending}) among the {role}."
            problems.append(_error("dimensionality", message + " Move it out or convert it.", p, case=stem))
            excluded.add(stem)
            continue
        if ending not in expected:
            message = f"files in the {role} folder must end in one of {', '.join(expected)}; skipped {p.name}."
            problems.append(_warning("ignored_file", message, p))
            continue
        found.setdefault(stem, []).append(p)
    files: dict[str, Path] = {}
    for stem, paths in found.items():
        if len(paths) > 1:
            names = ", ".join(q.name for q in paths)
            message = (
                f"each case name must appear once among the {role}; '{stem}' appears {len(paths)} times ({names}) "
                f"in {folder}. Keep one file per case."
            )
            problems.append(_error("duplicate_stem", message, *paths, case=stem))
            excluded.add(stem)
        else:
            files[stem] = paths[0]
    if not files and not excluded:
        message = f"the {role} folder must hold {' / '.join(expected)} files; found none in {folder}."
        problems.append(_error("empty_folder", message, folder))
    return files, excluded, problems


def _near_miss(stem: str, candidates: set[str]) -> str | None:
    for other in sorted(candidates):
        if other != stem and (other.startswith(stem) or stem.startswith(other)):
            return other
    return None


def _pair(
    images: dict[str, Path],
    labels: dict[str, Path],
    excluded: set[str],
    kind: str,
    folders: tuple[Path, Path],
    label_suffixes: tuple[str, ...],
) -> tuple[list[Case], list[Problem]]:
    """Pair by stem; unpaired files become ``missing_label`` / ``missing_image`` errors (with a near-miss hint)."""
    image_dir, label_dir = folders
    cases: list[Case] = []
    problems: list[Problem] = []
    lonely_labels = set(labels) - set(images)
    lonely_images = set(images) - set(labels)
    rename = "image and label stems must be identical, so rename one of them."
    for stem in sorted(set(images) | set(labels)):
        if stem in excluded:
            continue
        if stem in images and stem in labels:
            cases.append(Case(stem, images[stem], labels[stem], kind))
        elif stem in images:
            hint = _near_miss(stem, lonely_labels)
            extra = f" A label named '{hint}' exists: {rename}" if hint else ""
            message = (
                f"every image needs a label with the same name; expected {label_dir / stem}"
                f"{{{','.join(label_suffixes)}}}, found none for image {images[stem].name}.{extra} "
                "Add the label or remove the image."
            )
            problems.append(_error("missing_label", message, images[stem], case=stem))
        else:
            hint = _near_miss(stem, lonely_images)
            extra = f" An image named '{hint}' exists: {rename}" if hint else ""
            message = (
                f"every label needs an image with the same name; found label {labels[stem].name} but no image "
                f"'{stem}.*' in {image_dir}.{extra} Add the image or remove the label."
            )
            problems.append(_error("missing_image", message, labels[stem], case=stem))
    return cases, problems


def _layout_error(message: str, path: Path, root: Path) -> Layout:
    return Layout("unknown", root, _spell(root), [root], problems=[_error("layout", message, path)])


def _folders(images: Path, masks: Path, root_hint: str) -> Layout:
    kind = _folder_kind(images)
    if kind == "empty":
        suffixes = ", ".join(IMAGE_2D_SUFFIXES + VOLUME_SUFFIXES)
        layout = Layout("unknown", Path(root_hint), root_hint, [images, masks])
        message = f"the images folder must hold image files ({suffixes}) or DICOM series; found none in {images}."
        layout.problems.append(_error("empty_folder", message, images))
        return layout
    if kind in ("dicom-series", "dicom-folders"):
        return _dicom(images, masks, kind, root_hint)
    name = "2d-folders" if kind == "2d" else "volume-folders"
    layout = Layout(name, Path(root_hint), root_hint, [images, masks])
    if not masks.is_dir():
        message = f"masks must be a folder of label files for a folder of images; got {masks}, which is not a folder."
        layout.problems.append(_error("layout", message, masks))
        return layout
    image_files, excluded_i, problems_i = _scan(images, kind, "images")
    label_files, excluded_l, problems_l = _scan(masks, kind, "masks")
    suffixes = IMAGE_2D_SUFFIXES if kind == "2d" else VOLUME_SUFFIXES
    cases, problems_p = _pair(image_files, label_files, excluded_i | excluded_l, kind, (images, masks), suffixes)
    layout.cases = cases
    layout.problems = problems_i + problems_l + problems_p
    return layout


def _dicom(images: Path, masks: Path, kind: str, root_hint: str) -> Layout:
    if kind == "dicom-series":
        if not masks.is_file() or split_name(masks)[1] not in VOLUME_SUFFIXES:
            message = (
                f"a single DICOM series folder pairs with a single label file ({', '.join(VOLUME_SUFFIXES)}); "
                f"got masks={masks}. For several series, pass a folder of series folders and a folder of label "
                "files named after them."
            )
            return _layout_error(message, masks, Path(root_hint))
        layout = Layout("dicom", Path(root_hint), root_hint, [images, masks.parent])
        layout.cases = [Case(images.name, images, masks, "dicom")]
        return layout
    layout = Layout("dicom", Path(root_hint), root_hint, [images, masks])
    if not masks.is_dir():
        message = f"a folder of DICOM series folders pairs with a folder of label files; got masks={masks}, which is not a folder."
        layout.problems.append(_error("layout", message, masks))
        return layout
    series: dict[str, Path] = {}
    for p in sorted(images.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_dir() and any(is_dicom_file(q) for q in p.iterdir() if q.is_file()):
            series[p.name] = p
        else:
            message = f"{images} should hold only DICOM series folders; skipped {p.name}."
            layout.problems.append(_warning("ignored_file", message, p))
    label_files, excluded, problems = _scan(masks, "volume", "masks")
    cases, problems_p = _pair(series, label_files, excluded, "dicom", (images, masks), VOLUME_SUFFIXES)
    layout.cases = cases
    layout.problems += problems + problems_p
    return layout


def _msd(root: Path, root_hint: str) -> Layout:
    layout = Layout("msd", root, root_hint, [root])
    images_tr, labels_tr, images_ts = root / "imagesTr", root / "labelsTr", root / "imagesTs"
    layout.protected += [images_tr, labels_tr, images_ts]
    if not labels_tr.is_dir():
        message = f"an MSD root must hold imagesTr/ and labelsTr/; found no labelsTr/ in {root}."
        layout.problems.append(_error("layout", message, root))
        return layout
    dataset_json = root / "dataset.json"
    if dataset_json.is_file():
        try:
            layout.dataset_json = json.loads(dataset_json.read_text())
        except (OSError, ValueError) as exc:
            message = f"dataset.json must be valid JSON; reading it failed ({exc}); its names and labels are not used."
            layout.problems.append(_warning("unreadable", message, dataset_json))
    image_files, excluded_i, problems_i = _scan(images_tr, "volume", "imagesTr")
    label_files, excluded_l, problems_l = _scan(labels_tr, "volume", "labelsTr")
    excluded = excluded_i | excluded_l
    layout.cases, problems_p = _pair(image_files, label_files, excluded, "volume", (images_tr, labels_tr), VOLUME_SUFFIXES)
    layout.problems += problems_i + problems_l + problems_p
    if images_ts.is_dir():
        test_files, _, problems_t = _scan(images_ts, "volume", "imagesTs")
        layout.problems += [p for p in problems_t if p.kind != "empty_folder"]
        layout.test_cases = [Case(stem, path, None, "volume") for stem, path in sorted(test_files.items())]
    return layout


def _table_row(layout: Layout, table: Path, number: int, row: dict[str, str], seen: dict[str, Path]) -> None:
    image_text, label_text = (row.get("image") or "").strip(), (row.get("label") or "").strip()
    image = layout.root / image_text
    label = layout.root / label_text if label_text else None
    missing = [p for p in (image, label) if p is not None and not p.exists()]
    if not image_text or missing:
        shown = ", ".join(str(p) for p in missing) or "(blank image)"
        message = f"every file named in the pairs table must exist; row {number} of {table.name} names {shown}, which does not exist."
        layout.problems.append(_error("unreadable", message, *(missing or [table])))
        return
    kind, case_id = ("dicom", image.name) if image.is_dir() else (_kind_of(image), split_name(image)[0])
    if kind is None:
        endings = ", ".join(IMAGE_2D_SUFFIXES + VOLUME_SUFFIXES)
        message = f"images must end in one of {endings} or be a DICOM series folder; row {number} names {image.name}."
        layout.problems.append(_error("unreadable", message, image))
        return
    if case_id in seen:
        message = (
            f"each case name must appear once in the pairs table; '{case_id}' comes from both {seen[case_id]} "
            f"and {image}. Rename one."
        )
        layout.problems.append(_error("duplicate_stem", message, seen[case_id], image, case=case_id))
        return
    seen[case_id] = image
    case = Case(case_id, image, label, kind)
    (layout.cases if label is not None else layout.test_cases).append(case)
    layout.protected.append(image if image.is_dir() else image.parent)
    if label is not None:
        layout.protected.append(label.parent)


def _table(table: Path, data_root: str | Path | None) -> Layout:
    root_hint = _spell(data_root) if data_root is not None else _spell(table.parent)
    layout = Layout("pairs-table", Path(root_hint), root_hint, [])
    try:
        with table.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        layout.problems.append(_error("unreadable", f"the pairs table must be a readable CSV; reading failed ({exc}).", table))
        return layout
    if not rows or "image" not in rows[0] or "label" not in rows[0]:
        columns = list(rows[0]) if rows else []
        message = f"the pairs table must have the columns 'image' and 'label' and at least one row; found columns {columns}."
        layout.problems.append(_error("layout", message, table))
        return layout
    seen: dict[str, Path] = {}
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        _table_row(layout, table, number, row, seen)
    return layout


def detect_layout(images: str | Path, masks: str | Path | None = None, data_root: str | Path | None = None) -> Layout:
    """Find the layout, pair images with labels, and choose the data root. Opens no image.

    Args:
        images: an images folder, a dataset root, a DICOM series folder, or a CSV pairs table.
        masks: the masks folder, or a label file for a single DICOM series. Defaults to None.
        data_root: where datalist paths start. Defaults to None (chosen from the layout; see the module docs).

    Returns:
        A :class:`Layout`; fatal layout problems are in ``layout.problems`` with no cases.
    """
    images_path = Path(images)
    hint_given = _spell(data_root) if data_root is not None else None
    if not images_path.exists():
        message = f"images must be an existing folder or CSV file; {images_path} does not exist."
        return _layout_error(message, images_path, images_path)
    if images_path.is_file():
        if split_name(images_path)[1] == ".csv":
            if masks is not None:
                message = "a pairs table already names the labels; pass masks=None with it."
                return _layout_error(message, images_path, images_path.parent)
            return _table(images_path, data_root)
        hint = " It is a DICOM file: pass the folder that holds the whole series." if is_dicom_file(images_path) else ""
        message = f"images must be a folder (or a CSV pairs table); got the file {images_path}.{hint}"
        return _layout_error(message, images_path, images_path.parent)
    if masks is None:
        if (images_path / "imagesTr").is_dir():
            return _msd(images_path, hint_given or _spell(images_path))
        sub_images = next((images_path / n for n in _IMAGE_DIR_NAMES if (images_path / n).is_dir()), None)
        sub_masks = next((images_path / n for n in _MASK_DIR_NAMES if (images_path / n).is_dir()), None)
        if sub_images is not None and sub_masks is not None:
            layout = _folders(sub_images, sub_masks, hint_given or _spell(images_path))
            layout.protected.append(images_path)
            return layout
        message = (
            "with masks=None, images must be a dataset root holding images/ and masks/ (or labels/), or an MSD root "
            f"holding imagesTr/ and labelsTr/; found neither in {images_path}. Pass masks=... for separate folders."
        )
        return _layout_error(message, images_path, images_path)
    masks_path = Path(masks)
    if not masks_path.exists():
        message = f"masks must be an existing folder or label file; {masks_path} does not exist."
        return _layout_error(message, masks_path, images_path)
    masks_parent = masks_path if masks_path.is_dir() else masks_path.parent
    root_hint = hint_given or _common_root([images_path, masks_parent])
    return _folders(images_path, masks_path, root_hint)
