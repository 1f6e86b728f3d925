# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Silence the few third-party warnings every run prints that say nothing about the user's run.

Each filter matches one message exactly (by its start), so every other warning, from these libraries too, stays
visible. Installed where the project starts: the ``monai-lite`` command and ``import monai_lite.bundle`` (which a
bundle config imports first, before any image is read).

- MONAI 1.6 builds an ``NvImgCodecPydicomReader`` among its default DICOM readers; without the optional nvImageCodec
  package it warns, once per reader built, that it falls back to pydicom, which is what we want anyway.
- MONAI's bundle runner notes that a config's ``$`` expressions are evaluated. Our bundles are this checkout's own
  files; the notice is silenced only for configs run through :func:`silence_known_noise`'s callers. MONAI's own
  ``python -m monai.bundle run`` prints it before our code is imported, so that command still shows it (README).
"""

from __future__ import annotations

import warnings

__all__ = ["KNOWN_NOISE", "silence_known_noise"]

#: Start of each silenced message (regular expressions, matched at the start of the message).
KNOWN_NOISE: tuple[str, ...] = (
    r"NvImgCodecPydicomReader: nvImageCodec decoder plugin did not register successfully",
    r"parsing config_file .*: any `\"_target_\"` value in it is resolved to an importable callable",
)


def silence_known_noise() -> None:
    """Ignore the warnings of :data:`KNOWN_NOISE`; calling it again changes nothing."""
    for message in KNOWN_NOISE:
        # filterwarnings drops an identical earlier filter before inserting, so repeated calls do not pile up.
        warnings.filterwarnings("ignore", message=message, category=UserWarning)
