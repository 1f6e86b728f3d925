# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Write predicted label maps: NIfTI, PNG masks, colour overlays and DICOM SEG, each file atomically.

* NIfTI (MONAI ``NibabelWriter``, no resampling): the label map in the array layout of the input, with the input's
  affine, so the saved affine equals the input's (spacing, orientation and origin included).
* PNG masks (:class:`monai_lite.transforms.writers.RowMajorPILWriter`): ``(H, W)`` exactly as the picture was read,
  never transposed; 0/255 for a binary head, the label values for a multi-class head.
* Overlays: the input picture as RGB with each label alpha-blended in its colour and its contour drawn opaque, for
  viewers without segmentation support.
* DICOM SEG (highdicom, the optional ``dicom-seg`` extra): one frame per source slice, one segment per label,
  referencing the source series; the label names come from the bundle metadata.

Every writer goes through :func:`monai_lite.engine.atomic_path`: the file appears complete or not at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monai_lite.engine.atomic import atomic_path, atomic_write_json

__all__ = [
    "write_json",
    "write_nifti",
    "write_png_mask",
    "write_overlay",
    "write_dicom_seg",
    "dicom_seg_frames",
    "has_highdicom",
    "label_colours",
]

# Distinct colours for labels 1, 2, ... (repeated beyond their number).
_PALETTE = np.array(
    [[255, 48, 48], [48, 200, 48], [64, 128, 255], [255, 200, 0], [220, 64, 220], [0, 210, 210], [255, 128, 0],
     [160, 96, 255]],
    dtype=np.uint8,
)

# Patient/study attributes a SEG copies from its source, which must exist there (DICOM type 2: present, may be
# empty) but that some exporters leave out.
_TYPE2_PATIENT_STUDY = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime", "ReferringPhysicianName",
    "StudyID", "AccessionNumber",
)


def write_json(data: Any, path: str | os.PathLike) -> Path:
    """Write ``data`` as indented JSON, atomically.

    Args:
        data: JSON-serialisable data (numpy scalars and paths become plain values, NaN becomes null; see
            :func:`monai_lite.engine.atomic.json_ready`).
        path: the target file.

    Returns:
        The target path.
    """
    return atomic_write_json(path, data)


def write_nifti(labels: np.ndarray, affine: np.ndarray, path: str | os.PathLike) -> Path:
    """Save a label map as NIfTI with exactly the given affine (no resampling, no reorientation).

    Args:
        labels: ``(X, Y, Z)`` integer label map in the input's array layout.
        affine: the input's 4x4 voxel-to-world matrix (RAS, MONAI's convention).
        path: the target, e.g. ``out/case_seg.nii.gz``.

    Returns:
        The target path.
    """
    from monai.data import NibabelWriter

    affine = np.asarray(affine, dtype=np.float64)
    writer = NibabelWriter(output_dtype=labels.dtype)
    writer.set_data_array(labels, channel_dim=None)
    writer.set_metadata({"affine": affine, "original_affine": affine}, resample=False)
    with atomic_path(path) as tmp:
        writer.write(str(tmp), verbose=False)
    return Path(path)


def write_png_mask(labels: np.ndarray, path: str | os.PathLike, binary: bool) -> Path:
    """Save an ``(H, W)`` label map as an 8-bit PNG in the layout it came in (no transpose).

    Args:
        labels: ``(H, W)`` uint8 label map, rows first as the picture was read.
        path: the target ``.png``.
        binary: scale the {0, 1} mask to {0, 255}; False keeps label values.

    Returns:
        The target path.
    """
    from monai_lite.transforms.writers import RowMajorPILWriter

    values = labels.astype(np.uint8) * (255 if binary else 1)
    writer = RowMajorPILWriter(output_dtype=np.uint8, scale=None)  # values are final: no [0, 1] clip and rescale
    writer.set_data_array(values, channel_dim=None)
    with atomic_path(path) as tmp:
        writer.write(str(tmp))
    return Path(path)


#: zlib level of the overlay PNGs. Pillow's default (6) made writing an overlay cost as much CPU as MedLiteNet's
#: forward pass on a 256 x 256 Kvasir-SEG picture; level 1 is 3.1x faster for 7 % larger files (20 pictures, one
#: core of an AMD EPYC VM: 27.5 -> 8.9 ms of CPU, 93 -> 100 KiB). Overlays are for looking at, not for archiving.
OVERLAY_PNG_LEVEL = 1


def label_colours(count: int) -> np.ndarray:
    """RGB colours (uint8) of labels 1..``count``."""
    return _PALETTE[np.arange(count) % len(_PALETTE)]


def _as_rgb8(picture: np.ndarray) -> np.ndarray:
    """An ``(H, W)`` or ``(H, W, C)`` picture of any integer or float range as ``(H, W, 3)`` uint8."""
    image = picture[..., :3] if picture.ndim == 3 else picture[..., None]
    if image.dtype != np.uint8:
        image = image.astype(np.float32)
        low, high = float(image.min()), float(image.max())
        if low >= 0 and high <= 255 and np.array_equal(image, np.round(image)):
            image = image.astype(np.uint8)  # 8-bit values loaded as float: keep them exactly
        else:  # 16-bit or float pictures: stretch their range to 8 bits for display
            image = ((image - low) / (high - low) * 255.0 if high > low else np.zeros_like(image)).round().astype(np.uint8)
    return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else np.ascontiguousarray(image)


def write_overlay(picture: np.ndarray, labels: np.ndarray, path: str | os.PathLike, alpha: float = 0.4) -> Path:
    """Save the picture as RGB PNG with each label blended in (``alpha``) and its contour drawn opaque.

    Args:
        picture: the input picture, ``(H, W)`` or ``(H, W, C)`` as read (any value range; scaled to 8 bits).
        labels: ``(H, W)`` label map (0 = background).
        path: the target ``.png``.
        alpha: opacity of the label colour inside the region. Defaults to 0.4.

    Returns:
        The target path.

    Raises:
        ValueError: if the picture and the labels differ in height or width.
    """
    from PIL import Image
    from scipy.ndimage import binary_erosion

    if tuple(picture.shape[:2]) != tuple(labels.shape):
        raise ValueError(f"overlay {path}: picture is {picture.shape[:2]} but the mask is {labels.shape}.")
    rgb = _as_rgb8(picture).astype(np.float32)
    values = [int(v) for v in np.unique(labels) if v]
    colours = label_colours(max(values, default=0))
    for value in values:
        region = labels == value
        colour = colours[value - 1].astype(np.float32)
        rgb[region] = (1.0 - alpha) * rgb[region] + alpha * colour
        rgb[region & ~binary_erosion(region, border_value=0)] = colour
    with atomic_path(path) as tmp:
        Image.fromarray(rgb.round().astype(np.uint8), mode="RGB").save(tmp, format="PNG",
                                                                       compress_level=OVERLAY_PNG_LEVEL)
    return Path(path)


def has_highdicom() -> bool:
    """True when highdicom (the ``dicom-seg`` extra) can be imported."""
    try:
        import highdicom  # noqa: F401
    except ImportError:
        return False
    return True


def dicom_seg_frames(labels: np.ndarray, affine: np.ndarray, datasets: Sequence[Any]) -> np.ndarray:
    """The label map as one ``(rows, columns)`` frame per source slice, in the order of ``datasets``.

    Each slice's ImagePositionPatient is mapped through the inverse affine to its voxel (LPS to RAS first), which
    must be ``(0, 0, k)``: this finds the slice index ``k`` from geometry rather than from file order.

    Args:
        labels: ``(X, Y, Z)`` label map as the series was read (MONAI/ITK layout: X along columns, Y along rows).
        affine: its RAS affine.
        datasets: the source slices (pydicom datasets, headers are enough).

    Returns:
        ``(len(datasets), rows, columns)`` uint8.

    Raises:
        ValueError: if a slice does not fall on the grid of ``labels``.
    """
    inverse = np.linalg.inv(np.asarray(affine, dtype=np.float64))
    frames = []
    for ds in datasets:
        x, y, z = (float(v) for v in ds.ImagePositionPatient)
        i, j, k = (inverse @ np.array([-x, -y, z, 1.0]))[:3]
        index = int(round(k))
        if abs(i) > 1e-2 or abs(j) > 1e-2 or abs(k - index) > 1e-2 or not 0 <= index < labels.shape[2]:
            raise ValueError(
                f"DICOM slice {getattr(ds, 'filename', '?')} does not lie on the grid of the predicted volume "
                f"(voxel {i:.3f}, {j:.3f}, {k:.3f})."
            )
        frames.append(labels[:, :, index].T)
    return np.ascontiguousarray(np.stack(frames)).astype(np.uint8)


def write_dicom_seg(
    labels: np.ndarray,
    affine: np.ndarray,
    series_files: Sequence[str | os.PathLike],
    path: str | os.PathLike,
    label_names: Mapping[int, str],
    model_name: str = "monai-lite",
) -> Path:
    """Save a label map of a DICOM series as a DICOM SEG that references that series.

    Args:
        labels: ``(X, Y, Z)`` label map in the layout the series was read in.
        affine: the RAS affine of that reading.
        series_files: the source slice files.
        path: the target, e.g. ``out/case_seg.dcm``.
        label_names: ``{label value: name}``; every value in ``labels`` other than 0 must have one.
        model_name: the algorithm name recorded in the SEG. Defaults to "monai-lite".

    Returns:
        The target path.

    Raises:
        ImportError: when highdicom is not installed (with the install command).
        ValueError: when the source series lacks the UIDs a SEG must reference, or a label has no name.
    """
    if not has_highdicom():
        raise ImportError("DICOM SEG output needs highdicom: pip install -e '.[dicom-seg]' (or pip install highdicom).")
    import highdicom as hd
    import pydicom
    from pydicom.sr.codedict import codes

    from monai_lite import __version__

    datasets = [pydicom.dcmread(f, stop_before_pixels=True) for f in series_files]
    for ds in datasets:  # in-memory header copies only: the source files are never changed
        for keyword in _TYPE2_PATIENT_STUDY:
            if keyword not in ds:
                setattr(ds, keyword, "")
    blank = sorted(
        {k for ds in datasets for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID") if not ds.get(k)}
    )
    if blank:
        raise ValueError(
            f"DICOM SEG for {Path(series_files[0]).parent} not written: the source series has blank {', '.join(blank)}, "
            "which a SEG must reference."
        )
    present = sorted(int(v) for v in np.unique(labels) if v)
    unnamed = [v for v in present if v not in label_names]
    if unnamed:
        raise ValueError(f"DICOM SEG {path}: labels {unnamed} have no name among {dict(label_names)}.")
    algorithm = hd.AlgorithmIdentificationSequence(name=model_name, family=codes.DCM.ArtificialIntelligence,
                                                   version=__version__)
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=str(label_names[number])[:64],
            segmented_property_category=codes.SCT.AnatomicalStructure,
            segmented_property_type=codes.SCT.Tissue,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
        )
        for number in sorted(label_names)
    ]
    seg = hd.seg.Segmentation(
        source_images=datasets,
        pixel_array=dicom_seg_frames(labels, affine, datasets),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=9901,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="monai-lite",
        manufacturer_model_name=model_name[:64],
        software_versions=__version__,
        device_serial_number="0",
        omit_empty_frames=False,
    )
    with atomic_path(path) as tmp:
        seg.save_as(tmp)
    return Path(path)

