# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""docs/bad-inputs.md is backed by tests: every row names tests that exist (issue 15, part 4).

Proves: the catalogue has at least 40 rows, row numbers are unique, and each row's test column names one or more
``path::test_name`` entries whose file exists and defines that test function.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CATALOGUE = REPO / "docs" / "bad-inputs.md"
HEADER = "| # | bad input | command | message (excerpt) | test |"


def _rows() -> list[list[str]]:
    rows = []
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|") or line.strip() == HEADER or set(line) <= set("|- "):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        assert len(cells) == 5, f"a catalogue row needs 5 cells: {line}"
        rows.append(cells)
    return rows


def test_the_catalogue_has_at_least_40_numbered_rows() -> None:
    numbers = [row[0] for row in _rows()]
    assert len(numbers) >= 40
    assert len(set(numbers)) == len(numbers), "row numbers repeat"


def test_every_row_names_existing_tests() -> None:
    for number, *_, tests in _rows():
        entries = [entry.strip() for entry in tests.split(",") if entry.strip()]
        assert entries, f"row {number} names no test"
        for entry in entries:
            path, sep, name = entry.partition("::")
            assert sep and (REPO / path).is_file(), f"row {number}: no test file {path}"
            assert re.search(rf"^def {re.escape(name)}\(", (REPO / path).read_text(), re.M), (
                f"row {number}: {path} defines no test {name}"
            )
