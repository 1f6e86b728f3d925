# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""``inference_log.json``: what an inference run read, with which weights and options, and what it wrote.

The log is rewritten (atomically) after every case, so a run that stops half-way still documents the cases it
finished. Layout::

    {"monai_lite_version": ..., "torch_version": ..., "monai_version": ..., "python_version": ..., "started": ISO time,
     "device": "cpu",
     "models": [{"bundle": ..., "checkpoint": ..., "sha256": ..., "dice": 0.9, "weight": 0.6}, ...],
     "options": {"tta": false, "tta_transforms": [...], "threshold": 0.5, "overlap": 0.25, "blend": "gaussian", ...},
     "cases": [{"input": ..., "kind": "dicom", "series_uid": ..., "shape": [...], "spacing": [...],
                "outputs": [...], "seconds": 1.2, "notes": [...]}, ...]}
"""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["InferenceLog"]


class InferenceLog:
    """Collects the record of one run and writes it as JSON.

    Args:
        path: the log file, e.g. ``OUTDIR/inference_log.json``.
        models: one dict per model (bundle, checkpoint, sha256, dice, weight).
        options: the options of the run.
        device: the torch device used.

    Example::

        log = InferenceLog(out / "inference_log.json", models, {"tta": False}, "cpu")
        log.add_case({"input": "a.png", "outputs": ["a_seg.png"], "seconds": 0.2})
    """

    def __init__(self, path: str | os.PathLike, models: list[dict], options: dict, device: str) -> None:
        import monai
        import torch

        from monai_lite import __version__

        self.path = Path(path)
        self.record: dict[str, Any] = {
            "monai_lite_version": __version__,
            "torch_version": torch.__version__,
            "monai_version": monai.__version__,
            "python_version": platform.python_version(),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "device": str(device),
            "models": models,
            "options": options,
            "cases": [],
        }

    def add_case(self, entry: dict) -> None:
        """Append one case and rewrite the file.

        Args:
            entry: the case's record (input, outputs, shape, spacing, seconds, ...).
        """
        self.record["cases"].append(entry)
        self.save()

    def save(self) -> Path:
        """Write the log atomically and return its path."""
        from monai_lite.inference.writers import write_json

        self.record["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return write_json(self.record, self.path)
