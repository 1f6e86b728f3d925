# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Damaged files only ever raise the readers' documented errors (bounded fuzzing with hypothesis, issue 15 part 4).

Proves, over valid files cut short, with bytes overwritten, or replaced by random bytes: the picture reader
(``read_picture``: ``OSError`` or ``ValueError``), the volume reader (``read_volume``: ``OSError`` or ``ValueError``), the DICOM series reader (``load_dicom_series``: ``DicomSeriesError``), ``prepare``
(``prepare_datalist``: ``DatasetValidationError``), the preprocessing record (``read_preprocessing_record``:
``MonaiLiteError``, also over arbitrary JSON) and evaluate's reader (``read_mask``: ``ValueError``) raise nothing
else, and a record that is accepted holds no MONAI config syntax. Examples are fixed (``derandomize=True``,
``max_examples`` per reader) so CI runs the same cases every time, in well under a minute.
"""

from __future__ import annotations

import importlib.util
import io
import json
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monai_lite.data.datalist import DatalistError
from monai_lite.data.dicom import DicomSeriesError, load_dicom_series
from monai_lite.data.io import read_picture, read_volume
from monai_lite.data.prepare import prepare_datalist
from monai_lite.data.problems import DatasetValidationError
from monai_lite.engine.preprocessing_record import read_preprocessing_record
from monai_lite.errors import MonaiLiteError
from monai_lite.evaluation.reader import read_mask
from monai_lite.plain_values import config_syntax_problem

_spec = importlib.util.spec_from_file_location("fuzz_data_builders", Path(__file__).parents[1] / "data" / "data_builders.py")
builders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(builders)

FUZZ = settings(max_examples=25, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
#: How many examples each test runs (reported by the issue's closing note).
EXAMPLES = {"picture": 50, "volume": 50, "dicom": 10, "prepare": 25, "record": 100, "mask": 50}


def _png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(builders.make_picture(12, 10, seed=1)).save(buffer, format="PNG")
    return buffer.getvalue()


def _mask_png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(builders.make_mask(12, 10, box=(2, 2, 6, 6))).save(buffer, format="PNG")
    return buffer.getvalue()


def _nifti_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = builders.save_nifti(Path(folder) / "v.nii.gz", np.arange(6 * 5 * 4, dtype=np.int16).reshape(6, 5, 4) % 3)
        return path.read_bytes()


SEEDS = {"png": _png_bytes(), "mask": _mask_png_bytes(), "nifti": _nifti_bytes()}


@st.composite
def damage(draw: st.DrawFn) -> tuple:
    """How to damage a file: cut it short, overwrite a few bytes, or replace it by random bytes.

    Positions are drawn as fractions of the length, so the draws do not depend on the file (DICOM files carry
    fresh UIDs each time they are written)."""
    kind = draw(st.sampled_from(["cut", "overwrite", "random"]))
    if kind == "random":
        return kind, draw(st.binary(max_size=300))
    if kind == "cut":
        return kind, draw(st.floats(0, 1, exclude_max=True))
    return kind, draw(st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1,
                               max_size=8))


def apply(how: tuple, seed: bytes) -> bytes:
    """``seed`` damaged as :func:`damage` drew."""
    kind, detail = how
    if kind == "random":
        return detail
    if kind == "cut":
        return seed[: int(detail * len(seed))]
    data = bytearray(seed)
    for where, value in detail:
        data[int(where * len(data))] = value
    return bytes(data)


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@settings(FUZZ, max_examples=EXAMPLES["picture"])
@given(how=damage())
def test_picture_reader(how: tuple) -> None:
    data = apply(how, SEEDS["png"])
    with tempfile.TemporaryDirectory() as folder:
        try:
            read_picture(_write(Path(folder), "p.png", data))
        except (OSError, ValueError):
            pass


@settings(FUZZ, max_examples=EXAMPLES["volume"])
@given(how=damage(), ending=st.sampled_from([".nii.gz", ".nii"]))
def test_volume_reader(how: tuple, ending: str) -> None:
    data = apply(how, SEEDS["nifti"])
    with tempfile.TemporaryDirectory() as folder:
        try:
            read_volume(_write(Path(folder), "v" + ending, data))
        except (OSError, ValueError):
            pass


@settings(FUZZ, max_examples=EXAMPLES["mask"])
@given(how=damage(), ending=st.sampled_from([".png", ".nii.gz"]))
def test_evaluate_mask_reader(how: tuple, ending: str) -> None:
    data = apply(how, SEEDS["mask"] if ending == ".png" else SEEDS["nifti"])
    with tempfile.TemporaryDirectory() as folder:
        try:
            read_mask(_write(Path(folder), "m" + ending, data))
        except ValueError:
            pass


@settings(FUZZ, max_examples=EXAMPLES["dicom"])
@given(slice_index=st.integers(0, 3), how=damage())
def test_dicom_series_reader(slice_index: int, how: tuple) -> None:
    with tempfile.TemporaryDirectory() as folder:
        stored = (np.arange(8 * 6 * 4, dtype=np.uint16).reshape(8, 6, 4) * 7) % 3000
        files = builders.write_dicom_series(Path(folder), stored)
        target = sorted(files)[slice_index]
        target.write_bytes(apply(how, target.read_bytes()))
        try:
            load_dicom_series(folder)
        except DicomSeriesError:
            pass


@settings(FUZZ, max_examples=EXAMPLES["prepare"])
@given(how=damage(), which=st.sampled_from(["images", "masks"]))
def test_prepare(how: tuple, which: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        images, masks = builders.make_2d_set(root / "set", stems=("a", "b", "c"), size=(12, 10))
        target = (images if which == "images" else masks) / "b.png"
        target.write_bytes(apply(how, target.read_bytes()))
        try:
            prepare_datalist(images, masks, root / "datalist.json", folds=2, progress=False)
        except (DatasetValidationError, DatalistError):
            pass


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 300) | st.floats(allow_nan=False)
    | st.sampled_from(["$x", "@image_size", "%a.json#b", "/etc", "../ct", "dermoscopy", "ct", "_target_", ""]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["format", "preset", "preset_params", "image_size", "in_channels", "spatial_size", "_target_",
                         "x"]),
        inner, max_size=5),
    max_leaves=12,
)


@settings(FUZZ, max_examples=EXAMPLES["record"])
@given(record=JSON | st.fixed_dictionaries(
    {"format": st.just(1), "preset": st.sampled_from(["dermoscopy", "ct", "../ct", "$ct"])},
    optional={"preset_params": JSON, "image_size": JSON, "in_channels": JSON}), raw=st.none() | st.binary(max_size=40))
def test_preprocessing_record(record, raw: bytes | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "preprocessing.json"
        path.write_bytes(raw if raw is not None else json.dumps(record).encode())
        try:
            accepted = read_preprocessing_record(Path(folder) / "model.pt")
        except MonaiLiteError:
            return
        assert config_syntax_problem(accepted, "record") is None
