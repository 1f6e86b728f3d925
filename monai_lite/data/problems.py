# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Problems found while checking a dataset, and the single error raised for them.

Checks collect every :class:`Problem` first and raise one :class:`DatasetValidationError` at the end, in the
style of nnU-Net's ``verify_dataset_integrity``: each problem prints as one ``Error:`` or ``Warning:`` line that
says what must hold, what was found, the file(s), and what to do next.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["ERROR", "WARNING", "KINDS", "Problem", "DatasetValidationError"]

ERROR = "error"
WARNING = "warning"

#: Every problem kind with a one-line meaning; tests keep one broken fixture per kind.
KINDS: dict[str, str] = {
    "layout": "the input folders do not match any supported layout",
    "empty_folder": "a folder holds no usable file",
    "unreadable": "a file cannot be opened or decoded",
    "duplicate_stem": "two files in one folder share a case name (e.g. a.png and a.jpg)",
    "missing_label": "an image has no label file",
    "missing_image": "a label file has no image",
    "size_mismatch": "image and label differ in size",
    "spacing_mismatch": "image and label differ in voxel spacing",
    "geometry_mismatch": "image and label differ in origin or direction",
    "orientation_differs": "image and label cover the same grid but store their axes differently",
    "label_values": "a label holds values outside the expected set",
    "rgb_mask": "a 2D mask has colour channels",
    "empty_mask": "a label has no foreground",
    "full_mask": "a label has no background",
    "dimensionality": "a file has the wrong number of spatial dimensions",
    "channels": "an image has a different channel count than the rest of the set",
    "nan": "an image holds NaN or infinite values",
    "dicom_series": "a DICOM folder holds no series, several series, or a single slice",
    "lossy_mask": "a mask is stored in a lossy format",
    "exif_orientation": "a JPEG carries an EXIF rotation that array readers ignore",
    "ignored_file": "a file was skipped because its type is not supported",
    "folds": "the fold or test split cannot be filled as asked",
}


@dataclass(frozen=True)
class Problem:
    """One finding about one case or file.

    Args:
        severity: ``"error"`` (blocks writing the datalist) or ``"warning"`` (reported, not blocking).
        kind: a key of :data:`KINDS`.
        message: what must hold, what was found, and the next step; no ``Error:`` prefix.
        paths: the offending file(s), as given to the checker.
        case: the case name, when the problem belongs to one case.
    """

    severity: str
    kind: str
    message: str
    paths: tuple[str, ...] = field(default_factory=tuple)
    case: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in (ERROR, WARNING):
            raise ValueError(f"severity must be 'error' or 'warning', got {self.severity!r}.")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}, got {self.kind!r}.")

    @property
    def is_error(self) -> bool:
        """True for problems that block writing."""
        return self.severity == ERROR

    def __str__(self) -> str:
        prefix = "Error" if self.is_error else "Warning"
        where = f" [{', '.join(self.paths)}]" if self.paths else ""
        return f"{prefix}: {self.message}{where}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class DatasetValidationError(ValueError):
    """Raised once after a dataset check, holding every problem found.

    The message starts with the counts (``"3 errors and 1 warning in ..."``), followed by one line per problem.
    Only the first ``max_lines`` problems are spelled out in the message; ``.problems`` always holds them all.
    """

    def __init__(self, problems: Iterable[Problem], where: str = "the dataset", max_lines: int = 200) -> None:
        self.problems: list[Problem] = list(problems)
        errors = [p for p in self.problems if p.is_error]
        warnings = [p for p in self.problems if not p.is_error]
        head = (
            f"{_count(len(errors), 'error')} and {_count(len(warnings), 'warning')} in {where}; "
            "nothing was written. Fix the errors below (or pass the allow_* option named in a line), then rerun."
        )
        ordered: Sequence[Problem] = errors + warnings
        lines = [str(p) for p in ordered[:max_lines]]
        if len(ordered) > max_lines:
            lines.append(f"... and {len(ordered) - max_lines} more (see the exception's .problems).")
        super().__init__("\n".join([head, *lines]))

    @property
    def errors(self) -> list[Problem]:
        """Only the problems with severity ``"error"``."""
        return [p for p in self.problems if p.is_error]
