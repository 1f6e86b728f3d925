# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves ``monai-lite --help``, usage errors and ``monai-lite list`` never import torch or MONAI.

Each case runs in a fresh interpreter (the test process itself has torch loaded) and reports which heavy packages
ended up in ``sys.modules``; a regression names the verb and the first module that pulled them in is found with
``python -X importtime -m monai_lite.cli --help``. Timings are not asserted (they depend on the machine's load).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

HEAVY = ("torch", "monai", "ignite", "numpy")

_PROBE = """
import contextlib, io, json, sys
import monai_lite.cli as cli
code = None
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = cli.main(sys.argv[1:])
    except SystemExit as stop:
        code = stop.code
print(json.dumps({"code": code, "heavy": sorted(m for m in %r if m in sys.modules)}))
""" % (HEAVY,)


def _probe(*argv: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv, code",
    [
        (("--help",), 0),
        (("train", "--help"), 0),
        (("infer", "--help"), 0),
        (("list",), 0),
        (("no-such-verb",), 2),
        (("infer",), 2),  # no INPUT: a usage error, answered before the inference code is imported
        (("infer", "--ckpt", "a.pt", "b.pt", "images/"), 2),
        (("evaluate", "--pred", "p/"), 2),  # --pred without --gt
        (("prepare", "images/"), 2),  # -o missing
    ],
)
def test_light_answers_import_no_heavy_package(argv: tuple[str, ...], code: int) -> None:
    seen = _probe(*argv)
    assert seen["code"] == code
    assert seen["heavy"] == [], f"monai-lite {' '.join(argv)} imported {seen['heavy']}"


def test_probe_sees_heavy_imports_when_a_verb_needs_them() -> None:
    """The probe is not blind: the benchmark verb's help defines its options with torch loaded."""
    seen = _probe("benchmark", "efficiency", "--help")
    assert seen["code"] == 0
    assert "torch" in seen["heavy"]
