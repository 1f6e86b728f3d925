# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Gradient-norm clipping for MONAI's ``SupervisedTrainer``, aware of AMP and gradient accumulation.

MONAI's trainer has no clipping option, but it fires ``IterationEvents.BACKWARD_COMPLETED`` between
``loss.backward()`` and ``optimizer.step()``. :class:`GradientClipping` listens there and, only on iterations that
step the optimiser (see :mod:`monai_lite.engine.steps`), clips the whole accumulated gradient with
``torch.nn.utils.clip_grad_norm_``. Under AMP it first un-scales the gradients with ``scaler.unscale_(optimizer)``,
the pattern PyTorch documents, so the threshold applies to the true gradient; ``scaler.step`` then knows they are
un-scaled and still skips steps whose gradients overflowed.
"""

from __future__ import annotations

from typing import Any

import torch
from monai.engines.utils import IterationEvents

from monai_lite.engine.steps import optimizer_steps_now

__all__ = ["GradientClipping"]


class GradientClipping:
    """Clip the gradient norm of the trainer's optimiser parameters before each optimiser step.

    The norm before clipping is kept in ``engine.state.grad_norm`` (for logging) whenever clipping is on.

    Args:
        max_norm: largest allowed total gradient norm; ``0`` or ``None`` switches clipping off, so a bundle can keep
            the handler in its literal handler list and switch it from the config. Defaults to 0.
        norm_type: the p of the p-norm (``inf`` for the max norm). Defaults to 2.0.

    Raises:
        ValueError: if ``max_norm`` is negative or ``norm_type`` is not positive.

    Examples::

        trainer = SupervisedTrainer(..., train_handlers=[GradientClipping(max_norm=0.5)])
    """

    #: For multi-process runs (monai_lite.engine.distributed): clips the all-reduced gradient on every rank.
    every_rank = True

    def __init__(self, max_norm: float | None = 0.0, norm_type: float = 2.0) -> None:
        max_norm = float(max_norm or 0.0)
        if max_norm < 0 or norm_type <= 0:
            raise ValueError(f"max_norm must be >= 0 and norm_type > 0, got max_norm={max_norm} norm_type={norm_type}.")
        self.max_norm = max_norm
        self.norm_type = float(norm_type)

    @property
    def enabled(self) -> bool:
        """Whether clipping is on (``max_norm > 0``)."""
        return self.max_norm > 0

    def attach(self, engine: Any) -> None:
        """Clip on ``IterationEvents.BACKWARD_COMPLETED`` of a MONAI trainer; does nothing when switched off.

        Args:
            engine: a MONAI ``SupervisedTrainer``.
        """
        if self.enabled:
            engine.add_event_handler(IterationEvents.BACKWARD_COMPLETED, self)

    def __call__(self, engine: Any) -> None:
        """Clip now if this iteration steps the optimiser.

        Args:
            engine: the trainer whose ``optimizer`` (and, under AMP, ``scaler``) hold the gradients.
        """
        if not optimizer_steps_now(engine):
            return
        optimizer = engine.optimizer
        scaler = getattr(engine, "scaler", None)
        if getattr(engine, "amp", False) and scaler is not None:
            scaler.unscale_(optimizer)
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if params:
            norm = torch.nn.utils.clip_grad_norm_(params, self.max_norm, norm_type=self.norm_type)
            engine.state.grad_norm = float(norm)
