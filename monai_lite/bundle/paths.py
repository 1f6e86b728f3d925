# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Find a bundle's root folder from the config that is being run, not from the working directory.

Model-zoo configs write ``"bundle_root": "."``, which only works when the command is started inside the bundle
(MONAI#5233, model-zoo#247). Our configs call :func:`find_bundle_root` instead. While MONAI's ``ConfigWorkflow``
parses a config it is on the call stack and knows the folder of the config files, and MONAI itself takes the
bundle root to be that folder, or its parent when the folder is called ``configs``. We apply the same rule, so
``python -m monai.bundle run training --config_file bundles/medlitenet/train.json`` works from any folder.
An explicit ``--bundle_root`` override (as MONAI Label passes) replaces the expression and wins.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

__all__ = ["find_bundle_root", "require_checkpoint"]


def _bundle_root_of(config_root: Path) -> Path:
    return config_root.parent if config_root.name == "configs" else config_root


def find_bundle_root() -> str:
    """Absolute path of the bundle whose config is being parsed.

    Looks up the call stack for the ``ConfigWorkflow`` that is parsing the config and applies MONAI's rule
    (the config folder, or its parent when it is named ``configs``). Without one (a plain ``ConfigParser``), it
    falls back to the working directory, as the model zoo does.
    """
    from monai.bundle.workflows import ConfigWorkflow

    frame = inspect.currentframe()
    try:
        while frame is not None:
            owner = frame.f_locals.get("self")
            if isinstance(owner, ConfigWorkflow) and getattr(owner, "config_root_path", None) is not None:
                return str(_bundle_root_of(Path(owner.config_root_path)).resolve())
            frame = frame.f_back
    finally:
        del frame  # break the reference cycle that holding a frame creates
    return os.getcwd()


def require_checkpoint(path: str) -> str:
    """Return ``path`` if the weights file exists, else raise one sentence saying how to produce it.

    Raises:
        FileNotFoundError: naming the missing file and the training command that writes it.
        CheckpointError: a file that is empty, damaged or not a PyTorch checkpoint (checked by reading it with
            ``weights_only=True``, memory-mapped, so MONAI's ``CheckpointLoader`` gets a file that loads).
    """
    if not os.path.isfile(path):
        bundle = Path(path).resolve().parent.parent
        raise FileNotFoundError(
            f"no trained weights at {path}. Train the bundle first: python -m monai.bundle run training "
            f"--config_file {bundle}/configs/train.json (or pass --ckpt_path to point at another checkpoint)."
        )
    from monai_lite.engine.checkpoint_file import read_checkpoint

    read_checkpoint(path, "checkpoint", mmap=True)
    return path
