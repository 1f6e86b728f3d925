# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""ignite's progress bar, showing the running loss of a MONAI trainer.

MONAI attaches handlers with ``handler.attach(engine)`` only, so ignite's ``ProgressBar`` listed in a bundle shows
the iteration count but no loss (ignite needs an ``output_transform`` at attach time, and MONAI's decollated output
is a list of per-sample dicts). This subclass supplies it.
"""

from __future__ import annotations

from typing import Any

from ignite.handlers import ProgressBar as IgniteProgressBar
from monai.utils import CommonKeys

__all__ = ["ProgressBar", "loss_of"]


def loss_of(output: Any) -> dict[str, float]:
    """The loss of a MONAI trainer's iteration output, as ``{"loss": value}`` (empty when there is none).

    Args:
        output: ``engine.state.output``: a dict, or the list of per-sample dicts after decollation.

    Returns:
        ``{"loss": float}`` or ``{}``.
    """
    first = output[0] if isinstance(output, (list, tuple)) and output else output
    if isinstance(first, dict) and CommonKeys.LOSS in first:
        return {"loss": float(first[CommonKeys.LOSS])}
    return {}


class ProgressBar(IgniteProgressBar):
    """A per-epoch progress bar with the running loss; takes ignite ``ProgressBar``'s arguments.

    Examples::

        {"_target_": "monai_lite.engine.ProgressBar", "persist": false}
    """

    #: Multi-process runs (monai_lite.engine.distributed) run it on rank 0 only: it prints progress.
    every_rank = False

    def attach(self, engine: Any, metric_names: Any = None, output_transform: Any = None, **kwargs: Any) -> None:
        """Attach like ignite's bar, with the loss shown unless another ``output_transform`` is given.

        Args:
            engine: the trainer.
            metric_names: ignite metric names to show. Defaults to None.
            output_transform: maps the output to ``{name: value}``. Defaults to :func:`loss_of`.
            kwargs: ignite ``ProgressBar.attach`` arguments.
        """
        super().attach(engine, metric_names=metric_names, output_transform=output_transform or loss_of, **kwargs)
