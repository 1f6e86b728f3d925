# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The two checkpoints of a training run, both written atomically (see :mod:`monai_lite.engine.atomic`).

- :class:`BestCheckpoint`, attached to the evaluator: each time MONAI's evaluator records a new best key metric
  (validation Dice), it writes the validated weights as a bare state dict, ``model.pt``, which inference, evaluation,
  ``ckpt_export`` and MONAI Label load, and, when EMA is on, the raw trained weights of the same epoch beside them
  (``model_raw.pt``). It keeps no state of its own: the best value so far lives in the evaluator (MONAI's
  ``best_metric``), and :class:`TrainingCheckpoint` saves and restores it.
- :class:`TrainingCheckpoint`, attached to the trainer: at the end of every epoch it writes ``last.pt`` with
  everything a run needs to continue (model, optimiser, scheduler, EMA, AMP scaler, the trainer's epoch and
  iteration, RNG state, best validation metric so far), through ignite's ``Checkpoint``. With ``resume`` it loads
  that file when the trainer starts, so a killed run continues from its last completed epoch with one flag and ends
  where an uninterrupted run ends. Resuming continues the *same* run: the schedule, its length and the data must be
  those of the checkpoint, or it refuses with the reason. Training longer is a separate, explicit option,
  ``init_weights``: a new run (new optimiser, new schedule over its own epochs) that starts from trained weights.

The trainer's handler list must hold :class:`TrainingCheckpoint` after the ``ValidationHandler``, so ``last.pt``
captures the state after validation (which also draws from the global random generator).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from ignite.engine import Events
from ignite.handlers import Checkpoint

from monai_lite.engine.atomic import AtomicDiskSaver, atomic_save

__all__ = ["BestCheckpoint", "TrainingCheckpoint", "EvaluatorBest"]


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, (nn.DataParallel, nn.parallel.DistributedDataParallel)) else module


class BestCheckpoint:
    """Write the given networks' weights whenever the evaluator reaches a new best key metric.

    Args:
        save_dir: folder of the weights.
        weights: file name -> network, e.g. ``{"model.pt": ema_or_net, "model_raw.pt": net}``. ``None`` entries are
            skipped, so a config can switch a file off with an expression.
        name: logger name. Defaults to "monai_lite.train".

    Raises:
        ValueError: if no network is given.

    Examples::

        BestCheckpoint("models", {"model.pt": ema.validation_network, "model_raw.pt": network}).attach(evaluator)
    """

    def __init__(
        self, save_dir: str | os.PathLike, weights: Mapping[str, nn.Module | None], name: str = "monai_lite.train"
    ) -> None:
        self.save_dir = Path(save_dir)
        self.weights = {filename: net for filename, net in dict(weights).items() if net is not None}
        if not self.weights:
            raise ValueError("BestCheckpoint needs at least one network to save, got none.")
        self.logger = logging.getLogger(name)

    def attach(self, engine: Any) -> None:
        """Save on the evaluator's ``EPOCH_COMPLETED``, after MONAI has compared the key metric.

        Args:
            engine: a MONAI evaluator (it has ``state.best_metric`` and ``state.best_metric_epoch``).
        """
        engine.add_event_handler(Events.EPOCH_COMPLETED, self)

    def __call__(self, engine: Any) -> None:
        """Write the weights if this validation set a new best.

        Args:
            engine: the evaluator.
        """
        if engine.state.best_metric_epoch != engine.state.epoch:
            return
        for filename, network in self.weights.items():
            atomic_save(_unwrap(network).state_dict(), self.save_dir / filename)
        if not float(engine.state.best_metric) > 0.0:
            # Saved anyway, so a short run still leaves weights to load; but they are not a model that works yet.
            self.logger.warning(
                f"epoch {engine.state.epoch}: {engine.state.key_metric_name}={float(engine.state.best_metric):.4f}; "
                f"{', '.join(self.weights)} saved as the best so far, but they segment nothing yet."
            )
        self.logger.debug(
            f"Saved the best weights ({engine.state.key_metric_name}={engine.state.best_metric:.4f} at epoch "
            f"{engine.state.epoch}): {', '.join(self.weights)} in {self.save_dir}"
        )


class EvaluatorBest:
    """Checkpointable view of a MONAI evaluator's best key metric (``best_metric``, ``best_metric_epoch``).

    Args:
        evaluator: the evaluator whose best metric is saved and restored.
    """

    def __init__(self, evaluator: Any) -> None:
        self.evaluator = evaluator

    def state_dict(self) -> dict:
        """The best metric and its epoch.

        Returns:
            ``{"best_metric": float, "best_metric_epoch": int}``.
        """
        return {
            "best_metric": float(self.evaluator.state.best_metric),
            "best_metric_epoch": int(self.evaluator.state.best_metric_epoch),
        }

    def load_state_dict(self, state: Mapping) -> None:
        """Restore them into the evaluator, so the next validation compares against the right best value.

        Args:
            state: a dict from :meth:`state_dict`.
        """
        self.evaluator.state.best_metric = state["best_metric"]
        self.evaluator.state.best_metric_epoch = state["best_metric_epoch"]


class TrainingCheckpoint:
    """Write ``last.pt`` after every epoch and, with ``resume``, continue from it when the trainer starts.

    The trainer itself (epoch, iteration) and its AMP ``scaler`` (when AMP is on) are added to ``save_dict`` when
    the handler is attached and run, because a config cannot refer to the trainer from inside its own handler list.

    Args:
        save_dir: folder of the checkpoint.
        save_dict: name -> object with ``state_dict``/``load_state_dict`` (network, optimizer, lr_scheduler, EMA,
            RNG state...); ``None`` values are skipped.
        filename: the file name. Defaults to "last.pt".
        evaluator: the validation evaluator, whose best metric so far is saved too; ``None`` skips it.
            Defaults to None.
        resume: ``False`` starts afresh; ``True`` resumes from ``save_dir/filename``; a path resumes from that file.
            Defaults to False.
        init_weights: for a run that does not resume, a weights file to start the network from (a bare state dict
            such as ``model.pt``, or a checkpoint with a ``"model"`` entry such as ``last.pt``); "" starts from the
            random initialisation. Defaults to "".
        save_interval: save every N epochs (the last epoch is always saved). Defaults to 1.
        name: logger name. Defaults to "monai_lite.train".

    Raises:
        ValueError: if ``save_interval`` < 1.

    Examples::

        TrainingCheckpoint("models", {"model": net, "optimizer": opt, "lr_scheduler": sched}, resume=True)
    """

    def __init__(
        self,
        save_dir: str | os.PathLike,
        save_dict: Mapping[str, Any],
        filename: str = "last.pt",
        evaluator: Any = None,
        resume: bool | str = False,
        init_weights: str | os.PathLike = "",
        save_interval: int = 1,
        name: str = "monai_lite.train",
    ) -> None:
        if save_interval < 1:
            raise ValueError(f"save_interval must be >= 1, got {save_interval}.")
        self.save_dir = Path(save_dir)
        self.filename = filename
        self.objects = {key: obj for key, obj in dict(save_dict).items() if obj is not None}
        if evaluator is not None:
            self.objects["evaluator_best"] = EvaluatorBest(evaluator)
        self.resume = resume
        self.init_weights = str(init_weights or "")
        self.save_interval = int(save_interval)
        self.logger = logging.getLogger(name)
        self._checkpoint: Checkpoint | None = None

    @property
    def path(self) -> Path:
        """Where the checkpoint is written."""
        return self.save_dir / self.filename

    def resume_path(self) -> Path | None:
        """The file to resume from, or ``None`` when not resuming.

        Returns:
            ``path`` for ``resume=True``, the given path for a string, ``None`` for ``False`` or "".
        """
        if isinstance(self.resume, str) and self.resume.strip().lower() not in ("", "true", "false"):
            return Path(self.resume)
        if self.resume is True or (isinstance(self.resume, str) and self.resume.strip().lower() == "true"):
            return self.path
        return None

    def _objects(self, engine: Any) -> dict[str, Any]:
        objects = dict(self.objects)
        objects["trainer"] = engine
        scaler = getattr(engine, "scaler", None)
        if getattr(engine, "amp", False) and scaler is not None:
            objects["scaler"] = scaler
        return objects

    def attach(self, engine: Any) -> None:
        """Resume on ``STARTED`` (when asked) and save on ``EPOCH_COMPLETED``.

        Args:
            engine: the MONAI trainer.
        """
        engine.add_event_handler(Events.STARTED, self._on_started)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self._on_epoch_completed)

    def _on_started(self, engine: Any) -> None:
        # The scaler exists only once the trainer runs (MONAI's Trainer.run makes it), so build the checkpoint here.
        self._checkpoint = Checkpoint(self._objects(engine), AtomicDiskSaver(self.save_dir, self.filename), n_saved=1)
        path = self.resume_path()
        if path is not None:
            self.load(engine, path)
        elif self.init_weights:
            self.load_weights(self.init_weights)

    def _on_epoch_completed(self, engine: Any) -> None:
        if engine.state.epoch % self.save_interval == 0 or engine.state.epoch >= engine.state.max_epochs:
            self._checkpoint(engine)

    def load(self, engine: Any, path: str | os.PathLike) -> None:
        """Restore every object of the checkpoint at ``path`` into the running trainer.

        Args:
            engine: the trainer (its ``state.max_epochs`` and ``state.epoch_length`` come from this run's config).
            path: the checkpoint written by this handler.

        Raises:
            FileNotFoundError: if there is no checkpoint at ``path``.
            ValueError: if the checkpoint is of a different run: other number of epochs, other number of
                iterations per epoch, or objects missing.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"cannot resume: no checkpoint at {path}. A run writes it after its first epoch; start without "
                "--resume (or pass --resume with the path of a last.pt)."
            )
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        objects = self._objects(engine)
        missing = sorted(set(objects) - set(checkpoint))
        if missing:
            raise ValueError(
                f"cannot resume from {path}: it holds no {missing} (it was written with other settings, e.g. EMA or "
                "AMP off). Resume with the settings of that run, or start a new run."
            )
        saved = checkpoint["trainer"]
        max_epochs, epoch_length = engine.state.max_epochs, engine.state.epoch_length
        if saved.get("max_epochs") != max_epochs:
            raise ValueError(
                f"cannot resume from {path}: it is a run of {saved.get('max_epochs')} epochs and this one has "
                f"{max_epochs}. Resuming continues the same run, so its learning-rate schedule cannot change length; "
                f"resume with --epochs {saved.get('max_epochs')}, or, to train longer, start a new run from the "
                "trained weights: --init_weights models/model.pt (without --resume)."
            )
        if saved.get("epoch_length") != epoch_length:
            raise ValueError(
                f"cannot resume from {path}: its epochs have {saved.get('epoch_length')} iterations and this run's "
                f"have {epoch_length} (batch size or data changed). Resume with the same data and batch size."
            )
        Checkpoint.load_objects(to_load=objects, checkpoint=checkpoint)
        engine.state.max_epochs = max_epochs
        lr = engine.optimizer.param_groups[0]["lr"] if hasattr(engine, "optimizer") else float("nan")
        self.logger.info(
            f"Resumed from {path} after epoch {engine.state.epoch} of {max_epochs} "
            f"(iteration {engine.state.iteration}, learning rate {lr:.3g})."
        )

    def load_weights(self, path: str | os.PathLike) -> None:
        """Start the network (``save_dict["model"]``) from the weights at ``path``, for a new run.

        Args:
            path: a bare state dict (``model.pt``) or a checkpoint holding one under ``"model"`` (``last.pt``).

        Raises:
            FileNotFoundError: if there is no file at ``path``.
            KeyError: if ``save_dict`` has no ``"model"``.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"init_weights: no weights file at {path}.")
        state = torch.load(path, map_location="cpu", weights_only=True)
        if "model" in state and isinstance(state["model"], Mapping):
            state = state["model"]
        _unwrap(self.objects["model"]).load_state_dict(state)
        self.logger.info(f"Starting a new run from the weights in {path}.")
