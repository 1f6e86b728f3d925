# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Write down, beside the weights, the preprocessing a network was trained with: ``models/preprocessing.json``.

A network only works on inputs prepared the way its training data was. The preset and image size are bundle config
ids that a training run may override on the command line (``--preset endoscopy --image_size "[256, 256]"``), and
an inference run started later from the same bundle would otherwise fall back to the bundle's defaults and quietly
feed the network differently normalised or sized images. :class:`PreprocessingRecord` saves the values the run
actually used when training starts; :func:`read_preprocessing_record` gives them back, and
:func:`monai_lite.inference.load_bundle_model` applies them (unless the caller overrides the preprocessing itself).

File format (JSON)::

    {"format": 1, "preset": "endoscopy", "preset_params": {"spatial_size": [128, 128]}, "image_size": [128, 128]}
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ignite.engine import Events

from monai_lite.engine.atomic import atomic_write_json

__all__ = ["RECORD_NAME", "PreprocessingRecord", "read_preprocessing_record"]

#: File name of the record, in the folder of the weights.
RECORD_NAME = "preprocessing.json"
_FORMAT = 1
#: The config ids a record holds (and that a caller's own override of any of them takes precedence over).
RECORDED_IDS = ("preset", "preset_params", "image_size")


class PreprocessingRecord:
    """Ignite handler: on the trainer's ``STARTED``, write ``save_dir/preprocessing.json`` atomically.

    Args:
        save_dir: the folder of the checkpoints (the bundle's ``ckpt_dir``).
        preset: the transform preset name the run uses.
        preset_params: the preset's parameters as the run resolved them (e.g. ``{"spatial_size": [128, 128]}``).
        image_size: the training image (2D) or patch (3D) size.

    Example (a bundle's ``train#handlers``)::

        {"_target_": "monai_lite.engine.PreprocessingRecord", "save_dir": "@ckpt_dir", "preset": "@preset",
         "preset_params": "@preset_params", "image_size": "@image_size"}
    """

    #: Multi-process runs (monai_lite.engine.distributed) run it on rank 0 only: it writes a file.
    every_rank = False

    def __init__(
        self,
        save_dir: str | os.PathLike,
        preset: str,
        preset_params: Mapping[str, Any] | None = None,
        image_size: Sequence[int] | None = None,
    ) -> None:
        self.path = Path(save_dir) / RECORD_NAME
        self.record = {
            "format": _FORMAT,
            "preset": str(preset),
            "preset_params": dict(preset_params or {}),
            "image_size": list(image_size) if image_size is not None else None,
        }

    def attach(self, engine: Any) -> None:
        """Write the record when ``engine`` starts (a resumed run rewrites the same values)."""
        engine.add_event_handler(Events.STARTED, self.write)

    def write(self, _engine: Any = None) -> Path:
        """Write the record now (folder created if needed); returns its path."""
        return atomic_write_json(self.path, self.record)


def read_preprocessing_record(weights: str | os.PathLike) -> dict[str, Any] | None:
    """The recorded ``{preset, preset_params, image_size}`` beside a weights file, or None when there is none.

    Args:
        weights: a checkpoint file (the record is looked for in its folder) or the folder itself.

    Raises:
        ValueError: a record that exists but cannot be read, naming the file and the problem.
    """
    weights = Path(weights)
    path = (weights if weights.is_dir() else weights.parent) / RECORD_NAME
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: unreadable preprocessing record ({err}); delete it or fix it.") from err
    if not isinstance(record, dict) or not isinstance(record.get("preset"), str):
        raise ValueError(f"{path}: not a preprocessing record (needs a 'preset' string); delete it or fix it.")
    return {key: record[key] for key in RECORDED_IDS if record.get(key) is not None}
