# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the training precision is chosen as documented and applied by the training inferer:

- ``cpu_bf16="auto"`` gives bf16 autocast on a CPU with native bf16 and fp32 without (detection monkeypatched both
  ways), ``true``/``false`` force it, a CUDA device leaves everything to ``amp``; bad values are refused;
- a bundle's ``train.json`` resolves to that choice, with its inferer and logging handler wired;
- :class:`PrecisionInferer` runs the convolutions in bf16 and returns fp32 logits, gives the network plain
  channels-last tensors, and :meth:`TrainingPrecision.prepare_network` keeps the parameters an optimiser holds;
- the start of training logs the choice and its reason, and the closing summary line names it.
"""

from __future__ import annotations

import logging

import pytest
import torch
import torch.nn as nn
from monai.bundle import ConfigParser
from monai.data import MetaTensor

from monai_lite.bundle.runner import BUNDLES_DIR
from monai_lite.engine import EpochSummary, PrecisionInferer, TrainingPrecision
from monai_lite.engine.cpu import CpuFeatures

NATIVE = CpuFeatures("Intel Xeon", avx512_bf16=True, amx_bf16=True, arm_bf16=False, source="test")
EMULATED = CpuFeatures("AMD EPYC", avx512_bf16=False, amx_bf16=False, arm_bf16=False, source="test")


@pytest.mark.parametrize(
    "setting, features, bf16, words",
    [
        ("auto", NATIVE, True, 'cpu_bf16="auto": CPU has AMX-BF16 and AVX512-BF16'),
        ("auto", EMULATED, False, "bf16 would be emulated"),
        (True, EMULATED, True, "cpu_bf16=true, forced; CPU has no AVX512-BF16"),
        ("true", NATIVE, True, "cpu_bf16=true, forced"),
        (False, NATIVE, False, "cpu_bf16=false"),
        ("False", NATIVE, False, "cpu_bf16=false"),
    ],
)
def test_cpu_choice(setting, features: CpuFeatures, bf16: bool, words: str) -> None:
    precision = TrainingPrecision.resolve("cpu", setting, channels_last=True, features=features)
    assert precision.bf16 is bf16 and precision.channels_last is True
    assert words in precision.bf16_reason
    assert precision.describe().startswith("bf16 autocast (" if bf16 else "fp32 (")
    assert "channels-last (channels_last=true)" in precision.describe()


def test_cuda_leaves_precision_to_amp() -> None:
    precision = TrainingPrecision.resolve(torch.device("cuda", 0), True, True, features=NATIVE)
    assert not precision.bf16 and not precision.channels_last
    assert "amp" in precision.describe()
    with precision.autocast():
        assert not torch.is_autocast_enabled("cpu")


@pytest.mark.parametrize("setting", ["yes", 1, None, "bf16"])
def test_bad_cpu_bf16_is_refused(setting) -> None:
    with pytest.raises(ValueError, match='cpu_bf16 must be "auto", true or false'):
        TrainingPrecision.resolve("cpu", setting, features=NATIVE)


def test_bad_channels_last_is_refused() -> None:
    with pytest.raises(ValueError, match="channels_last must be true or false"):
        TrainingPrecision.resolve("cpu", "auto", channels_last="sometimes", features=NATIVE)


def _bundle_parser(bundle: str) -> ConfigParser:
    parser = ConfigParser()
    parser.read_config(str(BUNDLES_DIR / bundle / "configs" / "train.json"))
    parser["device"] = "$torch.device('cpu')"
    return parser


@pytest.mark.parametrize("features, bf16", [(NATIVE, True), (EMULATED, False)])
def test_bundle_config_picks_bf16_only_with_native_support(monkeypatch, features: CpuFeatures, bf16: bool) -> None:
    monkeypatch.setattr("monai_lite.engine.precision.cpu_features", lambda: features)
    parser = _bundle_parser("lacnet")  # a bundle that keeps the template's "auto"
    raw = parser.get()
    assert raw["cpu_bf16"] == "auto"
    precision = parser.get_parsed_content("training_precision")
    assert precision.bf16 is bf16 and precision.channels_last is raw["channels_last"]
    assert raw["train"]["inferer"] == {"_target_": "monai_lite.engine.PrecisionInferer",
                                       "precision": "@training_precision"}
    assert {"_target_": "monai_lite.engine.SharedHandler", "handler": "@training_precision"} in raw["train"]["handlers"]
    assert raw["validate"]["inferer"]["_target_"] != "monai_lite.engine.PrecisionInferer", "validation stays fp32"
    parser["cpu_bf16"] = False
    assert parser.get_parsed_content("training_precision", lazy=False).bf16 is False


def test_a_bundle_that_measured_bf16_slower_stays_fp32_on_a_native_cpu(monkeypatch) -> None:
    monkeypatch.setattr("monai_lite.engine.precision.cpu_features", lambda: NATIVE)
    parser = _bundle_parser("medlitenet")
    precision = parser.get_parsed_content("training_precision")
    assert not precision.bf16 and precision.bf16_reason == "cpu_bf16=false"
    parser["cpu_bf16"] = "auto"  # the override a user gives on the command line
    assert parser.get_parsed_content("training_precision", lazy=False).bf16 is True


class _Recorder(nn.Module):
    """A conv net that records the dtype and layout its convolution sees."""

    def __init__(self, spatial_dims: int) -> None:
        super().__init__()
        conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
        self.conv = conv(2, 3, 3, padding=1)
        self.seen: list[tuple[torch.dtype, bool, type]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fmt = torch.channels_last if x.ndim == 4 else torch.channels_last_3d
        self.seen.append((x.dtype, x.is_contiguous(memory_format=fmt) and not x.is_contiguous(), type(x)))
        return self.conv(x)


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_inferer_runs_bf16_channels_last_and_returns_fp32(spatial_dims: int) -> None:
    torch.manual_seed(0)
    net = _Recorder(spatial_dims)
    precision = TrainingPrecision("cpu", True, True, "test", "test")
    params = list(net.parameters())
    assert precision.prepare_network(net) is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params], "optimisers keep the same parameters"
    weight_format = torch.channels_last if spatial_dims == 2 else torch.channels_last_3d
    assert net.conv.weight.is_contiguous(memory_format=weight_format)
    image = MetaTensor(torch.rand(2, 2, *[6] * spatial_dims))
    out = PrecisionInferer(precision)(image, net)
    assert net.seen == [(torch.float32, True, torch.Tensor)], "plain channels-last input, cast inside autocast"
    assert out.dtype == torch.float32
    reference = nn.functional.conv2d if spatial_dims == 2 else nn.functional.conv3d
    expected = reference(image.as_tensor(), net.conv.weight, net.conv.bias, padding=1)
    assert torch.allclose(out, expected, atol=5e-2) and not torch.equal(out, expected), "bf16 rounding, close"
    out.sum().backward()
    assert net.conv.weight.grad.dtype == torch.float32


def test_fp32_inferer_is_exact_and_leaves_layout_alone() -> None:
    net = _Recorder(2)
    image = torch.rand(1, 2, 5, 5)
    out = PrecisionInferer(TrainingPrecision("cpu", False, False, "t", "t"))(image, net)
    assert net.seen == [(torch.float32, False, torch.Tensor)]
    assert torch.equal(out, net.conv(image))


def test_inferer_casts_every_output_of_a_multi_output_network() -> None:
    class TwoHeads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 1)

        def forward(self, x):
            y = self.conv(x)
            return y, {"aux": y * 2}

    out = PrecisionInferer(TrainingPrecision("cpu", True, False, "t", "t"))(torch.rand(1, 1, 4, 4), TwoHeads())
    assert out[0].dtype == torch.float32 and out[1]["aux"].dtype == torch.float32


def test_start_of_training_logs_the_choice_and_the_summary_names_it(caplog: pytest.LogCaptureFixture) -> None:
    from ignite.engine import Engine

    caplog.set_level(logging.INFO)
    precision = TrainingPrecision.resolve("cpu", "auto", True, features=NATIVE)
    engine = Engine(lambda e, b: None)
    precision.attach(engine)
    EpochSummary(None).attach(engine)
    engine.run([0], max_epochs=1)
    messages = [r.getMessage() for r in caplog.records if r.name == "monai_lite.train"]
    assert messages[0] == ('Training precision: bf16 autocast (cpu_bf16="auto": CPU has AMX-BF16 and AVX512-BF16); '
                           "channels-last (channels_last=true); validation fp32")
    assert messages[-1] == "Training finished at epoch 1/1 (bf16 autocast, channels-last)."
    assert engine.state.training_precision["precision"] == "bf16 autocast"


def test_forcing_bf16_without_native_support_warns(caplog: pytest.LogCaptureFixture) -> None:
    from ignite.engine import Engine

    engine = Engine(lambda e, b: None)
    TrainingPrecision.resolve("cpu", True, features=EMULATED).attach(engine)
    engine.run([0], max_epochs=1)
    assert any(r.levelno == logging.WARNING and "slower than fp32" in r.getMessage() for r in caplog.records)
