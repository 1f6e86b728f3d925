# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Settings shared by every test: two CPU threads, and a private cache for generated datasets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]

torch.set_num_threads(2)


@pytest.fixture(autouse=True, scope="session")
def _private_dataset_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated datasets go to a per-session folder, never into the user's ~/.cache."""
    cache = tmp_path_factory.mktemp("monai-lite-cache")
    patcher = pytest.MonkeyPatch()
    patcher.setenv("MONAI_LITE_CACHE", str(cache))
    yield cache
    patcher.undo()
