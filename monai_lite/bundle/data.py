# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Where a bundle's cases come from: a datalist over a dataset folder, or the embedded synthetic default.

Bundle configs call these functions for ``train#dataset#data``, ``validate#dataset#data`` and the inference
``dataset#data``, so that the JSON stays declarative and every path problem is reported here, in one sentence that
names the file, before any training starts.
"""

from __future__ import annotations

from pathlib import Path

from monai_lite.data.synthetic import ensure_synthetic

__all__ = ["IMAGE_SUFFIXES", "training_data", "inference_data"]

#: File endings that the inference config accepts in an input folder.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".nii", ".nii.gz", ".nrrd", ".mha")


def _resolve(dataset_dir: str, datalist: str, synthetic: str) -> tuple[str, str]:
    """Return ``(dataset_dir, datalist)``, generating the synthetic default when ``dataset_dir`` is empty."""
    if not dataset_dir:
        if datalist:
            raise ValueError(
                f"a datalist was given ({datalist}) but no dataset_dir to resolve its relative paths against; "
                "pass --dataset_dir too."
            )
        root = ensure_synthetic(synthetic)
        return str(root), str(root / "datalist.json")
    if not Path(dataset_dir).is_dir():
        raise FileNotFoundError(f"dataset_dir {dataset_dir} is not a folder.")
    if not datalist:
        raise ValueError(
            f"dataset_dir {dataset_dir} was given without a datalist; build one with "
            f"`monai-lite prepare {dataset_dir} -o data_manifests/NAME.json` and pass --datalist."
        )
    return dataset_dir, datalist


def training_data(
    dataset_dir: str = "", datalist: str = "", fold: int | None = 0, synthetic: str = "lesions_2d"
) -> tuple[list, list]:
    """The training and validation cases of a bundle run.

    Args:
        dataset_dir: folder that the datalist's relative paths start from; empty means the synthetic default
            dataset ``synthetic`` (generated once, see :mod:`monai_lite.data.synthetic`). Defaults to "".
        datalist: decathlon-style datalist JSON with ``fold`` keys (as ``monai-lite prepare`` writes). Defaults
            to "".
        fold: the fold to validate on; the other folds train. ``None`` or a negative value trains on every
            case and validates on none. Defaults to 0.
        synthetic: which synthetic dataset stands in when ``dataset_dir`` is empty: ``"lesions_2d"`` or
            ``"volumes_3d"``. Defaults to "lesions_2d".

    Returns:
        ``(train_files, val_files)``: lists of ``{"image": path, "label": path}`` with absolute paths.

    Raises:
        FileNotFoundError, ValueError: with the offending path, when the folder, datalist or a case is missing.
    """
    from monai_lite.data.datalist import load_datalist

    root, datalist_path = _resolve(dataset_dir, datalist, synthetic)
    fold = None if fold is None or int(fold) < 0 else int(fold)
    train, val = load_datalist(datalist_path, root, fold)
    if not train:
        raise ValueError(f"datalist {datalist_path} leaves no training case for fold {fold}.")
    return train, val


def inference_data(dataset_dir: str = "", synthetic: str = "lesions_2d") -> list[dict]:
    """The cases an inference config segments.

    Args:
        dataset_dir: a folder of images (every file with a suffix in :data:`IMAGE_SUFFIXES`). Empty means the
            validation fold (fold 0) of the synthetic default dataset, so a freshly trained default bundle can be
            tried at once. Defaults to "".
        synthetic: the synthetic dataset of an empty ``dataset_dir`` (see :func:`training_data`). Defaults to
            "lesions_2d".

    Returns:
        A list of ``{"image": path}`` with absolute paths, sorted by file name.

    Raises:
        FileNotFoundError: if the folder does not exist. ValueError: if it holds no image.
    """
    if not dataset_dir:
        return [{"image": case["image"]} for case in training_data("", "", 0, synthetic)[1]]
    folder = Path(dataset_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"inference input {folder} is not a folder.")
    images = sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(IMAGE_SUFFIXES))
    if not images:
        raise ValueError(f"inference input folder {folder} holds no image (looked for {', '.join(IMAGE_SUFFIXES)}).")
    return [{"image": str(p.resolve())} for p in images]
