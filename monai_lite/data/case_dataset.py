# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""MONAI datasets whose failure to load a case names the file and what is wrong with it.

A datalist written by hand (not by ``monai-lite prepare``, which checks every file) can name a JPEG cut short or a
damaged NIfTI. The bundle's ``CacheDataset`` loads every case when training starts, and the reader's error then
surfaces three wrappers deep (the reader's ``OSError``, MONAI's ``applying transform <LoadImaged object at ...>``,
the config parser's ``Failed to instantiate component``), none of which names the file. :class:`CaseCacheDataset`
and :class:`CaseDataset` behave exactly as MONAI's ``CacheDataset`` and ``Dataset`` until a case fails; then the
case's files are checked with the checks of ``monai-lite prepare`` (:func:`monai_lite.data.validation.check_case`)
and, when one of them is the cause, :class:`CaseLoadError` says which file and why, in one line (the bundles report
it without a traceback: :func:`monai_lite.errors.install_bundle_error_reporting`). A failure the files do not
explain (a transform's own error) is raised as it was, with a note naming the case, so its traceback stays.

One damage raises nothing: ITK's NIfTI reader (the volume presets' reader) loads a NIfTI file cut short and makes
up the missing voxels. Each NIfTI file of a case is therefore checked for that before it is loaded
(:func:`monai_lite.data.nifti_check.nifti_cut_short`: two small reads per whole file). Apart from that, loading a
healthy case costs nothing extra: the files are only checked after a failure. When the cache is filled,
a failing case does not stop the other cases from loading: MONAI's pool of loader threads would be abandoned with
cases still in flight, and a thread still decoding while Python shuts down aborts the process (``terminate called
without an active exception``, exit status 134) instead of ending with the one-line report. So every case is
loaded, and the error names the first unloadable file and counts the others.

Example (a bundle's ``train#dataset``)::

    {"_target_": "monai_lite.data.case_dataset.CaseCacheDataset", "data": "$@data[0]",
     "transform": "@train#preprocessing", "cache_rate": 1.0, "num_workers": "@num_workers", "progress": false}
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monai.data import CacheDataset, Dataset

from monai_lite.errors import InputFileError

__all__ = ["CaseLoadError", "CaseCacheDataset", "CaseDataset", "explain_case_failure"]

#: Problems of ``check_case`` that stop a case from loading (a NaN voxel or an empty mask loads fine, so a failure
#: is not blamed on them).
_LOADING_PROBLEMS = ("unreadable", "dicom_series", "dimensionality", "size_mismatch")


class CaseLoadError(InputFileError):
    """A case of a dataset that cannot be loaded because of one of its files; the message names the file."""


def _image_kind(path: Path) -> str:
    from monai_lite.data.io import is_2d_file

    return "dicom" if path.is_dir() else "2d" if is_2d_file(path) else "volume"


def explain_case_failure(case: Mapping[str, Any]) -> CaseLoadError | None:
    """Which of a case's files stops it from loading, and why, or None when its files are fine.

    Args:
        case: a data item as the dataset holds it: ``{"image": path, "label": path, ...}`` (other keys ignored;
            a list of paths, as a multi-file image, is not checked).

    Returns:
        A :class:`CaseLoadError` whose message is ``"<file>: <what must hold>; <what was found>. <what to do>"``,
        or None (no file problem found: the failure lies elsewhere).
    """
    from monai_lite.data.layout import Case
    from monai_lite.data.validation import LabelPolicy, check_case

    image, label = case.get("image"), case.get("label")
    if not isinstance(image, (str, Path)) or not (label is None or isinstance(label, (str, Path))):
        return None
    image = Path(image)
    checked = Case(case_id=image.name, image=image, label=Path(label) if label is not None else None,
                   image_kind=_image_kind(image))
    # Any label values pass: only what keeps the files from loading is looked for.
    report = check_case(checked, LabelPolicy(binary_2d=True, allow_empty=True, allow_full=True))
    for problem in report.problems:
        if problem.is_error and problem.kind in _LOADING_PROBLEMS:
            return CaseLoadError(f"{' and '.join(problem.paths)}: {problem.message}")
    return None


class _CaseFailure:
    """Stands in the cache for a case that failed while the cache was filled (see the module docstring)."""

    def __init__(self, case: Any, error: Exception) -> None:
        self.case, self.error = case, error


def _check_complete(case: Any) -> None:
    """Refuse a case with a NIfTI file cut short, which ITK would load without an error (see the module docstring)."""
    from monai_lite.data.nifti_check import nifti_cut_short

    if not isinstance(case, Mapping):
        return
    for key in ("image", "label"):
        path = case.get(key)
        if isinstance(path, (str, Path)):
            problem = nifti_cut_short(path)
            if problem:
                raise CaseLoadError(f"{path}: {problem}.")


def _explain(case: Any, error: Exception | None = None) -> CaseLoadError | None:
    if isinstance(error, CaseLoadError):
        return error
    if not isinstance(case, Mapping):
        return None
    try:
        return explain_case_failure(case)
    except Exception:  # noqa: BLE001 - the check is a diagnosis; the original failure is what gets reported
        return None


def _note_case(err: Exception, case: Any) -> None:
    note = f"while loading the case {dict(case) if isinstance(case, Mapping) else case!r}"
    if note not in getattr(err, "__notes__", ()):  # a cache filled at run time passes here twice
        err.add_note(note)


def _raise_for_failures(failures: list[_CaseFailure]) -> None:
    """One error for the cases that failed when the cache was filled: the first bad file, and how many others."""
    explained = [(failure, _explain(failure.case, failure.error)) for failure in failures]
    named = [(failure, error) for failure, error in explained if error is not None]
    if not named:
        _note_case(failures[0].error, failures[0].case)
        raise failures[0].error
    first, error = named[0]
    if len(failures) > 1:
        others = len(failures) - 1
        error = CaseLoadError(f"{error} ({others} other case(s) cannot be loaded either; each is named once this "
                              "one is fixed or left out.)")
    if error is first.error:
        raise error
    raise error from first.error


def _raise_for_case(case: Any, err: Exception) -> None:
    if isinstance(err, CaseLoadError):
        raise err
    explained = _explain(case)
    if explained is None:
        _note_case(err, case)
        raise err
    raise explained from err


class CaseDataset(Dataset):
    """MONAI's ``Dataset``; a case that fails to load raises :class:`CaseLoadError` naming the bad file.

    Args: as ``monai.data.Dataset`` (``data``, ``transform``).
    """

    def _transform(self, index: int) -> Any:
        try:
            _check_complete(self.data[index])
            return super()._transform(index)
        except Exception as err:  # noqa: BLE001 - re-raised, explained or as it was
            _raise_for_case(self.data[index], err)


class CaseCacheDataset(CacheDataset):
    """MONAI's ``CacheDataset``; a case that fails to load (when the cache is filled at start, or later) raises
    :class:`CaseLoadError` naming the bad file.

    Args: as ``monai.data.CacheDataset`` (``data``, ``transform``, ``cache_rate``, ``num_workers``, ...).
    """

    #: True while :meth:`_fill_cache` runs: a failing case is then kept as a :class:`_CaseFailure`, not raised.
    _filling = False

    def _fill_cache(self, indices: Any = None) -> list:
        self._filling = True
        try:
            items = super()._fill_cache(indices)
        finally:
            self._filling = False
        failures = [item for item in items if isinstance(item, _CaseFailure)]
        if failures:
            _raise_for_failures(failures)
        return items

    def _load_cache_item(self, idx: int) -> Any:
        try:
            _check_complete(self.data[idx])
            return super()._load_cache_item(idx)
        except Exception as err:  # noqa: BLE001 - kept for _fill_cache, or re-raised, explained or as it was
            if self._filling:
                return _CaseFailure(self.data[idx], err)
            _raise_for_case(self.data[idx], err)

    def _transform(self, index: int) -> Any:
        try:
            if not self.hash_as_key and index % len(self) >= self.cache_num:  # loaded here, not from the cache
                _check_complete(self.data[index])
            return super()._transform(index)
        except Exception as err:  # noqa: BLE001 - re-raised, explained or as it was
            _raise_for_case(self.data[index], err)
