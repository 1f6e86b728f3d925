# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The project's error types, and how a command reports them: one message, no traceback.

Every problem a user can fix (a bad file, a bad setting) is raised as a :class:`MonaiLiteError` (a ``ValueError``,
so code that catches ``ValueError`` keeps working) whose message names the file or setting, what is wrong and what
is allowed. ``monai-lite`` and the bundles' ``python -m monai.bundle run ...`` print that message alone and exit
with status 1; ``--debug`` or ``MONAI_LITE_DEBUG=1`` shows the traceback instead.

MONAI's config parser wraps what an expression raised in ``RuntimeError("Failed to evaluate ...")`` and ignite
re-raises handler errors, so the message is looked for along the exception's cause chain.
"""

from __future__ import annotations

import os
import sys
from types import TracebackType

__all__ = [
    "MonaiLiteError",
    "UnsafeValueError",
    "CheckpointError",
    "SettingError",
    "InputFileError",
    "debug_requested",
    "user_error",
    "user_message",
    "install_bundle_error_reporting",
]


class MonaiLiteError(ValueError):
    """A problem with the user's files or settings; the message says which, what is wrong and what to do."""


class UnsafeValueError(MonaiLiteError):
    """A value read from a file (model folder, datalist) that MONAI's config parser would run or follow."""


class CheckpointError(MonaiLiteError):
    """A weights file that is missing, empty, damaged, not a checkpoint, or does not fit the network."""


class SettingError(MonaiLiteError):
    """A bundle setting (config id or command-line override) outside what the bundle accepts."""


class InputFileError(MonaiLiteError):
    """An input image that cannot be read, or is not what the model segments (e.g. 4D into a 3D network)."""


#: OS errors that are about the user's paths (a read-only folder, a path under a file), reported like ours.
_PATH_ERRORS = (FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError, FileExistsError)


def debug_requested() -> bool:
    """True when ``MONAI_LITE_DEBUG`` is set to anything but ``""``/``0``/``false``/``no``."""
    return os.environ.get("MONAI_LITE_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def user_error(err: BaseException | None) -> BaseException | None:
    """The fixable problem behind ``err`` (a ``ValueError`` or path ``OSError`` along its cause chain), or None."""
    seen = 0
    while err is not None and seen < 20:
        if isinstance(err, (ValueError, *_PATH_ERRORS)):
            return err
        err, seen = err.__cause__ or err.__context__, seen + 1
    return None


def user_message(err: BaseException) -> str:
    """One line for ``err``: its message, or for an ``OSError`` the path and the system's reason."""
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        return f"cannot use {err.filename}: {err.strerror}."
    return str(err).strip() or type(err).__name__


def _report(kind: type[BaseException], err: BaseException, tb: TracebackType | None) -> None:
    problem = user_error(err)
    if problem is None or debug_requested():
        sys.__excepthook__(kind, err, tb)
        return
    print(f"monai-lite: error: {user_message(problem)}", file=sys.stderr)


def install_bundle_error_reporting() -> None:
    """Report a fixable problem that ends this process as one line on stderr (exit status 1), not a traceback.

    Called when a bundle workflow starts (``python -m monai.bundle run ...`` has no error reporting of its own);
    other errors, and every error under ``MONAI_LITE_DEBUG=1``, keep Python's full traceback.
    """
    sys.excepthook = _report
