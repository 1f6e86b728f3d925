# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the EMA arithmetic (``ema = decay * ema + (1 - decay) * weights`` once per optimiser step, with and
without the decay warm-up), that accumulation advances it once per step and not per mini-batch, that BatchNorm
statistics follow the trained network, that its state round-trips, and that switched off it is a transparent no-op.
It also proves validation and the best checkpoint use the averaged weights and the raw ones are saved beside them,
and that the EMA can be listed in a bundle's handler list through ``SharedHandler``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn as nn
from engine_tiny import TinyNet, build_run
from ignite.engine import Engine

from monai_lite.engine import ModelEMA


def _scalar_net() -> nn.Module:
    net = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(5.0)
    return net


def _run_values(ema: ModelEMA, net: nn.Module, values: list[float], accumulation_steps: int = 1) -> Engine:
    def step(engine: Engine, batch: float) -> None:  # stands in for an optimiser step: sets the weight
        with torch.no_grad():
            net.weight.fill_(batch)

    engine = Engine(step)
    engine.accumulation_steps = accumulation_steps
    ema.attach(engine)
    engine.run(values, max_epochs=1)
    return engine


def test_fixed_decay_matches_the_closed_form() -> None:
    net = _scalar_net()
    ema = ModelEMA(net, decay=0.9, warmup=False)
    values = [1.0, 2.0, 3.0, 4.0]
    _run_values(ema, net, values)
    expected = 5.0
    for v in values:
        expected = 0.9 * expected + 0.1 * v
    assert ema.ema_model.weight.item() == pytest.approx(expected, rel=1e-6)
    assert ema.steps == 4
    assert net.weight.item() == 4.0, "the trained network itself is never changed"


def test_warmup_ramps_the_decay() -> None:
    net = _scalar_net()
    ema = ModelEMA(net, decay=0.999, warmup=True)
    values = [1.0, -2.0, 3.0]
    engine = _run_values(ema, net, values)
    expected = 5.0
    for t, v in enumerate(values, start=1):
        decay = min(0.999, (1 + t) / (10 + t))
        expected = decay * expected + (1 - decay) * v
    assert ema.ema_model.weight.item() == pytest.approx(expected, rel=1e-6)
    assert engine.state.ema_decay == pytest.approx(4 / 13)
    assert ema.current_decay(10_000) == 0.999, "after the warm-up the decay is the configured one"


def test_accumulation_advances_once_per_optimiser_step() -> None:
    net = _scalar_net()
    ema = ModelEMA(net, decay=0.5, warmup=False)
    values = [1.0, 2.0, 3.0, 4.0, 5.0]  # groups of 2: steps after 2, 4 and the flush at 5
    _run_values(ema, net, values, accumulation_steps=2)
    assert ema.steps == 3
    expected = 5.0
    for v in (2.0, 4.0, 5.0):
        expected = 0.5 * expected + 0.5 * v
    assert ema.ema_model.weight.item() == pytest.approx(expected)


def test_batchnorm_statistics_follow_the_trained_network() -> None:
    net = TinyNet()
    ema = ModelEMA(net, decay=0.9)

    def step(engine: Engine, batch: torch.Tensor) -> None:
        net.train()
        net(batch)

    engine = Engine(step)
    ema.attach(engine)
    engine.run([torch.randn(4, 1, 8, 8) + 3 for _ in range(3)], max_epochs=1)
    bn_net, bn_ema = net.body[1], ema.ema_model.body[1]
    torch.testing.assert_close(bn_ema.running_mean, bn_net.running_mean)
    assert not ema.ema_model.training, "the averaged copy is kept in eval mode"


def test_state_round_trip_and_refusal_without_ema_weights() -> None:
    net = _scalar_net()
    ema = ModelEMA(net, decay=0.9)
    _run_values(ema, net, [1.0, 2.0])
    other = ModelEMA(_scalar_net(), decay=0.9)
    other.load_state_dict(ema.state_dict())
    assert other.steps == 2
    assert other.ema_model.weight.item() == pytest.approx(ema.ema_model.weight.item())
    with pytest.raises(ValueError, match="holds no EMA weights"):
        other.load_state_dict(ModelEMA(net, decay=0).state_dict())


def test_switched_off_is_transparent() -> None:
    net = _scalar_net()
    ema = ModelEMA(net, decay=0)
    assert not ema.enabled and ema.ema_model is None
    assert ema.validation_network is net
    assert ema.state_dict() == {}
    _run_values(ema, net, [1.0])
    assert ema.steps == 0
    with pytest.raises(ValueError, match=r"decay must be in \[0, 1\)"):
        ModelEMA(net, decay=1.0)


def test_validation_and_best_checkpoint_use_the_average(tmp_path: Path) -> None:
    run = build_run(tmp_path, epochs=2)
    assert run["evaluator"].network is run["ema"].ema_model
    run["trainer"].run()
    best = torch.load(tmp_path / "model.pt", weights_only=True)
    raw = torch.load(tmp_path / "model_raw.pt", weights_only=True)
    assert run["evaluator"].state.best_metric_epoch == 2, "the tiny run improves every epoch"
    for key, value in run["ema"].ema_model.state_dict().items():
        torch.testing.assert_close(best[key], value)
    for key, value in run["network"].state_dict().items():
        torch.testing.assert_close(raw[key], value)
    assert any(not torch.equal(best[k], raw[k]) for k in best), "EMA and raw weights must differ"


def test_listed_through_shared_handler() -> None:
    from monai_lite.engine import SharedHandler

    net = _scalar_net()
    ema = ModelEMA(net, decay=0.5, warmup=False)

    def step(engine: Engine, batch: float) -> None:
        with torch.no_grad():
            net.weight.fill_(batch)

    engine = Engine(step)
    SharedHandler(ema).attach(engine)
    engine.run([1.0], max_epochs=1)
    assert ema.ema_model.weight.item() == pytest.approx(3.0)
    with pytest.raises(TypeError, match="needs an object with attach"):
        SharedHandler(net.weight)
