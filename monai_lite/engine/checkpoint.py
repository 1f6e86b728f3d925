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
  Ctrl-C (SIGINT) while it runs stops the trainer after the current iteration, writes ``last.pt`` with the state at
  that iteration (a resume continues from there, in the middle of the epoch) and exits with status 130 and a
  message (:mod:`monai_lite.engine.interrupt`); a second Ctrl-C interrupts at once. Single-process runs only: with
  several processes (DDP) Ctrl-C keeps its usual effect.
A multi-process (DDP) run is resumed on any number of processes: ``last.pt`` records how many wrote it, and with
another number the run continues after the same epoch, its iteration count and schedule position recomputed.

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
import torch.distributed as dist
import torch.nn as nn
from ignite.engine import Events
from ignite.handlers import Checkpoint

from monai_lite.engine.atomic import AtomicDiskSaver, atomic_save
from monai_lite.engine.checkpoint_file import load_model_state, model_state, read_checkpoint
from monai_lite.engine.interrupt import StopRequest, TrainingInterrupted
from monai_lite.engine.steps import optimizer_steps_per_epoch
from monai_lite.errors import CheckpointError

__all__ = ["BestCheckpoint", "TrainingCheckpoint", "EvaluatorBest"]

#: Trainer state attribute saved in ``last.pt``: the number of processes that trained it.
WORLD_SIZE_KEY = "world_size"


def _completed_epochs(saved: Mapping) -> int | None:
    """The epochs an ignite trainer state dict has completed, or None when it was saved in the middle of one."""
    if "iteration" not in saved:
        return int(saved["epoch"])
    epochs, rest = divmod(int(saved["iteration"]), int(saved["epoch_length"]))
    return None if rest else epochs


def _world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


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

    #: Multi-process runs (monai_lite.engine.distributed) run it on rank 0 only: it writes files.
    every_rank = False

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

    #: For multi-process runs (monai_lite.engine.distributed): every rank loads it on resume; only rank 0
    #: writes (AtomicDiskSaver).
    every_rank = True

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
        self._stop = StopRequest()

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
        # The number of processes is part of the trainer's saved state, so a resume can tell a run whose epochs
        # were split over another number of ranks (see ``load``).
        if WORLD_SIZE_KEY not in engine.state_dict_user_keys:
            engine.state_dict_user_keys.append(WORLD_SIZE_KEY)
        setattr(engine.state, WORLD_SIZE_KEY, _world_size())
        objects = dict(self.objects)
        objects["trainer"] = engine
        scaler = getattr(engine, "scaler", None)
        if getattr(engine, "amp", False) and scaler is not None:
            objects["scaler"] = scaler
        return objects

    def attach(self, engine: Any) -> None:
        """Resume on ``STARTED`` (when asked), save on ``EPOCH_COMPLETED``, and on SIGINT save and stop.

        Args:
            engine: the MONAI trainer.
        """
        engine.add_event_handler(Events.STARTED, self._on_started)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self._on_epoch_completed)
        engine.add_event_handler(Events.TERMINATE, self._on_terminate)
        engine.add_event_handler(Events.COMPLETED, lambda _: self._stop.restore())
        engine.add_event_handler(Events.EXCEPTION_RAISED, self._on_exception)

    def _on_started(self, engine: Any) -> None:
        # The scaler exists only once the trainer runs (MONAI's Trainer.run makes it), so build the checkpoint here.
        self._checkpoint = Checkpoint(self._objects(engine), AtomicDiskSaver(self.save_dir, self.filename), n_saved=1)
        path = self.resume_path()
        if path is not None:
            self.load(engine, path)
        elif self.init_weights:
            self.load_weights(self.init_weights)
        import ignite.distributed as idist

        # With several processes a signal reaches each rank at a slightly different iteration, and a rank that stops
        # one step early leaves the others waiting in their gradient all-reduce; there the launcher's handling stays.
        if idist.get_world_size() == 1:
            self._stop.install(engine)

    def _on_terminate(self, engine: Any) -> None:
        reason = self._stop.requested
        self._stop.restore()
        if reason is None:  # terminated by another handler (e.g. a time budget): its own business
            return
        self.save_now(engine)
        message = (
            f"Training interrupted ({reason}) after iteration {engine.state.iteration} (epoch {engine.state.epoch} of "
            f"{engine.state.max_epochs}); saved a resumable checkpoint to {self.path}. Continue with --resume "
            "(resume=true) and the same settings."
        )
        self.logger.warning(message)
        raise TrainingInterrupted(message)

    def _on_exception(self, engine: Any, error: BaseException) -> None:
        # ignite hands exceptions to EXCEPTION_RAISED handlers instead of raising them: put SIGINT back, re-raise.
        self._stop.restore()
        raise error

    def save_now(self, engine: Any) -> Path:
        """Write ``last.pt`` with the state at the current iteration (atomically, on rank 0), whatever the epoch.

        ignite's ``Checkpoint`` ranks saves by epoch and would skip one in the middle of an epoch, so this writes
        the same content (each object's ``state_dict``) directly.

        Args:
            engine: the trainer.

        Returns:
            The checkpoint path.
        """
        import ignite.distributed as idist

        state = {key: _unwrap(obj).state_dict() if isinstance(obj, nn.Module) else obj.state_dict()
                 for key, obj in self._objects(engine).items()}
        if idist.get_rank() == 0:
            atomic_save(state, self.path)
        return self.path

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
        checkpoint = read_checkpoint(path, "--resume checkpoint")
        if not isinstance(checkpoint, Mapping) or not isinstance(checkpoint.get("trainer"), Mapping):
            raise CheckpointError(
                f"cannot resume from {path}: it is not a training checkpoint (last.pt, with the trainer's state); "
                "to start a new run from weights, use --init_weights."
            )
        objects = self._objects(engine)
        missing = sorted(set(objects) - set(checkpoint))
        if missing:
            raise ValueError(
                f"cannot resume from {path}: it holds no {missing} (it was written with other settings, e.g. EMA or "
                "AMP off). Resume with the settings of that run, or start a new run."
            )
        saved = checkpoint["trainer"]
        saved.setdefault(WORLD_SIZE_KEY, 1)  # written before multi-process runs existed: one process
        max_epochs, epoch_length = engine.state.max_epochs, engine.state.epoch_length
        if saved.get("max_epochs") != max_epochs:
            raise ValueError(
                f"cannot resume from {path}: it is a run of {saved.get('max_epochs')} epochs and this one has "
                f"{max_epochs}. Resuming continues the same run, so its learning-rate schedule cannot change length; "
                f"resume with --epochs {saved.get('max_epochs')}, or, to train longer, start a new run from the "
                "trained weights: --init_weights models/model.pt (without --resume)."
            )
        ranks_changed = saved[WORLD_SIZE_KEY] != _world_size()
        if ranks_changed and _completed_epochs(saved) is None:
            raise ValueError(
                f"cannot resume from {path} on {_world_size()} processes: it was written by {saved[WORLD_SIZE_KEY]} "
                "in the middle of an epoch, and only an end-of-epoch checkpoint can be split over another number "
                "of processes."
            )
        if saved.get("epoch_length") != epoch_length and not ranks_changed:
            raise ValueError(
                f"cannot resume from {path}: its epochs have {saved.get('epoch_length')} iterations and this run's "
                f"have {epoch_length} (batch size or data changed). Resume with the same data and batch size."
            )
        try:
            Checkpoint.load_objects(to_load=objects, checkpoint=checkpoint)
        except (RuntimeError, KeyError, TypeError, ValueError) as err:
            first = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
            raise CheckpointError(
                f"cannot resume from {path}: it does not fit this run's network or settings ({first}). Resume "
                "with the bundle and settings of that run, or start a new run."
            ) from None
        engine.state.max_epochs = max_epochs
        setattr(engine.state, WORLD_SIZE_KEY, _world_size())
        if ranks_changed:
            self._continue_on_other_ranks(engine, saved, epoch_length)
        lr = engine.optimizer.param_groups[0]["lr"] if hasattr(engine, "optimizer") else float("nan")
        self.logger.info(
            f"Resumed from {path} after epoch {engine.state.epoch} of {max_epochs} "
            f"(iteration {engine.state.iteration}, learning rate {lr:.3g})."
        )

    def _continue_on_other_ranks(self, engine: Any, saved: Mapping, epoch_length: int) -> None:
        # With another number of processes an epoch has another number of iterations (each rank sees 1/N of the
        # data). The run continues from the same completed epoch: the iteration count and the learning-rate
        # schedule's position are recomputed for this run's epochs (same fraction of training done).
        epoch = _completed_epochs(saved)
        engine.state.epoch_length = epoch_length
        engine.state.iteration = epoch * epoch_length
        steps_done = epoch * optimizer_steps_per_epoch(epoch_length, int(getattr(engine, "accumulation_steps", 1)))
        for obj in self.objects.values():
            if isinstance(obj, torch.optim.lr_scheduler.LambdaLR):  # the bundles' cosine_with_warmup is one
                obj.last_epoch = steps_done
                for group, base_lr, factor in zip(obj.optimizer.param_groups, obj.base_lrs, obj.lr_lambdas):
                    group["lr"] = base_lr * factor(steps_done)
                obj._last_lr = [group["lr"] for group in obj.optimizer.param_groups]
        self.logger.info(
            f"The checkpoint was written by {saved[WORLD_SIZE_KEY]} process(es) and this run has {_world_size()}: "
            f"continuing after epoch {epoch} at iteration {engine.state.iteration} ({epoch_length} per epoch)."
        )

    def load_weights(self, path: str | os.PathLike) -> None:
        """Start the network (``save_dict["model"]``) from the weights at ``path``, for a new run.

        Args:
            path: a bare state dict (``model.pt``) or a checkpoint holding one under ``"model"`` (``last.pt``).

        Raises:
            FileNotFoundError: if there is no file at ``path``.
            CheckpointError: a file that cannot be read, holds no weights, or does not fit the network.
            KeyError: if ``save_dict`` has no ``"model"``.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"init_weights: no weights file at {path}.")
        what = "--init_weights file"
        state = model_state(read_checkpoint(path, what), path, what)
        load_model_state(_unwrap(self.objects["model"]), state, path, what)
        self.logger.info(f"Starting a new run from the weights in {path}.")
