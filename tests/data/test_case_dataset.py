# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""A case that cannot be loaded names its file and the problem (monai_lite.data.case_dataset).

Proves: ``CaseCacheDataset`` and ``CaseDataset`` give exactly what MONAI's ``CacheDataset`` and ``Dataset`` give
for healthy cases; a JPEG cut short (in the cache filled at start, with and without worker threads, and in an
uncached dataset), a mask of random bytes and a NIfTI cut short (which ITK itself would load, making up the
missing voxels) each raise one ``CaseLoadError`` line that starts with that file's path and says what is wrong;
with several bad cases, every case is still loaded (no loader thread is left decoding when the error ends the
process) and the one line names the first bad file and counts the others; a failure that the files do not explain
(a transform's own error) is raised as it was, with a note naming the case.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.data import CacheDataset, Dataset
from monai.transforms import Compose, EnsureChannelFirstd, Lambdad, LoadImaged
from PIL import Image

from monai_lite.data.case_dataset import CaseCacheDataset, CaseDataset, CaseLoadError
from monai_lite.errors import InputFileError
from monai_lite.transforms import load_preset


def _pictures(root: Path, n: int = 3) -> list[dict]:
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    cases = []
    for i in range(n):
        image, mask = root / "images" / f"c{i}.jpg", root / "masks" / f"c{i}.png"
        Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(image)
        label = np.zeros((24, 32), np.uint8)
        label[5:15, 8:20] = 255
        Image.fromarray(label).save(mask)
        cases.append({"image": str(image), "label": str(mask)})
    return cases


def _cut(path: str | Path, keep: float = 1 / 3) -> str:
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * keep)])
    return str(path)


PRESET = load_preset("dermoscopy", "deterministic", spatial_size=[16, 16])


def test_healthy_cases_load_as_monai_loads_them(tmp_path: Path) -> None:
    cases = _pictures(tmp_path)
    for ours, theirs in ((CaseCacheDataset(cases, Compose(PRESET), progress=False),
                          CacheDataset(cases, Compose(PRESET), progress=False)),
                         (CaseDataset(cases, Compose(PRESET)), Dataset(cases, Compose(PRESET)))):
        assert len(ours) == len(theirs) == 3
        for a, b in zip(ours, theirs):
            assert a.keys() == b.keys()
            assert torch.equal(a["image"], b["image"]) and torch.equal(a["label"], b["label"])


@pytest.mark.parametrize("num_workers", [0, 2])
def test_a_cut_jpeg_is_named_when_the_cache_fills(tmp_path: Path, num_workers: int) -> None:
    cases = _pictures(tmp_path)
    bad = _cut(cases[1]["image"])
    with pytest.raises(CaseLoadError) as caught:
        CaseCacheDataset(cases, Compose(PRESET), num_workers=num_workers, progress=False)
    message = str(caught.value)
    assert message.startswith(f"{bad}: images must be readable 2D files; Pillow failed (OSError: "), message
    assert "truncated" in message.lower()
    assert "\n" not in message and isinstance(caught.value, InputFileError)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_every_case_loads_and_the_first_bad_file_is_named(tmp_path: Path, num_workers: int) -> None:
    cases = _pictures(tmp_path, n=4)
    first, second = _cut(cases[1]["image"]), _cut(cases[3]["image"])
    loaded = []
    # counted right after reading, inside the part CacheDataset caches (the preset ends with a RandIdentity boundary)
    counter = Lambdad(keys="image", func=lambda image: loaded.append(1) or image)
    chain = Compose([*PRESET[:2], counter, *PRESET[2:]])
    with pytest.raises(CaseLoadError) as caught:
        CaseCacheDataset(cases, chain, num_workers=num_workers, progress=False)
    message = str(caught.value)
    assert message.startswith(f"{first}: images must be readable 2D files") and second not in message, message
    assert message.endswith("(1 other case(s) cannot be loaded either; each is named once this one is fixed or left "
                            "out.)") and "\n" not in message
    assert len(loaded) == 2, "both healthy cases were loaded before the error was raised"


def test_a_cut_jpeg_is_named_by_an_uncached_dataset(tmp_path: Path) -> None:
    cases = _pictures(tmp_path)
    bad = _cut(cases[2]["image"])
    dataset = CaseDataset(cases, Compose(PRESET))
    dataset[0]
    with pytest.raises(CaseLoadError, match=rf"^{bad}: images must be readable 2D files"):
        dataset[2]


def test_a_mask_of_random_bytes_is_named(tmp_path: Path) -> None:
    cases = _pictures(tmp_path)
    Path(cases[0]["label"]).write_bytes(np.random.default_rng(1).bytes(300))
    with pytest.raises(CaseLoadError, match=rf"^{cases[0]['label']}: masks must be readable 2D files; Pillow failed"):
        CaseCacheDataset(cases, Compose(PRESET), progress=False)


@pytest.mark.parametrize("reader", ["ITKReader", "NibabelReader"])
def test_a_cut_nifti_is_named(tmp_path: Path, reader: str) -> None:
    """ITK (the volume presets' reader) would load the cut file without an error; it is refused before loading."""
    cases = []
    for i in range(2):
        image, label = tmp_path / f"v{i}.nii.gz", tmp_path / f"l{i}.nii.gz"
        nib.save(nib.Nifti1Image(np.random.default_rng(i).random((12, 14, 10)).astype(np.float32), np.eye(4)), image)
        nib.save(nib.Nifti1Image((np.arange(12 * 14 * 10).reshape(12, 14, 10) % 3).astype(np.uint8), np.eye(4)), label)
        cases.append({"image": str(image), "label": str(label)})
    _cut(cases[1]["image"], keep=0.6)
    loader = Compose([LoadImaged(keys=["image", "label"], reader=reader), EnsureChannelFirstd(keys=["image", "label"])])
    with pytest.raises(CaseLoadError) as caught:
        CaseCacheDataset(cases, loader, progress=False)
    message = str(caught.value)
    assert message.startswith(f"{cases[1]['image']}: the file is cut short: its header describes 12x14x10 float32 "
                              "voxels (6720 bytes after a 352-byte header), only "), message
    assert "\n" not in message
    with pytest.raises(CaseLoadError, match="the file is cut short"):
        CaseDataset(cases, loader)[1]


def test_a_failure_the_files_do_not_explain_keeps_its_error(tmp_path: Path) -> None:
    cases = _pictures(tmp_path)

    def broken(_image):
        raise ZeroDivisionError("a transform's own bug")

    chain = Compose([*PRESET[:2], Lambdad(keys="image", func=broken), *PRESET[2:]])  # inside the cached part
    with pytest.raises(RuntimeError) as caught:  # MONAI's "applying transform ...", caused by the ZeroDivisionError
        CaseCacheDataset(cases, chain, progress=False)
    assert not isinstance(caught.value, CaseLoadError)
    assert isinstance(caught.value.__cause__, ZeroDivisionError)
    assert any(note.startswith("while loading the case {'image': ") for note in caught.value.__notes__)
