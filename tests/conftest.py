# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Settings shared by every test: two CPU threads, and a private cache for generated datasets."""

from __future__ import annotations

from pathlib import Path

import logging

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


@pytest.fixture(autouse=True)
def _no_handlers_on_closed_streams() -> None:
    """Drop logging handlers left writing to a stream that an earlier test's output capture has closed.

    A bundle run inside the test process configures logging (MONAI's ``logging.conf``) with handlers bound to that
    test's captured ``sys.stderr``; once pytest closes it, every later log record would print a "Logging error"
    traceback into whatever test runs next.
    """
    loggers = [logging.getLogger(), *(v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger))]
    for logger in loggers:
        for handler in list(logger.handlers):
            if getattr(getattr(handler, "stream", None), "closed", False):
                logger.removeHandler(handler)
