# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""MedLiteNet: MBConv encoder, cross-scale transformer bottleneck with local-global fusion, boundary-aware
attention, ASPP and an scSE U-Net decoder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import torch
import torch.nn as nn
from monai.networks.blocks import Convolution
from monai.networks.layers.factories import Conv

from monai_lite.networks.blocks import (
    ASPP,
    PAD_MODES,
    SCSE,
    BoundaryAwareAttention,
    LocalGlobalFusion,
    MBConv,
    TransformerBottleneck,
    UpFuse,
)
from monai_lite.networks.blocks.transformer import CrossScaleTokenMixer
from monai_lite.networks.blocks.factories import linear_interp_mode, stack_blocks
from monai_lite.networks.blocks.validation import (
    check_at_least,
    check_choice,
    check_multiple_of,
    check_per_stage,
    check_positive,
    check_segmentation_network,
    check_widths,
)
from monai_lite.networks.base import StemUNetBase
from monai_lite.networks.registry import register_network

__all__ = ["MedLiteNet"]


class _DecoderStage(nn.Module):
    """UpFuse (upsample, concatenate skip, two separable convs) -> scSE -> boundary-aware attention."""

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        skip_channels: int,
        out_channels: int,
        use_scse: bool,
        use_boundary_attention: bool,
        boundary_operator: str,
        act: tuple | str,
        norm: tuple | str,
        dropout: float,
    ) -> None:
        super().__init__()
        self.fuse = UpFuse(spatial_dims, in_channels, skip_channels, out_channels, act=act, norm=norm, dropout=dropout)
        self.scse = SCSE(spatial_dims, out_channels, r=2) if use_scse else nn.Identity()
        self.boundary = (
            BoundaryAwareAttention(spatial_dims, out_channels, operator=boundary_operator)
            if use_boundary_attention
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.boundary(self.scse(self.fuse(x, skip)))


@register_network("medlitenet")
class MedLiteNet(StemUNetBase):
    """MedLiteNet, a lightweight CNN-transformer hybrid for 2D and 3D segmentation.

    Yu, Wang, Marks, Kechadi, Yang, Dhelim and Aung, "MedLiteNet: Lightweight Hybrid Medical Image
    Segmentation Model", arXiv 2025 (Sec. III). Layout, with ``s`` the stride w.r.t. the input::

        stem 3^d conv, stride 2 (s2)
        -> 4 MBConv stages, widths ``channels`` (s4, s8, s16, s32); first block stride 2, all convs norm+act
        -> bottleneck F_conv (s32):  F_trans = CrossScaleTokenMixer(F_conv, F_s16)  (abstract, Fig. 4, Eqs. 3-4)
                                     F_conv  = BoundaryAwareAttention(F_conv, F_trans) (Sec. III-D, Eqs. 6-9)
                                     F_lg    = LocalGlobalFusion(F_conv, F_trans)      (Eq. 5)
                                     F_enc   = ASPP(F_lg)                              (Sec. III-E)
        -> 4 decoder stages (s16, s8, s4, s2): upsample, concatenate the encoder skip, two separable
           convs, scSE, and boundary-aware attention in every stage except the last   (Sec. III-F)
        -> 1x1 conv head, upsampled to the input size: raw logits.

    Choices where the paper is open or self-contradictory:

    - Boundary-aware attention in the decoder: Sec. III-D says "at the final stage of the decoder", Sec. III-F
      ("In our implementation ...") says "except for the final stage, boundary attention modules are embedded
      in each decoding stage". We follow III-F, the implementation-level description: stages 1-3 get BAA, the
      last (stride-2, largest and most costly) stage does not; with the encoder-end BAA that is 4 modules.
      The encoder-end BAA receives the transformer output as its optional global context (Eq. 7); decoder
      BAAs use the boundary map alone.
    - The edge operator is a fixed ``3^d`` Laplacian (or Sobel) applied depthwise to a learned 1-channel
      ``1x1`` reduction of ``F`` (see :class:`~monai_lite.networks.blocks.BoundaryAwareAttention`).
    - Cross-scale token mixing (abstract: "a bottleneck-level cross-scale token-mixing unit to exchange
      information between resolutions"; Fig. 4: "cross-scale token mixer"; Sec. II-3: "fuses convolutional
      features with cross-scale tokens"): the transformer's tokens are every position of the bottleneck
      (s32) *and* of the stage before it (s16), each projected to ``transformer_dim`` with its own linear
      layer, a scale embedding and positions in the bottleneck's coordinates; all layers attend over both
      sets, and the bottleneck tokens are ``F_trans`` (:class:`~monai_lite.networks.blocks.transformer.
      CrossScaleTokenMixer`). Two resolutions only: Sec. III-C (last paragraph) warns that attention at
      higher resolutions grows the cost steeply; s16 adds 4x (2D) or 8x (3D) the bottleneck's token count.
      ``use_cross_scale_tokens=False`` gives the single-scale transformer (Sec. III-C read alone).
    - ASPP rates: the paper fixes ``r1 = 1`` and ``r4 = 12`` only; the default ``(1, 3, 6, 12)`` fills in
      ``r2, r3``. Rates follow the map they see: each branch's rate is capped, per axis and per call, at
      ``size - 1`` of the bottleneck (:func:`~monai_lite.networks.blocks.multiscale.capped_dilation`), the
      largest rate whose off-centre taps still reach the map; a rate >= the map size would turn the branch
      into a 1x1 convolution (all off-centre taps in the padding). The paper's 512 input (16x16 bottleneck)
      keeps ``(1, 3, 6, 12)``; a 256 input (8x8) runs ``(1, 3, 6, 7)``; the 3D bundles' 32x48x32 patch
      (bottleneck 1x2x1 after padding to 32x64x32) runs rate 1 on every axis, the only rate a 1- or 2-wide
      axis admits. The weights do not depend on the rate, so one trained network runs at any size (an ONNX
      export fixes the rates for its ``input_shape``, as it fixes the padding). Each branch is a depthwise
      atrous 3^d conv followed by the 1x1 conv that "adjusts the channel dimension", plus a
      global-average-pooling branch (MONAI's ``SimpleASPP`` has none).
    - SCSE and ASPP: the paper places them inconsistently. Sec. I-C (p. 2, "The decoder uses SCSE
      recalibration and enhanced ASPP in parallel"), Sec. II-3 ("ASPP + SCSE decoder ... ASPP with parallel
      SCSE attention") and Sec. II-4 ("ASPP and SCSE modules are integrated at the decoder") put both in the
      decoder side by side; Sec. III-A ("At the end of the encoding, the ASPP pyramid pooling module") and
      Sec. III-E (p. 4, "an ASPP module immediately after the local-global feature fusion block") put ASPP
      at the bottleneck, and Fig. 4's caption gives "a decoder equipped with ASPP and SCSE modules". We
      follow Sec. III-E, the only place that specifies ASPP: it runs once on the fused bottleneck features
      (= the decoder's input), and scSE recalibrates the output of every decoder stage; both belong to the
      decoding path, which is how we read "in parallel".
    - MBConv projections are linear (norm, no activation), as in MobileNetV2, which the paper builds on;
      every other convolution has norm + ``act``.
    - The fusion keeps ``channels[-1]`` channels (the transformer output is aligned up to it), so switching
      the transformer off does not change the decoder. ``act`` is also Eq. 5's sigma.
    - Upsampling is linear interpolation; the 1x1 head is applied before the last x2 upsampling, which equals
      "upsample, then 1x1 conv" exactly (both are linear) at 1/``out_channels``-th of the cost.

    Parameters: 3,040,362 in 2D (3 -> 1, the paper's < 3.3 M; 3,015,210 single-scale), 3,178,060 in 3D
    (1 -> 3), the 2D and 3D bundles' networks.

    Input sizes: the total stride is ``2 ** (len(channels) + 1)`` (32 by default). Any spatial size is
    accepted: the input is padded on the high side of each axis up to the next multiple of 32
    (``padding_mode``, replicate by default so the border does not look like an edge to the boundary
    attention), and the logits are cropped back to the input size. Sizes that are already multiples of 32
    are not padded (:func:`~monai_lite.networks.blocks.pad_to_multiple`). Training with batch norm needs more
    than one value per channel at the bottleneck, i.e. batch size > 1 or an input larger than 32 along some axis.

    Args:
        spatial_dims: number of spatial dimensions, 2 or 3. Defaults to 2.
        in_channels: number of input channels. Defaults to 3.
        out_channels: number of output channels; 1 for a binary task (apply a sigmoid, paper setting), >= 2
            for ``out_channels`` mutually exclusive classes (apply a softmax over dim 1). Defaults to 1.
        channels: widths of the MBConv stages; one decoder stage per encoder stage. Defaults to
            (32, 64, 128, 256).
        stem_channels: output channels of the stride-2 stem convolution. Defaults to 16.
        expansion: MBConv expansion factor ``t``. Defaults to 6.
        blocks_per_stage: MBConv blocks in each stage (first one strided). Defaults to (1, 2, 4, 2), which
            gives the ~1.8 M-parameter encoder of the paper (2D, 3 input channels).
        decoder_channels: output widths of the decoder stages, coarse to fine. Defaults to None, meaning
            ``(*reversed(channels[:-1]), stem_channels)`` = (128, 64, 32, 16).
        transformer_dim: token width ``d`` of the bottleneck transformer. Defaults to 192.
        transformer_layers: number of transformer layers ``L``. Defaults to 2.
        transformer_heads: attention heads; must divide ``transformer_dim``. Defaults to 4.
        transformer_mlp_ratio: transformer MLP width as a multiple of ``transformer_dim``. Defaults to 2.0.
        pos_embed: ``"sincos"`` (fixed, computed for the actual grid), ``"learnable"`` (resized to the grid)
            or ``"none"``. Defaults to ``"sincos"``.
        aspp_dilations: nominal dilation rates of the atrous ASPP branches, each capped at the bottleneck size
            - 1 per axis when run (see above). Defaults to (1, 3, 6, 12).
        aspp_branch_channels: output channels of every ASPP branch. Defaults to 64.
        boundary_operator: fixed edge operator of the boundary-aware attention, ``"laplacian"`` or ``"sobel"``.
            Defaults to ``"laplacian"``.
        padding_mode: how inputs are padded to a multiple of the total stride, ``"replicate"`` or ``"zeros"``.
            Defaults to ``"replicate"``.
        use_transformer: build the transformer bottleneck and the local-global fusion. Defaults to True.
        use_cross_scale_tokens: let the tokens of the stage before the bottleneck (s16) join the transformer's
            attention (the paper's cross-scale token mixer); False keeps the single-scale transformer over
            the bottleneck tokens only. Ignored without the transformer. Defaults to True (the paper's
            abstract and Fig. 4).
        use_boundary_attention: build the boundary-aware attention modules. Defaults to True.
        use_aspp: build the ASPP module. Defaults to True.
        use_scse: build the scSE modules of the decoder. Defaults to True.
        act: activation, name or ``(name, kwargs)``; ``"silu"`` is ``nn.SiLU`` (registered by monai-lite),
            ``"swish"`` MONAI's equivalent. Defaults to ``"silu"``.
        norm: normalisation, name or ``(name, kwargs)``. Defaults to ``"batch"``.
        dropout: dropout probability in the transformer, the ASPP fusion and the decoder convolutions.
            Defaults to 0.0.

    Raises:
        ValueError: when ``spatial_dims`` is not 2 or 3, a channel/block count is not positive, the lengths of
            ``channels``, ``blocks_per_stage`` and ``decoder_channels`` differ, ``transformer_dim`` is not a
            multiple of ``transformer_heads``, an ASPP rate is < 1, ``dropout`` is not in [0, 1), or
            ``boundary_operator``/``padding_mode``/``pos_embed`` is unknown.

    Examples::

        >>> net = MedLiteNet(spatial_dims=2, in_channels=3, out_channels=1)    # paper setting, 3,040,362 params
        >>> net(torch.randn(2, 3, 256, 256)).shape
        torch.Size([2, 1, 256, 256])
        >>> net3d = MedLiteNet(spatial_dims=3, in_channels=1, out_channels=3)
        >>> net3d(torch.randn(1, 1, 35, 51, 37)).shape                         # padded internally, cropped back
        torch.Size([1, 3, 35, 51, 37])
        >>> lite = MedLiteNet(use_transformer=False, use_aspp=False)           # ablation

    See Also:
        :class:`~monai_lite.networks.base.StemUNetBase` (its pad -> stem -> encoder -> bottleneck -> decoder -> crop skeleton),
        :class:`~monai_lite.networks.blocks.MBConv`,
        :class:`~monai_lite.networks.blocks.TransformerBottleneck`,
        :class:`~monai_lite.networks.blocks.LocalGlobalFusion`,
        :class:`~monai_lite.networks.blocks.BoundaryAwareAttention`,
        :class:`~monai_lite.networks.blocks.ASPP`, :class:`~monai_lite.networks.blocks.SCSE`,
        :class:`monai.networks.nets.BasicUNet`.
    """

    __constants__ = [
        "spatial_dims",
        "divisor",
        "pad_mode",
        "interp_mode",
        "use_transformer",
        "use_cross_scale_tokens",
        "use_boundary_attention",
        "use_aspp",
        "use_scse",
    ]

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 3,
        out_channels: int = 1,
        channels: Sequence[int] = (32, 64, 128, 256),
        stem_channels: int = 16,
        expansion: int = 6,
        blocks_per_stage: Sequence[int] = (1, 2, 4, 2),
        decoder_channels: Sequence[int] | None = None,
        transformer_dim: int = 192,
        transformer_layers: int = 2,
        transformer_heads: int = 4,
        transformer_mlp_ratio: float = 2.0,
        pos_embed: str = "sincos",
        aspp_dilations: Sequence[int] = (1, 3, 6, 12),
        aspp_branch_channels: int = 64,
        boundary_operator: str = "laplacian",
        padding_mode: str = "replicate",
        use_transformer: bool = True,
        use_cross_scale_tokens: bool = True,
        use_boundary_attention: bool = True,
        use_aspp: bool = True,
        use_scse: bool = True,
        act: tuple | str = "silu",
        norm: tuple | str = "batch",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        channels = tuple(int(c) for c in channels)
        blocks_per_stage = tuple(int(b) for b in blocks_per_stage)
        if decoder_channels is None:
            decoder_channels = (*reversed(channels[:-1]), stem_channels)
        decoder_channels = tuple(int(c) for c in decoder_channels)
        aspp_dilations = tuple(int(d) for d in aspp_dilations)
        check_segmentation_network(spatial_dims, in_channels, out_channels, padding_mode, dropout)
        check_widths("channels", channels)
        check_positive(stem_channels=stem_channels)
        check_per_stage("blocks_per_stage", blocks_per_stage, "channels", channels)
        check_per_stage("decoder_channels", decoder_channels, "channels", channels, what="positive width")
        if min(decoder_channels) < 2:
            raise ValueError(
                f"decoder_channels must be >= 2 (scSE halves them), got decoder_channels={decoder_channels}."
            )
        check_at_least(1, expansion=expansion)
        if use_transformer:  # the transformer arguments are ignored when there is no transformer
            check_positive(
                transformer_dim=transformer_dim,
                transformer_layers=transformer_layers,
                transformer_heads=transformer_heads,
                transformer_mlp_ratio=transformer_mlp_ratio,
            )
            check_multiple_of("transformer_heads", transformer_heads, transformer_dim=transformer_dim)
            check_choice("pos_embed", pos_embed, ("sincos", "learnable", "none"))
        check_widths("aspp_dilations", aspp_dilations, what="rates")
        check_positive(aspp_branch_channels=aspp_branch_channels)
        check_choice("boundary_operator", boundary_operator, ("laplacian", "sobel"))
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.channels = channels
        self.stem_channels = stem_channels
        self.blocks_per_stage = blocks_per_stage
        self.decoder_channels = decoder_channels
        self.divisor = 2 ** (len(channels) + 1)
        self.pad_mode = PAD_MODES[padding_mode]
        self.interp_mode = linear_interp_mode(spatial_dims)
        self.use_transformer = use_transformer
        self.use_cross_scale_tokens = use_transformer and use_cross_scale_tokens
        self.use_boundary_attention = use_boundary_attention
        self.use_aspp = use_aspp
        self.use_scse = use_scse

        # encoder: stride-2 stem + MBConv stages
        self.stem = Convolution(spatial_dims, in_channels, stem_channels, strides=2, act=act, norm=norm, bias=False)
        self.encoder = nn.ModuleList()
        prev = stem_channels
        for width, n_blocks in zip(channels, blocks_per_stage):
            self.encoder.append(
                nn.Sequential(
                    *stack_blocks(
                        MBConv, spatial_dims, prev, width, n_blocks, strides=2, expansion=expansion, act=act, norm=norm
                    )
                )
            )
            prev = width

        # bottleneck: transformer branch, boundary-aware attention, local-global fusion, ASPP
        bottleneck = channels[-1]
        # one of the two global encoders (or none): None, not Identity, so TorchScript compiles only the one built
        self.transformer = None
        self.token_mixer = None
        self.fusion: nn.Module = nn.Identity()
        if use_transformer:
            transformer_kwargs = {
                "hidden_size": transformer_dim,
                "num_layers": transformer_layers,
                "num_heads": transformer_heads,
                "mlp_ratio": transformer_mlp_ratio,
                "dropout_rate": dropout,
                "pos_embed": pos_embed,
            }
            if self.use_cross_scale_tokens:
                # the stage before the bottleneck (the stem when there is a single stage) is the second resolution
                finer = channels[-2] if len(channels) > 1 else stem_channels
                self.token_mixer = CrossScaleTokenMixer(spatial_dims, (bottleneck, finer), **transformer_kwargs)
            else:
                self.transformer = TransformerBottleneck(spatial_dims, bottleneck, **transformer_kwargs)
            self.fusion = LocalGlobalFusion(spatial_dims, bottleneck, transformer_dim, bottleneck, act=act)
        self.encoder_boundary: nn.Module = nn.Identity()
        if use_boundary_attention:
            self.encoder_boundary = BoundaryAwareAttention(
                spatial_dims,
                bottleneck,
                context_channels=transformer_dim if use_transformer else None,
                operator=boundary_operator,
            )
        self.aspp: nn.Module = nn.Identity()
        if use_aspp:
            self.aspp = ASPP(
                spatial_dims,
                bottleneck,
                bottleneck,
                branch_channels=aspp_branch_channels,
                dilations=aspp_dilations,
                act=act,
                norm=norm,
                dropout=dropout,
                cap_dilation_to_input=True,
            )

        # decoder: one stage per encoder stage, skips from the stage before it (the last one from the stem)
        skip_channels = (*reversed(channels[:-1]), stem_channels)
        self.decoder = nn.ModuleList()
        prev = bottleneck
        n_stages = len(decoder_channels)
        for i, (skip, width) in enumerate(zip(skip_channels, decoder_channels)):
            self.decoder.append(
                _DecoderStage(
                    spatial_dims,
                    prev,
                    skip,
                    width,
                    use_scse=use_scse,
                    use_boundary_attention=use_boundary_attention and i < n_stages - 1,
                    boundary_operator=boundary_operator,
                    act=act,
                    norm=norm,
                    dropout=dropout,
                )
            )
            prev = width
        self.head = Conv[Conv.CONV, spatial_dims](prev, out_channels, kernel_size=1)

    def bottleneck_forward(self, h: torch.Tensor, finer: torch.Tensor) -> torch.Tensor:
        """Global encoder, boundary-aware attention, local-global fusion and ASPP on the deepest features ``h``;
        ``finer`` (the previous stage's output, given by :class:`~monai_lite.networks.base.StemUNetBase`'s
        forward) joins the transformer's tokens when cross-scale mixing is on and is ignored otherwise."""
        context: Optional[torch.Tensor] = None  # noqa: UP045
        mixer = self.token_mixer
        transformer = self.transformer
        if mixer is not None:
            context = mixer([h, finer])
        elif transformer is not None:
            context = transformer(h)
        if self.use_boundary_attention:
            h = self.encoder_boundary(h, context)
        if self.use_transformer:  # a constant: TorchScript compiles the fusion call only when it is built
            if context is not None:
                h = self.fusion(h, context)
        if self.use_aspp:
            h = self.aspp(h)
        return h
