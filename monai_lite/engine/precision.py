# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""CPU training precision and memory format: bf16 autocast where the CPU computes bf16 natively, channels-last
where it is measured faster, and plain tensors into the network.

MONAI's ``SupervisedTrainer(amp=True)`` is CUDA-only: it wraps the forward pass in ``torch.autocast("cuda")`` and
scales the loss with ``torch.cuda.amp.GradScaler``, so on a CPU it changes nothing. CPU mixed precision therefore
lives in the trainer's *inferer*, the one call MONAI makes for the forward pass: :class:`PrecisionInferer` runs the
network under ``torch.autocast("cpu", dtype=torch.bfloat16)`` and returns fp32 logits, so the loss, the metrics and
the backward pass's final gradients stay fp32. bf16 keeps fp32's exponent range, so no loss scaling is needed.
Validation and inference keep their own fp32 inferer.

Three settings, each resolved once by :meth:`TrainingPrecision.resolve` and logged with its reason when training
starts (``engine.state.training_precision`` holds the same as a dict):

- ``cpu_bf16``: ``"auto"`` (bf16 on a CPU device exactly when :mod:`monai_lite.engine.cpu` finds AVX512-BF16 or
  AMX-BF16), ``true`` (forced, also where bf16 is emulated and slower), ``false``. CUDA devices ignore it: there
  the trainer's ``amp`` decides, as before;
- ``channels_last``: convert the network's weights and each training batch to channels-last
  (``torch.channels_last`` / ``channels_last_3d``) on a CPU device. Whether that is faster depends on the network
  (oneDNN convolutions prefer it; depthwise, pooling and attention reshapes may not), so each bundle sets it from
  ``monai-lite benchmark efficiency --train`` measurements (docs/benchmarks.md). Never applied on CUDA (not
  measured there);
- plain tensors: MONAI's datasets yield ``MetaTensor`` batches, and every operation of a forward pass on a
  ``MetaTensor`` goes through its ``__torch_function__`` to carry the metadata along; the inferer gives the network
  the batch's plain tensor (``as_tensor()``, no copy), which is exact and saved 4-16% of a training step
  (LightAWNet 4%, MedLiteNet 7%, SegResNet 16%; 128 x 128, batch 8, one thread). Nothing downstream reads the
  prediction's metadata.

Example (a bundle's ``train.json``)::

    "precision": {"_target_": "monai_lite.engine.TrainingPrecision.resolve", "device": "@device",
                  "cpu_bf16": "@cpu_bf16", "channels_last": "@channels_last"},
    "network": "$@precision.prepare_network(@network_def.to(@device))",
    "train": {"inferer": {"_target_": "monai_lite.engine.PrecisionInferer", "precision": "@precision"}, ...}
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn as nn
from ignite.engine import Events
from monai.inferers import Inferer

from monai_lite.engine.cpu import CpuFeatures, cpu_features

__all__ = ["PrecisionInferer", "TrainingPrecision", "memory_format_of", "parse_cpu_bf16", "to_channels_last"]

logger = logging.getLogger("monai_lite.train")


def parse_cpu_bf16(value: Any) -> str | bool:
    """The ``cpu_bf16`` setting as ``"auto"``, True or False (strings from a command line accepted).

    Raises:
        ValueError: for anything else.

    Example::

        >>> parse_cpu_bf16("False"), parse_cpu_bf16("auto"), parse_cpu_bf16(True)
        (False, 'auto', True)
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    choices = {"auto": "auto", "true": True, "false": False}
    if text not in choices:
        raise ValueError(f'cpu_bf16 must be "auto", true or false, got {value!r}.')
    return choices[text]


def _parse_channels_last(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise ValueError(f"channels_last must be true or false, got {value!r}.")
    return text == "true"


def memory_format_of(ndim: int) -> torch.memory_format:
    """The channels-last memory format of a tensor with ``ndim`` dimensions: ``channels_last`` for 4 (2D batches,
    2D convolution weights), ``channels_last_3d`` for 5, ``contiguous_format`` otherwise."""
    return {4: torch.channels_last, 5: torch.channels_last_3d}.get(ndim, torch.contiguous_format)


def to_channels_last(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` in channels-last layout if it is 4D or 5D (the same values, other strides), else unchanged."""
    return tensor.contiguous(memory_format=memory_format_of(tensor.ndim)) if tensor.ndim in (4, 5) else tensor


@dataclass(frozen=True)
class TrainingPrecision:
    """How training runs on its device: bf16 autocast or fp32, channels-last or contiguous, and why.

    Build it with :meth:`resolve`. List it among the trainer's handlers (through
    :class:`~monai_lite.engine.SharedHandler`) to log the choice when training starts.

    Args:
        device_type: ``"cpu"`` or ``"cuda"`` (any other type is treated like CUDA: left to ``amp``).
        bf16: run the training forward pass under CPU bf16 autocast.
        channels_last: keep weights and training batches channels-last.
        bf16_reason: why ``bf16`` is what it is, e.g. ``"CPU has AMX-BF16 and AVX512-BF16"``.
        channels_last_reason: why ``channels_last`` is what it is.
        native_bf16: whether the CPU computes bf16 natively; None where it was not asked (CUDA, ``cpu_bf16=false``).
    """

    device_type: str
    bf16: bool
    channels_last: bool
    bf16_reason: str
    channels_last_reason: str
    native_bf16: bool | None = None

    #: Multi-process runs (monai_lite.engine.distributed) log it on rank 0 only.
    every_rank = False

    @classmethod
    def resolve(
        cls,
        device: torch.device | str,
        cpu_bf16: str | bool = "auto",
        channels_last: bool = False,
        features: CpuFeatures | None = None,
    ) -> TrainingPrecision:
        """Decide the precision and memory format for ``device`` from the bundle's settings and the CPU.

        Args:
            device: the training device.
            cpu_bf16: ``"auto"``, True or False (see the module docstring). Defaults to "auto".
            channels_last: the bundle's memory-format choice for CPU training. Defaults to False.
            features: the CPU's features; None detects them (:func:`~monai_lite.engine.cpu.cpu_features`).

        Raises:
            ValueError: for a ``cpu_bf16`` other than "auto"/true/false or a ``channels_last`` that is no boolean.

        Example::

            >>> TrainingPrecision.resolve("cpu", "auto", True).describe()  # on a CPU with AMX
            'bf16 autocast (cpu_bf16="auto": CPU has AMX-BF16 and AVX512-BF16); channels-last (channels_last=true); \
validation fp32'
        """
        setting = parse_cpu_bf16(cpu_bf16)
        wants_cl = _parse_channels_last(channels_last)
        device_type = torch.device(device).type
        if device_type != "cpu":
            return cls(device_type, False, False, f"{device_type} device: the trainer's amp setting decides",
                       f"{device_type} device: channels_last applies to CPU training only")
        cl_reason = f"channels_last={str(wants_cl).lower()}"
        if setting is False:
            return cls("cpu", False, wants_cl, "cpu_bf16=false", cl_reason)
        features = features or cpu_features()
        if setting == "auto":
            return cls("cpu", features.native_bf16, wants_cl, f'cpu_bf16="auto": {features.bf16_reason()}', cl_reason,
                       features.native_bf16)
        note = "" if features.native_bf16 else f"; {features.bf16_reason()}"
        return cls("cpu", True, wants_cl, f"cpu_bf16=true, forced{note}", cl_reason, features.native_bf16)

    def autocast(self) -> contextlib.AbstractContextManager:
        """The context the training forward pass runs in: CPU bf16 autocast, or nothing."""
        if self.bf16:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def prepare_network(self, network: nn.Module) -> nn.Module:
        """Convert ``network``'s 4D/5D parameters and buffers to channels-last in place when :attr:`channels_last`
        is set (same values; the ``Parameter`` objects stay, so optimisers built before or after see them).

        Returns:
            ``network`` itself.
        """
        if self.channels_last:
            network._apply(to_channels_last)
        return network

    def prepare_inputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """The training batch as the network should get it: a plain tensor, channels-last when set."""
        if hasattr(inputs, "as_tensor"):  # MONAI MetaTensor: no metadata bookkeeping per operation
            inputs = inputs.as_tensor()
        return to_channels_last(inputs) if self.channels_last else inputs

    @property
    def dtype_name(self) -> str:
        """``"bf16 autocast"`` or ``"fp32"`` (``"amp"`` decides on CUDA)."""
        if self.device_type != "cpu":
            return "amp setting"
        return "bf16 autocast" if self.bf16 else "fp32"

    @property
    def memory_format_name(self) -> str:
        """``"channels-last"`` or ``"contiguous"``."""
        return "channels-last" if self.channels_last else "contiguous"

    def describe(self) -> str:
        """One line for the training log: what runs and why.

        Example::

            >>> TrainingPrecision("cpu", False, False, "cpu_bf16=false", "channels_last=false").describe()
            'fp32 (cpu_bf16=false); contiguous (channels_last=false); validation fp32'
        """
        if self.device_type != "cpu":
            return (f"{self.device_type} device: mixed precision as the trainer's amp setting says, contiguous "
                    "(cpu_bf16 and channels_last apply to CPU training only)")
        return (f"{self.dtype_name} ({self.bf16_reason}); {self.memory_format_name} ({self.channels_last_reason}); "
                "validation fp32")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON records, with the display names added."""
        return {**asdict(self), "precision": self.dtype_name, "memory_format": self.memory_format_name}

    def attach(self, engine: Any) -> None:
        """Log :meth:`describe` when ``engine`` starts and keep :meth:`to_dict` in ``engine.state``.

        Args:
            engine: the trainer.
        """
        engine.add_event_handler(Events.STARTED, self._on_started)

    def _on_started(self, engine: Any) -> None:
        engine.state.training_precision = self.to_dict()
        logger.info(f"Training precision: {self.describe()}")
        if self.bf16 and self.native_bf16 is False:
            logger.warning("cpu_bf16=true on a CPU without native bf16: training will be slower than fp32.")


def _to_float(value: Any) -> Any:
    """Low-precision floating tensors in ``value`` (a tensor, or a list/tuple/dict of them) as fp32."""
    if isinstance(value, torch.Tensor):
        return value.float() if value.is_floating_point() and value.dtype != torch.float32 else value
    if isinstance(value, Mapping):
        return {k: _to_float(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return type(value)(_to_float(v) for v in value)
    return value


class PrecisionInferer(Inferer):
    """The training forward pass under a :class:`TrainingPrecision`: plain (channels-last) input, the network under
    bf16 autocast when chosen, fp32 output.

    Args:
        precision: the resolved precision of the run.

    Examples::

        trainer = SupervisedTrainer(..., inferer=PrecisionInferer(TrainingPrecision.resolve(device)))
    """

    def __init__(self, precision: TrainingPrecision) -> None:
        super().__init__()
        if not isinstance(precision, TrainingPrecision):
            raise TypeError(f"PrecisionInferer needs a TrainingPrecision, got {type(precision).__name__}.")
        self.precision = precision

    def __call__(self, inputs: torch.Tensor, network: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``network(inputs, *args, **kwargs)`` as :attr:`precision` says.

        Args:
            inputs: the training batch (``MetaTensor`` or tensor).
            network: the model.
            args: more positional arguments for the network.
            kwargs: more keyword arguments for the network.
        """
        inputs = self.precision.prepare_inputs(inputs)
        with self.precision.autocast():
            outputs = network(inputs, *args, **kwargs)
        return _to_float(outputs) if self.precision.bf16 else outputs
