# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Training and evaluating a bundle on several processes (GPUs or machines) with PyTorch's own DDP, under torchrun.

A bundle's ``multi_gpu_train.json`` / ``multi_gpu_evaluate.json`` only wire these functions in; what they do:

- :func:`setup` joins the process group torchrun describes (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``...), with
  NCCL and one GPU per rank (``LOCAL_RANK``) on CUDA, and gloo on CPU, so the same command runs on a laptop, where it
  is tested, and on a GPU cluster. It returns the device of this rank.
- :func:`wrap_network` wraps the network in ``DistributedDataParallel`` (optionally converting BatchNorm to
  ``SyncBatchNorm``, CUDA only).
- :func:`handlers_for_this_rank` keeps, on ranks > 0, only the handlers that every rank must run (learning-rate
  schedule, clipping, EMA, validation, the training checkpoint that every rank must *load*, ...). Which handlers
  those are is decided by what a handler is: its class attribute ``every_rank`` (``True``: all ranks, ``False``:
  rank 0 only) or, for MONAI/ignite classes, the tables below. A handler that is in neither raises an error naming
  it, rather than being guessed: running a file writer on every rank corrupts its files, and running a handler that
  changes the training on rank 0 only makes the ranks diverge.
- :class:`DistributedTraining`, a trainer handler: under gradient accumulation it skips DDP's gradient all-reduce on
  the micro-batches that do not step the optimiser (DDP's ``no_sync``); at the end of each epoch, before validation,
  it copies rank 0's buffers (BatchNorm running statistics, which each rank updates from its own data) to the
  others, in the trained network and its EMA copy, so that every rank validates and saves the same network; after
  each validation it checks that every rank got the same metrics (MONAI's metrics gather all ranks' cases).
  Handlers whose *construction* already writes (TensorBoard's writer opens its event file at once) cannot wait for
  :func:`handlers_for_this_rank`: ``train.json`` switches them off on ranks > 0 with MONAI's ``_disabled_`` flag,
  ``"$monai_lite.engine.distributed.this_rank() > 0"`` (always false in a single process).
- :func:`seed_this_rank` seeds each rank with ``seed + rank``: the ranks augment differently, and a run with the same
  seed and number of ranks repeats itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
import torch.nn as nn
from ignite.engine import Events

from monai_lite.engine.steps import optimizer_steps_now

__all__ = [
    "DistributedTraining",
    "cleanup",
    "handlers_for_this_rank",
    "runs_on_every_rank",
    "seed_this_rank",
    "setup",
    "this_rank",
    "unwrap",
    "world_size",
    "wrap_network",
]

#: MONAI / ignite handler class names that every rank must run (they change the training or take part in
#: collective operations).
EVERY_RANK_CLASSES = frozenset(
    {"ValidationHandler", "CheckpointLoader", "LrScheduleHandler", "EarlyStopHandler", "EMAHandler", "TimeLimit"}
)
#: MONAI / ignite handler class names that write files or print progress: rank 0 only.
RANK_ZERO_CLASSES = frozenset(
    {
        "TensorBoardStatsHandler", "TensorBoardImageHandler", "MLFlowHandler", "ClearMLStatsHandler",
        "ClearMLImageHandler", "StatsHandler", "CheckpointSaver", "ProgressBar", "MetricsSaver",
        "ClassificationSaver", "MetricLogger", "PostProcessing",
    }
)


def world_size() -> int:
    """Number of processes of the run (1 without ``torch.distributed``)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def this_rank() -> int:
    """Rank of this process: the process group's, else torchrun's ``RANK`` variable, else 0."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0") or 0)


def setup(backend: str = "auto", timeout_s: float = 1800.0) -> torch.device:
    """Join torchrun's process group (once) and return this rank's device.

    Args:
        backend: ``"auto"`` (NCCL when CUDA is available, else gloo), ``"nccl"`` or ``"gloo"``. Defaults to "auto".
        timeout_s: how long a collective waits for the other ranks before failing. Defaults to 1800.

    Returns:
        ``cuda:LOCAL_RANK`` (made the current CUDA device) with NCCL, ``cpu`` with gloo.

    Raises:
        RuntimeError: when not started by torchrun (no ``RANK``/``WORLD_SIZE``/``MASTER_ADDR``), or NCCL without CUDA.
        ValueError: for an unknown backend.
    """
    backend = str(backend or "auto").lower()
    if backend not in ("auto", "nccl", "gloo"):
        raise ValueError(f"dist_backend must be 'auto', 'nccl' or 'gloo', got {backend!r}.")
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl" and not torch.cuda.is_available():
        raise RuntimeError("dist_backend 'nccl' needs CUDA GPUs, and none is visible; use 'gloo' (or 'auto') on CPU.")
    missing = [name for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if name not in os.environ]
    if not dist.is_initialized() and missing:
        raise RuntimeError(
            f"multi_gpu_train.json / multi_gpu_evaluate.json must be started by torchrun (missing {missing}), e.g. "
            "torchrun --nproc_per_node=2 -m monai.bundle run training --config_file "
            "\"['bundles/NAME/configs/train.json','bundles/NAME/configs/multi_gpu_train.json']\"."
        )
    if backend == "nccl":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, timeout=timedelta(seconds=timeout_s))
    return device


def cleanup() -> None:
    """Leave the process group (no-op when there is none)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def seed_this_rank(seed: int) -> int:
    """Seed every generator (MONAI's ``set_determinism``) with ``seed + rank`` and return that seed.

    The network starts identical on every rank anyway (DDP copies rank 0's weights when it wraps it); the data
    order is the ``DistributedSampler``'s, the same on every rank; what the per-rank seed changes is augmentation.
    """
    from monai.utils import set_determinism

    rank_seed = int(seed) + this_rank()
    set_determinism(seed=rank_seed)
    return rank_seed


def unwrap(network: nn.Module) -> nn.Module:
    """The module inside ``DistributedDataParallel``/``DataParallel``, or ``network`` itself."""
    return network.module if isinstance(network, (nn.DataParallel, nn.parallel.DistributedDataParallel)) else network


def wrap_network(network: nn.Module, device: torch.device | str, sync_batchnorm: bool = False) -> nn.Module:
    """Move ``network`` to ``device`` and wrap it in ``DistributedDataParallel`` (rank 0's weights on every rank).

    Args:
        network: the bundle's network.
        device: this rank's device (from :func:`setup`).
        sync_batchnorm: convert BatchNorm layers to ``SyncBatchNorm`` (statistics over the global batch); CUDA
            only, PyTorch has no CPU implementation. Defaults to False.

    Raises:
        ValueError: for ``sync_batchnorm`` on a CPU device.
    """
    device = torch.device(device)
    if sync_batchnorm:
        if device.type != "cuda":
            raise ValueError("sync_batchnorm needs CUDA (PyTorch's SyncBatchNorm has no CPU implementation); "
                             "set sync_batchnorm to false for gloo/CPU runs.")
        network = nn.SyncBatchNorm.convert_sync_batchnorm(network)
    network = network.to(device)
    device_ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(network, device_ids=device_ids)


def runs_on_every_rank(handler: Any) -> bool:
    """Whether ``handler`` (an instance or a class) must run on every rank (``True``) or on rank 0 only (``False``).

    Decided by the handler's ``every_rank`` attribute, else by its class name in :data:`EVERY_RANK_CLASSES` /
    :data:`RANK_ZERO_CLASSES`.

    Raises:
        ValueError: for a handler that is in neither, naming its class and how to classify it.
    """
    flag = getattr(handler, "every_rank", None)
    if isinstance(flag, bool):
        return flag
    cls = handler if isinstance(handler, type) else type(handler)
    names = {base.__name__ for base in cls.__mro__}
    if names & EVERY_RANK_CLASSES:
        return True
    if names & RANK_ZERO_CLASSES:
        return False
    raise ValueError(
        f"{cls.__module__}.{cls.__name__} is a handler of a multi-process run that monai-lite "
        "does not know: give its class an `every_rank` attribute (True if every rank must run it, False if it "
        "writes files or prints and must run on rank 0 only), or add its class name to "
        "monai_lite.engine.distributed.EVERY_RANK_CLASSES / RANK_ZERO_CLASSES."
    )


def handlers_for_this_rank(handlers: Iterable[Any] | None, rank: int | None = None) -> list[Any]:
    """The handlers this rank runs: all of them on rank 0, those that must run on every rank elsewhere.

    Args:
        handlers: a trainer's or evaluator's handler list (``None`` entries are dropped).
        rank: the rank to select for; ``None`` means :func:`this_rank`. Defaults to None.
    """
    rank = this_rank() if rank is None else int(rank)
    kept = [h for h in (handlers or []) if h is not None]
    return kept if rank == 0 else [h for h in kept if runs_on_every_rank(h)]


def _broadcast_buffers(module: nn.Module | None) -> None:
    if module is None:
        return
    for buffer in unwrap(module).buffers():
        dist.broadcast(buffer.data, src=0)


class DistributedTraining:
    """Trainer handler that keeps the ranks of a DDP run in step (see the module docstring).

    Attach it before the other handlers (:func:`handlers_for_this_rank` callers put it first), so the buffers are
    synchronised before ``ValidationHandler`` runs at the end of an epoch.

    Args:
        network: the ``DistributedDataParallel`` network being trained.
        ema: the bundle's :class:`~monai_lite.engine.ModelEMA` (its averaged copy's buffers are synchronised too);
            ``None`` when there is none. Defaults to None.
        evaluator: the validation evaluator whose metrics are checked to agree across ranks; ``None`` skips the
            check. Defaults to None.
        name: logger name. Defaults to "monai_lite.train".
    """

    every_rank = True

    def __init__(self, network: nn.Module, ema: Any = None, evaluator: Any = None, name: str = "monai_lite.train"):
        self.network = network
        self.ema = ema
        self.evaluator = evaluator
        self.logger = logging.getLogger(name)
        self._no_sync: contextlib.ExitStack | None = None

    def attach(self, engine: Any) -> None:
        """Register on ``ITERATION_STARTED``/``COMPLETED``, ``EPOCH_COMPLETED`` and the evaluator's ``COMPLETED``."""
        engine.add_event_handler(Events.ITERATION_STARTED, self._enter_no_sync)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self._exit_no_sync)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self.synchronise_buffers)
        if self.evaluator is not None:
            self.evaluator.add_event_handler(Events.COMPLETED, self.check_metrics_agree)
        if this_rank() > 0:
            # Progress output is rank 0's; the other ranks' engines still report warnings and errors.
            for owner in (engine, self.evaluator):
                if getattr(owner, "logger", None) is not None:
                    owner.logger.setLevel(logging.WARNING)

    def _enter_no_sync(self, engine: Any) -> None:
        # A micro-batch that does not end in an optimiser step only accumulates gradients locally; the all-reduce of
        # the stepping micro-batch then averages the whole accumulated gradient across ranks.
        if isinstance(self.network, nn.parallel.DistributedDataParallel) and not optimizer_steps_now(engine):
            self._no_sync = contextlib.ExitStack()
            self._no_sync.enter_context(self.network.no_sync())

    def _exit_no_sync(self, engine: Any) -> None:
        if self._no_sync is not None:
            self._no_sync.close()
            self._no_sync = None

    def synchronise_buffers(self, engine: Any = None) -> None:
        """Copy rank 0's buffers (network and EMA copy) to every rank."""
        if world_size() < 2:
            return
        _broadcast_buffers(self.network)
        _broadcast_buffers(getattr(self.ema, "ema_model", None))

    def check_metrics_agree(self, evaluator: Any) -> None:
        """Fail when the ranks' validation metrics differ (they must be reduced over every rank's cases).

        Raises:
            RuntimeError: naming the metric and the values of each rank.
        """
        if world_size() < 2:
            return
        metrics = {k: float(v) for k, v in sorted(evaluator.state.metrics.items()) if isinstance(v, (int, float))}
        gathered: list[Any] = [None] * world_size()
        dist.all_gather_object(gathered, metrics)
        for key in metrics:
            values = [part.get(key) for part in gathered]
            if len({repr(v) for v in values}) > 1:  # repr: NaN on every rank agrees
                raise RuntimeError(f"validation metric {key} differs across ranks: {values}; the metric is not "
                                   "reduced over all ranks' cases.")
