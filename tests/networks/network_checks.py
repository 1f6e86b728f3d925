# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Reusable checks for monai-lite networks, and ``BaseNetworkTester``, a pytest base class built on them.

A network's test module subclasses ``BaseNetworkTester`` as ``Test<Name>Common`` and sets the class attributes
(registry name, small 2D/3D settings, input sizes, parameter budget, ablation switches, invalid arguments);
every ``test_*`` method below then runs for it, parametrised from those attributes. The test module keeps only
what is specific to its paper. The plain functions can be used on their own for network-specific cases.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from monai_lite.networks import create_network, get_network_class, list_networks

__all__ = [
    "COMMON_INVALID_ARGUMENTS",
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


#: invalid arguments every network rejects, with the text its ValueError must contain
COMMON_INVALID_ARGUMENTS: list[tuple[dict[str, Any], str]] = [
    ({"spatial_dims": 1}, "spatial_dims=1"),
    ({"spatial_dims": 4}, "spatial_dims=4"),
    ({"in_channels": 0}, "in_channels=0"),
    ({"in_channels": -1}, "in_channels=-1"),
    ({"out_channels": 0}, "out_channels=0"),
    ({"padding_mode": "reflect"}, "padding_mode='reflect'"),
    ({"dropout": 1.0}, "dropout=1.0"),
    ({"dropout": 1.5}, "dropout=1.5"),
]


class BaseNetworkTester:
    """Generic checks for one registered network; subclass as ``Test<Name>Common`` and set the attributes.

    Attributes:
        network_name: registry name, e.g. ``"medlitenet"``.
        kwargs_2d / kwargs_3d: constructor arguments of a 2D / 3D instance (``None`` skips that dimension).
            Default: 2D ``3 -> 1`` and 3D ``1 -> 3`` at the network's default widths.
        input_2d / input_3d: a small input shape ``(B, C, *spatial)`` for each; ``B >= 2`` keeps batch norm
            trainable at the bottleneck.
        odd_input_2d / odd_input_3d: a spatial size that is not a multiple of the network's stride.
        requires_divisible_input_shape: ``False`` when the network accepts any size; then the odd inputs must
            come back at their own size. ``True`` asserts the opposite (odd sizes are rejected with an error).
        is_torchscriptable: asserted both ways.
        is_exportable: whether ``torch.export.export`` must succeed (2D, odd input size).
        small_kwargs: extra constructor arguments of a cheap instance (same topology) used by the head, padding,
            switch, variant and training checks.
        shape_kwargs: extra constructor arguments of the instance used by the any-input-size checks.
        sizes_2d / sizes_3d: spatial sizes the any-input-size checks run (2D ``3 -> 1``, 3D ``channels_3d``).
        channels_3d: ``(in_channels, out_channels)`` of the 3D any-input-size check.
        head_inputs: input shape per ``spatial_dims`` for the binary/multi-class head check.
        head_cases: ``(spatial_dims, out_channels)`` pairs of the head check.
        total_stride: the stride of the ``small_kwargs`` instance; pad_check_size is padded up to it by hand.
        pad_check_size: an odd 2D size for the "internal padding equals explicit padding" check.
        params_2d / params_3d: accepted parameter range of the default 2D ``3 -> 1`` / 3D ``1 -> 3`` instance.
        paper_params: the paper's parameter count, printed next to ours (None: not reported).
        switches: the boolean ablation switches (True by default).
        switch_components: switch -> regular expression that every state_dict key the switch adds, removes or
            reshapes must match ("a switch changes only its component").
        switches_adding_parameters: the switches whose False setting has more parameters than the default.
        train_input: input shape of the gradient checks of the switches and variants.
        script_input: 2D input shape of the TorchScript checks of the switches and variants.
        script_each_switch: also check TorchScript for every single switch off (not only all of them).
        variants: further constructor arguments (over ``small_kwargs``) that must train and script.
        invalid_arguments: network-specific ``(kwargs, text)`` pairs; ``COMMON_INVALID_ARGUMENTS`` are added.
    """

    network_name: ClassVar[str] = ""
    kwargs_2d: ClassVar[dict[str, Any] | None] = {"spatial_dims": 2, "in_channels": 3, "out_channels": 1}
    kwargs_3d: ClassVar[dict[str, Any] | None] = {"spatial_dims": 3, "in_channels": 1, "out_channels": 3}
    input_2d: ClassVar[tuple[int, ...]] = (2, 3, 64, 64)
    input_3d: ClassVar[tuple[int, ...]] = (2, 1, 32, 32, 32)
    odd_input_2d: ClassVar[tuple[int, ...]] = (45, 70)
    odd_input_3d: ClassVar[tuple[int, ...]] = (19, 33, 21)
    requires_divisible_input_shape: ClassVar[bool] = False
    is_torchscriptable: ClassVar[bool] = True
    is_exportable: ClassVar[bool] = True
    small_kwargs: ClassVar[dict[str, Any]] = {}
    shape_kwargs: ClassVar[dict[str, Any]] = {}
    sizes_2d: ClassVar[Sequence[tuple[int, ...]]] = ()
    sizes_3d: ClassVar[Sequence[tuple[int, ...]]] = ()
    channels_3d: ClassVar[tuple[int, int]] = (1, 3)
    head_inputs: ClassVar[dict[int, tuple[int, ...]]] = {2: (2, 3, 64, 96)}
    head_cases: ClassVar[Sequence[tuple[int, int]]] = ((2, 1), (2, 2), (2, 4))
    total_stride: ClassVar[int] = 32
    pad_check_size: ClassVar[tuple[int, int]] = (100, 75)
    params_2d: ClassVar[tuple[float, float]] = (0.0, math.inf)
    params_3d: ClassVar[tuple[float, float]] = (0.0, math.inf)
    paper_params: ClassVar[float | None] = None
    switches: ClassVar[Sequence[str]] = ()
    switch_components: ClassVar[dict[str, str]] = {}
    switches_adding_parameters: ClassVar[Sequence[str]] = ()
    train_input: ClassVar[tuple[int, ...]] = (2, 3, 64, 64)
    script_input: ClassVar[tuple[int, ...]] = (1, 3, 40, 21)
    script_each_switch: ClassVar[bool] = False
    variants: ClassVar[Sequence[dict[str, Any]]] = ()
    invalid_arguments: ClassVar[Sequence[tuple[dict[str, Any], str]]] = ()

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Parametrise the generic tests from the subclass's attributes (pytest calls this per test method)."""
        names = metafunc.fixturenames
        if "size_2d" in names:
            metafunc.parametrize("size_2d", self.sizes_2d, ids=[f"{'x'.join(map(str, s))}" for s in self.sizes_2d])
        if "size_3d" in names:
            metafunc.parametrize("size_3d", self.sizes_3d, ids=[f"{'x'.join(map(str, s))}" for s in self.sizes_3d])
        if "head_case" in names:
            metafunc.parametrize("head_case", self.head_cases, ids=[f"{d}d-out{c}" for d, c in self.head_cases])
        if "switch" in names:
            metafunc.parametrize("switch", self.switches)
        if "variant" in names:
            metafunc.parametrize("variant", self.variants, ids=[f"variant{i}" for i in range(len(self.variants))])
        if "invalid" in names:
            cases = [*COMMON_INVALID_ARGUMENTS, *self.invalid_arguments]
            metafunc.parametrize("invalid", cases, ids=[text for _, text in cases])

    def _build(self, dims: int) -> tuple[nn.Module, tuple[int, ...], dict[str, Any]]:
        kwargs = self.kwargs_2d if dims == 2 else self.kwargs_3d
        if kwargs is None:
            pytest.skip(f"{self.network_name} has no {dims}D setting")
        torch.manual_seed(0)
        return create_network(self.network_name, **kwargs), (self.input_2d if dims == 2 else self.input_3d), kwargs

    def _create(self, *extra: dict[str, Any], **kwargs: Any) -> nn.Module:
        """A seeded instance from the merged argument dicts (later ones win) and keywords."""
        merged: dict[str, Any] = {}
        for d in extra:
            merged.update(d)
        merged.update(kwargs)
        torch.manual_seed(0)
        return create_network(self.network_name, **merged)

    def test_registered(self):
        assert self.network_name in list_networks()
        assert get_network_class(self.network_name.upper()) is get_network_class(self.network_name)

    def test_registry_builds_by_name(self):
        """The class name (any case) builds the network with keyword arguments; a near miss lists valid names."""
        cls = get_network_class(self.network_name)
        net = create_network(cls.__name__, **self.kwargs_3d)
        assert isinstance(net, cls) and net.spatial_dims == 3
        with pytest.raises(ValueError, match=f"Valid names: .*{self.network_name}"):
            create_network(self.network_name + "t")

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

    def test_output_shape_2d(self, size_2d):
        """Logits come back at the input size for multiples of the stride and for odd sizes (2D, 3 -> 1)."""
        net = self._create(self.shape_kwargs, spatial_dims=2, in_channels=3, out_channels=1)
        assert_output_shape(net, (1, 3, *size_2d), (1, 1, *size_2d))

    def test_output_shape_3d(self, size_3d):
        c_in, c_out = self.channels_3d
        net = self._create(self.shape_kwargs, spatial_dims=3, in_channels=c_in, out_channels=c_out)
        assert_output_shape(net, (1, c_in, *size_3d), (1, c_out, *size_3d))

    def test_binary_and_multiclass_heads(self, head_case):
        dims, out_channels = head_case
        shape = self.head_inputs[dims]
        net = self._create(self.small_kwargs, spatial_dims=dims, in_channels=shape[1], out_channels=out_channels)
        assert_output_shape(net, shape, (shape[0], out_channels, *shape[2:]))

    @pytest.mark.parametrize("padding_mode", ["replicate", "zeros"])
    def test_odd_size_equals_explicit_pad_then_crop(self, padding_mode):
        """The internal padding is exactly "pad the high side to a multiple of the stride, run, crop the logits"."""
        net = self._create(self.small_kwargs, padding_mode=padding_mode).eval()
        assert net.divisor == self.total_stride
        h, w = self.pad_check_size
        stride = self.total_stride
        x = torch.randn(1, 3, h, w)
        pads = [0, -w % stride, 0, -h % stride]
        assert any(pads), "pad_check_size must not be a multiple of the stride"
        padded = F.pad(x, pads, mode="replicate" if padding_mode == "replicate" else "constant")
        with torch.no_grad():
            got = net(x)
            expected = net(padded)[:, :, :h, :w]
        assert torch.allclose(got, expected, atol=1e-5), f"max abs diff {(got - expected).abs().max().item():.3e}"

    def test_parameter_budget_paper_setting(self, capsys):
        total = count_parameters(self._create(spatial_dims=2, in_channels=3, out_channels=1))
        lo, hi = self.params_2d
        paper = "" if self.paper_params is None else f" (paper {self.paper_params / 1e6:.2f} M, "
        paper += "" if self.paper_params is None else f"{100 * (total / self.paper_params - 1):+.1f} %)"
        with capsys.disabled():
            print(f"\n{self.network_name} 2D 3->1: {total:,} parameters{paper}")
        assert lo <= total <= hi, f"{total:,} parameters, expected {lo:,.0f} .. {hi:,.0f}"

    def test_parameter_count_3d(self, capsys):
        total = count_parameters(self._create(spatial_dims=3, in_channels=1, out_channels=3))
        lo, hi = self.params_3d
        with capsys.disabled():
            print(f"\n{self.network_name} 3D 1->3: {total:,} parameters")
        assert lo <= total <= hi, f"{total:,} parameters, expected {lo:,.0f} .. {hi:,.0f}"

    def test_each_switch_changes_only_its_component(self, switch, capsys):
        """Switching one component off adds, removes or reshapes only the weights under that component."""
        full = self._create(self.small_kwargs)
        ablated = self._create(self.small_kwargs, **{switch: False})
        shapes_full = {k: tuple(v.shape) for k, v in full.state_dict().items()}
        shapes_ablated = {k: tuple(v.shape) for k, v in ablated.state_dict().items()}
        keys = shapes_full.keys() | shapes_ablated.keys()
        changed = sorted(k for k in keys if shapes_full.get(k) != shapes_ablated.get(k))
        assert changed, f"{switch}=False changed no weight"
        outside = [k for k in changed if not re.search(self.switch_components[switch], k)]
        assert not outside, f"{switch}=False changed weights outside its component: {outside[:10]}"
        n_full, n = count_parameters(full), count_parameters(ablated)
        with capsys.disabled():
            print(f"\n{self.network_name} {switch}=False: {n:,} parameters ({n - n_full:+,})", end="")
        adds = switch in self.switches_adding_parameters
        assert (n > n_full) == adds and n != n_full, f"{switch}=False: {n:,} vs {n_full:,} parameters"

    def test_each_switch_trains_and_keeps_shapes(self, switch):
        net = self._create(self.small_kwargs, **{switch: False})
        assert_all_parameters_get_gradients(net, torch.randn(*self.train_input))
        assert_output_shape(net, (1, 3, *self.odd_input_2d), (1, 1, *self.odd_input_2d))
        if self.script_each_switch:
            assert_torchscript_parity(net, torch.randn(*self.script_input))

    @pytest.mark.parametrize("dims", [2, 3])
    def test_all_switches_off_scripts(self, dims):
        off = {s: False for s in self.switches}
        if dims == 2:
            net, x = self._create(self.small_kwargs, off), torch.randn(*self.script_input)
        else:
            net, x = self._create(self.small_kwargs, off, spatial_dims=3, in_channels=1), torch.randn(1, 1, 24, 20, 12)
        assert_torchscript_parity(net, x)

    def test_variants_train_and_script(self, variant):
        net = self._create(self.small_kwargs, variant)
        assert_all_parameters_get_gradients(net, torch.randn(*self.train_input))
        assert_torchscript_parity(net, torch.randn(*self.script_input))

    def test_invalid_arguments(self, invalid):
        kwargs, text = invalid
        with pytest.raises(ValueError, match=re.escape(text)):
            get_network_class(self.network_name)(**kwargs)

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

    @pytest.mark.slow
    def test_train_step_reduces_loss(self):
        """A few optimiser steps on one fixed batch lower the Dice+BCE loss (the net can fit)."""
        net = self._create(self.small_kwargs).train()
        torch.manual_seed(0)
        x = torch.randn(2, 3, 32, 48)
        y = (x[:, :1] > 0.5).float()
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3)

        def loss_fn(logits: torch.Tensor) -> torch.Tensor:
            p = torch.sigmoid(logits)
            dice = 1 - (2 * (p * y).sum() + 1) / (p.sum() + y.sum() + 1)
            return 0.5 * F.binary_cross_entropy_with_logits(logits, y) + 0.5 * dice

        first = loss_fn(net(x)).item()
        for _ in range(8):
            opt.zero_grad()
            loss = loss_fn(net(x))
            loss.backward()
            opt.step()
        assert loss.item() < first, f"loss did not decrease: {first:.4f} -> {loss.item():.4f}"
