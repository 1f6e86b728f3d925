# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Whether this CPU computes in bfloat16 natively, so that bf16 autocast can speed up training.

``torch.autocast("cpu", dtype=torch.bfloat16)`` runs convolutions and matrix products in bf16. With bf16
instructions oneDNN does that work in bf16 (half the memory traffic, and with AMX a matrix unit):

- **AVX512-BF16** (``avx512_bf16``): bf16 dot products in the AVX-512 units (Intel Cooper Lake and Sapphire Rapids
  onwards, AMD Zen 4 onwards);
- **AMX-BF16** (``amx_bf16``): tile matrix multiplies (Intel Sapphire Rapids onwards).

Without them oneDNN emulates bf16 with fp32 arithmetic plus conversions, which is slower than plain fp32, so
training must not switch bf16 on there. ``torch.ops.mkldnn._is_mkldnn_bf16_supported()`` does not answer the
question: it is True on any AVX-512 CPU because oneDNN *can* emulate bf16 there; it is recorded for reference only.

Where the flags come from, first found wins:

1. ``torch.cpu.get_capabilities()`` (PyTorch's cpuinfo-based check; recent PyTorch), which also sees what the
   operating system enables;
2. the ``flags`` line of ``/proc/cpuinfo`` (Linux);
3. nothing: no native bf16 is assumed (macOS, Windows, other architectures with old PyTorch).

ARM CPUs with the BF16 extension are reported (``arm_bf16``) but not counted as native here: bf16 autocast has not
been measured on them, and a bundle can still force it with ``cpu_bf16: true``.

Example::

    >>> from monai_lite.engine.cpu import cpu_features
    >>> features = cpu_features()
    >>> features.native_bf16, features.bf16_reason()     # on a Sapphire Rapids Xeon
    (True, 'CPU has AMX-BF16 and AVX512-BF16')
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

__all__ = ["CpuFeatures", "cpu_features", "has_native_bf16"]

#: The x86 flags (``/proc/cpuinfo`` spelling, also torch's) that give native bf16 arithmetic, with display names.
NATIVE_BF16_FLAGS: dict[str, str] = {"amx_bf16": "AMX-BF16", "avx512_bf16": "AVX512-BF16"}
_CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class CpuFeatures:
    """The CPU features that decide training precision.

    Args:
        model: the CPU's name (``model name`` of ``/proc/cpuinfo``, else ``platform.processor()``).
        avx512_bf16: the CPU has AVX512-BF16 instructions.
        amx_bf16: the CPU has AMX-BF16 tiles (and the operating system enables them).
        arm_bf16: an ARM CPU with the BF16 extension (reported only, see the module docstring).
        source: where the flags came from: ``"torch.cpu.get_capabilities"``, ``"/proc/cpuinfo"`` or ``"none"``.
        mkldnn_bf16: ``torch.ops.mkldnn._is_mkldnn_bf16_supported()`` (True also where bf16 is emulated), or None
            where this PyTorch has no such check.
    """

    model: str
    avx512_bf16: bool
    amx_bf16: bool
    arm_bf16: bool
    source: str
    mkldnn_bf16: bool | None = None

    @property
    def native_bf16(self) -> bool:
        """Whether bf16 autocast runs on bf16 hardware (AVX512-BF16 or AMX-BF16) rather than emulated."""
        return self.avx512_bf16 or self.amx_bf16

    def bf16_reason(self) -> str:
        """One phrase saying why bf16 is or is not native, for logs and reports.

        Example::

            >>> CpuFeatures("EPYC", False, False, False, "/proc/cpuinfo").bf16_reason()
            'CPU has no AVX512-BF16 or AMX-BF16: bf16 would be emulated, slower than fp32'
        """
        have = [name for flag, name in NATIVE_BF16_FLAGS.items() if getattr(self, flag)]
        if have:
            return "CPU has " + " and ".join(have)
        if self.source == "none":
            return "CPU features unknown on this platform: no native bf16 assumed"
        return "CPU has no AVX512-BF16 or AMX-BF16: bf16 would be emulated, slower than fp32"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON reports, with ``native_bf16`` and the reason added."""
        return {
            "model": self.model, "avx512_bf16": self.avx512_bf16, "amx_bf16": self.amx_bf16,
            "arm_bf16": self.arm_bf16, "native_bf16": self.native_bf16, "source": self.source,
            "mkldnn_bf16": self.mkldnn_bf16, "reason": self.bf16_reason(),
        }


def _torch_capabilities() -> dict[str, Any] | None:
    """``torch.cpu.get_capabilities()`` as a dict, or None where this PyTorch lacks it or it fails."""
    getter = getattr(getattr(torch, "cpu", None), "get_capabilities", None)
    if getter is None:
        return None
    try:
        return dict(getter())
    except Exception:  # noqa: BLE001 - cpuinfo can fail to initialise in sandboxes; fall back to /proc/cpuinfo
        return None


def _cpuinfo_text() -> str | None:
    """The text of ``/proc/cpuinfo``, or None where there is none (not Linux)."""
    try:
        return _CPUINFO.read_text(errors="replace")
    except OSError:
        return None


def _cpuinfo_field(text: str, names: tuple[str, ...]) -> str | None:
    """The value of the first line of ``text`` whose key is one of ``names`` (first CPU only)."""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in names:
            return value.strip()
    return None


def _mkldnn_bf16() -> bool | None:
    check = getattr(getattr(torch.ops, "mkldnn", None), "_is_mkldnn_bf16_supported", None)
    if check is None:
        return None
    try:
        return bool(check())
    except Exception:  # noqa: BLE001 - a build without oneDNN
        return None


def cpu_features() -> CpuFeatures:
    """Detect the bf16 features of this CPU (cheap; not cached, so tests can patch the readers).

    Example::

        >>> cpu_features().source in ("torch.cpu.get_capabilities", "/proc/cpuinfo", "none")
        True
    """
    text = _cpuinfo_text()
    model = (_cpuinfo_field(text, ("model name",)) if text else None) or platform.processor() or platform.machine()
    caps = _torch_capabilities()
    if caps is not None:
        return CpuFeatures(
            model=model, avx512_bf16=bool(caps.get("avx512_bf16", False)), amx_bf16=bool(caps.get("amx_bf16", False)),
            arm_bf16=bool(caps.get("bf16", False)),  # an ARM-only key
            source="torch.cpu.get_capabilities", mkldnn_bf16=_mkldnn_bf16(),
        )
    if text is not None:
        x86 = set((_cpuinfo_field(text, ("flags",)) or "").split())
        arm = set((_cpuinfo_field(text, ("features",)) or "").split())
        return CpuFeatures(
            model=model, avx512_bf16="avx512_bf16" in x86, amx_bf16="amx_bf16" in x86, arm_bf16="bf16" in arm,
            source=str(_CPUINFO), mkldnn_bf16=_mkldnn_bf16(),
        )
    return CpuFeatures(model=model, avx512_bf16=False, amx_bf16=False, arm_bf16=False, source="none",
                       mkldnn_bf16=_mkldnn_bf16())


def has_native_bf16() -> bool:
    """Whether this CPU has AVX512-BF16 or AMX-BF16 (see :func:`cpu_features`).

    Example::

        >>> isinstance(has_native_bf16(), bool)
        True
    """
    return cpu_features().native_bf16
