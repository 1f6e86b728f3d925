# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Deterministic test split and cross-validation folds.

Cases are ordered by ``sha256(f"{seed}:{case_id}")``, which depends only on the seed and the case names (not on
the file system's listing order, the Python or NumPy version, or the other cases). The first
``round(test_fraction * n)`` cases in that order are held out as test; the rest get folds ``0, 1, 2, ...`` in
turn, so fold sizes differ by at most one. Adding a case moves only the cases after it in the order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = ["split_cases"]


def _order_key(seed: int, case_id: str) -> str:
    return hashlib.sha256(f"{seed}:{case_id}".encode()).hexdigest()


def split_cases(
    case_ids: Sequence[str], folds: int = 5, seed: int = 0, test_fraction: float = 0.0
) -> tuple[dict[str, int], list[str]]:
    """Assign each case a fold, after holding out a test fraction.

    Args:
        case_ids: unique case names.
        folds: number of folds, >= 1. Defaults to 5.
        seed: any integer; a different seed gives a different, equally balanced split. Defaults to 0.
        test_fraction: share of cases held out as test, in ``[0, 1)``. Defaults to 0.0.

    Returns:
        ``({case_id: fold}, [test case ids])``; both in case-id order.

    Raises:
        ValueError: ``folds < 1``, ``test_fraction`` outside ``[0, 1)``, or repeated case ids.
    """
    if folds < 1:
        raise ValueError(f"folds must be >= 1, got folds={folds}.")
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got test_fraction={test_fraction}.")
    if len(set(case_ids)) != len(case_ids):
        raise ValueError("case ids must be unique.")
    ordered = sorted(case_ids, key=lambda c: (_order_key(seed, c), c))
    n_test = int(round(test_fraction * len(ordered)))
    test = sorted(ordered[:n_test])
    assignment = {case_id: index % folds for index, case_id in enumerate(ordered[n_test:])}
    return dict(sorted(assignment.items())), test
