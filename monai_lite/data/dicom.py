# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Load one DICOM series as a 3D volume in Hounsfield units, through MONAI's ``LoadImage`` with ``ITKReader``.

How it works:

* The folder's files are grouped by SeriesInstanceUID from their headers (pydicom, pixel data not read). A folder
  with several series must be given ``series_uid``; the error lists the series found. A single slice is refused
  with a message that says so (a series folder is expected).
* The slice step is computed from ImagePositionPatient projected on the slice normal, never from SliceThickness
  (which differs from the step when slices overlap, as in the TotalSegmentator test CT: 3 mm thick, 2 mm apart).
* Before any pixel is decoded, :func:`check_series` refuses a series that would be read wrong without an error
  (ITK/GDCM silently drops a slice without pixel data and stacks the rest as if nothing were missing): every
  slice must hold pixel data, an ImagePositionPatient, the same ImageOrientationPatient (within
  ``ORIENTATION_TOLERANCE``) and the same Rows x Columns; consecutive positions along the slice normal must be one
  step apart (within ``STEP_TOLERANCE_MM``), so a gap or a duplicate position is refused. Each refusal names the
  series folder and the offending slice files.
* ITK (GDCM inside) decodes the pixels, including JPEG 2000 lossless, and applies RescaleSlope/RescaleIntercept.
  With ``verify_hu=True`` one slice is also decoded by pydicom and compared: when ITK's values are the stored
  values instead of the rescaled ones, the rescale is applied here; when neither matches, a warning is logged.
* The affine is MONAI's RAS affine; its slice axis is corrected to the ImagePositionPatient step if ITK's differs.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from monai_lite.errors import MonaiLiteError

__all__ = [
    "DicomSeriesError",
    "DicomSeries",
    "is_dicom_file",
    "find_dicom_series",
    "check_series",
    "load_dicom_series",
    "STEP_TOLERANCE_MM",
    "ORIENTATION_TOLERANCE",
]

logger = logging.getLogger(__name__)

#: Largest difference (mm) between a slice step and the series' step; positions are written to ~1e-3 mm or better.
STEP_TOLERANCE_MM = 1e-2
_STEP_TOLERANCE_MM = STEP_TOLERANCE_MM
#: Largest difference between direction cosines of two slices of one series (about 0.06 degrees).
ORIENTATION_TOLERANCE = 1e-3
#: Pixel data elements of image storage (integer, float, double float).
_PIXEL_TAGS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


class DicomSeriesError(MonaiLiteError):
    """A DICOM folder that cannot be read as exactly one 3D series."""


@dataclass
class DicomSeries:
    """Header facts about one series in a folder.

    Attributes:
        uid: SeriesInstanceUID.
        files: the slice files, sorted along the slice normal (ascending position).
        description: SeriesDescription (may be empty).
        modality: Modality (e.g. ``"CT"``).
        positions: the ImagePositionPatient projection of each file on the slice normal, ascending (mm).
        frames: NumberOfFrames of a single multi-frame file (1 otherwise).
        transfer_syntax: the TransferSyntaxUID name of the first file.
        slices: per file (in ``files`` order), the header facts :func:`check_series` needs: ``has_pixels``,
            ``orientation`` (6 floats or None), ``position`` (3 floats or None), ``shape`` ((Rows, Columns)).
    """

    uid: str
    files: list[Path] = field(default_factory=list)
    description: str = ""
    modality: str = ""
    positions: list[float] = field(default_factory=list)
    frames: int = 1
    transfer_syntax: str = ""
    slices: list[dict] = field(default_factory=list)

    def slice_step(self) -> float | None:
        """The slice step in mm from ImagePositionPatient, or None when the slices are not evenly spaced."""
        if len(self.positions) < 2:
            return None
        steps = np.diff(np.asarray(self.positions, dtype=np.float64))
        step = float(np.median(steps))
        if step <= _STEP_TOLERANCE_MM or float(np.max(np.abs(steps - step))) > _STEP_TOLERANCE_MM:
            return None
        return step

    def describe(self) -> str:
        """One line for error messages."""
        text = f"{self.uid} ({self.modality or '?'}, {len(self.files)} file(s)"
        return text + (f", '{self.description}')" if self.description else ")")


def is_dicom_file(path: str | Path) -> bool:
    """True for a file with the DICOM preamble (``DICM`` at byte 128), as pydicom checks it."""
    from pydicom.misc import is_dicom

    path = Path(path)
    if not path.is_file():
        return False
    try:
        return bool(is_dicom(path))
    except OSError:
        return False


def _normal(ds: Any) -> np.ndarray | None:
    iop = getattr(ds, "ImageOrientationPatient", None)
    if iop is None or len(iop) != 6:
        return None
    row, col = np.asarray(iop[:3], dtype=np.float64), np.asarray(iop[3:], dtype=np.float64)
    normal = np.cross(row, col)
    norm = float(np.linalg.norm(normal))
    return normal / norm if norm > 0 else None


def find_dicom_series(folder: str | Path) -> dict[str, DicomSeries]:
    """Group the DICOM files directly inside ``folder`` (no recursion) by SeriesInstanceUID.

    Only headers are read (pixel data is skipped, only its presence is noted). Files without the DICOM preamble are
    ignored.

    Returns:
        ``{uid: DicomSeries}`` with files sorted along the slice normal, in UID order.
    """
    import pydicom

    groups: dict[str, list[tuple[Path, Any]]] = {}
    for path in sorted(Path(folder).iterdir()):
        if path.name.startswith(".") or not is_dicom_file(path):
            continue
        # defer_size skips large values (the pixels) without reading them, but keeps their tags, so a slice without
        # pixel data can be told apart from one with.
        ds = pydicom.dcmread(path, defer_size="4 KB")
        uid = str(getattr(ds, "SeriesInstanceUID", "") or "<blank SeriesInstanceUID>")
        groups.setdefault(uid, []).append((path, ds))
    result: dict[str, DicomSeries] = {}
    for uid in sorted(groups):
        members = groups[uid]
        first = members[0][1]
        normal = _normal(first)
        keyed = []
        for path, ds in members:
            ipp = getattr(ds, "ImagePositionPatient", None)
            pos = float(np.dot(np.asarray(ipp, dtype=np.float64), normal)) if ipp is not None and normal is not None else 0.0
            keyed.append((pos, path, _slice_facts(ds)))
        keyed.sort(key=lambda item: (item[0], item[1].name))
        syntax = getattr(getattr(first, "file_meta", None), "TransferSyntaxUID", None)
        result[uid] = DicomSeries(
            uid=uid,
            files=[p for _, p, _ in keyed],
            description=str(getattr(first, "SeriesDescription", "") or ""),
            modality=str(getattr(first, "Modality", "") or ""),
            positions=[pos for pos, _, _ in keyed],
            frames=int(getattr(first, "NumberOfFrames", 1) or 1),
            transfer_syntax=getattr(syntax, "name", str(syntax or "")),
            slices=[facts for _, _, facts in keyed],
        )
    return result


def _floats(value: Any, count: int) -> list[float] | None:
    try:
        numbers = [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == count and all(np.isfinite(numbers)) else None


def _slice_facts(ds: Any) -> dict:
    return {
        "has_pixels": any(tag in ds for tag in _PIXEL_TAGS),
        "orientation": _floats(getattr(ds, "ImageOrientationPatient", None), 6),
        "position": _floats(getattr(ds, "ImagePositionPatient", None), 3),
        "shape": (int(getattr(ds, "Rows", 0) or 0), int(getattr(ds, "Columns", 0) or 0)),
    }


def _names(files: list[Path], limit: int = 8) -> str:
    shown = ", ".join(p.name for p in files[:limit])
    return shown + (f" and {len(files) - limit} more" if len(files) > limit else "")


def _odd_ones(files: list[Path], keys: list[Any]) -> tuple[Any, list[Path]]:
    """The most common key and the files whose key differs from it."""
    common = Counter(keys).most_common(1)[0][0]
    return common, [f for f, k in zip(files, keys) if k != common]


def check_series(folder: str | Path, info: DicomSeries) -> None:
    """Refuse a series whose slices cannot be stacked into one regular volume, before any pixel is decoded.

    Checks, in this order: pixel data in every slice; ImagePositionPatient and ImageOrientationPatient in every
    slice; one orientation (direction cosines within :data:`ORIENTATION_TOLERANCE`); one Rows x Columns; positions
    along the slice normal one step apart (within :data:`STEP_TOLERANCE_MM`), so no gap and no duplicate.
    A single multi-frame file is left to ITK (its geometry is in the functional groups).

    Args:
        folder: the series folder (for the message).
        info: the series, from :func:`find_dicom_series`.

    Raises:
        DicomSeriesError: naming the folder, the series and the offending slice files.
    """
    folder = Path(folder)
    where = f"DICOM series {info.uid} in {folder}"
    if len(info.files) == 1 and info.frames > 1:
        return
    facts = info.slices or [{} for _ in info.files]
    no_pixels = [f for f, s in zip(info.files, facts) if not s.get("has_pixels", True)]
    if no_pixels:
        raise DicomSeriesError(
            f"{where}: {len(no_pixels)} slice(s) hold no pixel data: {_names(no_pixels)}. A reader would drop them "
            "and stack the other slices too close together; restore those files from the source, or remove the "
            "whole series."
        )
    for key, tag in (("position", "ImagePositionPatient"), ("orientation", "ImageOrientationPatient")):
        lacking = [f for f, s in zip(info.files, facts) if key in s and s[key] is None]
        if lacking:
            raise DicomSeriesError(
                f"{where}: {len(lacking)} slice(s) have no valid {tag}: {_names(lacking)}; the slices cannot be "
                "placed in space. Restore the headers from the source."
            )
    if all("orientation" in s for s in facts):
        rounded = [tuple(np.round(np.asarray(s["orientation"]) / ORIENTATION_TOLERANCE).astype(int)) for s in facts]
        common, _ = _odd_ones(info.files, rounded)
        reference = np.asarray(common, dtype=np.float64) * ORIENTATION_TOLERANCE
        tilted = [
            f for f, s in zip(info.files, facts)
            if float(np.max(np.abs(np.asarray(s["orientation"]) - reference))) > ORIENTATION_TOLERANCE
        ]
        if tilted:
            raise DicomSeriesError(
                f"{where}: {len(tilted)} slice(s) have an ImageOrientationPatient that differs from the series' "
                f"{[round(v, 4) for v in reference.tolist()]}: {_names(tilted)}. A series must be one stack of "
                "parallel slices; remove the slices of the other orientation (often a scout or a reformat)."
            )
    if all("shape" in s for s in facts):
        common, other = _odd_ones(info.files, [s["shape"] for s in facts])
        if other:
            raise DicomSeriesError(
                f"{where}: {len(other)} slice(s) are not {common[0]}x{common[1]} (Rows x Columns) like the others: "
                f"{_names(other)}."
            )
    if len(info.files) < 2:
        return
    positions = np.asarray(info.positions, dtype=np.float64)
    steps = np.diff(positions)
    duplicates = [(info.files[i], info.files[i + 1]) for i in np.flatnonzero(np.abs(steps) <= STEP_TOLERANCE_MM)]
    if duplicates:
        listed = "; ".join(f"{a.name} and {b.name} at {positions[info.files.index(a)]:.3f} mm" for a, b in duplicates[:5])
        raise DicomSeriesError(
            f"{where}: {len(duplicates)} pair(s) of slices share one position along the slice normal: {listed}. "
            "Remove the duplicates (or split the series if they are two acquisitions)."
        )
    step = float(np.median(steps))
    off = np.flatnonzero(np.abs(steps - step) > STEP_TOLERANCE_MM)
    if off.size:
        listed = "; ".join(
            f"{info.files[i].name} -> {info.files[i + 1].name}: {steps[i]:.3f} mm" for i in off[:5]
        )
        missing = sum(max(int(round(steps[i] / step)) - 1, 0) for i in off)
        guess = f" (about {missing} slice(s) missing)" if missing else ""
        raise DicomSeriesError(
            f"{where}: the slices are not evenly spaced along the slice normal: the step is {step:.3f} mm but "
            f"{listed}{guess}. Check for missing, extra or misplaced slices."
        )


def _select_series(folder: Path, series_uid: str | None) -> DicomSeries:
    if not folder.is_dir():
        hint = " It is a single DICOM file: pass the folder that holds the whole series." if is_dicom_file(folder) else ""
        raise DicomSeriesError(f"A DICOM series must be a folder of slice files; got {folder}.{hint}")
    series = find_dicom_series(folder)
    if not series:
        raise DicomSeriesError(
            f"A DICOM series folder must hold DICOM files (with the 'DICM' preamble); found none in {folder}. "
            "Point to the folder that directly contains the slices."
        )
    if series_uid is None:
        if len(series) > 1:
            listing = "; ".join(s.describe() for s in series.values())
            raise DicomSeriesError(
                f"A DICOM folder must hold one series, or series_uid must name one; found {len(series)} in "
                f"{folder}: {listing}. Pass series_uid=... or move each series into its own folder."
            )
        return next(iter(series.values()))
    if series_uid not in series:
        listing = "; ".join(s.describe() for s in series.values())
        raise DicomSeriesError(f"Series {series_uid} is not in {folder}; found: {listing}.")
    return series[series_uid]


def _check_slices(folder: Path, info: DicomSeries) -> float | None:
    if len(info.files) == 1 and info.frames <= 1:
        raise DicomSeriesError(
            f"A 3D DICOM series needs at least 2 slices; series {info.uid} in {folder} has 1 file "
            f"({info.files[0].name}). Add the other slices of the series, or read this file as a 2D image."
        )
    if len(info.files) == 1:
        return None  # one multi-frame file: ITK computes the geometry from the functional groups
    check_series(folder, info)
    step = info.slice_step()
    if step is None:
        steps = np.round(np.diff(np.asarray(info.positions)), 4).tolist()
        raise DicomSeriesError(
            f"Slices of a DICOM series must be evenly spaced along the slice normal; found steps {steps} mm in "
            f"series {info.uid} ({folder}). Check for missing or duplicated slices."
        )
    return step


def _itk_series_name(folder: Path, files: list[Path]) -> str:
    """ITK's identifier (not always equal to the SeriesInstanceUID) of the series made of exactly ``files``."""
    import itk

    names = itk.GDCMSeriesFileNames.New()
    names.SetUseSeriesDetails(True)
    names.AddSeriesRestriction("0008|0021")
    names.SetDirectory(str(folder))
    wanted = {p.resolve() for p in files}
    for identifier in names.GetSeriesUIDs():
        if {Path(f).resolve() for f in names.GetFileNames(identifier)} == wanted:
            return str(identifier)
    raise DicomSeriesError(f"ITK/GDCM does not see the series made of {len(files)} files in {folder} as one series.")


def _modality_lut_check(volume: np.ndarray, info: DicomSeries) -> tuple[str, float, float]:
    """Compare the middle slice with pydicom's decoding. Returns (verdict, slope, intercept)."""
    import pydicom
    from pydicom.pixels import apply_modality_lut

    k = len(info.files) // 2
    ds = pydicom.dcmread(info.files[k])
    slope = float(getattr(ds, "RescaleSlope", 1.0) or 1.0)
    intercept = float(getattr(ds, "RescaleIntercept", 0.0) or 0.0)
    stored = np.asarray(ds.pixel_array)
    rescaled = np.asarray(apply_modality_lut(stored, ds), dtype=np.float64)
    itk_slice = np.asarray(volume[:, :, k], dtype=np.float64).T  # MONAI (x, y) -> DICOM (row, column)
    if itk_slice.shape != rescaled.shape:
        return "unverified", slope, intercept
    if np.allclose(itk_slice, rescaled, atol=1e-3):
        return "rescaled", slope, intercept
    if np.allclose(itk_slice, stored.astype(np.float64), atol=1e-3):
        return "stored", slope, intercept
    return "unverified", slope, intercept


def load_dicom_series(folder: str | Path, series_uid: str | None = None, *, verify_hu: bool = True) -> Any:
    """Read one DICOM series with MONAI ``LoadImage(reader=ITKReader(...))``.

    Args:
        folder: the folder that directly holds the series's files.
        series_uid: which SeriesInstanceUID to read when the folder holds several. Defaults to None (the folder
            must then hold exactly one series).
        verify_hu: decode the middle slice with pydicom too, and make sure the returned values are the
            rescaled (modality LUT) values, i.e. Hounsfield units for CT. Defaults to True.

    Returns:
        A ``monai.data.MetaTensor`` of shape ``(X, Y, Z)``, float32, with a RAS ``affine`` whose slice axis follows
        ImagePositionPatient. Its ``meta`` also holds ``series_instance_uid``, ``series_files`` (count),
        ``slice_step_mm``, ``transfer_syntax`` and ``modality``.

    Raises:
        DicomSeriesError: no DICOM files, several series and no ``series_uid``, a single slice, or a series that
            :func:`check_series` refuses (slices without pixels, mixed orientations, gaps, duplicates).
    """
    import torch
    from monai.data import ITKReader
    from monai.transforms import LoadImage

    folder = Path(folder)
    info = _select_series(folder, series_uid)
    step = _check_slices(folder, info)
    name = _itk_series_name(folder, info.files) if len(find_dicom_series(folder)) > 1 else ""
    loader = LoadImage(reader=ITKReader(series_name=name, affine_lps_to_ras=True), image_only=True, dtype=np.float32)
    image = loader(str(folder))
    affine = image.affine.clone().to(torch.float64)
    if step is not None:
        column = affine[:3, 2]
        length = float(torch.linalg.norm(column))
        if abs(length - step) > _STEP_TOLERANCE_MM:
            logger.warning(
                "ITK slice spacing %.4f mm differs from the ImagePositionPatient step %.4f mm in %s; using the step.",
                length,
                step,
                folder,
            )
            affine[:3, 2] = column / length * step
            image.affine = affine
    if verify_hu:
        try:
            verdict, slope, intercept = _modality_lut_check(image.numpy(), info)
        except Exception as exc:  # noqa: BLE001 - pydicom may lack a decoder; ITK's result is then trusted
            verdict, slope, intercept = f"unverified ({type(exc).__name__}: {exc})", 1.0, 0.0
        if verdict == "stored" and (slope, intercept) != (1.0, 0.0):
            logger.warning("ITK returned stored values for %s; applying slope %g and intercept %g.", folder, slope, intercept)
            image = image * slope + intercept
        elif verdict.startswith("unverified"):
            logger.warning("Could not verify the rescale (HU) of %s against pydicom: %s.", folder, verdict)
    image.meta["series_instance_uid"] = info.uid
    image.meta["series_files"] = len(info.files)
    image.meta["slice_step_mm"] = step
    image.meta["transfer_syntax"] = info.transfer_syntax
    image.meta["modality"] = info.modality
    logger.info("Read DICOM series %s from %s.", info.describe(), folder)
    return image
