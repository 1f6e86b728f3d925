# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The papers' training recipe as pieces that a bundle switches on from its config, on MONAI's engines and ignite.

Each piece is an ignite-style handler (``attach(engine)``) or a plain component, listed in a bundle's ``train.json``
and switched by one config id:

=============================  ==============================================  ==========================
piece                          built on                                        config id (off value)
=============================  ==============================================  ==========================
:class:`WeightedDiceCELoss`    MONAI ``DiceLoss`` + torch (weighted) CE / BCE  ``lambda_ce``, ``lambda_dice``,
                                                                               ``class_weights`` (null)
:func:`resolve_class_weights`  median-frequency weights from the training      ``class_weights``
                               labels, ``models/class_weights.json``           (null; or "median_frequency")
:func:`cosine_with_warmup`     MONAI ``WarmupCosineSchedule``                  ``warmup_epochs`` (0)
:class:`StepLrScheduleHandler` MONAI ``LrScheduleHandler``, per optimiser step
:class:`GradientClipping`      torch ``clip_grad_norm_`` on MONAI's            ``grad_clip_norm`` (0)
                               ``BACKWARD_COMPLETED`` event
AMP                            MONAI trainer's ``amp`` flag (CUDA only)        ``amp`` (false)
:class:`TrainingPrecision`,    CPU bf16 ``torch.autocast`` in the trainer's    ``cpu_bf16`` ("auto": on where
:class:`PrecisionInferer`      inferer (:mod:`.cpu` detects native bf16),      :mod:`.cpu` finds native bf16),
                               channels-last weights and batches               ``channels_last`` (false)
:class:`ModelEMA`              ignite ``EMAHandler``                           ``ema_decay`` (0)
gradient accumulation          MONAI trainer's ``accumulation_steps``;         ``accumulation_steps`` (1)
                               :func:`optimizer_steps_now` for the handlers
:class:`ProgressiveResize`     torch ``interpolate`` in ``prepare_batch``      ``progressive_sizes`` ([])
:class:`BestCheckpoint`        MONAI evaluator's best-metric tracking +        (always on)
                               :func:`atomic_save`
:class:`TrainingCheckpoint`    ignite ``Checkpoint`` + ``AtomicDiskSaver``     ``resume`` (false),
                                                                               ``init_weights`` ("")
:class:`RNGState`              Python/NumPy/torch generators + MONAI           (part of ``last.pt``)
                               transforms' own generators
:class:`ProgressBar`           ignite ``ProgressBar``                          (always on)
:class:`EpochSummary`          one log line per epoch                          (always on)
:class:`SharedHandler`         lists a handler defined under its own id
:class:`WallClockBudget`       ends training after a wall-clock budget         (benchmarks only)
:class:`PreprocessingRecord`   ``models/preprocessing.json``: the preset,      (always on)
                               image size and input channels the weights
                               were trained with
:class:`RunFolderLock`         ``models/training.lock``: one training per      (always on)
                               run folder (``fcntl.flock`` + pid)
:class:`StopOnNonFiniteLoss`   MONAI's ``LOSS_COMPLETED`` event: stop at a     (always on)
                               NaN/Inf loss before it reaches the weights
:func:`plan_training_cpu`      torch threads + DataLoader workers that fit     ``num_threads``,
                               the usable cores, one log line                  ``num_workers`` ("auto")
=============================  ==============================================  ==========================

Ctrl-C (SIGINT) during training is handled by :class:`TrainingCheckpoint` (:mod:`.interrupt`): it stops after the
current iteration, writes ``last.pt`` and exits with status 130.

Multi-process (DDP, torchrun) training and evaluation: :mod:`monai_lite.engine.distributed`, wired by a bundle's
``multi_gpu_train.json`` / ``multi_gpu_evaluate.json``.
"""

from __future__ import annotations

from monai_lite.engine.atomic import AtomicDiskSaver, atomic_path, atomic_save, atomic_write_text
from monai_lite.engine.budget import WallClockBudget
from monai_lite.engine.checkpoint import BestCheckpoint, EvaluatorBest, TrainingCheckpoint
from monai_lite.engine.class_weights import read_class_weights_record, resolve_class_weights
from monai_lite.engine.clipping import GradientClipping
from monai_lite.engine.cpu_plan import CpuPlan, plan_cpu, plan_training_cpu, usable_cores
from monai_lite.engine.cpu import CpuFeatures, cpu_features, has_native_bf16
from monai_lite.engine.distributed import DistributedTraining
from monai_lite.engine.ema import ModelEMA
from monai_lite.engine.interrupt import StopRequest, TrainingInterrupted
from monai_lite.engine.losses import WeightedDiceCELoss
from monai_lite.engine.nonfinite import NonFiniteLossError, StopOnNonFiniteLoss
from monai_lite.engine.precision import PrecisionInferer, TrainingPrecision
from monai_lite.engine.preprocessing_record import PreprocessingRecord, read_preprocessing_record
from monai_lite.engine.progress import ProgressBar
from monai_lite.engine.progressive import ProgressiveResize
from monai_lite.engine.rng import RNGState, random_transform_states
from monai_lite.engine.run_lock import RunFolderLock, RunFolderLockedError
from monai_lite.engine.schedules import StepLrScheduleHandler, cosine_with_warmup
from monai_lite.engine.shared import SharedHandler
from monai_lite.engine.steps import optimizer_steps_now, optimizer_steps_per_epoch
from monai_lite.engine.summary import EpochSummary

__all__ = [
    "AtomicDiskSaver",
    "BestCheckpoint",
    "CpuPlan",
    "CpuFeatures",
    "DistributedTraining",
    "EpochSummary",
    "EvaluatorBest",
    "GradientClipping",
    "ModelEMA",
    "NonFiniteLossError",
    "PrecisionInferer",
    "PreprocessingRecord",
    "ProgressBar",
    "ProgressiveResize",
    "RNGState",
    "RunFolderLock",
    "RunFolderLockedError",
    "SharedHandler",
    "StepLrScheduleHandler",
    "StopOnNonFiniteLoss",
    "StopRequest",
    "TrainingCheckpoint",
    "TrainingInterrupted",
    "TrainingPrecision",
    "WallClockBudget",
    "WeightedDiceCELoss",
    "atomic_path",
    "atomic_save",
    "atomic_write_text",
    "cosine_with_warmup",
    "cpu_features",
    "has_native_bf16",
    "optimizer_steps_now",
    "optimizer_steps_per_epoch",
    "plan_cpu",
    "plan_training_cpu",
    "random_transform_states",
    "read_class_weights_record",
    "read_preprocessing_record",
    "resolve_class_weights",
    "usable_cores",
]
