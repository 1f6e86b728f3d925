# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Write down, beside the weights, the preprocessing a network was trained with: ``models/preprocessing.json``.

A network only works on inputs prepared the way its training data was. The preset, image size and number of input
channels are bundle config ids that a training run may override on the command line or with an overlay
(``--preset endoscopy --image_size "[256, 256]"``; LightAWNet's ``configs/paper.json`` trains on one grey channel
where the bundle reads RGB), and an inference run started later from the same bundle would otherwise fall back to
the bundle's defaults: it would quietly feed the network differently normalised or sized images, or build a
network whose first layer the weights do not fit. :class:`PreprocessingRecord` saves the values the run actually
used when training starts; :func:`read_preprocessing_record` gives them back, and
:func:`monai_lite.inference.load_bundle_model` applies them (unless the caller overrides them itself).

File format (JSON)::

    {"format": 1, "preset": "endoscopy", "preset_params": {"spatial_size": [128, 128]}, "image_size": [128, 128],
     "in_channels": 3}

``in_channels`` is optional (records written before it was added lack it; the bundle's own value then applies), so
the format number stays 1.

A model folder is data, never code: the record is checked against this schema before any value is used (a preset
name of ``transforms/``, looked up by name only; parameters of that preset holding plain JSON values, no path and
nothing MONAI's config parser would run or follow; an image size of positive integers; a positive integer number of
input channels; no other field). A record that fails is refused, naming the file and the field, and nothing in it
is parsed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ignite.engine import Events

from monai_lite.engine.atomic import atomic_write_json
from monai_lite.errors import MonaiLiteError, UnsafeValueError
from monai_lite.plain_values import config_syntax_problem, plain_json_problem

logger = logging.getLogger(__name__)

__all__ = [
    "RECORD_NAME", "RECORDED_IDS", "NETWORK_IDS", "PreprocessingRecord", "apply_recorded_preprocessing",
    "read_preprocessing_record", "check_preprocessing_record",
]

#: File name of the record, in the folder of the weights.
RECORD_NAME = "preprocessing.json"
_FORMAT = 1
#: The preprocessing ids a record holds: applied together, and set aside together when a caller overrides any of them
#: (a preset chosen by hand with the record's parameters of another preset would be neither).
RECORDED_IDS = ("preset", "preset_params", "image_size")
#: The network ids a record holds: what the weights themselves need (a 1-channel first layer loads into nothing
#: else), so each applies unless the caller sets that id itself, whatever the caller does to the preprocessing.
NETWORK_IDS = ("in_channels",)
#: Upper bound of a recorded ``in_channels``: far above any image's channels, low enough to refuse nonsense.
_MAX_CHANNELS = 1024


class PreprocessingRecord:
    """Ignite handler: on the trainer's ``STARTED``, write ``save_dir/preprocessing.json`` atomically.

    Args:
        save_dir: the folder of the checkpoints (the bundle's ``ckpt_dir``).
        preset: the transform preset name the run uses.
        preset_params: the preset's parameters as the run resolved them (e.g. ``{"spatial_size": [128, 128]}``).
        image_size: the training image (2D) or patch (3D) size.
        in_channels: the input channels of the network trained (what the preset's images have); None leaves it
            out of the record.

    Example (a bundle's ``train#handlers``)::

        {"_target_": "monai_lite.engine.PreprocessingRecord", "save_dir": "@ckpt_dir", "preset": "@preset",
         "preset_params": "@preset_params", "image_size": "@image_size", "in_channels": "@in_channels"}
    """

    #: Multi-process runs (monai_lite.engine.distributed) run it on rank 0 only: it writes a file.
    every_rank = False

    def __init__(
        self,
        save_dir: str | os.PathLike,
        preset: str,
        preset_params: Mapping[str, Any] | None = None,
        image_size: Sequence[int] | None = None,
        in_channels: int | None = None,
    ) -> None:
        self.path = Path(save_dir) / RECORD_NAME
        self.record: dict[str, Any] = {
            "format": _FORMAT,
            "preset": str(preset),
            "preset_params": dict(preset_params or {}),
            "image_size": list(image_size) if image_size is not None else None,
        }
        if in_channels is not None:
            self.record["in_channels"] = int(in_channels)

    def attach(self, engine: Any) -> None:
        """Write the record when ``engine`` starts (a resumed run rewrites the same values)."""
        engine.add_event_handler(Events.STARTED, self.write)

    def write(self, _engine: Any = None) -> Path:
        """Write the record now (folder created if needed); returns its path."""
        return atomic_write_json(self.path, self.record)


def _refuse(path: Path, field: str, problem: str, unsafe: bool = False) -> None:
    kind = UnsafeValueError if unsafe else MonaiLiteError
    raise kind(
        f"{path}: field '{field}': {problem}. This preprocessing record is refused (a model folder holds data only); "
        "delete the file to use the bundle's own preprocessing, or write it again with a training run."
    )


def _check_preset(path: Path, preset: Any) -> list[str]:
    from monai_lite.transforms.presets import list_presets, preset_parameters

    names = list_presets()
    if not isinstance(preset, str) or preset not in names:
        _refuse(path, "preset", f"{preset!r} is not a preset name; the presets are {', '.join(names)}",
                unsafe=isinstance(preset, str) and (config_syntax_problem(preset, "preset") is not None
                                                     or "/" in preset or "\\" in preset or ".." in preset))
    return preset_parameters(preset)


def _check_image_size(path: Path, image_size: Any) -> None:
    if image_size is None:
        return
    problem = config_syntax_problem(image_size, "image_size")
    if problem:
        _refuse(path, "image_size", problem, unsafe=True)
    if (not isinstance(image_size, list) or len(image_size) not in (2, 3)
            or not all(isinstance(s, int) and not isinstance(s, bool) and 0 < s <= 100_000 for s in image_size)):
        _refuse(path, "image_size", f"{image_size!r} is not a list of 2 or 3 positive integers")


def _check_in_channels(path: Path, in_channels: Any) -> None:
    if in_channels is None:
        return
    problem = config_syntax_problem(in_channels, "in_channels")
    if problem:
        _refuse(path, "in_channels", problem, unsafe=True)
    if not isinstance(in_channels, int) or isinstance(in_channels, bool) or not 0 < in_channels <= _MAX_CHANNELS:
        _refuse(path, "in_channels", f"{in_channels!r} is not a number of input channels (an integer from 1 to "
                                     f"{_MAX_CHANNELS})")


def check_preprocessing_record(record: Any, path: str | os.PathLike = RECORD_NAME) -> dict[str, Any]:
    """Check a record's content against the schema (see the module docstring) and return its recorded ids.

    Args:
        record: the decoded JSON.
        path: the file it came from, for messages.

    Returns:
        ``{preset, preset_params, image_size, in_channels}`` (ids absent or recorded as null left out).

    Raises:
        UnsafeValueError: a value that MONAI's config parser would run or follow, or a path where a name belongs.
        MonaiLiteError: any other departure from the schema.
    """
    path = Path(path)
    if not isinstance(record, dict):
        _refuse(path, "(top level)", f"a preprocessing record is a JSON object, this file holds a {type(record).__name__}")
    fields = RECORDED_IDS + NETWORK_IDS
    unknown = sorted(set(record) - {"format", *fields})
    if unknown:
        _refuse(path, unknown[0], f"unknown field; a record has only format, {', '.join(fields)}",
                unsafe=config_syntax_problem({k: record[k] for k in unknown}, "record") is not None)
    if record.get("format") != _FORMAT:
        _refuse(path, "format", f"{record.get('format')!r} is not a known record format (this version reads {_FORMAT})")
    parameters = _check_preset(path, record.get("preset"))
    params = record.get("preset_params")
    if params is not None:
        if not isinstance(params, dict):
            _refuse(path, "preset_params", f"must be an object of preset parameters, found {type(params).__name__}")
        problem = plain_json_problem(params, "preset_params")
        if problem:
            _refuse(path, problem.split(" ", 1)[0], problem, unsafe=True)
        unknown = sorted(set(params) - set(parameters))
        if unknown:
            _refuse(path, f"preset_params.{unknown[0]}",
                    f"preset {record['preset']!r} has no such parameter; its parameters are {', '.join(parameters)}")
    _check_image_size(path, record.get("image_size"))
    _check_in_channels(path, record.get("in_channels"))
    return {key: record[key] for key in fields if record.get(key) is not None}


def read_preprocessing_record(weights: str | os.PathLike) -> dict[str, Any] | None:
    """The recorded ``{preset, preset_params, image_size[, in_channels]}`` beside a weights file, or None if none.

    Args:
        weights: a checkpoint file (the record is looked for in its folder) or the folder itself.

    Raises:
        ValueError: a record that exists but cannot be read or fails the schema (:func:`check_preprocessing_record`),
            naming the file and the field.
    """
    weights = Path(weights)
    path = (weights if weights.is_dir() else weights.parent) / RECORD_NAME
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:  # ValueError: bad JSON or bad UTF-8
        raise MonaiLiteError(f"{path}: unreadable preprocessing record ({err}); delete it or fix it.") from err
    if not isinstance(record, dict) or not isinstance(record.get("preset"), str):
        raise MonaiLiteError(f"{path}: not a preprocessing record (needs a 'preset' string); delete it or fix it.")
    return check_preprocessing_record(record, path)


def apply_recorded_preprocessing(parser: Any, weights: str | os.PathLike, overrides: Mapping[str, Any]) -> dict:
    """Use the preprocessing and input channels the weights were trained with (``preprocessing.json`` beside them).

    The preset, its parameters and the image size are applied together, and set aside together when the caller set
    any of them: a caller's choice is deliberate, the bundle's defaults may not be. The number of input channels is
    a property of the weights (a first layer trained on one grey channel loads into no 3-channel network), so it
    applies unless the caller set ``in_channels`` itself. The values were checked by
    :func:`read_preprocessing_record` (plain JSON, no config syntax) before they reach the parser.

    Args:
        parser: the bundle's ``ConfigParser`` (or anything that takes ``parser[id] = value``), before parsing.
        weights: the checkpoint the run loads; the record is looked for beside it.
        overrides: the caller's config ids (``#`` or ``::`` paths), whose choices win.

    Returns:
        The ids set from the record (empty without a record).
    """
    record = read_preprocessing_record(weights)
    if not record:
        return {}
    chosen = {key.replace("::", "#").split("#")[0] for key in overrides}
    applied = {}
    if chosen & set(RECORDED_IDS):
        logger.info("%s: preprocessing set by the caller (%s); the recorded preprocessing is not used.",
                    weights, ", ".join(sorted(chosen & set(RECORDED_IDS))))
    else:
        applied.update({key: value for key, value in record.items() if key in RECORDED_IDS})
    applied.update({key: value for key, value in record.items() if key in NETWORK_IDS and key not in chosen})
    for key, value in applied.items():
        parser[key] = value
    if applied:
        logger.info("%s: as recorded at training: %s", weights, ", ".join(f"{k}={v}" for k, v in applied.items()))
    return applied
