# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The embedded default datasets: small synthetic 2D lesion images and 3D two-part structures, with exact labels.

Bundles train on them when no ``dataset_dir`` is given, so a fresh machine can run the whole training job without
any download.

- ``lesions_2d``: imitates dermoscopy coarsely: a textured skin-tone background with hair-like strokes, and one or
  two darker lesions with irregular, partly blurred borders; RGB PNG images and {0, 255} PNG masks.
- ``volumes_3d``: imitates the MSD hippocampus task coarsely: a noisy MRI-like volume holding a bright curved
  structure in two labelled parts (1 = anterior, 2 = posterior); NIfTI images and uint8 label maps, 1 mm, RAS.
- ``ct_organs_3d``: imitates an axial slab of abdominal CT coarsely: Hounsfield units (air, fat, soft tissue,
  contrast-filled vessels, bone) with ellipsoid organs labelled with TotalSegmentator's values (1 spleen, 5 liver,
  6 stomach, 7 pancreas, 52 aorta, 63 inferior vena cava, 64 portal/splenic vein) and a vertebra (32) that CT
  bundles selecting organs drop; NIfTI int16 images and uint8 label maps, 2 mm, RAS.

Each is written as ordinary files plus a decathlon-style datalist, so training reads them through exactly the same
loading code as real data. Generation is deterministic: the same arguments give byte-identical files everywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = [
    "SYNTHETIC_VERSION",
    "SYNTHETIC_DATASETS",
    "default_cache_dir",
    "make_lesion_case",
    "make_volume_case",
    "ensure_synthetic_lesions",
    "ensure_synthetic_volumes",
    "TOTALSEG_ORGANS",
    "make_ct_case",
    "ensure_synthetic_ct",
    "ensure_synthetic",
]

#: Bump when the generator changes, so cached copies of an older version are not reused.
SYNTHETIC_VERSION = 1


def default_cache_dir() -> Path:
    """Where generated datasets are kept: ``$MONAI_LITE_CACHE`` if set, else ``~/.cache/monai-lite``."""
    root = os.environ.get("MONAI_LITE_CACHE") or Path.home() / ".cache" / "monai-lite"
    return Path(root)


def _irregular_lesion(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, size: int) -> np.ndarray:
    """Signed distance-like field of a lumpy ellipse; ``> 0`` inside the lesion."""
    cy, cx = rng.uniform(0.25, 0.75, size=2) * size
    ry, rx = rng.uniform(0.08, 0.25, size=2) * size
    angle = rng.uniform(0, np.pi)
    dy, dx = yy - cy, xx - cx
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    theta = np.arctan2(v, u)
    # A few low-frequency harmonics make the border irregular, as real lesion borders are.
    wobble = np.ones_like(theta)
    for k in (2, 3, 5):
        wobble += rng.uniform(0.0, 0.12) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    radius = np.sqrt((u / rx) ** 2 + (v / ry) ** 2)
    return wobble - radius


def make_lesion_case(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw one case.

    Args:
        rng: the random generator to draw from (the caller seeds it).
        size: height and width in pixels.

    Returns:
        ``(image, mask)``: ``image`` is ``uint8`` of shape ``(size, size, 3)``; ``mask`` is ``uint8`` of shape
        ``(size, size)`` with values in ``{0, 255}`` and at least one foreground pixel.
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    skin = np.array([rng.uniform(190, 235), rng.uniform(140, 185), rng.uniform(120, 165)], dtype=np.float32)
    # Smooth illumination gradient plus pixel noise, as dermoscopy has vignetting and sensor noise.
    shade = 1.0 - 0.25 * (((yy - size / 2) ** 2 + (xx - size / 2) ** 2) / (size / 2) ** 2)
    image = skin[None, None, :] * shade[..., None] + rng.normal(0, 6, size=(size, size, 3))

    mask = np.zeros((size, size), dtype=bool)
    for _ in range(int(rng.integers(1, 3))):
        field = _irregular_lesion(rng, yy, xx, size)
        inside = field > 0
        mask |= inside
        # Brown to near-black pigment: one darkness draw, fixed hue ratios.
        pigment = rng.uniform(45, 130) * np.array([1.0, rng.uniform(0.55, 0.75), rng.uniform(0.4, 0.6)], np.float32)
        # Blend over a soft border so the boundary is not a trivial step edge.
        alpha = np.clip(field / 0.15 + 0.5, 0.0, 1.0)[..., None] * rng.uniform(0.75, 1.0)
        image = image * (1 - alpha) + pigment[None, None, :] * alpha

    # Hair-like dark strokes cross lesion and skin alike; they are not part of the mask.
    for _ in range(int(rng.integers(0, 4))):
        y0, x0, y1, x1 = rng.uniform(0, size, size=4)
        t = np.linspace(0, 1, 4 * size)
        py = np.clip((y0 + (y1 - y0) * t).astype(int), 0, size - 1)
        px = np.clip((x0 + (x1 - x0) * t).astype(int), 0, size - 1)
        image[py, px] *= 0.45

    image = np.clip(image, 0, 255).astype(np.uint8)
    if not mask.any():  # a lesion centred near the frame always covers pixels, but keep the contract explicit
        mask[size // 2, size // 2] = True
    return image, (mask.astype(np.uint8) * 255)


def _write_lesions(root: Path, num_cases: int, size: int, seed: int, folds: int) -> None:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(seed)
    training = []
    for index in range(num_cases):
        image, mask = make_lesion_case(rng, size)
        stem = f"lesion_{index:04d}"
        Image.fromarray(image, mode="RGB").save(root / "images" / f"{stem}.png")
        Image.fromarray(mask, mode="L").save(root / "masks" / f"{stem}.png")
        training.append({"image": f"images/{stem}.png", "label": f"masks/{stem}.png", "fold": index % folds})
    datalist = {
        "name": "monai-lite synthetic lesions",
        "description": f"Synthetic 2D skin-lesion-like images, generator v{SYNTHETIC_VERSION}, seed {seed}.",
        "channel_names": {"0": "R", "1": "G", "2": "B"},
        "labels": {"background": 0, "lesion": 1},
        "label_remap": ">0",
        "file_ending": ".png",
        "numTraining": num_cases,
        "training": training,
    }
    (root / "datalist.json").write_text(json.dumps(datalist, indent=2) + "\n")


def _ensure(target: Path, write) -> Path:
    """Run ``write(folder)`` into a staging folder and rename it to ``target`` unless ``target`` is complete.

    Writing into a temporary sibling and renaming means an interrupted run never leaves a half-written dataset
    behind, and concurrent runs are safe (the loser of the rename race keeps the winner's identical copy).
    """
    if (target / "datalist.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".synthetic-", dir=target.parent))
    try:
        write(staging / "data")
        try:
            os.replace(staging / "data", target)
        except OSError:
            if not (target / "datalist.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _check_sizes(num_cases: int, folds: int, **sizes: int) -> None:
    small = {k: v for k, v in sizes.items() if v < 16}
    if num_cases < 2 or small or folds < 1 or folds > num_cases:
        raise ValueError(
            f"synthetic datasets need num_cases >= 2, sizes >= 16 and 1 <= folds <= num_cases; "
            f"got num_cases={num_cases}, folds={folds}, {', '.join(f'{k}={v}' for k, v in sizes.items())}."
        )


def ensure_synthetic_lesions(
    num_cases: int = 64, size: int = 128, seed: int = 0, folds: int = 5, cache_dir: str | Path | None = None
) -> Path:
    """Generate the synthetic lesion dataset once and return its folder (which holds ``datalist.json``).

    The folder name encodes every argument, so different settings never collide; see :func:`_ensure` for why
    an interrupted or concurrent run is safe.

    Args:
        num_cases: number of image/mask pairs. Defaults to 64.
        size: height and width in pixels. Defaults to 128.
        seed: seed of the generator. Defaults to 0.
        folds: cases are assigned round-robin to this many folds (``fold`` key of the datalist). Defaults to 5.
        cache_dir: parent folder; ``None`` means :func:`default_cache_dir`. Defaults to None.

    Raises:
        ValueError: if an argument is out of range.
    """
    _check_sizes(num_cases, folds, size=size)
    parent = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = parent / f"synthetic-lesions-v{SYNTHETIC_VERSION}-n{num_cases}-s{size}-seed{seed}-f{folds}"
    return _ensure(target, lambda folder: _write_lesions(folder, num_cases, size, seed, folds))


def make_volume_case(rng: np.random.Generator, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Draw one 3D case: a bright curved tube split into an anterior (1) and a posterior (2) part.

    Args:
        rng: the random generator to draw from (the caller seeds it).
        shape: volume shape ``(X, Y, Z)``.

    Returns:
        ``(image, label)``: ``float32`` intensities (arbitrary scanner-like units, as MRI has) and ``uint8`` labels
        in {0, 1, 2}, both of ``shape``; both labels are always present.
    """
    grid = np.stack(np.meshgrid(*[np.arange(n, dtype=np.float32) for n in shape], indexing="ij"))
    centre = np.array(shape, np.float32) / 2 + rng.uniform(-2, 2, size=3)
    # A tube along Y that bends in X, like the hippocampus along its long axis.
    y = (grid[1] - centre[1]) / (shape[1] * 0.35)
    bend = rng.uniform(-0.25, 0.25) * shape[0] * y**2
    radius = rng.uniform(0.12, 0.18) * min(shape[0], shape[2])
    distance = np.sqrt((grid[0] - centre[0] - bend) ** 2 + (grid[2] - centre[2]) ** 2)
    inside = (distance < radius * (1 - 0.35 * y**2)) & (np.abs(y) < 1)
    split = rng.uniform(-0.2, 0.2)
    label = np.where(inside, np.where(y < split, 1, 2), 0).astype(np.uint8)
    scale = rng.uniform(300, 2000)  # scanners differ in units, as the real task's intensities do
    image = scale * (0.35 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
    image += scale * 0.4 * inside * np.where(label == 1, 1.0, 0.8)
    return image.astype(np.float32), label


def _write_volumes(root: Path, num_cases: int, shape: tuple[int, int, int], seed: int, folds: int) -> None:
    import nibabel as nib

    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    rng = np.random.default_rng(seed)
    training = []
    affine = np.eye(4)  # 1 mm isotropic, RAS
    for index in range(num_cases):
        image, label = make_volume_case(rng, shape)
        name = f"volume_{index:03d}.nii.gz"
        nib.save(nib.Nifti1Image(image, affine), root / "imagesTr" / name)
        nib.save(nib.Nifti1Image(label, affine), root / "labelsTr" / name)
        training.append({"image": f"imagesTr/{name}", "label": f"labelsTr/{name}", "fold": index % folds})
    datalist = {
        "name": "monai-lite synthetic volumes",
        "description": f"Synthetic 3D two-part structures, generator v{SYNTHETIC_VERSION}, seed {seed}.",
        "channel_names": {"0": "MRI"},
        "labels": {"background": 0, "anterior": 1, "posterior": 2},
        "label_remap": None,
        "file_ending": ".nii.gz",
        "numTraining": num_cases,
        "training": training,
    }
    (root / "datalist.json").write_text(json.dumps(datalist, indent=2) + "\n")


def _ensure_volumes(kind: str, write: Callable, num_cases: int, shape: Sequence[int], seed: int, folds: int,
                    cache_dir: str | Path | None) -> Path:
    """The cached folder of a 3D synthetic dataset (``synthetic-KIND-v...``), written by ``write`` when missing."""
    _check_sizes(num_cases, folds, **{f"shape[{i}]": n for i, n in enumerate(shape)})
    parent = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    dims = "x".join(str(n) for n in shape)
    target = parent / f"synthetic-{kind}-v{SYNTHETIC_VERSION}-n{num_cases}-s{dims}-seed{seed}-f{folds}"
    return _ensure(target, lambda folder: write(folder, num_cases, tuple(shape), seed, folds))


def ensure_synthetic_volumes(
    num_cases: int = 24, shape: tuple[int, int, int] = (36, 48, 32), seed: int = 0, folds: int = 4,
    cache_dir: str | Path | None = None,
) -> Path:
    """Generate the synthetic 3D dataset once (MSD layout ``imagesTr``/``labelsTr``) and return its folder.

    Args:
        num_cases: number of volume/label pairs. Defaults to 24.
        shape: volume shape. Defaults to (36, 48, 32), about the size of an MSD hippocampus crop.
        seed: seed of the generator. Defaults to 0.
        folds: cases are assigned round-robin to this many folds. Defaults to 4.
        cache_dir: parent folder; ``None`` means :func:`default_cache_dir`. Defaults to None.

    Raises:
        ValueError: if an argument is out of range.
    """
    return _ensure_volumes("volumes", _write_volumes, num_cases, shape, seed, folds, cache_dir)


#: The TotalSegmentator ("total" task) values that :func:`make_ct_case` draws, by name.
TOTALSEG_ORGANS = {
    "spleen": 1, "liver": 5, "stomach": 6, "pancreas": 7, "aorta": 52, "inferior_vena_cava": 63,
    "portal_vein_and_splenic_vein": 64, "vertebrae_T12": 32,
}


def _ellipsoid(grid: np.ndarray, centre: np.ndarray, radii: np.ndarray) -> np.ndarray:
    return (((grid - centre[:, None, None, None]) / radii[:, None, None, None]) ** 2).sum(0) <= 1.0


def make_ct_case(rng: np.random.Generator, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Draw one axial slab of abdominal CT-like data in Hounsfield units, labelled as TotalSegmentator labels it.

    RAS voxel axes: x runs to the patient's left, y to the front, z upwards; so the liver sits at low x, the
    spleen at high x and back, the spine at the back. Positions and sizes are jittered per case; every structure
    of :data:`TOTALSEG_ORGANS` is present in every case.

    Args:
        rng: the random generator to draw from (the caller seeds it).
        shape: volume shape ``(X, Y, Z)``; each axis at least 16.

    Returns:
        ``(image, label)``: ``int16`` HU values and ``uint8`` TotalSegmentator label values, both of ``shape``.
    """
    grid = np.stack(np.meshgrid(*[np.arange(n, dtype=np.float32) for n in shape], indexing="ij"))
    size = np.array(shape, np.float32)

    def rel(*fractions: float) -> np.ndarray:
        """Fractions of the volume, in voxels."""
        return np.array(fractions, np.float32) * size

    def jitter() -> np.ndarray:
        return rng.uniform(-0.03, 0.03, size=3).astype(np.float32) * size

    image = np.full(shape, -1000.0, np.float32)  # air
    body = _ellipsoid(grid, rel(0.5, 0.5, 0.5) + jitter(), rel(0.47, 0.40, 10.0))
    image[body] = -90.0  # subcutaneous and visceral fat
    image[_ellipsoid(grid, rel(0.5, 0.5, 0.5), rel(0.42, 0.34, 10.0)) & body] = 35.0  # muscle and soft tissue
    label = np.zeros(shape, np.uint8)
    organs = [  # (name, centre, radii as fractions of the volume, HU); later ones are drawn over earlier ones
        ("liver", (0.30, 0.52, 0.5), (0.20, 0.24, 0.9), 60.0),
        ("spleen", (0.76, 0.36, 0.5), (0.09, 0.12, 0.6), 48.0),
        ("stomach", (0.64, 0.66, 0.5), (0.13, 0.10, 0.7), 15.0),
        ("pancreas", (0.55, 0.50, 0.5), (0.12, 0.035, 0.25), 42.0),
        ("vertebrae_T12", (0.50, 0.24, 0.5), (0.08, 0.08, 1.2), 450.0),
        ("aorta", (0.53, 0.37, 0.5), (0.035, 0.035, 1.2), 170.0),
        ("inferior_vena_cava", (0.43, 0.40, 0.5), (0.04, 0.03, 1.2), 120.0),
        ("portal_vein_and_splenic_vein", (0.46, 0.48, 0.5), (0.05, 0.025, 0.3), 140.0),
    ]
    for name, centre, radii, hu in organs:
        scale = rng.uniform(0.85, 1.15, size=3).astype(np.float32)
        inside = _ellipsoid(grid, rel(*centre) + jitter(), rel(*radii) * scale) & body
        label[inside] = TOTALSEG_ORGANS[name]
        image[inside] = hu + rng.uniform(-8, 8)
    gas = _ellipsoid(grid, rel(0.66, 0.72, 0.5), rel(0.05, 0.03, 0.5)) & (label == TOTALSEG_ORGANS["stomach"])
    image[gas] = -950.0  # a gas bubble inside the stomach, which stays labelled stomach
    image += rng.normal(0.0, 12.0, size=shape)  # quantum noise of a CT image
    return np.clip(image, -1024, 3071).astype(np.int16), label


def _write_ct(root: Path, num_cases: int, shape: tuple[int, int, int], seed: int, folds: int) -> None:
    import nibabel as nib

    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    rng = np.random.default_rng(seed)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])  # 2 mm isotropic, RAS
    training = []
    for index in range(num_cases):
        image, label = make_ct_case(rng, shape)
        name = f"ct_{index:03d}.nii.gz"
        nib.save(nib.Nifti1Image(image, affine), root / "imagesTr" / name)
        nib.save(nib.Nifti1Image(label, affine), root / "labelsTr" / name)
        training.append({"image": f"imagesTr/{name}", "label": f"labelsTr/{name}", "fold": index % folds})
    datalist = {
        "name": "monai-lite synthetic CT",
        "description": f"Synthetic abdominal CT-like slabs in HU with TotalSegmentator label values, generator v{SYNTHETIC_VERSION}, seed {seed}.",
        "channel_names": {"0": "CT"},
        "labels": {"background": 0, **TOTALSEG_ORGANS},
        "label_remap": None,
        "file_ending": ".nii.gz",
        "numTraining": num_cases,
        "training": training,
    }
    (root / "datalist.json").write_text(json.dumps(datalist, indent=2) + "\n")


def ensure_synthetic_ct(
    num_cases: int = 8, shape: tuple[int, int, int] = (48, 48, 20), seed: int = 0, folds: int = 4,
    cache_dir: str | Path | None = None,
) -> Path:
    """Generate the synthetic CT dataset once (MSD layout ``imagesTr``/``labelsTr``) and return its folder.

    Args:
        num_cases: number of volume/label pairs. Defaults to 8.
        shape: volume shape. Defaults to (48, 48, 20): 96 x 96 x 40 mm at 2 mm, small enough to train on a CPU in
            seconds, and as thin as the shared 20-slice DICOM series.
        seed: seed of the generator. Defaults to 0.
        folds: cases are assigned round-robin to this many folds. Defaults to 4.
        cache_dir: parent folder; ``None`` means :func:`default_cache_dir`. Defaults to None.

    Raises:
        ValueError: if an argument is out of range.
    """
    return _ensure_volumes("ct", _write_ct, num_cases, shape, seed, folds, cache_dir)


#: name -> generator with default arguments; bundles name theirs in the ``synthetic_default`` id.
SYNTHETIC_DATASETS = {
    "lesions_2d": ensure_synthetic_lesions,
    "volumes_3d": ensure_synthetic_volumes,
    "ct_organs_3d": ensure_synthetic_ct,
}


def ensure_synthetic(name: str) -> Path:
    """Generate (once) the default synthetic dataset ``name`` and return its folder.

    Raises:
        ValueError: for an unknown name; the message lists the valid ones.
    """
    if name not in SYNTHETIC_DATASETS:
        raise ValueError(f"unknown synthetic dataset {name!r}; valid: {', '.join(sorted(SYNTHETIC_DATASETS))}.")
    return SYNTHETIC_DATASETS[name]()
