# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the rules that pick the runnable commands out of the documentation (tests/docs/doc_commands.py).

Runs on small Markdown written here, so a change of rules is seen without running any command; and checks that
the real README yields the commands a reader sees (the ensemble example among them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from doc_commands import PLACEHOLDER, documents, find_commands, strip_optional

REPO = Path(__file__).resolve().parents[2]

MARKDOWN = """
Intro.

```bash
make train   # not ours
monai-lite prepare INPUT [MASKS] -o data_manifests/NAME.json [--folds 5]   # a synopsis
python -m monai.bundle run training --config_file bundles/x/train.json \\
    --image_size "[64, 64]" --epochs 3
OMP_WAIT_POLICY=PASSIVE monai-lite benchmark efficiency -o OUT --device auto|cpu
monai-lite evaluate --combine OUT_FOLD0 OUT_FOLD1 ... -o OUTDIR
monai-lite infer INPUT... -o OUTDIR
```

<!-- doc-test: skip needs two GPUs -->

```bash
torchrun --nproc_per_node=2 -m monai.bundle run training --config_file a.json
```
"""


@pytest.fixture()
def commands(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text(MARKDOWN)
    return find_commands(page)


def test_picks_our_commands_in_order(commands) -> None:
    assert [c.argv[0] for c in commands] == ["monai-lite", "python", "monai-lite", "monai-lite", "monai-lite", "torchrun"]
    assert commands[0].source == "page.md:6"


def test_synopsis_notation(commands) -> None:
    assert commands[0].argv == ["monai-lite", "prepare", "INPUT", "-o", "data_manifests/NAME.json"]
    assert commands[2].env == {"OMP_WAIT_POLICY": "PASSIVE"}
    assert commands[2].argv[-2:] == ["--device", "auto"]
    assert commands[3].argv == ["monai-lite", "evaluate", "--combine", "OUT_FOLD0", "OUT_FOLD1", "-o", "OUTDIR"]
    assert commands[4].argv == ["monai-lite", "infer", "INPUT", "-o", "OUTDIR"]


def test_continuations_and_quoted_lists(commands) -> None:
    assert commands[1].argv[-4:] == ["--image_size", "[64, 64]", "--epochs", "3"]
    assert strip_optional("a [--b [c]] 'd [e]' \"[1, 2]\"") == "a  'd [e]' \"[1, 2]\""


def test_skip_marker_applies_to_the_next_block(commands) -> None:
    assert [c.skip for c in commands] == [None] * 5 + ["needs two GPUs"]


def test_skip_marker_needs_a_reason(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- doc-test: skip -->\n```bash\nmonai-lite list\n```\n")
    with pytest.raises(ValueError, match="needs a reason"):
        find_commands(page)


def test_placeholders() -> None:
    assert PLACEHOLDER.findall("A/model.pt") == ["A"]
    assert PLACEHOLDER.findall("data_manifests/NAME.json") == ["NAME"]
    assert PLACEHOLDER.findall("bundles/medlitenet/train.json") == []
    assert PLACEHOLDER.findall("1=anterior") == []


def test_readme_ensemble_example_is_found() -> None:
    found = [c for path in documents(REPO) for c in find_commands(path)]
    ensemble = [c for c in found if "--ckpt" in c.argv and "IMAGES/" in c.argv]
    assert ensemble and ensemble[0].argv[:2] == ["monai-lite", "infer"]
    assert all(c.source.split(":")[0] in {p.name for p in documents(REPO)} for c in found)
