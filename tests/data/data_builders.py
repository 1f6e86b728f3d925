# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Helpers for tests/data: tiny synthetic datasets in every supported layout, tree digests, and the real-data finder.

Everything is written into a caller-given folder (pytest's ``tmp_path``); nothing here touches the project tree.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

__all__ = [
    "REPO_ROOT",
    "real_data_dir",
    "tree_digest",
    "make_mask",
    "make_picture",
    "make_2d_set",
    "save_nifti",
    "make_msd_set",
    "write_dicom_series",
]

REPO_ROOT = Path(__file__).resolve().parents[2]


def real_data_dir() -> Path | None:
    """The shared real datasets: ``$MONAI_LITE_DATA`` if set, else ``<repo>/../shared/data``; None if absent."""
    env = os.environ.get("MONAI_LITE_DATA")
    candidate = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return candidate if (candidate / "kvasir-seg").is_dir() else None


def tree_digest(root: Path) -> dict[str, tuple[str, int]]:
    """``{relative path: (sha256, mtime_ns)}`` of every file and folder under ``root``; equal before/after = untouched."""
    digest: dict[str, tuple[str, int]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_dir():
            digest[rel + "/"] = ("dir", path.stat().st_mtime_ns)
        else:
            digest[rel] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    return digest


def make_mask(height: int, width: int, value: int = 255, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """A uint8 mask with a foreground rectangle (rows r0:r1, cols c0:c1)."""
    mask = np.zeros((height, width), dtype=np.uint8)
    r0, r1, c0, c1 = box or (height // 4, height // 2 + 1, width // 4, width // 2 + 2)
    mask[r0:r1, c0:c1] = value
    return mask


def make_picture(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """A random uint8 picture, ``(H, W)`` for one channel or ``(H, W, C)``."""
    rng = np.random.default_rng(seed)
    shape = (height, width) if channels == 1 else (height, width, channels)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def make_2d_set(
    root: Path,
    stems: tuple[str, ...] = ("case_a", "case.b.day0", "case_c", "case_d", "case_e"),
    size: tuple[int, int] = (20, 28),
    image_ext: str = ".png",
    mask_value: int = 255,
) -> tuple[Path, Path]:
    """``root/images/<stem><image_ext>`` RGB pictures and ``root/masks/<stem>.png`` L masks; returns both folders."""
    from PIL import Image

    images, masks = root / "images", root / "masks"
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    for index, stem in enumerate(stems):
        Image.fromarray(make_picture(*size, seed=index), mode="RGB").save(images / f"{stem}{image_ext}")
        Image.fromarray(make_mask(*size, value=mask_value), mode="L").save(masks / f"{stem}.png")
    return images, masks


def save_nifti(path: Path, array: np.ndarray, affine: np.ndarray | None = None) -> Path:
    """Write ``array`` as NIfTI with ``affine`` (default: 1.5 mm spacing, shifted origin)."""
    import nibabel as nib

    if affine is None:
        affine = np.diag([1.5, 1.5, 2.0, 1.0])
        affine[:3, 3] = (-10.0, 5.0, 30.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(array, affine), str(path))
    return path


def make_msd_set(root: Path, n: int = 5, n_test: int = 1, shape: tuple[int, int, int] = (8, 9, 7)) -> Path:
    """An MSD root: ``imagesTr``/``labelsTr`` float images and {0, 1, 2} labels, plus ``imagesTs``."""
    rng = np.random.default_rng(1)
    for index in range(n):
        name = f"vol_{index:03d}.nii.gz"
        save_nifti(root / "imagesTr" / name, rng.normal(size=shape).astype(np.float32))
        label = np.zeros(shape, dtype=np.uint8)
        label[2:5, 2:6, 1:4] = 1
        label[5:7, 3:6, 2:5] = 2
        save_nifti(root / "labelsTr" / name, label)
    for index in range(n_test):
        save_nifti(root / "imagesTs" / f"test_{index:03d}.nii.gz", rng.normal(size=shape).astype(np.float32))
    return root


def write_dicom_series(
    folder: Path,
    stored: np.ndarray,
    *,
    pixel_spacing: tuple[float, float] = (0.8, 0.7),
    step: float = 2.5,
    thickness: float = 3.0,
    intercept: float = -1024.0,
    slope: float = 1.0,
    origin: tuple[float, float, float] = (-20.0, -10.0, -100.0),
    series_uid: str | None = None,
    positions: list[float] | None = None,
) -> list[Path]:
    """Write ``stored`` (rows, cols, slices; uint16) as an uncompressed CT series with pydicom.

    Slice ``k`` sits at z = origin_z + k * step (or ``positions[k]``). InstanceNumber DEcreases with z (as in the
    TotalSegmentator series), so a reader that sorts by InstanceNumber instead of position gets the order wrong.
    SliceThickness differs from the step on purpose.
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    rows, cols, n = stored.shape
    series_uid = series_uid or generate_uid()
    study_uid, frame_uid = generate_uid(), generate_uid()
    files = []
    for k in range(n):
        sop_uid = generate_uid()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = sop_uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sop_uid
        ds.Modality, ds.PatientName, ds.PatientID = "CT", "Synthetic^Phantom", "0"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, frame_uid
        ds.SeriesDescription = "synthetic"
        ds.SeriesNumber, ds.InstanceNumber = 1, n - k
        ds.Rows, ds.Columns = rows, cols
        ds.PixelSpacing = [pixel_spacing[0], pixel_spacing[1]]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        z = positions[k] if positions is not None else origin[2] + k * step
        ds.ImagePositionPatient = [origin[0], origin[1], z]
        ds.SliceThickness = thickness
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = intercept, slope, "HU"
        ds.PixelData = np.ascontiguousarray(stored[:, :, k].astype(np.uint16)).tobytes()
        path = folder / f"CT.{k:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files
