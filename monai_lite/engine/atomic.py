# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Checkpoint files that are never half-written: write a temporary file beside the target, then rename it.

A process killed while ``torch.save`` writes (``kill -9``, out of memory, a lost node) leaves a truncated file that
later fails to load, and a resume must never meet one. MONAI's ``CheckpointSaver`` writes in place
(``DiskSaver(atomic=False)``) and, for a fixed file name such as ``model.pt``, deletes the previous file *before*
writing the new one, so a kill in between leaves no checkpoint at all. :func:`atomic_save` writes to a temporary
file in the same folder, flushes it to disk, and ``os.replace``-s it onto the target: on POSIX and Windows the
target is at every moment either the complete old file or the complete new one. :class:`AtomicDiskSaver` is the same
as an ignite save handler, for ``ignite.handlers.Checkpoint``. :func:`atomic_path` and :func:`atomic_write_text` give
the same guarantee to every other file the project writes (reports, masks, exports, plots).
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import ignite.distributed as idist
import torch
from ignite.handlers.checkpoint import BaseSaveHandler

__all__ = ["atomic_path", "atomic_save", "atomic_write_json", "atomic_write_text", "json_ready", "AtomicDiskSaver"]


#: errno values of a full disk or quota.
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _new_file_mode(path: Path) -> int:
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows, where folders cannot be opened; the rename is durable enough there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj, path)`` so that ``path`` is never seen half-written.

    Writes ``.<name>.<random>.tmp`` in the target's folder, fsyncs it, gives it the permissions a new file would
    get (or the old file's), renames it onto ``path``, and fsyncs the folder. Temporary files that a killed earlier
    save left behind for the same target are removed after a successful save.

    Args:
        obj: what to save (typically a dict of state dicts).
        path: the target file; its folder is created if needed.

    Returns:
        The target path.

    Raises:
        OSError: with a message naming ``path`` when the disk or quota is full (the previous file is kept).
        Whatever else ``torch.save`` raises; the target is then left untouched and the temporary file removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _new_file_mode(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as stream:
            torch.save(obj, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno in _FULL:
            kept = f"the previous {path.name} is kept unchanged" if path.exists() else f"no {path.name} was written"
            raise OSError(
                err.errno, f"no space left to write {path} ({os.strerror(err.errno)}); {kept}. Free some space, then "
                "resume (--resume)", str(path),
            ) from err
        raise
    _fsync_dir(path.parent)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; on success it is renamed onto ``path``, on failure removed.

    The temporary name keeps the target's ending (``.nii.gz``, ``.png``, ``.onnx``, ...), so writers that pick the
    format from the file name write the right one. The file gets the permissions a new file would get (or the old
    file's). Unlike :func:`atomic_save` nothing is fsynced: for reports and predictions a rename that readers never
    see half done is the point, not durability across a power cut.

    Args:
        path: the final file; its folder is created if needed.

    Yields:
        The temporary path.

    Raises:
        Whatever the writing raises; ``path`` is then left untouched and the temporary file removed.

    Example::

        with atomic_path("out/case_seg.png") as tmp:
            Image.fromarray(mask).save(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _new_file_mode(path)
    ending = ".nii.gz" if path.name.endswith(".nii.gz") else path.suffix
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp{ending}")
    try:
        yield tmp
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, line endings as given) to ``path`` through :func:`atomic_path`; returns ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")
    return Path(path)


def json_ready(value: Any) -> Any:
    """A copy of ``value`` that ``json.dumps`` takes and that reads back the same: mappings with string keys,
    tuples as lists, paths as strings, NumPy/torch scalars as Python numbers, NaN and infinities as ``None``."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def atomic_write_json(path: str | os.PathLike, content: Any) -> Path:
    """Write ``json_ready(content)`` as JSON (2-space indent, UTF-8, trailing newline) through :func:`atomic_path`."""
    return atomic_write_text(path, json.dumps(json_ready(content), indent=2, ensure_ascii=False) + "\n")


class AtomicDiskSaver(BaseSaveHandler):
    """An ignite save handler writing with :func:`atomic_save`, on rank 0 only.

    With a fixed ``filename`` every checkpoint goes to that one file, and ``remove`` is a no-op: ignite's
    ``Checkpoint`` asks to delete the previous file before saving the next, which for a fixed name would open a
    window with no checkpoint; the atomic rename replaces it instead.

    Args:
        dirname: folder of the checkpoints (created if needed).
        filename: fixed file name, e.g. ``"last.pt"``; ``None`` uses the names ignite's ``Checkpoint`` makes up.
            Defaults to None.

    Examples::

        Checkpoint({"model": net, "optimizer": opt}, AtomicDiskSaver("models", "last.pt"), n_saved=1)
    """

    def __init__(self, dirname: str | os.PathLike, filename: str | None = None) -> None:
        self.dirname = Path(dirname)
        self.filename = filename

    def __call__(self, checkpoint: Mapping, filename: str, metadata: Mapping | None = None) -> None:
        """Save ``checkpoint`` as ``filename`` (or the fixed name) in ``dirname``, on rank 0 only.

        Args:
            checkpoint: the dict of state dicts ignite's ``Checkpoint`` assembled.
            filename: the name ignite chose.
            metadata: unused.
        """
        if idist.get_rank() == 0:
            atomic_save(checkpoint, self.dirname / (self.filename or filename))

    def remove(self, filename: str) -> None:
        """Delete an old checkpoint, except with a fixed name (the next save replaces it atomically).

        Args:
            filename: the name ignite chose for the old checkpoint.
        """
        if self.filename is None and idist.get_rank() == 0:
            (self.dirname / filename).unlink(missing_ok=True)
