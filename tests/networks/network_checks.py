# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Reusable checks for monai-lite networks, and ``BaseNetworkTester``, a pytest base class built on them.

A network's test module subclasses ``BaseNetworkTester`` as ``Test<Name>Common`` and sets the class attributes
(registry name, small 2D/3D settings); every ``test_*`` method below then runs for it. The plain functions
can be used on their own for network-specific cases.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import pytest
import torch
import torch.nn as nn

from monai_lite.networks import create_network, get_network_class, list_networks

__all__ = [
    "BaseNetworkTester",
    "assert_all_parameters_get_gradients",
    "assert_eval_deterministic",
    "assert_output_shape",
    "assert_state_dict_roundtrip",
    "assert_torch_export_parity",
    "assert_torchscript_parity",
    "count_parameters",
    "script",
]


def count_parameters(net: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``net``."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad or not trainable_only)


def assert_output_shape(net: nn.Module, input_shape: Sequence[int], expected_shape: Sequence[int]) -> torch.Tensor:
    """Run ``net`` in eval mode on a random input and check the output shape and that it is finite."""
    net.eval()
    with torch.no_grad():
        out = net(torch.randn(*input_shape))
    got, expected = tuple(out.shape), tuple(expected_shape)
    assert got == expected, f"input {tuple(input_shape)}: got {got}, expected {expected}"
    assert torch.isfinite(out).all(), f"non-finite output for input {tuple(input_shape)}"
    return out


def assert_all_parameters_get_gradients(net: nn.Module, x: torch.Tensor) -> None:
    """After a training-mode forward/backward, every trainable parameter must have a finite, non-None gradient.

    Catches parameters that are built but never used (their ``.grad`` stays ``None``) and NaN/inf gradients.
    """
    net.train()
    net.zero_grad(set_to_none=True)
    out = net(x)
    loss = out.float().square().mean() + out.float().mean()
    loss.backward()
    missing = [n for n, p in net.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"{len(missing)} parameter(s) got no gradient (unused?): {missing[:20]}"
    bad = [n for n, p in net.named_parameters() if p.requires_grad and not torch.isfinite(p.grad).all()]
    assert not bad, f"non-finite gradients in: {bad[:20]}"


def script(obj: Any) -> Any:
    """``torch.jit.script`` without the deprecation warning torch >= 2.9 emits (bundles still export TorchScript)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning)
        return torch.jit.script(obj)


def assert_torchscript_parity(net: nn.Module, x: torch.Tensor, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Script ``net``, save and reload it through ``torch.jit.save``/``load``, and compare with eager (eval)."""
    net.eval()
    with warnings.catch_warnings():  # torch >= 2.9 marks the TorchScript API deprecated; bundles still use it
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning)
        scripted = torch.jit.script(net)
        buffer = io.BytesIO()
        torch.jit.save(scripted, buffer)
        buffer.seek(0)
        reloaded = torch.jit.load(buffer)
    with torch.no_grad():
        expected = net(x)
        for name, model in (("scripted", scripted), ("reloaded", reloaded)):
            got = model(x)
            diff = (got - expected).abs().max().item()
            assert torch.allclose(got, expected, atol=atol, rtol=rtol), f"{name} vs eager: max abs diff {diff:.3e}"


def assert_torch_export_parity(net: nn.Module, x: torch.Tensor, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """``torch.export.export`` the eval-mode ``net`` for ``x``'s shape and compare the exported program with eager."""
    net.eval()
    program = torch.export.export(net, (x,))
    with torch.no_grad():
        expected = net(x)
        got = program.module()(x)
    diff = (got - expected).abs().max().item()
    assert torch.allclose(got, expected, atol=atol, rtol=rtol), f"exported vs eager: max abs diff {diff:.3e}"


def assert_eval_deterministic(net: nn.Module, x: torch.Tensor) -> None:
    """Two eval-mode forwards on the same input give identical outputs."""
    net.eval()
    with torch.no_grad():
        a = net(x)
        b = net(x)
    assert torch.equal(a, b), f"eval forward is not deterministic: max abs diff {(a - b).abs().max().item():.3e}"


def assert_state_dict_roundtrip(factory: Callable[[], nn.Module], x: torch.Tensor) -> None:
    """Weights saved with ``torch.save(state_dict)`` load strictly into a fresh instance and reproduce outputs."""
    torch.manual_seed(0)
    src = factory().eval()
    buffer = io.BytesIO()
    torch.save(src.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(1)
    dst = factory().eval()
    dst.load_state_dict(torch.load(buffer, weights_only=True), strict=True)
    with torch.no_grad():
        a, b = src(x), dst(x)
    assert torch.equal(a, b), f"reloaded weights differ: max abs diff {(a - b).abs().max().item():.3e}"


class BaseNetworkTester:
    """Generic checks for one registered network; subclass as ``Test<Name>Common`` and set the attributes.

    Attributes:
        network_name: registry name, e.g. ``"medlitenet"``.
        kwargs_2d / kwargs_3d: constructor arguments of a 2D / 3D instance (``None`` skips that dimension).
        input_2d / input_3d: a small input shape ``(B, C, *spatial)`` for each; ``B >= 2`` keeps batch norm
            trainable at the bottleneck.
        odd_input_2d / odd_input_3d: a spatial size that is not a multiple of the network's stride.
        requires_divisible_input_shape: ``False`` when the network accepts any size; then the odd inputs must
            come back at their own size. ``True`` asserts the opposite (odd sizes are rejected with an error).
        is_torchscriptable: asserted both ways.
        is_exportable: whether ``torch.export.export`` must succeed (2D, odd input size).
    """

    network_name: ClassVar[str] = ""
    kwargs_2d: ClassVar[dict[str, Any] | None] = None
    kwargs_3d: ClassVar[dict[str, Any] | None] = None
    input_2d: ClassVar[tuple[int, ...]] = (2, 3, 64, 64)
    input_3d: ClassVar[tuple[int, ...]] = (2, 1, 32, 32, 32)
    odd_input_2d: ClassVar[tuple[int, ...]] = (45, 70)
    odd_input_3d: ClassVar[tuple[int, ...]] = (19, 33, 21)
    requires_divisible_input_shape: ClassVar[bool] = False
    is_torchscriptable: ClassVar[bool] = True
    is_exportable: ClassVar[bool] = True

    def _build(self, dims: int) -> tuple[nn.Module, tuple[int, ...], dict[str, Any]]:
        kwargs = self.kwargs_2d if dims == 2 else self.kwargs_3d
        if kwargs is None:
            pytest.skip(f"{self.network_name} has no {dims}D setting")
        torch.manual_seed(0)
        return create_network(self.network_name, **kwargs), (self.input_2d if dims == 2 else self.input_3d), kwargs

    def test_registered(self):
        assert self.network_name in list_networks()
        assert get_network_class(self.network_name.upper()) is get_network_class(self.network_name)

    @pytest.mark.parametrize("dims", [2, 3])
    def test_forward_shape(self, dims):
        net, shape, kwargs = self._build(dims)
        assert_output_shape(net, shape, (shape[0], kwargs.get("out_channels", 1), *shape[2:]))

    @pytest.mark.parametrize("dims", [2, 3])
    def test_odd_input_size(self, dims):
        net, shape, kwargs = self._build(dims)
        spatial = self.odd_input_2d if dims == 2 else self.odd_input_3d
        odd = (1, shape[1], *spatial)
        if self.requires_divisible_input_shape:
            with pytest.raises((ValueError, RuntimeError)):
                net.eval()(torch.randn(*odd))
        else:
            assert_output_shape(net, odd, (1, kwargs.get("out_channels", 1), *spatial))

    @pytest.mark.parametrize("dims", [2, 3])
    def test_gradients_reach_every_parameter(self, dims):
        net, shape, _ = self._build(dims)
        assert_all_parameters_get_gradients(net, torch.randn(*shape))

    @pytest.mark.parametrize("dims", [2, 3])
    def test_torchscript(self, dims):
        net, shape, _ = self._build(dims)
        x = torch.randn(1, *shape[1:])
        if self.is_torchscriptable:
            assert_torchscript_parity(net, x)
        else:
            with pytest.raises(Exception):
                script(net)

    @pytest.mark.slow
    def test_torch_export(self):
        net, shape, _ = self._build(2)
        x = torch.randn(1, shape[1], *self.odd_input_2d)
        if not self.is_exportable:
            pytest.skip(f"{self.network_name} is declared not exportable")
        assert_torch_export_parity(net, x)

    def test_eval_deterministic(self):
        net, shape, _ = self._build(2)
        assert_eval_deterministic(net, torch.randn(*shape))

    def test_state_dict_roundtrip(self):
        _, shape, kwargs = self._build(2)
        assert_state_dict_roundtrip(lambda: create_network(self.network_name, **kwargs), torch.randn(1, *shape[1:]))

    def test_batch_independence_in_eval(self):
        """In eval mode each sample's output depends only on that sample (no batch statistics leak)."""
        net, shape, _ = self._build(2)
        net.eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            full = net(x)
            first = net(x[:1])
        assert torch.allclose(full[:1], first, atol=1e-5), f"max abs diff {(full[:1] - first).abs().max().item():.3e}"
