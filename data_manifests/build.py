# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Rebuild every datalist in ``data_manifests/`` from the datasets in ``shared/data``.

Usage, from anywhere (the script works from the repository root, so ``data_root_hint`` is always relative to it)::

    .venv/bin/python data_manifests/build.py                 # write data_manifests/*.json
    .venv/bin/python data_manifests/build.py --check         # rebuild in a temp folder, compare bytes, write nothing
    .venv/bin/python data_manifests/build.py --data /elsewhere/shared/data --only kvasir_seg

Before building, the script recomputes the two checksums of each dataset folder (the recipe of
``shared/data/README.md``) and stops if they differ from the values recorded below; the values go into each
datalist's ``source`` block. Every datalist: 5 folds, seed 0, no test split, paths relative to the dataset folder.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["DATASETS", "build", "main"]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_DATA = "../shared/data"  # relative to the repository root; recorded as data_root_hint

#: One entry per manifest: how prepare_datalist is called, and the provenance written under "source".
DATASETS: dict[str, dict[str, Any]] = {
    "kvasir_seg": {
        "folder": "kvasir-seg",
        "call": {
            "name": "kvasir-seg",
            "description": "Kvasir-SEG colonoscopy frames (RGB JPEG, 256x256) with binary polyp masks (PNG, {0, 255}).",
            "channel_names": ["R", "G", "B"],
            "label_names": {"background": 0, "polyp": 1},
        },
        "source": {
            "url": "https://github.com/ViniciusSimm/Colo-Retal-Induscon2023",
            "path_in_source": "datasets/Kvasir-SEG",
            "license": "Kvasir-SEG terms (Simula): research and educational use only; commercial use needs permission.",
            "citation": "D. Jha et al., Kvasir-SEG: A Segmented Polyp Dataset, MMM 2020.",
            "num_files": 1996,
            "file_list_sha256": "50f95d1fab40482f295fea2d955683310d21baf045b81a5dc91c81c0eeb7cd60",
            "content_sha256": "35ed26b5be1976ea005ee4321ea0e882b38e82ad279aff6b93f378ad4ce38344",
        },
    },
    "ph2": {
        "folder": "ph2",
        "call": {
            "name": "ph2",
            "description": "PH2 dermoscopy images (RGB JPEG q95, ~767x576, 24 sizes) with binary lesion masks (PNG, {0, 255}).",
            "channel_names": ["R", "G", "B"],
            "label_names": {"background": 0, "lesion": 1},
        },
        "source": {
            "url": "https://github.com/chelseaparlett/SkinCancerVariation",
            "path_in_source": "PH2Dataset/PH2 Dataset images/",
            "license": "PH2 database terms: research and educational use.",
            "citation": "T. Mendonca et al., PH2 - A dermoscopic image database for research and benchmarking, EMBC 2013.",
            "num_files": 400,
            "file_list_sha256": "46fff78a95f9eda202ba6e426ff7447fe6080a58c8015f4e80679dc6cd2be47f",
            "content_sha256": "7883a5a662fea83907567eaf039c7231ea0b28f7057f7a6cd77ea9e5975d60d3",
        },
    },
    "cxr_lungs": {
        "folder": "cxr-lungs",
        "call": {
            "name": "cxr-lungs",
            "description": "Chest X-rays (8-bit gray PNG, long side <= 512) with binary lung-field masks (PNG, {0, 255}).",
            "channel_names": ["gray"],
            "label_names": {"background": 0, "lung": 1},
        },
        "source": {
            "url": "https://github.com/GeneralBlockchain/covid-19-chest-xray-segmentations-dataset",
            "images_from": "https://github.com/ieee8023/covid-chestxray-dataset",
            "license": "Segmentations CC BY 4.0; image licences vary per image (see manifest.csv, column license).",
            "citation": "J. P. Cohen, P. Morrison, L. Dao, COVID-19 Image Data Collection, arXiv:2003.11597, 2020.",
            "num_files": 197,
            "file_list_sha256": "b4703fd4560a19cc1cbaa3795a07a6e66c5b6444afe5e2fa2debf3dae75642cc",
            "content_sha256": "2f91e7bb2952d06dfef29827c522797c5abd4a5f95870279caadc4edc33213d0",
        },
    },
    "hippocampus": {
        "folder": "hippocampus",
        "call": {
            "name": "hippocampus",
            "description": "MSD Task04 Hippocampus: T1 MRI crops (NIfTI, 1 mm) with anterior/posterior labels.",
            "channel_names": ["MRI"],
            "label_names": {"background": 0, "anterior": 1, "posterior": 2},
        },
        "source": {
            "url": "https://github.com/udacity/nd320-c3-3d-imaging-starter",
            "path_in_source": "data/TrainingSet/{images,labels}",
            "license": "CC-BY-SA 4.0",
            "citation": "A. L. Simpson et al., arXiv:1902.09063 (2019); M. Antonelli et al., Nature Communications 13, 4128 (2022).",
            "num_files": 520,
            "file_list_sha256": "3b52bfeef3ef2fa4be95a187a005a6f6d6a458679bf8d8541dfb656732d81f1f",
            "content_sha256": "d8cd4abb02f546db031f502d64631ef8c8424de42356ae2bedd271418f6df8ab",
        },
    },
    "ct_totalseg": {
        "folder": "ct-totalseg",
        # example_ct_sm + example_seg, example_ct + example_seg_fast_force_split, dicom/ + example_seg_dicom
        "pairs": "ct_totalseg_pairs.csv",
        "labels_file": "labels_total_all.json",
        "call": {
            "name": "ct-totalseg",
            "description": (
                "TotalSegmentator test CT: 3 image/label pairings of one study (NIfTI and a 20-slice JPEG 2000 DICOM "
                "series); labels are TotalSegmentator 'total' predictions (117 classes), not manual ground truth."
            ),
            "channel_names": ["CT"],
        },
        "source": {
            "url": "https://github.com/wasserth/TotalSegmentator",
            "path_in_source": "tests/reference_files/",
            "license": "Apache-2.0",
            "citation": "J. Wasserthal et al., TotalSegmentator, Radiology: Artificial Intelligence 5(5), e230024 (2023).",
            "pairing": (
                "example_ct_sm+example_seg, example_ct+example_seg_fast_force_split, dicom/+example_seg_dicom "
                "(see ct_totalseg_pairs.csv)"
            ),
            "num_files": 28,
            "file_list_sha256": "631b0bb359db04135f5e8955880b5fff169763726daa476df3a36e5691e64746",
            "content_sha256": "7fec2aba6b67c884c2ad5f56a6170073fbf6a7a947fd5d1fc77ed469ed913dd1",
        },
    },
}


def _verify_checksums(folder: Path, source: dict[str, Any]) -> None:
    from monai_lite.data.checksums import dataset_checksums

    found = dataset_checksums(folder)
    expected = {k: source[k] for k in found}
    if found != expected:
        raise SystemExit(
            f"Checksums of {folder} must match the recorded ones; expected {expected}, found {found}. "
            "The data changed: update build.py only after checking why."
        )


def _total_labels(path: Path) -> dict[str, int]:
    table = json.loads(path.read_text())["total"]
    return {"background": 0, **{name: int(index) for index, name in table.items()}}


def build(key: str, data: str, out_dir: Path, progress: bool = False) -> dict[str, Any]:
    """Verify one dataset's checksums and write its datalist to ``out_dir/<key>.json``; returns the summary."""
    from monai_lite.data import prepare_datalist

    spec = DATASETS[key]
    folder = f"{data.rstrip('/')}/{spec['folder']}"
    _verify_checksums(Path(folder), spec["source"])
    call = dict(spec["call"])
    if "labels_file" in spec:
        call["label_names"] = _total_labels(Path(folder) / spec["labels_file"])
    kwargs: dict[str, Any] = {"folds": 5, "seed": 0, "progress": progress, "source": spec["source"], **call}
    if "pairs" in spec:
        return prepare_datalist(os.path.relpath(HERE / spec["pairs"], REPO), None, out_dir / f"{key}.json", data_root=folder, **kwargs)
    return prepare_datalist(folder, None, out_dir / f"{key}.json", **kwargs)


def main(argv: list[str] | None = None) -> int:
    """Command line entry; returns the exit code (0 ok, 1 --check found a difference)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        default=DEFAULT_DATA,
        help=f"[OPTIONAL] shared/data folder, relative to the repository root or absolute. Default: {DEFAULT_DATA}",
    )
    parser.add_argument("--only", nargs="*", choices=sorted(DATASETS), help="[OPTIONAL] build only these manifests.")
    parser.add_argument(
        "--check",
        action="store_true",
        help="[OPTIONAL] rebuild into a temporary folder and compare with the committed files; write nothing.",
    )
    args = parser.parse_args(argv)
    os.chdir(REPO)
    sys.path.insert(0, str(REPO))
    logging.getLogger("monai_lite.data").setLevel(logging.ERROR)  # warnings are printed below, once
    keys = args.only or sorted(DATASETS)
    with tempfile.TemporaryDirectory() as scratch:
        out_dir = Path(scratch) if args.check else HERE
        differ = []
        for key in keys:
            summary = build(key, args.data, out_dir)
            found = summary["label_values_found"]
            shown = f"{found[:8]}{'...' if len(found) > 8 else ''}"
            print(f"{key}: {summary['num_training']} training cases, folds {summary['fold_sizes']}, labels found {shown}")
            for line in summary["warnings"]:
                print(f"  {line}")
            committed = HERE / f"{key}.json"
            if args.check and (not committed.is_file() or not filecmp.cmp(out_dir / f"{key}.json", committed, shallow=False)):
                differ.append(key)
    if differ:
        print(f"Committed manifests differ from a rebuild: {differ}. Run data_manifests/build.py and review the diff.")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
