# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Stop training at the first NaN or infinite loss, before it reaches the weights or a checkpoint.

A NaN loss back-propagates into NaN weights; the run then goes on, validates to Dice 0, and may overwrite
``last.pt`` with a model that can never recover. :class:`StopOnNonFiniteLoss` checks the loss on MONAI's
``IterationEvents.LOSS_COMPLETED`` (after the loss is computed, before ``backward`` and the optimiser step) and
raises :class:`NonFiniteLossError` naming the iteration: the weights in memory are still those of the previous step,
and no epoch end follows, so ``last.pt`` and ``model.pt`` stay those of the last good epoch. With several processes
(DDP) the verdict is shared, so every rank stops together instead of one waiting forever on the others.
"""

from __future__ import annotations

import logging
from typing import Any

import ignite.distributed as idist
import torch
from monai.engines.utils import IterationEvents
from monai.utils import CommonKeys

from monai_lite.errors import MonaiLiteError

__all__ = ["StopOnNonFiniteLoss", "NonFiniteLossError"]


class NonFiniteLossError(MonaiLiteError):
    """The training loss became NaN or infinite."""


class StopOnNonFiniteLoss:
    """Raise :class:`NonFiniteLossError` when a MONAI trainer's loss is not finite.

    Args:
        name: logger name. Defaults to "monai_lite.train".

    Example::

        trainer = SupervisedTrainer(..., train_handlers=[..., StopOnNonFiniteLoss()])
    """

    #: Every DDP rank checks its own loss and the verdict is shared, so all ranks stop together.
    every_rank = True

    def __init__(self, name: str = "monai_lite.train") -> None:
        self.logger = logging.getLogger(name)

    def attach(self, engine: Any) -> None:
        """Check the loss of every iteration of ``engine`` (a MONAI trainer, which fires ``LOSS_COMPLETED``).

        Args:
            engine: the trainer.
        """
        engine.add_event_handler(IterationEvents.LOSS_COMPLETED, self)

    def __call__(self, engine: Any) -> None:
        """Raise if this iteration's loss is NaN or infinite (on any rank).

        Args:
            engine: the trainer.

        Raises:
            NonFiniteLossError: naming the loss value, the iteration and the epoch.
        """
        loss = engine.state.output[CommonKeys.LOSS]
        finite = torch.isfinite(loss.detach()).all().to(torch.float32).reshape(1)
        if idist.get_world_size() > 1:
            finite = idist.all_reduce(finite, op="MIN")
        if bool(finite.item()):
            return
        state = engine.state
        in_epoch = (state.iteration - 1) % state.epoch_length + 1 if state.epoch_length else state.iteration
        value = float(loss.detach().float().mean()) if loss.numel() else float("nan")
        raise NonFiniteLossError(
            f"training stopped: the loss is {value} at iteration {state.iteration} (epoch {state.epoch}, batch "
            f"{in_epoch} of {state.epoch_length}); this step was not applied and no checkpoint was written after it, "
            "so models/last.pt and models/model.pt are those of the last good epoch. Usual causes: NaN or infinite "
            "values in an image (check the data with `monai-lite prepare`), a learning rate too high, or AMP "
            "overflow (try --amp false). Fix the cause, then resume with --resume or start again."
        )
