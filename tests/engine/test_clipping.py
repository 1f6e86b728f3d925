# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves gradient clipping bounds the norm of every gradient the optimiser steps with, clips the whole accumulated
gradient once (so accumulation + clipping still equals the large batch + clipping), un-scales AMP gradients first,
leaves small gradients alone, and is a no-op when switched off."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from engine_tiny import TinyNet, cases
from monai.data import DataLoader, Dataset
from monai.engines import SupervisedTrainer

from monai_lite.engine import GradientClipping, WeightedDiceCELoss


class _LoudLoss(WeightedDiceCELoss):
    """The bundle loss times 1000, so gradients are far above any clipping threshold."""

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return 1000.0 * super().forward(input, target)


def _run(max_norm: float, batch_size: int = 4, accumulation_steps: int = 1, loud: bool = True):
    torch.manual_seed(0)
    network = TinyNet(norm=False)
    optimizer = torch.optim.SGD(network.parameters(), lr=1e-4)
    norms: list[float] = []
    grads: list[list[torch.Tensor]] = []

    def record(opt, *_):
        params = [p for g in opt.param_groups for p in g["params"]]
        norms.append(float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))))
        grads.append([p.grad.clone() for p in params])

    optimizer.register_step_pre_hook(record)
    loader = DataLoader(Dataset(cases(8)), batch_size=batch_size, shuffle=False, num_workers=0)
    trainer = SupervisedTrainer(
        device="cpu", max_epochs=1, train_data_loader=loader, network=network, optimizer=optimizer,
        loss_function=_LoudLoss() if loud else WeightedDiceCELoss(), accumulation_steps=accumulation_steps,
        train_handlers=[GradientClipping(max_norm)],
    )
    trainer.run()
    return norms, grads, trainer


def test_clipping_bounds_the_norm() -> None:
    unclipped, _, _ = _run(max_norm=0)
    assert min(unclipped) > 10, "the test needs gradients far above the threshold"
    norms, _, _ = _run(max_norm=0.5)
    assert norms and all(n <= 0.5 * (1 + 1e-5) for n in norms), norms
    one_step, _, _ = _run(max_norm=0, batch_size=8)
    _, _, trainer = _run(max_norm=0.5, batch_size=8)
    assert trainer.state.grad_norm == pytest.approx(one_step[0], rel=1e-4), "grad_norm records the norm before"


def test_small_gradients_are_left_alone() -> None:
    _, plain, _ = _run(max_norm=0, loud=False)
    _, clipped, _ = _run(max_norm=1e6, loud=False)
    for step_a, step_b in zip(plain, clipped):
        for a, b in zip(step_a, step_b):
            torch.testing.assert_close(b, a)


def test_accumulated_gradient_is_clipped_once_like_the_large_batch() -> None:
    big_norms, big, _ = _run(max_norm=0.5, batch_size=4)
    acc_norms, acc, _ = _run(max_norm=0.5, batch_size=2, accumulation_steps=2)
    assert len(big) == len(acc) == 2
    for step_a, step_b in zip(big, acc):
        for a, b in zip(step_a, step_b):
            torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-7)
    assert acc_norms == pytest.approx([0.5, 0.5], rel=1e-4)


def test_switched_off_attaches_nothing() -> None:
    handler = GradientClipping(0)
    assert not handler.enabled
    engine = SimpleNamespace(add_event_handler=lambda *a: pytest.fail("attached although off"))
    handler.attach(engine)
    with pytest.raises(ValueError, match="max_norm must be >= 0"):
        GradientClipping(-1)


class _FakeScaler:
    def __init__(self, log: list) -> None:
        self.log = log

    def unscale_(self, optimizer) -> None:
        self.log.append("unscale")
        for group in optimizer.param_groups:
            for p in group["params"]:
                p.grad /= 1024.0


def test_amp_gradients_are_unscaled_before_clipping_and_only_on_step_iterations() -> None:
    log: list = []
    param = torch.nn.Parameter(torch.zeros(3))
    optimizer = torch.optim.SGD([param], lr=0.1)
    engine = SimpleNamespace(
        amp=True, scaler=_FakeScaler(log), optimizer=optimizer, accumulation_steps=2,
        state=SimpleNamespace(iteration=1, epoch_length=4),
    )
    param.grad = torch.full((3,), 1024.0 * 0.1)  # true gradient norm 0.17: under the threshold once un-scaled
    clip = GradientClipping(max_norm=1.0)
    clip(engine)
    assert log == [], "iteration 1 of a group of 2 does not step, so nothing may happen yet"
    engine.state.iteration = 2
    clip(engine)
    assert log == ["unscale"]
    torch.testing.assert_close(param.grad, torch.full((3,), 0.1))
    assert engine.state.grad_norm == pytest.approx(0.1 * 3**0.5, rel=1e-5)
