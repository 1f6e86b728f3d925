# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Ctrl-C during training: finish the current iteration, then stop cleanly instead of dying in the middle.

Python turns SIGINT into a ``KeyboardInterrupt`` wherever the main thread happens to be: inside a data loader, an
optimiser step or a checkpoint write, and the run's last state is lost. :class:`StopRequest` replaces the SIGINT
handler while an engine runs: the first SIGINT only asks ignite to terminate after the current iteration
(``engine.terminate()``), so the caller can save a consistent checkpoint on ``Events.TERMINATE``; a second SIGINT
restores Python's handler and interrupts at once, for a run that does not stop. :class:`TrainingInterrupted` then
ends the process with status 130 (the shell's code for SIGINT).
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

__all__ = ["StopRequest", "TrainingInterrupted", "INTERRUPTED_EXIT_CODE"]

#: Exit status of a training stopped by SIGINT (128 + 2, as shells report it).
INTERRUPTED_EXIT_CODE = 130


class TrainingInterrupted(SystemExit):
    """A training stopped on request after saving its state; exits with :data:`INTERRUPTED_EXIT_CODE`.

    Args:
        message: what happened and how to continue (kept in ``message``; the exit code is 130).
    """

    def __init__(self, message: str) -> None:
        super().__init__(INTERRUPTED_EXIT_CODE)
        self.message = message

    def __str__(self) -> str:
        return self.message


class StopRequest:
    """Turn SIGINT into a request to stop an ignite engine after its current iteration.

    Args:
        signals: the signals to catch. Defaults to (SIGINT,).

    Example::

        stop = StopRequest()
        stop.install(trainer)       # on Events.STARTED
        ...
        if stop.requested: ...      # on Events.TERMINATE: save, then raise TrainingInterrupted
        stop.restore()              # on COMPLETED / TERMINATE / EXCEPTION_RAISED
    """

    def __init__(self, signals: tuple[int, ...] = (signal.SIGINT,)) -> None:
        self.signals = tuple(signals)
        self.requested: str | None = None
        self._previous: dict[int, Any] = {}
        self._engine: Any = None

    def install(self, engine: Any) -> None:
        """Catch the signals while ``engine`` runs (main thread only: elsewhere Python cannot install handlers)."""
        self.requested = None
        self._engine = engine
        if self._previous or threading.current_thread() is not threading.main_thread():
            return
        for signum in self.signals:
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._on_signal)

    def restore(self) -> None:
        """Put the previous handlers back."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
        self._engine = None

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.requested is not None or self._engine is None:
            # A second signal: the user insists, or the engine is gone. Behave as Python would have.
            previous = self._previous.get(signum, signal.default_int_handler)
            self.restore()
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                os.kill(os.getpid(), signum)
            return
        self.requested = signal.Signals(signum).name
        self._engine.terminate()
