# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Training from a shared model folder runs no code from it (issue 15, part 1: ``--resume`` and ``--init_weights``).

Proves: with a ``preprocessing.json`` holding a ``$`` expression planted beside the weights, a training run that
resumes from that folder's ``last.pt`` and one that starts from its ``model.pt`` (``init_weights``) both complete,
and the payload's marker file is never created; a damaged ``init_weights`` file is refused at start-up in one
message naming it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from monai_lite.cli import main

SHORT = ["--set", "image_size=[64, 64]", "--set", "batch_size=4", "--set", "num_workers=0"]


@pytest.fixture(scope="module")
def trained_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trained")
    assert main(["train", "--bundle", "medlitenet", "--epochs", "1", "--device", "cpu", "--set", f"bundle_root={root}",
                 *SHORT]) == 0
    return root


def _plant(models: Path, marker: Path) -> None:
    record = {"format": 1, "preset": "dermoscopy", "preset_params": {"spatial_size": [64, 64]},
              "image_size": f"$open({str(marker)!r}, 'w').write('ran')"}
    (models / "preprocessing.json").write_text(json.dumps(record))


@pytest.mark.slow
def test_resume_from_a_planted_folder_runs_nothing(trained_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(trained_root, root)
    marker = tmp_path / "marker"
    _plant(root / "models", marker)
    assert main(["train", "--bundle", "medlitenet", "--epochs", "1", "--device", "cpu", "--set", f"bundle_root={root}",
                 "--set", "resume=true", *SHORT]) == 0
    assert not marker.exists()


@pytest.mark.slow
def test_init_weights_from_a_planted_folder_runs_nothing(trained_root: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared_model"
    shutil.copytree(trained_root / "models", shared)
    marker = tmp_path / "marker"
    _plant(shared, marker)
    assert main(["train", "--bundle", "medlitenet", "--epochs", "1", "--device", "cpu",
                 "--set", f"bundle_root={tmp_path / 'new'}", "--set", f"init_weights={shared / 'model.pt'}",
                 *SHORT]) == 0
    assert not marker.exists()


def test_damaged_init_weights_are_refused_at_start(tmp_path: Path, capsys) -> None:
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"")
    assert main(["train", "--bundle", "medlitenet", "--epochs", "1", "--device", "cpu",
                 "--set", f"bundle_root={tmp_path / 'new'}", "--set", f"init_weights={weights}", *SHORT]) == 1
    err = capsys.readouterr().err
    assert f"bundle setting 'init_weights': {weights} is empty (0 bytes)" in err and "Traceback" not in err
