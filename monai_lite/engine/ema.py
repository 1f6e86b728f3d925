# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Exponential moving average of the weights (MedLiteNet: decay 0.999), built on ignite's ``EMAHandler``.

ignite's ``EMAHandler`` keeps the averaged copy (``ema_model``) and does the update
``ema = (1 - m) * ema + m * weights`` with momentum ``m = 1 - decay``. :class:`ModelEMA` adds what a bundle needs:

- it advances once per *optimiser step*, not per iteration, so gradient accumulation does not average the same
  weights twice (see :mod:`monai_lite.engine.steps`);
- a decay warm-up, ``decay_t = min(decay, (1 + t) / (10 + t))`` after ``t`` steps: with a fixed 0.999 the average of
  a short run would still be mostly the random initial weights (it needs ~1000 steps to forget them, and the
  synthetic default trains for ~60). ``warmup=False`` gives the plain fixed decay;
- ``decay=0`` switches it off while keeping the object, so configs can always refer to it;
- :attr:`validation_network` is the network that validation (and the best checkpoint) should use: the averaged copy
  when EMA is on, the trained network itself when it is off;
- ``state_dict`` / ``load_state_dict`` with the averaged weights *and* the step count, so a resumed run continues
  the same average with the same decay;
- a fresh average starts from the network's weights as they are when training starts, so weights loaded by a
  handler at ``STARTED`` (MONAI Label's ``CheckpointLoader`` for fine-tuning, ``init_weights``) are averaged from,
  not the random initialisation that existed when the copy was made.

BatchNorm running statistics are copied from the trained network at each step (ignite's ``handle_buffers="copy"``):
averaging them is not meaningful, and the copied statistics are those of the current weights.
"""

from __future__ import annotations

from typing import Any

import torch.nn as nn
from ignite.engine import Events
from ignite.handlers import EMAHandler

from monai_lite.engine.steps import optimizer_steps_now

__all__ = ["ModelEMA"]


class ModelEMA:
    """Exponential moving average of a network's weights, updated after every optimiser step.

    Args:
        network: the trained network (``DistributedDataParallel`` is unwrapped by ignite).
        decay: target decay (the papers' "EMA 0.999"); ``0`` switches EMA off. Defaults to 0.999.
        warmup: ramp the decay up as ``min(decay, (1 + t) / (10 + t))`` over the first steps. Defaults to True.

    Raises:
        ValueError: if ``decay`` is not in [0, 1).

    Examples::

        ema = ModelEMA(network, decay=0.999)
        trainer = SupervisedTrainer(..., network=network, train_handlers=[ema])
        evaluator = SupervisedEvaluator(..., network=ema.validation_network)
    """

    #: For multi-process runs (monai_lite.engine.distributed): every rank keeps the same average.
    every_rank = True

    #: Name of the ``engine.state`` attribute holding ignite's momentum (``1 - decay_t``).
    MOMENTUM_ATTR = "ema_momentum"

    def __init__(self, network: nn.Module, decay: float = 0.999, warmup: bool = True) -> None:
        decay = float(decay or 0.0)
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1) (0 switches EMA off), got decay={decay}.")
        self.decay = decay
        self.warmup = bool(warmup)
        self.steps = 0
        self.network = network
        self._handler = EMAHandler(network, momentum=1.0 - decay, handle_buffers="copy") if decay > 0 else None

    @property
    def enabled(self) -> bool:
        """Whether EMA is on (``decay > 0``)."""
        return self._handler is not None

    @property
    def ema_model(self) -> nn.Module | None:
        """The averaged copy of the network, or ``None`` when EMA is off."""
        return None if self._handler is None else self._handler.ema_model

    @property
    def validation_network(self) -> nn.Module:
        """The averaged copy when EMA is on, else the trained network: what validation should run."""
        return self.network if self._handler is None else self._handler.ema_model

    def current_decay(self, steps: int | None = None) -> float:
        """The decay applied at step ``steps`` (default: the steps taken so far).

        Args:
            steps: a step count; ``None`` means :attr:`steps`. Defaults to None.

        Returns:
            ``decay``, or ``min(decay, (1 + steps) / (10 + steps))`` with warm-up.
        """
        t = self.steps if steps is None else steps
        return min(self.decay, (1.0 + t) / (10.0 + t)) if self.warmup else self.decay

    def attach(self, engine: Any) -> None:
        """Update the average after each optimiser step of ``engine``; does nothing when EMA is off.

        Args:
            engine: a MONAI ``SupervisedTrainer`` (or any ignite engine; without ``accumulation_steps`` every
                iteration is a step).
        """
        if self._handler is None:
            return
        engine.add_event_handler(Events.EPOCH_STARTED, self._start_from_network)
        event = Events.ITERATION_COMPLETED(event_filter=optimizer_steps_now)
        # Registered first, so ignite's update below reads the momentum of this step.
        engine.add_event_handler(event, self._advance)
        self._handler.attach(engine, name=self.MOMENTUM_ATTR, warn_if_exists=False, event=event)

    def _start_from_network(self, engine: Any) -> None:
        # Weights loaded into the network when the run starts (MONAI Label's CheckpointLoader, ``init_weights``)
        # arrive after the copy was made: a fresh average starts from them. A resumed average (steps > 0) is kept.
        if self.steps == 0 and self._handler is not None:
            self._handler.ema_model.load_state_dict(self._handler.model.state_dict())

    def _advance(self, engine: Any) -> None:
        self.steps += 1
        decay = self.current_decay()
        setattr(engine.state, self.MOMENTUM_ATTR, 1.0 - decay)
        engine.state.ema_decay = decay
        engine.state.ema_target_decay = self.decay  # with ema_decay, lets the epoch line show the warm-up

    def state_dict(self) -> dict:
        """The averaged weights and the step count (empty when EMA is off).

        Returns:
            ``{"ema_model": state_dict, "steps": int}``, or ``{}`` when EMA is off.
        """
        if self._handler is None:
            return {}
        return {"ema_model": self._handler.ema_model.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned.

        Args:
            state: a dict from :meth:`state_dict`.

        Raises:
            ValueError: if EMA is on but ``state`` holds no averaged weights (the checkpoint was written with EMA off).
        """
        if self._handler is None:
            return
        if "ema_model" not in state:
            raise ValueError("the checkpoint holds no EMA weights (it was written with ema_decay=0); resume with "
                             "ema_decay=0 or start a new run.")
        self._handler.ema_model.load_state_dict(state["ema_model"])
        self.steps = int(state["steps"])
