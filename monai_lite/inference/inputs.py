# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Find the cases that ``monai-lite infer`` segments, and hand each one to a bundle's ``LoadImaged`` unchanged.

An input is a 2D picture (PNG, JPEG, BMP, TIFF), a volume file (NIfTI, NRRD, MetaImage), a DICOM series folder
(one case), or a folder of any of these (one case per file and per DICOM sub-folder; no deeper recursion). A
single DICOM slice file is refused with a sentence asking for its series folder, and a folder holding several
series must be given the ``series_uid`` to read. The output folder must not be an input folder or lie inside one,
so inference can never write next to, or over, the data it reads.

Files are read by the bundle's own preset (its ``LoadImaged`` steps), so a picture is read row-major exactly as in
training. DICOM series (read with :func:`monai_lite.data.load_dicom_series`: series choice, slice step from
ImagePositionPatient, HU check) and in-memory arrays are handed to the same ``LoadImaged`` through
:class:`PreloadedReader`, a runtime reader, so the rest of the chain sees what a file would have given.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from monai.data import ImageReader

from monai_lite.data.dicom import check_series, find_dicom_series, is_dicom_file
from monai_lite.data.io import IMAGE_2D_SUFFIXES, VOLUME_SUFFIXES, is_2d_file, is_volume_file, split_name

__all__ = ["Case", "PreloadedReader", "find_cases", "check_output_dir", "array_case"]

logger = logging.getLogger(__name__)

@dataclass
class Case:
    """One image to segment.

    Attributes:
        name: the stem of the output files (file stem, series folder name, or ``array_<n>``); unique in a run.
        kind: one of ``"picture"``, ``"volume"``, ``"dicom"``, ``"array"``.
        source: the file or series folder (``None`` for an array).
        series_uid: the SeriesInstanceUID that was chosen (DICOM only; may be the placeholder of a blank UID).
        series_files: the slice files of that series, sorted along the slice normal (DICOM only).
        array: the pixel data (arrays only).
        affine: the 4x4 voxel-to-world matrix of a volume array (arrays only; ``None`` is the identity).
    """

    name: str
    kind: str
    source: Path | None = None
    series_uid: str | None = None
    series_files: list[Path] | None = None
    array: np.ndarray | None = None
    affine: np.ndarray | None = None

    def describe(self) -> str:
        """What the case is, for logs and error messages."""
        return f"array {self.name}" if self.source is None else str(self.source)


class PreloadedReader(ImageReader):
    """A runtime reader for ``LoadImaged(data, reader=...)`` that returns an image already in memory.

    ``LoadImage`` keeps doing the rest of its job (dtype, metadata, ``filename_or_obj``), so a DICOM series read by
    :func:`~monai_lite.data.load_dicom_series` or an array from a script reaches the preset exactly as a file would.

    Args:
        array: the data in the layout the preset's reader would return: ``(H, W)`` or ``(H, W, C)`` for pictures
            (row-major, as PIL gives it), ``(X, Y, Z)`` for volumes.
        meta: metadata such as ``affine``; ``original_channel_dim`` is filled in from the array when absent.

    Example::

        LoadImaged("image")({"image": "case"}, reader=PreloadedReader(volume, {"affine": affine}))
    """

    def __init__(self, array: np.ndarray, meta: dict | None = None) -> None:
        super().__init__()
        self.array = array
        self.meta = dict(meta or {})

    def verify_suffix(self, filename: Any) -> bool:
        """Any name: the data is already here."""
        return True

    def read(self, data: Any, **kwargs: Any) -> np.ndarray:
        """Return the array, whatever ``data`` names."""
        return self.array

    def get_data(self, img: Any) -> tuple[np.ndarray, dict]:
        """The array and its metadata, as ``LoadImage`` expects them."""
        meta = dict(self.meta)
        meta.setdefault("original_channel_dim", "no_channel")
        return self.array, meta


def _picture_or_volume(path: Path) -> str | None:
    return "picture" if is_2d_file(path) else "volume" if is_volume_file(path) else None


def _series_case(folder: Path, series_uid: str | None) -> Case:
    """The case of the series folder ``folder`` (one series, or the one ``series_uid`` names)."""
    series = find_dicom_series(folder)
    listing = "; ".join(s.describe() for s in series.values())
    if series_uid is not None and series_uid not in series:
        raise ValueError(f"DICOM folder {folder} holds no series {series_uid}; it holds: {listing}.")
    if series_uid is None and len(series) > 1:
        raise ValueError(
            f"DICOM folder {folder} holds {len(series)} series; choose one with --series-uid (series_uid=...): "
            f"{listing}."
        )
    info = series[series_uid] if series_uid is not None else next(iter(series.values()))
    if len(info.files) == 1 and info.frames <= 1:
        raise ValueError(
            f"DICOM folder {folder} holds a single slice ({info.files[0].name}); a 3D series folder with all its "
            "slices is expected."
        )
    check_series(folder, info)  # before any case is predicted: a broken series stops the run with nothing written
    return Case(name=folder.name, kind="dicom", source=folder, series_uid=info.uid, series_files=list(info.files))


def _holds_dicom(folder: Path) -> bool:
    return any(is_dicom_file(p) for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _cases_of(path: Path, series_uid: str | None) -> list[Case]:
    if not path.exists():
        raise FileNotFoundError(f"inference input {path} does not exist.")
    if path.is_file():
        if is_dicom_file(path):
            raise ValueError(
                f"inference input {path} is a single DICOM file; pass the folder that holds the whole series."
            )
        kind = _picture_or_volume(path)
        if kind is None:
            raise ValueError(
                f"inference input {path} is not an image this command reads (PNG/JPEG/BMP/TIFF, NIfTI/NRRD/MetaImage, "
                "or a DICOM series folder)."
            )
        return [Case(name=split_name(path)[0], kind=kind, source=path)]
    if _holds_dicom(path):
        return [_series_case(path, series_uid)]
    cases = []
    for item in sorted(path.iterdir()):
        if item.name.startswith("."):
            continue
        if item.is_file() and _picture_or_volume(item):
            cases.append(Case(name=split_name(item)[0], kind=_picture_or_volume(item), source=item))
        elif item.is_dir() and _holds_dicom(item):
            cases.append(_series_case(item, series_uid))
    if not cases:
        raise ValueError(
            f"inference input folder {path} holds no image (looked for {', '.join(IMAGE_2D_SUFFIXES + VOLUME_SUFFIXES)} "
            "files and DICOM series folders)."
        )
    return cases


def _unique_names(cases: list[Case]) -> list[Case]:
    """Suffix ``_2``, ``_3``... to names that repeat, so no output overwrites another."""
    seen: dict[str, int] = {}
    for case in cases:
        count = seen.get(case.name, 0) + 1
        seen[case.name] = count
        if count > 1:
            case.name = f"{case.name}_{count}"
    return cases


def find_cases(inputs: str | Path | Sequence[str | Path], series_uid: str | None = None) -> list[Case]:
    """The cases of one or more inputs, in the order given (files of a folder sorted by name).

    Only names and DICOM headers are read here; pixels are read when a case is predicted.

    Args:
        inputs: files and folders (see the module docstring for what each may be).
        series_uid: the SeriesInstanceUID to read from DICOM folders holding several series (and to require in
            the others). Defaults to None (each DICOM folder must hold one series).

    Returns:
        The cases, with unique ``name`` s.

    Raises:
        FileNotFoundError: an input does not exist.
        ValueError: a single DICOM slice file, an unreadable file type, a folder without images, several series
            and no ``series_uid``, or a ``series_uid`` that a folder does not hold.

    Example::

        find_cases(["scans/", "photo.png"], series_uid="1.2.3")
    """
    items = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    if not items:
        raise ValueError("no inference input was given; pass image files or folders.")
    cases = [case for item in items for case in _cases_of(Path(item).expanduser(), series_uid)]
    for case in cases:
        if case.kind == "dicom":
            logger.info("Input %s: DICOM series %s (%d files).", case.source, case.series_uid, len(case.series_files))
    return _unique_names(cases)


def array_case(array: Any, index: int, affine: Any = None) -> Case:
    """Wrap an in-memory image as a case named ``array_<index>``.

    Args:
        array: numpy array or tensor; see :meth:`monai_lite.inference.Predictor.__call__` for the layouts.
        index: its position in the batch, for the name.
        affine: 4x4 voxel-to-world matrix of a volume; None for pictures (and the identity for volumes).

    Returns:
        A case of kind ``"array"``.
    """
    data = np.asarray(array.detach().cpu() if hasattr(array, "detach") else array)
    return Case(
        name=f"array_{index}",
        kind="array",
        array=data,
        affine=None if affine is None else np.asarray(affine, dtype=np.float64),
    )


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output_dir(output_dir: str | Path, inputs: Sequence[str | Path]) -> Path:
    """Refuse an output folder that is an input folder, lies inside one (at any depth, existing or not), or is a file.

    A file input's own folder counts as an input folder (outputs would land beside the file, or in a new subfolder
    of it). Paths are compared after resolving symbolic links.

    Args:
        output_dir: the folder predictions will be written to (created later if missing).
        inputs: the files and folders given as inputs.

    Returns:
        ``output_dir`` resolved.

    Raises:
        ValueError: naming the output folder and the input it would write into.
    """
    out = Path(output_dir).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise ValueError(f"output {out} exists and is not a folder.")
    for item in inputs:
        source = Path(item).expanduser().resolve()
        if source.is_dir() and _inside(out, source):
            raise ValueError(
                f"output folder {out} is inside the input folder {source}; inference never writes into its "
                "inputs, choose an output folder elsewhere."
            )
        if source.is_file() and _inside(out, source.parent):
            where = "is the folder" if out == source.parent else "is inside the folder"
            raise ValueError(
                f"output folder {out} {where} of the input file {source}; inference never writes into its inputs' "
                "folders (nor new subfolders of them), choose an output folder elsewhere."
            )
    return out
