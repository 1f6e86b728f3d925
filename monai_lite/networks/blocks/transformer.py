# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Token transformer for N-d feature maps and the local-global fusion of MedLiteNet.

MONAI's :class:`~monai.networks.blocks.TransformerBlock` builds its attention through ``einops``
(``SABlock`` uses ``einops.layers.torch.Rearrange``), which MONAI treats as optional and which monai-lite does
not require. :class:`TransformerLayer` is the same pre-norm layer (LayerNorm -> multi-head self-attention ->
residual, LayerNorm -> MONAI :class:`~monai.networks.blocks.MLPBlock` -> residual) written with
:func:`torch.nn.functional.scaled_dot_product_attention` and plain reshapes, so it needs no extra package and
scripts with TorchScript. Attribute names follow MONAI's (``norm1``, ``attn.qkv``, ``attn.out_proj``,
``norm2``, ``mlp.linear1``, ``mlp.linear2``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from monai.networks.blocks import MLPBlock
from monai.networks.layers.factories import Conv
from monai.networks.layers.utils import get_act_layer

from monai_lite.networks.blocks import activation as _activation  # noqa: F401  (registers "silu")
from monai_lite.networks.blocks.factories import linear_interp_mode
from monai_lite.networks.blocks.validation import (
    check_choice,
    check_multiple_of,
    check_positive,
    check_probability,
    check_spatial_dims,
    check_widths,
)

__all__ = [
    "sincos_position_encoding",
    "MultiHeadSelfAttention",
    "TransformerLayer",
    "TransformerBottleneck",
    "CrossScaleTokenMixer",
    "LocalGlobalFusion",
]

_POS_EMBED = ("sincos", "learnable", "none")


def sincos_position_encoding(
    grid_size: List[int],
    dim: int,
    temperature: float = 10000.0,
    device: Optional[torch.device] = None,  # noqa: UP045
    dtype: Optional[torch.dtype] = None,  # noqa: UP045
    scale: Optional[List[float]] = None,  # noqa: UP045
) -> torch.Tensor:
    """Fixed sinusoidal position encoding of an N-d grid, shaped ``(prod(grid_size), dim)``.

    Each of the ``n = len(grid_size)`` axes gets ``2 * (dim // (2 n))`` channels (``sin`` then ``cos`` of the
    position times ``temperature ** (-i / half)``, as in Vaswani et al. 2017); leftover channels are zero. Rows
    follow the C-order flattening of the grid, i.e. ``feature_map.flatten(2)``. Computed for the actual grid,
    so any input size works.

    Args:
        grid_size: spatial size of the grid, e.g. ``[H, W]`` or ``[D, H, W]``.
        dim: embedding width; must be at least ``2 * len(grid_size)``.
        temperature: frequency base. Defaults to 10000.0.
        device: device of the result. Defaults to None (CPU).
        dtype: dtype of the result. Defaults to None (float32).
        scale: per-axis size of one cell in the units of a reference grid: cell ``i`` is encoded at the
            position of its centre, ``(i + 0.5) * scale - 0.5``, so a grid twice as fine (``scale = 0.5``) and
            the reference grid give nearby codes to the same place of the image. Defaults to None (1 on every
            axis: position ``i``).

    Raises:
        ValueError: when ``dim < 2 * len(grid_size)`` or ``grid_size`` is empty.
    """
    grid_size = list(grid_size)
    n = len(grid_size)
    if n == 0 or dim < 2 * n:
        raise ValueError(f"dim must be >= 2 * len(grid_size), got dim={dim} grid_size={grid_size}.")
    per_axis = (dim // (2 * n)) * 2
    half = per_axis // 2
    omega = torch.arange(half, dtype=torch.float32, device=device) / float(half)
    omega = torch.exp(omega * (-math.log(temperature)))
    total = 1
    for g in grid_size:
        total *= g
    embeddings: List[torch.Tensor] = []
    for axis in range(n):
        pos = torch.arange(grid_size[axis], dtype=torch.float32, device=device)
        if scale is not None:
            pos = (pos + 0.5) * scale[axis] - 0.5
        angles = pos[:, None] * omega[None, :]
        emb = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
        shape = [1] * n + [per_axis]
        shape[axis] = grid_size[axis]
        embeddings.append(emb.reshape(shape).expand(grid_size + [per_axis]))
    pe = torch.cat(embeddings, dim=-1).reshape(total, n * per_axis)
    if n * per_axis < dim:
        pe = F.pad(pe, [0, dim - n * per_axis])
    if dtype is not None:
        pe = pe.to(dtype)
    return pe


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention over ``(B, N, hidden_size)`` tokens via ``scaled_dot_product_attention``.

    Args:
        hidden_size: token width.
        num_heads: number of heads; must divide ``hidden_size``.
        dropout_rate: dropout on the attention weights and the output. Defaults to 0.0.
        qkv_bias: bias of the fused q/k/v projection. Defaults to False.

    Raises:
        ValueError: when ``hidden_size`` is not divisible by ``num_heads`` or ``dropout_rate`` is not in [0, 1).

    Examples::

        >>> attn = MultiHeadSelfAttention(128, 4)
        >>> attn(torch.randn(2, 64, 128)).shape
        torch.Size([2, 64, 128])
    """

    __constants__ = ["num_heads", "head_dim", "dropout_rate"]

    def __init__(self, hidden_size: int, num_heads: int, dropout_rate: float = 0.0, qkv_bias: bool = False) -> None:
        super().__init__()
        check_multiple_of("num_heads", num_heads, hidden_size=hidden_size)
        check_probability(dropout_rate=dropout_rate)
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.dropout_rate = dropout_rate
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size, bias=qkv_bias)
        self.out_proj = nn.Linear(hidden_size, hidden_size)
        self.drop_output = nn.Dropout(dropout_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, N, hidden_size)`` -> ``(B, N, hidden_size)``."""
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        p = self.dropout_rate if self.training else 0.0
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], dropout_p=p)
        out = out.transpose(1, 2).reshape(b, n, c)
        return self.drop_output(self.out_proj(out))


class TransformerLayer(nn.Module):
    """Pre-norm transformer encoder layer: ``x + MHSA(LN(x))`` then ``x + MLP(LN(x))``.

    Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021, https://arxiv.org/abs/2010.11929.
    The MLP is MONAI's :class:`~monai.networks.blocks.MLPBlock` (GELU).

    Args:
        hidden_size: token width.
        mlp_dim: hidden width of the MLP.
        num_heads: number of attention heads; must divide ``hidden_size``.
        dropout_rate: dropout in attention and MLP. Defaults to 0.0.
        qkv_bias: bias of the q/k/v projection. Defaults to False.

    Raises:
        ValueError: see :class:`MultiHeadSelfAttention`; also when ``mlp_dim`` < 1.

    Examples::

        >>> layer = TransformerLayer(128, 256, 4)
        >>> layer(torch.randn(1, 64, 128)).shape
        torch.Size([1, 64, 128])
    """

    def __init__(
        self, hidden_size: int, mlp_dim: int, num_heads: int, dropout_rate: float = 0.0, qkv_bias: bool = False
    ) -> None:
        super().__init__()
        check_positive(mlp_dim=mlp_dim)
        self.norm1 = nn.LayerNorm(hidden_size)
        self.attn = MultiHeadSelfAttention(hidden_size, num_heads, dropout_rate=dropout_rate, qkv_bias=qkv_bias)
        self.norm2 = nn.LayerNorm(hidden_size)
        self.mlp = MLPBlock(hidden_size, mlp_dim, dropout_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, N, hidden_size)`` -> same shape."""
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _TokenEncoder(nn.Module):
    """What :class:`TransformerBottleneck` and :class:`CrossScaleTokenMixer` share, written once: the tokeniser
    (every position of a feature map becomes a token, projected by the subclass, plus an optional offset and the
    position code),
    the transformer layers with their final LayerNorm, and the way back to a grid.

    It holds its parameters under the names the two classes always used (``pos_embedding``, ``layers``,
    ``norm``), and builds them after the subclass's projections, in the order they were always drawn, so the
    state dict keys and a seeded network's weights are those of the classes before they shared this code.
    """

    __constants__ = ["spatial_dims", "hidden_size", "use_sincos", "interp_mode"]

    @staticmethod
    def _check_sizes(
        spatial_dims: int,
        hidden_size: int,
        num_layers: int,
        mlp_ratio: float,
        pos_embed: str,
        pos_grid_size: int,
        **channels: int,
    ) -> None:
        """The argument checks of both classes; ``channels`` (checked first) are the subclass's own counts."""
        check_positive(
            **channels, hidden_size=hidden_size, num_layers=num_layers, pos_grid_size=pos_grid_size,
            mlp_ratio=mlp_ratio,
        )
        check_choice("pos_embed", pos_embed, _POS_EMBED)
        if pos_embed != "none" and hidden_size < 2 * spatial_dims:
            raise ValueError(
                f"hidden_size must be >= 2 * spatial_dims for a sinusoidal encoding, got hidden_size={hidden_size} "
                f"spatial_dims={spatial_dims}."
            )

    def _build_encoder(
        self,
        spatial_dims: int,
        hidden_size: int,
        num_layers: int,
        num_heads: int,
        mlp_ratio: float,
        dropout_rate: float,
        pos_embed: str,
        pos_grid_size: int,
        qkv_bias: bool,
    ) -> None:
        """Position table, transformer layers and final norm; called after the projections are built."""
        self.spatial_dims = spatial_dims
        self.hidden_size = hidden_size
        self.use_sincos = pos_embed == "sincos"
        self.interp_mode = linear_interp_mode(spatial_dims)
        self.pos_embedding: Optional[nn.Parameter]  # noqa: UP045
        if pos_embed == "learnable":
            grid = [pos_grid_size] * spatial_dims
            table = sincos_position_encoding(grid, hidden_size).t().reshape([1, hidden_size] + grid)
            self.pos_embedding = nn.Parameter(table.clone())
        else:
            self.register_parameter("pos_embedding", None)
        mlp_dim = max(int(round(hidden_size * mlp_ratio)), 1)
        self.layers = nn.Sequential(
            *[TransformerLayer(hidden_size, mlp_dim, num_heads, dropout_rate, qkv_bias) for _ in range(num_layers)]
        )
        self.norm = nn.LayerNorm(hidden_size)

    def _position(
        self, spatial: List[int], tokens: torch.Tensor, scale: Optional[List[float]]  # noqa: UP045
    ) -> Optional[torch.Tensor]:  # noqa: UP045
        """``(N, d)`` position code of the grid ``spatial`` (on ``tokens``' device, in their dtype); ``scale`` as in
        :func:`sincos_position_encoding` (a learnable table is resized to the grid instead); None without one."""
        if self.use_sincos:
            return sincos_position_encoding(
                spatial, self.hidden_size, device=tokens.device, dtype=tokens.dtype, scale=scale
            )
        table = self.pos_embedding
        if table is None:
            return None
        if list(table.shape[2:]) != spatial:
            table = F.interpolate(table, size=spatial, mode=self.interp_mode, align_corners=False)
        return table.flatten(2)[0].t()

    def _flatten(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, *S)`` -> ``(B, prod(S), C)``: one token per position, in C order (as ``flatten(2)``)."""
        return x.flatten(2).transpose(1, 2)

    def _embed(
        self,
        tokens: torch.Tensor,
        spatial: List[int],
        offset: Optional[torch.Tensor],  # noqa: UP045
        scale: Optional[List[float]],  # noqa: UP045
    ) -> torch.Tensor:
        """Projected tokens of the grid ``spatial`` + ``offset`` + the position code, added in that order (the order
        both classes always used). The projection stays with the caller: TorchScript passes no module as an
        argument."""
        if offset is not None:
            tokens = tokens + offset
        pos = self._position(spatial, tokens, scale)
        if pos is not None:
            tokens = tokens + pos
        return tokens

    def _to_grid(self, tokens: torch.Tensor, spatial: List[int]) -> torch.Tensor:
        """``(B, N, d)`` with ``N = prod(spatial)`` -> ``(B, d, *spatial)``."""
        return tokens.transpose(1, 2).reshape([tokens.shape[0], self.hidden_size] + spatial)


class TransformerBottleneck(_TokenEncoder):
    """Global encoder over every position of an N-d feature map (MedLiteNet Sec. III-C, Eqs. 3-4).

    ``(B, C, *S)`` -> ``N = prod(S)`` tokens -> linear projection to ``hidden_size`` -> + position encoding ->
    ``num_layers`` x :class:`TransformerLayer` -> LayerNorm -> ``(B, hidden_size, *S)``. The position encoding
    is computed for the actual grid, so any spatial size works:

    - ``"sincos"``: fixed N-d sinusoidal encoding (:func:`sincos_position_encoding`), no parameters;
    - ``"learnable"``: a learnable ``(hidden_size, *pos_grid_size)`` table initialised with the sinusoidal
      encoding and linearly resized to the actual grid when the sizes differ;
    - ``"none"``: no position information.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: channels ``C`` of the feature map.
        hidden_size: token width ``d``. Defaults to 128.
        num_layers: number of transformer layers ``L``. Defaults to 2.
        num_heads: attention heads; must divide ``hidden_size``. Defaults to 4.
        mlp_ratio: MLP width as a multiple of ``hidden_size``. Defaults to 2.0.
        dropout_rate: dropout in the transformer layers. Defaults to 0.0.
        pos_embed: ``"sincos"``, ``"learnable"`` or ``"none"``. Defaults to ``"sincos"``.
        pos_grid_size: grid of the learnable table (one int for every axis). Defaults to 8.
        qkv_bias: bias of the q/k/v projections. Defaults to False.

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3, a size is not positive, ``pos_embed`` is unknown,
            ``hidden_size < 2 * spatial_dims`` with a sinusoidal table, or ``hidden_size`` is not divisible by
            ``num_heads``.

    Examples::

        >>> tb = TransformerBottleneck(2, 256, hidden_size=128)   # (B, 256, 8, 8) -> (B, 128, 8, 8)
        >>> tb3d = TransformerBottleneck(3, 256, hidden_size=96, num_heads=3, pos_embed="learnable")
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        hidden_size: int = 128,
        num_layers: int = 2,
        num_heads: int = 4,
        mlp_ratio: float = 2.0,
        dropout_rate: float = 0.0,
        pos_embed: str = "sincos",
        pos_grid_size: int = 8,
        qkv_bias: bool = False,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        self._check_sizes(spatial_dims, hidden_size, num_layers, mlp_ratio, pos_embed, pos_grid_size,
                          in_channels=in_channels)
        self.proj = nn.Linear(in_channels, hidden_size)
        self._build_encoder(spatial_dims, hidden_size, num_layers, num_heads, mlp_ratio, dropout_rate, pos_embed,
                            pos_grid_size, qkv_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, *S)`` -> ``(B, hidden_size, *S)``."""
        spatial = list(x.shape[2:])
        tokens = self._embed(self.proj(self._flatten(x)), spatial, None, None)  # (B, N, d)
        return self._to_grid(self.norm(self.layers(tokens)), spatial)


class CrossScaleTokenMixer(_TokenEncoder):
    """Transformer over the tokens of several encoder resolutions at once (MedLiteNet's cross-scale token mixer).

    MedLiteNet's abstract: "a bottleneck-level cross-scale token-mixing unit to exchange information between
    resolutions"; Fig. 4 names it the "cross-scale token mixer", Sec. II-3 a module that "fuses convolutional
    features with cross-scale tokens". Every position of every input map becomes a token::

        tokens_s = Linear_s(flatten(F_s)) + position code of F_s's grid + scale embedding e_s
        G = LayerNorm(L x TransformerLayer(concat_s tokens_s))        (one attention over all resolutions)
        output = the tokens of the first (coarsest) map, reshaped to its grid: (B, hidden_size, *S_0)

    so every coarse token attends to the finer maps' tokens (and they to it) in every layer, and gradients reach
    the finer encoder stages through the attention. Each resolution has its own linear projection (their widths
    differ) and a learnable scale embedding (zero-initialised), added to the position code so that tokens of
    different resolutions stay distinguishable. Position codes put all grids in the coarse grid's coordinates:
    ``"sincos"`` encodes cell centres (:func:`sincos_position_encoding` with ``scale``); ``"learnable"``
    linearly resizes one table (``align_corners=False``, which also aligns cell centres) to every grid.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        in_channels: channels of each input map, coarsest first (e.g. ``(256, 128)``: bottleneck, then the
            stage before it).
        hidden_size: token width ``d``. Defaults to 128.
        num_layers: number of transformer layers ``L``. Defaults to 2.
        num_heads: attention heads; must divide ``hidden_size``. Defaults to 4.
        mlp_ratio: MLP width as a multiple of ``hidden_size``. Defaults to 2.0.
        dropout_rate: dropout in the transformer layers. Defaults to 0.0.
        pos_embed: ``"sincos"``, ``"learnable"`` or ``"none"``. Defaults to ``"sincos"``.
        pos_grid_size: grid of the learnable table, in coarse-grid cells. Defaults to 8.
        qkv_bias: bias of the q/k/v projections. Defaults to False.

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3, ``in_channels`` is empty or holds a width < 1,
            a size is not positive, ``pos_embed`` is unknown, or ``hidden_size`` is not divisible by
            ``num_heads``.

    Examples::

        >>> mixer = CrossScaleTokenMixer(2, (256, 128), hidden_size=192)
        >>> mixer([torch.randn(2, 256, 8, 8), torch.randn(2, 128, 16, 16)]).shape   # 64 + 256 tokens mixed
        torch.Size([2, 192, 8, 8])
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: Sequence[int],
        hidden_size: int = 128,
        num_layers: int = 2,
        num_heads: int = 4,
        mlp_ratio: float = 2.0,
        dropout_rate: float = 0.0,
        pos_embed: str = "sincos",
        pos_grid_size: int = 8,
        qkv_bias: bool = False,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        in_channels = tuple(int(c) for c in in_channels)
        check_widths("in_channels", in_channels)
        self._check_sizes(spatial_dims, hidden_size, num_layers, mlp_ratio, pos_embed, pos_grid_size)
        self.projs = nn.ModuleList([nn.Linear(c, hidden_size) for c in in_channels])
        # zero start: at initialisation the scales differ only through their projections and positions
        self.scale_embedding = nn.Parameter(torch.zeros(len(in_channels), hidden_size))
        self._build_encoder(spatial_dims, hidden_size, num_layers, num_heads, mlp_ratio, dropout_rate, pos_embed,
                            pos_grid_size, qkv_bias)

    def forward(self, features: List[torch.Tensor]) -> torch.Tensor:
        """``[(B, in_channels[0], *S_0), (B, in_channels[1], *S_1), ...]`` -> ``(B, hidden_size, *S_0)``."""
        if len(features) != len(self.projs):
            raise ValueError("CrossScaleTokenMixer: expected one feature map per entry of in_channels.")
        coarse = list(features[0].shape[2:])
        tokens: List[torch.Tensor] = []
        for i, proj in enumerate(self.projs):
            f = features[i]
            spatial = list(f.shape[2:])
            # positions in the coarse grid's coordinates: a cell of f spans coarse / spatial coarse cells
            scale = [float(c) / float(s) for c, s in zip(coarse, spatial)]
            tokens.append(self._embed(proj(self._flatten(f)), spatial, self.scale_embedding[i], scale))
        n_coarse = tokens[0].shape[1]
        mixed = self.norm(self.layers(torch.cat(tokens, dim=1)))
        return self._to_grid(mixed[:, :n_coarse], coarse)


class LocalGlobalFusion(nn.Module):
    """Local-global fusion of MedLiteNet (Sec. III-C, Eq. 5)::

        F_lg = act(W_1 * [F_conv || F_trans] + b_1) + F_conv + F_trans

    Both inputs are first aligned to ``out_channels`` with a ``1 x 1`` convolution when their channel count
    differs (identity otherwise), and ``F_conv`` is average-pooled to ``F_trans``'s spatial size when the two
    differ (the paper's "average pooling ... on F_conv if necessary"). ``W_1`` is a ``1 x 1`` convolution with
    bias and no normalisation, as written in Eq. 5.

    Args:
        spatial_dims: number of spatial dimensions, 1, 2 or 3.
        conv_channels: channels of the convolutional features ``F_conv``.
        trans_channels: channels of the transformer features ``F_trans``.
        out_channels: channels of the fused output. Defaults to ``conv_channels``.
        act: activation ``sigma``. Defaults to ``"relu"``.

    Raises:
        ValueError: when ``spatial_dims`` is not 1, 2 or 3 or a channel count is not positive.

    Examples::

        >>> fuse = LocalGlobalFusion(2, 256, 128)    # F_conv (B,256,8,8), F_trans (B,128,8,8) -> (B,256,8,8)
        >>> fuse3d = LocalGlobalFusion(3, 256, 256, out_channels=128, act="silu")
    """

    __constants__ = ["spatial_dims"]

    def __init__(
        self,
        spatial_dims: int,
        conv_channels: int,
        trans_channels: int,
        out_channels: int | None = None,
        act: tuple | str = "relu",
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        out_channels = conv_channels if out_channels is None else out_channels
        check_positive(conv_channels=conv_channels, trans_channels=trans_channels, out_channels=out_channels)
        conv = Conv[Conv.CONV, spatial_dims]
        self.spatial_dims = spatial_dims
        self.align_conv = conv(conv_channels, out_channels, 1) if conv_channels != out_channels else nn.Identity()
        self.align_trans = conv(trans_channels, out_channels, 1) if trans_channels != out_channels else nn.Identity()
        self.fuse = conv(2 * out_channels, out_channels, kernel_size=1, bias=True)
        self.act = get_act_layer(act)

    def forward(self, f_conv: torch.Tensor, f_trans: torch.Tensor) -> torch.Tensor:
        """``F_conv`` ``(B, conv_channels, *S)`` and ``F_trans`` ``(B, trans_channels, *S')`` -> ``(B, out, *S')``."""
        if f_conv.shape[2:] != f_trans.shape[2:]:
            if self.spatial_dims == 1:
                f_conv = F.adaptive_avg_pool1d(f_conv, f_trans.shape[2:])
            elif self.spatial_dims == 2:
                f_conv = F.adaptive_avg_pool2d(f_conv, f_trans.shape[2:])
            else:
                f_conv = F.adaptive_avg_pool3d(f_conv, f_trans.shape[2:])
        a = self.align_conv(f_conv)
        b = self.align_trans(f_trans)
        return self.act(self.fuse(torch.cat([a, b], dim=1))) + a + b
