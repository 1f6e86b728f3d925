# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Load one DICOM series as a 3D volume in Hounsfield units, through MONAI's ``LoadImage`` with ``ITKReader``.

How it works:

* The folder's files are grouped by SeriesInstanceUID from their headers (pydicom, pixel data not read). A folder
  with several series must be given ``series_uid``; the error lists the series found. A single slice is refused
  with a message that says so (a series folder is expected).
* The slice step is computed from ImagePositionPatient projected on the slice normal, never from SliceThickness
  (which differs from the step when slices overlap, as in the TotalSegmentator test CT: 3 mm thick, 2 mm apart).
  Gaps or duplicate positions are refused.
* ITK (GDCM inside) decodes the pixels, including JPEG 2000 lossless, and applies RescaleSlope/RescaleIntercept.
  With ``verify_hu=True`` one slice is also decoded by pydicom and compared: when ITK's values are the stored
  values instead of the rescaled ones, the rescale is applied here; when neither matches, a warning is logged.
* The affine is MONAI's RAS affine; its slice axis is corrected to the ImagePositionPatient step if ITK's differs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DicomSeriesError", "DicomSeries", "is_dicom_file", "find_dicom_series", "load_dicom_series"]

logger = logging.getLogger(__name__)

_STEP_TOLERANCE_MM = 1e-2


class DicomSeriesError(ValueError):
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
    """

    uid: str
    files: list[Path] = field(default_factory=list)
    description: str = ""
    modality: str = ""
    positions: list[float] = field(default_factory=list)
    frames: int = 1
    transfer_syntax: str = ""

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

    Only headers are read. Files without the DICOM preamble are ignored.

    Returns:
        ``{uid: DicomSeries}`` with files sorted along the slice normal, in UID order.
    """
    import pydicom

    groups: dict[str, list[tuple[Path, Any]]] = {}
    for path in sorted(Path(folder).iterdir()):
        if path.name.startswith(".") or not is_dicom_file(path):
            continue
        ds = pydicom.dcmread(path, stop_before_pixels=True)
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
            keyed.append((pos, path))
        keyed.sort(key=lambda item: (item[0], item[1].name))
        syntax = getattr(getattr(first, "file_meta", None), "TransferSyntaxUID", None)
        result[uid] = DicomSeries(
            uid=uid,
            files=[p for _, p in keyed],
            description=str(getattr(first, "SeriesDescription", "") or ""),
            modality=str(getattr(first, "Modality", "") or ""),
            positions=[pos for pos, _ in keyed],
            frames=int(getattr(first, "NumberOfFrames", 1) or 1),
            transfer_syntax=getattr(syntax, "name", str(syntax or "")),
        )
    return result


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
        DicomSeriesError: no DICOM files, several series and no ``series_uid``, a single slice, or uneven slices.
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
