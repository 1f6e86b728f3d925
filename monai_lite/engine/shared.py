# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""List a handler that other config items also use (the EMA) in a bundle's literal ``train#handlers`` list.

MONAI's tools read every entry of ``train#handlers`` as a dict with a ``_target_``: ``ConfigWorkflow.
check_properties`` looks for the ``ValidationHandler`` that way, and MONAI Label filters the list with
``t.get("_target_")`` before inserting its ``CheckpointLoader`` at index 0. A bare ``"@ema"`` reference in the list
breaks both, and referring to a handler defined *inside* the list by its index breaks once MONAI Label has inserted
its own. :class:`SharedHandler` is the dict form of a reference: the object is defined once under its own id (the
evaluator validates ``@ema.validation_network``, the checkpoints save it) and listed as
``{"_target_": "monai_lite.engine.SharedHandler", "handler": "@ema"}``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SharedHandler"]


class SharedHandler:
    """A handler-list entry that attaches a handler defined elsewhere in the config.

    Args:
        handler: any object with ``attach(engine)``.

    Raises:
        TypeError: if ``handler`` has no ``attach``.
    """

    def __init__(self, handler: Any) -> None:
        if not callable(getattr(handler, "attach", None)):
            raise TypeError(f"SharedHandler needs an object with attach(engine), got {type(handler).__name__}.")
        self.handler = handler

    @property
    def every_rank(self) -> bool:
        """Whether a multi-process run runs it on every rank: as the shared handler says."""
        from monai_lite.engine.distributed import runs_on_every_rank

        return runs_on_every_rank(self.handler)

    def attach(self, engine: Any) -> None:
        """Attach the shared handler to ``engine``.

        Args:
            engine: the trainer or evaluator.
        """
        self.handler.attach(engine)
