# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""One training at a time per run folder: a lock file in ``models/`` that a second training on it meets at once.

Two trainings writing one ``bundle_root/models`` both succeed and leave one run's ``model.pt`` beside the other's
``last.pt`` (whose Dice then weighs the wrong weights in an ensemble). :class:`RunFolderLock` is taken before the
trainer is built (the bundle's ``run`` list) and released when the run ends (``finalize``, or when the process
exits), so the second training fails before it reads any data, naming the folder and the training that holds it.

How it is held: ``models/training.lock`` is opened and locked with ``fcntl.flock`` (the kernel drops the lock when
its process dies, however it dies), and holds the holder's pid, host, start time and command, for messages. A lock
file left by a killed run (no flock held; on this host, its pid no longer running) is taken over with a warning. A
lock file written on another host is not taken over (this host cannot tell whether that run is alive): the
message says to delete it if that run is gone. Where ``fcntl`` does not exist (Windows) the file is created
exclusively and the pid check alone tells a stale lock from a live one.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from monai_lite.errors import MonaiLiteError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["RunFolderLock", "RunFolderLockedError", "LOCK_NAME"]

logger = logging.getLogger(__name__)

#: The lock file's name inside the run folder.
LOCK_NAME = "training.lock"

#: Locks this process holds, by lock file, so a later run in the same process (after a run that raised before
#: ``finalize``) takes over its own lock instead of refusing itself.
_HELD: dict[Path, RunFolderLock] = {}


class RunFolderLockedError(MonaiLiteError):
    """Another training holds the run folder."""


def _pid_running(pid: int) -> bool:
    """True if a process ``pid`` exists on this host and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _describe(holder: dict[str, Any]) -> str:
    parts = [f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"]
    if holder.get("started"):
        parts.append(f"started {holder['started']}")
    if holder.get("command"):
        parts.append(f"command: {holder['command']}")
    return ", ".join(parts)


class RunFolderLock:
    """Hold a run folder (``bundle_root/models``) for one training.

    Args:
        run_dir: the folder the training writes its checkpoints to; created if needed.
        name: the lock file's name. Defaults to :data:`LOCK_NAME`.

    Example::

        lock = RunFolderLock("bundles/medlitenet/models").acquire()   # RunFolderLockedError if another run holds it
        ...
        lock.release()

    In a bundle's ``train.json``: ``"run_lock": {"_target_": "monai_lite.engine.RunFolderLock", "run_dir":
    "@ckpt_dir"}``, ``"$@run_lock.acquire()"`` first in ``run`` and ``"$@run_lock.release()"`` in ``finalize``.
    """

    def __init__(self, run_dir: str | os.PathLike, name: str = LOCK_NAME) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / name
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def _record(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)[:500],
        }

    @staticmethod
    def _read(fd: int) -> dict[str, Any]:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 65536)
        try:
            holder = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            holder = {"unreadable": True}
        return holder if isinstance(holder, dict) else {"unreadable": True}

    def _refuse(self, holder: dict[str, Any], other_host: bool = False) -> RunFolderLockedError:
        who = _describe(holder) if holder and not holder.get("unreadable") else "a process that left no details"
        advice = (
            f"This host cannot tell whether that run is still alive; if it is gone, delete {self.path}."
            if other_host
            else "Wait for it to finish (or stop it), or train into another folder (--bundle_root on a copy of the "
            "bundle)."
        )
        return RunFolderLockedError(
            f"run folder {self.run_dir} is in use by another training ({who}); two trainings writing one run folder "
            f"would mix their checkpoints. {advice}"
        )

    def _take(self, fd: int, holder: dict[str, Any]) -> None:
        """Decide about an unflocked lock file's previous content; raise if it may belong to a live run."""
        if not holder or holder.get("pid") == os.getpid():
            return
        if holder.get("unreadable"):
            logger.warning("Taking over the unreadable lock file %s (no process holds it).", self.path)
            return
        if holder.get("host") != socket.gethostname():
            raise self._refuse(holder, other_host=True)
        pid = int(holder.get("pid", -1)) if str(holder.get("pid", "")).lstrip("-").isdigit() else -1
        if _pid_running(pid):
            raise self._refuse(holder)
        logger.warning(
            "Taking over the stale lock of run folder %s: its training (%s) is no longer running.",
            self.run_dir,
            _describe(holder),
        )

    def acquire(self) -> RunFolderLock:
        """Take the lock, or refuse at once.

        Returns:
            self (so a config can write ``"$@run_lock.acquire()"``).

        Raises:
            RunFolderLockedError: another live training holds the folder (its pid, host, start and command are in
                the message), or a lock file written on another host is present.
        """
        if self.held:
            return self
        self.path = self.path.absolute()
        previous = _HELD.pop(self.path, None)
        if previous is not None:  # an earlier run of this process ended without finalize (it raised)
            previous.release()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(20):
            fd = self._open()
            if fd is None:
                continue
            try:
                self._take(fd, self._read(fd))
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, (json.dumps(self._record()) + "\n").encode("utf-8"))
                os.fsync(fd)
            except BaseException:
                self._close(fd)
                raise
            self._fd = fd
            _HELD[self.path] = self
            atexit.register(self.release)
            logger.debug("Locked run folder %s (%s).", self.run_dir, self.path)
            return self
        raise RunFolderLockedError(f"could not lock run folder {self.run_dir}: {self.path} keeps changing.")

    def _open(self) -> int | None:
        """An fd of the lock file holding the flock, or None to try again (the file was replaced meanwhile)."""
        if fcntl is None:
            return self._open_exclusive()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._read(fd)
            os.close(fd)
            raise self._refuse(holder) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the holder released (and removed) the file between our open and our flock
            self._close(fd)
            return None
        return fd

    def _open_exclusive(self) -> int | None:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            pass
        fd = os.open(self.path, os.O_RDWR)
        holder = self._read(fd)
        try:
            self._take(fd, holder)
        finally:
            os.close(fd)
        self.path.unlink(missing_ok=True)
        return None

    @staticmethod
    def _close(fd: int) -> None:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            except OSError:
                pass
        os.close(fd)

    def release(self) -> None:
        """Remove the lock file and drop the lock (nothing happens if this object does not hold it)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        if _HELD.get(self.path) is self:
            del _HELD[self.path]
        try:
            self.path.unlink(missing_ok=True)  # before unlocking: a waiter then finds the file gone and retries
        finally:
            self._close(fd)
        atexit.unregister(self.release)
        logger.debug("Released run folder %s.", self.run_dir)

    def __enter__(self) -> RunFolderLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()
