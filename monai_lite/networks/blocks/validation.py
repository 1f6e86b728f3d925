# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Constructor argument checks shared by the monai-lite blocks and networks.

Every check raises a one-sentence :class:`ValueError` that names each argument and its value, in one style::

    spatial_dims must be 2 or 3, got spatial_dims=4.
    expansion and num_kernels must be >= 1, got expansion=0 num_kernels=4.
    dropout must be in [0, 1), got dropout=1.5.

Arguments are passed by keyword (``check_positive(in_channels=c_in, out_channels=c_out)``) so that the message
names them exactly as the caller's signature does, in the order given.

Examples::

    >>> check_spatial_dims(3, allowed=(2, 3))
    >>> check_at_least(1, strides=2, dilation=1)
    >>> check_probability(dropout=0.3)
    >>> check_odd(kernel_size=4)
    Traceback (most recent call last):
    ...
    ValueError: kernel_size must be a positive odd integer, got kernel_size=4.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monai_lite.networks.blocks.pad_crop import PAD_MODES

__all__ = [
    "check_at_least",
    "check_choice",
    "check_multiple_of",
    "check_odd",
    "check_per_stage",
    "check_positive",
    "check_probability",
    "check_segmentation_network",
    "check_spatial_dims",
    "check_widths",
]


def _names(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _got(values: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())


def check_spatial_dims(spatial_dims: int, allowed: Sequence[int] = (1, 2, 3)) -> None:
    """Check that ``spatial_dims`` is one of ``allowed``.

    Args:
        spatial_dims: the value to check.
        allowed: accepted numbers of spatial dimensions. Defaults to (1, 2, 3).

    Raises:
        ValueError: when ``spatial_dims`` is not in ``allowed``, e.g. "spatial_dims must be 2 or 3, got
            spatial_dims=4."
    """
    if spatial_dims not in allowed:
        choices = [str(a) for a in allowed]
        either = choices[0] if len(choices) == 1 else f"{', '.join(choices[:-1])} or {choices[-1]}"
        raise ValueError(f"spatial_dims must be {either}, got spatial_dims={spatial_dims}.")


def check_positive(**values: float) -> None:
    """Check that every keyword value is strictly positive (for counts: >= 1).

    Args:
        values: argument name -> value, e.g. ``in_channels=3, out_channels=1``.

    Raises:
        ValueError: when any value is not > 0, naming all of them, e.g. "in_channels and out_channels must be
            positive, got in_channels=0 out_channels=8."
    """
    if not all(v > 0 for v in values.values()):
        raise ValueError(f"{_names(list(values))} must be positive, got {_got(values)}.")


def check_at_least(minimum: int, hint: str = "", **values: int) -> None:
    """Check that every keyword value is ``>= minimum``.

    Args:
        minimum: the smallest accepted value.
        hint: optional note shown in parentheses after the bound, e.g. ``"0 = static"``. Defaults to "".
        values: argument name -> value, e.g. ``strides=1, dilation=2``.

    Raises:
        ValueError: when any value is below ``minimum``, naming all of them, e.g. "strides and dilation must be
            >= 1, got strides=0 dilation=1."
    """
    if not all(v >= minimum for v in values.values()):
        note = f" ({hint})" if hint else ""
        raise ValueError(f"{_names(list(values))} must be >= {minimum}{note}, got {_got(values)}.")


def check_odd(**values: int) -> None:
    """Check that every keyword value (a kernel size) is a positive odd integer, so "same" padding is symmetric.

    Args:
        values: argument name -> kernel size, e.g. ``kernel_size=3``.

    Raises:
        ValueError: naming the first offending argument, e.g. "kernel_size must be a positive odd integer, got
            kernel_size=4."
    """
    for name, k in values.items():
        if k < 1 or k % 2 == 0:
            raise ValueError(f"{name} must be a positive odd integer, got {name}={k}.")


def check_probability(**values: float) -> None:
    """Check that every keyword value (a dropout rate) lies in ``[0, 1)``.

    Args:
        values: argument name -> probability, e.g. ``dropout=0.1``.

    Raises:
        ValueError: naming the first offending argument, e.g. "dropout must be in [0, 1), got dropout=1.0."
    """
    for name, p in values.items():
        if not 0.0 <= p < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {name}={p}.")


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    """Check that ``value`` is one of ``choices`` (a sequence, or a mapping whose keys are the choices).

    Args:
        name: the argument name shown in the message.
        value: the value to check.
        choices: the accepted values.

    Raises:
        ValueError: e.g. "padding_mode must be one of ('replicate', 'zeros'), got padding_mode='reflect'."
    """
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {name}={value!r}.")


def check_multiple_of(divisor_name: str, divisor: int, **values: int) -> None:
    """Check that ``divisor`` and every keyword value are positive and each value is a multiple of ``divisor``.

    Args:
        divisor_name: the argument name of the divisor, e.g. ``"num_heads"``.
        divisor: its value.
        values: argument name -> value that must be divisible, e.g. ``hidden_size=128``.

    Raises:
        ValueError: e.g. "hidden_size must be a positive multiple of num_heads, got hidden_size=10 num_heads=3."
    """
    if divisor < 1 or not all(v >= 1 and v % divisor == 0 for v in values.values()):
        what = "a positive multiple" if len(values) == 1 else "positive multiples"
        raise ValueError(
            f"{_names(list(values))} must be {what} of {divisor_name}, got {_got(values)} {divisor_name}={divisor}."
        )


def check_widths(name: str, widths: Sequence[int], min_count: int = 1, what: str = "widths") -> None:
    """Check that a sequence holds at least ``min_count`` values, all positive.

    Args:
        name: the argument name shown in the message, e.g. ``"channels"``.
        widths: the sequence to check (shown as a tuple).
        min_count: the fewest values accepted. Defaults to 1.
        what: what the values are, for the message, e.g. ``"rates"``. Defaults to ``"widths"``.

    Raises:
        ValueError: e.g. "channels must be a non-empty sequence of positive widths, got channels=()." or
            "features must hold at least 2 positive widths, got features=(32,)."
    """
    widths = tuple(widths)
    if len(widths) < min_count or not all(w >= 1 for w in widths):
        need = "be a non-empty sequence of" if min_count <= 1 else f"hold at least {min_count}"
        raise ValueError(f"{name} must {need} positive {what}, got {name}={widths}.")


def check_per_stage(
    name: str,
    values: Sequence[int],
    reference_name: str,
    reference: Sequence[int],
    what: str = "count >= 1",
    unit: str = "stage",
) -> None:
    """Check that ``values`` holds one value >= 1 for every entry of ``reference`` (e.g. one block count per stage).

    Args:
        name: the argument name of ``values``, e.g. ``"blocks_per_stage"``.
        values: the per-stage values.
        reference_name: the argument name of ``reference``, e.g. ``"channels"``.
        reference: the sequence that fixes the number of stages.
        what: what one value is, for the message. Defaults to ``"count >= 1"``.
        unit: what one entry of ``reference`` is, for the message. Defaults to ``"stage"``.

    Raises:
        ValueError: e.g. "blocks_per_stage needs one count >= 1 per stage, got blocks_per_stage=(1, 2) for
            channels=(32, 64, 128, 256)."
    """
    if len(values) != len(reference) or not all(v >= 1 for v in values):
        raise ValueError(f"{name} needs one {what} per {unit}, got {name}={values} for {reference_name}={reference}.")


def check_segmentation_network(
    spatial_dims: int, in_channels: int, out_channels: int, padding_mode: str, dropout: float
) -> None:
    """The checks every monai-lite segmentation network shares: 2D/3D, channel counts, padding mode, dropout.

    Args:
        spatial_dims: must be 2 or 3.
        in_channels: must be >= 1.
        out_channels: must be >= 1.
        padding_mode: must be a key of :data:`~monai_lite.networks.blocks.PAD_MODES`.
        dropout: must be in [0, 1).

    Raises:
        ValueError: naming the first offending argument and its value.
    """
    check_spatial_dims(spatial_dims, allowed=(2, 3))
    check_at_least(1, in_channels=in_channels, out_channels=out_channels)
    check_choice("padding_mode", padding_mode, PAD_MODES)
    check_probability(dropout=dropout)
