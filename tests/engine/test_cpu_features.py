# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves native bf16 detection reads AVX512-BF16 / AMX-BF16 from torch's capability check, falls back to the
flags of /proc/cpuinfo and then to "not native", both ways (flags present and absent, as on the Intel Xeon with AMX
and the AMD EPYC without), with the detection monkeypatched so the result does not depend on the test machine."""

from __future__ import annotations

import pytest

from monai_lite.engine import cpu

XEON = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: fpu sse2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
EPYC = "processor\t: 0\nmodel name\t: AMD EPYC 7763 64-Core Processor\nflags\t\t: fpu sse2 avx2 fma\n"
AVX512_ONLY = "model name\t: Intel(R) Xeon(R) Gold 6230\nflags\t\t: fpu avx2 avx512f avx512bw avx512_vnni\n"


def _patch(monkeypatch: pytest.MonkeyPatch, caps: dict | None, cpuinfo: str | None) -> None:
    monkeypatch.setattr(cpu, "_torch_capabilities", lambda: caps)
    monkeypatch.setattr(cpu, "_cpuinfo_text", lambda: cpuinfo)


@pytest.mark.parametrize(
    "caps, native, reason",
    [
        ({"avx512_bf16": True, "amx_bf16": True}, True, "CPU has AMX-BF16 and AVX512-BF16"),
        ({"avx512_bf16": True, "amx_bf16": False}, True, "CPU has AVX512-BF16"),  # e.g. AMD Zen 4
        ({"avx512_bf16": False, "amx_bf16": False, "avx2": True}, False, "no AVX512-BF16 or AMX-BF16"),
        ({"bf16": True, "architecture": "aarch64"}, False, "no AVX512-BF16 or AMX-BF16"),  # ARM: reported only
    ],
)
def test_torch_capabilities_decide_first(monkeypatch, caps: dict, native: bool, reason: str) -> None:
    _patch(monkeypatch, caps, EPYC if native else XEON)  # cpuinfo says the opposite: torch's answer must win
    features = cpu.cpu_features()
    assert features.source == "torch.cpu.get_capabilities"
    assert features.native_bf16 is native and cpu.has_native_bf16() is native
    assert reason in features.bf16_reason()
    assert features.arm_bf16 is bool(caps.get("bf16"))


@pytest.mark.parametrize(
    "text, native, model",
    [
        (XEON, True, "Intel(R) Xeon(R) Platinum 8480+"),
        (EPYC, False, "AMD EPYC 7763 64-Core Processor"),
        (AVX512_ONLY, False, "Intel(R) Xeon(R) Gold 6230"),  # AVX-512 alone only emulates bf16
    ],
)
def test_proc_cpuinfo_flags_when_torch_cannot_tell(monkeypatch, text: str, native: bool, model: str) -> None:
    _patch(monkeypatch, None, text)
    features = cpu.cpu_features()
    assert features.source == "/proc/cpuinfo" and features.model == model
    assert features.native_bf16 is native
    assert features.amx_bf16 is ("amx_bf16" in text) and features.avx512_bf16 is ("avx512_bf16" in text)
    assert ("emulated" in features.bf16_reason()) is not native


def test_no_source_means_no_native_bf16(monkeypatch) -> None:
    _patch(monkeypatch, None, None)
    features = cpu.cpu_features()
    assert features.source == "none" and not features.native_bf16
    assert "unknown" in features.bf16_reason()


def test_report_dict_holds_the_decision_and_its_reason(monkeypatch) -> None:
    _patch(monkeypatch, {"avx512_bf16": False, "amx_bf16": True}, XEON)
    report = cpu.cpu_features().to_dict()
    assert report["native_bf16"] is True and report["amx_bf16"] is True and report["avx512_bf16"] is False
    assert report["reason"] == "CPU has AMX-BF16" and report["model"] == "Intel(R) Xeon(R) Platinum 8480+"
