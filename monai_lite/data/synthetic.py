# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The embedded default dataset: small synthetic 2D "skin lesion" images with exact masks.

Bundles train on it when no ``dataset_dir`` is given, so a fresh machine can run the whole training job without
any download. The images imitate dermoscopy coarsely: a textured skin-tone background with hair-like strokes, and
one or two darker lesions with irregular, partly blurred borders. The cases are written as ordinary RGB PNG
images and {0, 255} PNG masks plus a decathlon-style datalist, so training reads them through exactly the same
loading code as real data.

Generation is deterministic: the same ``(num_cases, size, seed)`` gives byte-identical files on every machine.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["SYNTHETIC_VERSION", "default_cache_dir", "make_lesion_case", "ensure_synthetic_lesions"]

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


def _write_dataset(root: Path, num_cases: int, size: int, seed: int, folds: int) -> None:
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


def ensure_synthetic_lesions(
    num_cases: int = 64, size: int = 128, seed: int = 0, folds: int = 5, cache_dir: str | Path | None = None
) -> Path:
    """Generate the synthetic lesion dataset once and return its folder (which holds ``datalist.json``).

    The folder name encodes every argument, so different settings never collide. Generation writes into a
    temporary sibling folder and renames it into place, so an interrupted run never leaves a half-written dataset
    behind, and concurrent runs are safe.

    Args:
        num_cases: number of image/mask pairs. Defaults to 64.
        size: height and width in pixels. Defaults to 128.
        seed: seed of the generator. Defaults to 0.
        folds: cases are assigned round-robin to this many folds (``fold`` key of the datalist). Defaults to 5.
        cache_dir: parent folder; ``None`` means :func:`default_cache_dir`. Defaults to None.

    Raises:
        ValueError: if an argument is out of range.
    """
    if num_cases < 2 or size < 16 or folds < 1 or folds > num_cases:
        raise ValueError(
            f"synthetic lesions need num_cases >= 2, size >= 16 and 1 <= folds <= num_cases; "
            f"got num_cases={num_cases}, size={size}, folds={folds}."
        )
    parent = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = parent / f"synthetic-lesions-v{SYNTHETIC_VERSION}-n{num_cases}-s{size}-seed{seed}-f{folds}"
    if (target / "datalist.json").is_file():
        return target
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".synthetic-", dir=parent))
    try:
        _write_dataset(staging / "data", num_cases, size, seed, folds)
        try:
            os.replace(staging / "data", target)
        except OSError:
            if not (target / "datalist.json").is_file():  # lost a race only if the winner finished
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
