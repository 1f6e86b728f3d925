# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Progressive resizing: train early epochs on smaller inputs and step up to the full size (MedLiteNet, 001).

How it composes with caching: the presets resize every case to ``image_size`` in their *deterministic* transforms,
which ``CacheDataset`` runs once and keeps. Rebuilding the cache at every stage would cost a full pass over the data
and memory per size, so the cache stays at the final (full) size and :class:`ProgressiveResize` shrinks each
*batch* after augmentation, on the device, as MONAI's trainer prepares it: images by area averaging (bilinear or
trilinear interpolation when enlarging), labels by nearest neighbour so they stay label maps. Early epochs then cost
what their smaller size costs, validation always runs at the full size, and the random augmentations are the same
whatever the stage.

A schedule is a list of ``[epoch, size]`` stages, each in force from its epoch until the next stage:

- ``epoch``: an int is an epoch index counted from 0; a float in (0, 1) is a fraction of the run
  (``floor(fraction x max_epochs)``), so a schedule keeps its shape when ``--epochs`` changes;
- ``size``: an int is the size of every spatial axis, a list gives each axis; a float in (0, 1] is a fraction of the
  full (cached) size, rounded half up to a multiple of ``size_multiple``, so a schedule follows ``--image_size``.

The first stage must start at epoch 0. An empty schedule switches resizing off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from ignite.engine import Events
from monai.engines.utils import default_prepare_batch

__all__ = ["ProgressiveResize"]


class ProgressiveResize:
    """A schedule of training input sizes over epochs, applied to each batch as the trainer prepares it.

    List it among the trainer's handlers: attaching wraps the trainer's ``prepare_batch`` (which then runs first)
    and picks the stage at each ``EPOCH_STARTED``. Called directly it is a ``prepare_batch`` function itself.

    Args:
        schedule: ``[[epoch, size], ...]`` as described in the module docstring; empty means off. Defaults to ().
        size_multiple: fractional sizes are rounded to a multiple of this (at least one multiple). Defaults to 32.
        prepare_batch: the function that moves the batch to the device first; replaced by the trainer's own when
            attached. Defaults to MONAI's ``default_prepare_batch``.

    Raises:
        ValueError: for a malformed schedule: a stage that is not ``[epoch, size]``, a first stage after epoch 0,
            epochs not increasing, or a size that is not positive.

    Examples::

        trainer = SupervisedTrainer(..., train_handlers=[ProgressiveResize([[0, 0.5], [0.3, 0.75], [0.6, 1.0]])])
    """

    #: For multi-process runs (monai_lite.engine.distributed): every rank trains at the same size.
    every_rank = True

    def __init__(
        self,
        schedule: Sequence[Sequence[Any]] = (),
        size_multiple: int = 32,
        prepare_batch: Any = default_prepare_batch,
    ) -> None:
        if size_multiple < 1:
            raise ValueError(f"size_multiple must be >= 1, got {size_multiple}.")
        self.stages = [self._check_stage(stage, i) for i, stage in enumerate(schedule or ())]
        starts = [start for start, _ in self.stages]
        if self.stages and starts[0] != 0:
            raise ValueError(f"the first progressive-resizing stage must start at epoch 0, got {schedule[0]}.")
        self.size_multiple = int(size_multiple)
        self.prepare_batch = prepare_batch
        self.max_epochs: int | None = None
        self.stage_size: Any = None  # the size entry of the stage in force; None means "full size"

    @staticmethod
    def _check_stage(stage: Sequence[Any], index: int) -> tuple[float, Any]:
        if not isinstance(stage, Sequence) or isinstance(stage, str) or len(stage) != 2:
            raise ValueError(f"progressive-resizing stage {index} must be [epoch, size], got {stage!r}.")
        start, size = stage
        sizes = list(size) if isinstance(size, Sequence) else [size]
        if isinstance(start, bool) or not isinstance(start, (int, float)) or start < 0 or (
            isinstance(start, float) and start >= 1
        ):
            raise ValueError(
                f"stage {index}: the epoch must be an int >= 0 or a fraction in [0, 1), got {start!r}."
            )
        if not sizes or any(isinstance(s, bool) or not isinstance(s, (int, float)) or s <= 0 for s in sizes) or any(
            isinstance(s, float) and s > 1 for s in sizes
        ):
            raise ValueError(
                f"stage {index}: the size must be positive ints (pixels) or fractions in (0, 1], got {size!r}."
            )
        return start, size

    @property
    def enabled(self) -> bool:
        """Whether a schedule is set."""
        return bool(self.stages)

    def start_epoch(self, start: float, max_epochs: int | None) -> int:
        """The 0-based epoch a stage starts: ``start`` itself, or ``floor(start x max_epochs)`` for a fraction.

        Args:
            start: the stage's epoch entry.
            max_epochs: length of the run (needed for fractions).

        Returns:
            The 0-based start epoch.

        Raises:
            ValueError: a fractional start without ``max_epochs``.
        """
        if isinstance(start, int):
            return start
        if max_epochs is None:
            raise ValueError("a fractional stage start needs the run length (attach to a trainer first).")
        return int(math.floor(start * max_epochs + 1e-9))

    def size_for_epoch(self, epoch: int, max_epochs: int | None = None) -> Any:
        """The size entry in force at 0-based ``epoch``, or ``None`` (full size) when off.

        Args:
            epoch: 0-based epoch index.
            max_epochs: length of the run, for fractional starts. Defaults to the attached trainer's.

        Returns:
            The ``size`` of the last stage that has started.
        """
        max_epochs = self.max_epochs if max_epochs is None else max_epochs
        current = None
        for start, size in self.stages:
            if self.start_epoch(start, max_epochs) <= epoch:
                current = size
        return current

    def target_shape(self, full: Sequence[int], size: Any = None) -> tuple[int, ...]:
        """The spatial shape a batch of spatial shape ``full`` is resized to under ``size``.

        Args:
            full: the batch's spatial shape (the cached, full size).
            size: a stage's size entry; ``None`` means the current stage.

        Returns:
            The target spatial shape.

        Raises:
            ValueError: if a per-axis size has the wrong number of axes.
        """
        size = self.stage_size if size is None else size
        if size is None:
            return tuple(full)
        sizes = list(size) if isinstance(size, Sequence) else [size] * len(full)
        if len(sizes) != len(full):
            raise ValueError(f"progressive-resizing size {size} has {len(sizes)} axes, the batch has {len(full)}.")
        shape = []
        for entry, axis in zip(sizes, full):
            if isinstance(entry, float):
                m = self.size_multiple
                entry = min(axis, max(m, int(math.floor(entry * axis / m + 0.5)) * m)) if axis >= m else axis
            shape.append(int(entry))
        return tuple(shape)

    def attach(self, engine: Any) -> None:
        """Resize the batches ``engine`` prepares, to the stage picked at every ``EPOCH_STARTED`` (also after a resume).

        Args:
            engine: a MONAI trainer (it has ``prepare_batch``); does nothing when the schedule is empty.
        """
        if not self.enabled:
            return
        if engine.prepare_batch is not self:
            self.prepare_batch = engine.prepare_batch
            engine.prepare_batch = self
        engine.add_event_handler(Events.EPOCH_STARTED, self._on_epoch_started)

    def _on_epoch_started(self, engine: Any) -> None:
        self.max_epochs = engine.state.max_epochs
        self.stage_size = self.size_for_epoch(engine.state.epoch - 1)

    def __call__(self, batchdata: Any, device: Any = None, non_blocking: bool = False, **kwargs: Any) -> Any:
        """Prepare a batch as ``prepare_batch`` does, then resize its image and label to the current stage.

        Args:
            batchdata: the collated batch.
            device: target device.
            non_blocking: asynchronous copy.
            kwargs: passed on to ``prepare_batch``.

        Returns:
            What ``prepare_batch`` returns, with the first two items (image, label) resized.
        """
        batch = self.prepare_batch(batchdata, device, non_blocking, **kwargs)
        if self.stage_size is None:
            return batch
        image, label, *rest = batch
        shape = self.target_shape(image.shape[2:])
        if shape == tuple(image.shape[2:]):
            return batch
        return (self.resize_image(image, shape), self.resize_label(label, shape), *rest)

    @staticmethod
    def resize_image(image: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
        """Resize ``(B, C, *spatial)`` intensities: area averaging when shrinking every axis, else (bi/tri)linear.

        Args:
            image: the batch of images.
            shape: target spatial shape.

        Returns:
            The resized batch (a plain tensor).
        """
        image = image.as_tensor() if hasattr(image, "as_tensor") else image
        if all(t <= s for t, s in zip(shape, image.shape[2:])):
            return F.interpolate(image, size=tuple(shape), mode="area")
        mode = "bilinear" if image.ndim == 4 else "trilinear"
        return F.interpolate(image, size=tuple(shape), mode=mode, align_corners=False)

    @staticmethod
    def resize_label(label: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
        """Resize ``(B, C, *spatial)`` labels by nearest neighbour, keeping their values and dtype.

        Args:
            label: the batch of label maps (binary masks, class indices or one-hot).
            shape: target spatial shape.

        Returns:
            The resized batch (a plain tensor).
        """
        label = label.as_tensor() if hasattr(label, "as_tensor") else label
        dtype = label.dtype
        resized = F.interpolate(label.float(), size=tuple(shape), mode="nearest-exact")
        return resized.to(dtype)
