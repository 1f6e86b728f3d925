# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Data preparation: checked, deterministic datalists (``prepare_datalist``), loading them (``load_datalist``),
and DICOM series reading in Hounsfield units (``load_dicom_series``).

Heavy readers (MONAI, ITK, SimpleITK, pydicom) are imported inside the functions that use them. For the same
reason the bundles' datasets, which subclass MONAI's (:mod:`monai_lite.data.case_dataset`: a case that cannot be
loaded names its file), are not imported here; configs name them by their module path.
"""

from __future__ import annotations

from monai_lite.data.datalist import DatalistError, load_datalist, load_datalist_header, write_json_atomic
from monai_lite.data.dicom import DicomSeriesError, check_series, find_dicom_series, load_dicom_series
from monai_lite.data.folds import split_cases
from monai_lite.data.prepare import prepare_datalist
from monai_lite.data.problems import KINDS, DatasetValidationError, Problem

__all__ = [
    "DatalistError",
    "DatasetValidationError",
    "DicomSeriesError",
    "KINDS",
    "Problem",
    "check_series",
    "find_dicom_series",
    "load_datalist",
    "load_datalist_header",
    "load_dicom_series",
    "prepare_datalist",
    "split_cases",
    "write_json_atomic",
]
