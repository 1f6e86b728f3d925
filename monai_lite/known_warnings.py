# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Silence the few third-party warnings every run prints that say nothing about the user's run.

Each filter matches one message exactly (by its start), so every other warning, from these libraries too, stays
visible. Installed where the project starts: the ``monai-lite`` command and ``import monai_lite.bundle`` (which a
bundle config imports first, before any image is read).

- MONAI 1.6 builds an ``NvImgCodecPydicomReader`` among its default DICOM readers; without the optional nvImageCodec
  package it logs (logger ``monai.data.nvimgcodec_pydicom_plugin``) and warns, once per reader built, that it
  falls back to pydicom, which is what we want anyway. Both messages are dropped; other records of that logger stay.
- MONAI's bundle runner notes that a config's ``$`` expressions are evaluated. Our bundles are this checkout's own
  files; the notice is silenced only for configs run through :func:`silence_known_noise`'s callers. MONAI's own
  ``python -m monai.bundle run`` prints it before our code is imported, so that command still shows it (README).
"""

from __future__ import annotations

import logging
import re
import warnings

__all__ = ["KNOWN_NOISE", "KNOWN_LOG_NOISE", "silence_known_noise"]

#: Start of each silenced message (regular expressions, matched at the start of the message).
KNOWN_NOISE: tuple[str, ...] = (
    r"NvImgCodecPydicomReader: nvImageCodec decoder plugin did not register successfully",
    r"parsing config_file .*: any `\"_target_\"` value in it is resolved to an importable callable",
)

#: Logger name -> start of each dropped log message (regular expression).
KNOWN_LOG_NOISE: dict[str, tuple[str, ...]] = {
    "monai.data.nvimgcodec_pydicom_plugin": (r"nvImageCodec is not available; skipping pydicom decoder plugin",),
}


class _DropKnown(logging.Filter):
    """Drops the records whose message starts with one of ``patterns``."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        super().__init__()
        self.patterns = [re.compile(p) for p in patterns]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(p.match(message) for p in self.patterns)


def silence_known_noise() -> None:
    """Ignore the warnings of :data:`KNOWN_NOISE` and the log records of :data:`KNOWN_LOG_NOISE`; idempotent."""
    for message in KNOWN_NOISE:
        # filterwarnings drops an identical earlier filter before inserting, so repeated calls do not pile up.
        warnings.filterwarnings("ignore", message=message, category=UserWarning)
    for name, patterns in KNOWN_LOG_NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropKnown) for f in logger.filters):
            logger.addFilter(_DropKnown(patterns))
