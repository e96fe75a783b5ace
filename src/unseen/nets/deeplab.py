"""DeepLabV3+ (Chen et al., ECCV 2018): atrous spatial pyramid pooling on the deepest encoder level, then a
decoder that joins a low-level (stride 4) level to sharpen boundaries.

ASPP looks at the deepest features through a 1x1 convolution, 3x3 convolutions at several atrous rates
and the global average (image pooling), concatenated and projected. The decoder up-samples that to the
low-level level's resolution, concatenates the low-level features reduced by a 1x1 convolution (so they
do not drown the context), refines with two 3x3 convolutions and classifies; logits are up-sampled to
the input. Widths are scaled down from the paper's 256 so that it trains on a CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from unseen.errors import InputError
from unseen.nets.base import SegmentationNet
from unseen.nets.blocks import conv_bn_act, conv_stack, resize_to
from unseen.nets.encoders import build_encoder

ATROUS_RATES = (6, 12, 18)  # the paper's rates at output stride 16


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: parallel 1x1, dilated 3x3 and image-pooling branches, projected."""

    def __init__(self, c_in: int, c_out: int, rates: Sequence[int], dropout: float) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            [conv_bn_act(c_in, c_out, 1)] + [conv_bn_act(c_in, c_out, 3, dilation=r) for r in rates])
        # No batch norm on the pooled branch: a 1x1 map per image makes its statistics meaningless at batch 1.
        self.image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c_in, c_out, 1), nn.ReLU(inplace=True))
        self.project = nn.Sequential(conv_bn_act(c_out * (len(rates) + 2), c_out, 1), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        views = [branch(x) for branch in self.branches]
        views.append(resize_to(self.image_pool(x), x))
        return self.project(torch.cat(views, 1))


class DeepLabV3Plus(SegmentationNet):
    """DeepLabV3+ on any registry encoder (ESPNetv2 by default, which has published weights).

    Parameters
    ----------
    num_classes : int
        Output channels.
    encoder, encoder_options
        The encoder and its options; by default ESPNetv2 at scale 2.0 (the published files' width).
    rates : sequence of int
        Atrous rates of the 3x3 ASPP branches.
    aspp_channels : int
        Width of every ASPP branch and of its projection.
    low_level_channels : int
        Width the low-level features are reduced to before the concatenation (the paper: 48 of 304).
    decoder_channels : int
        Width of the two refining 3x3 convolutions.
    low_level_stride : int
        Stride of the encoder level used as the low-level skip.
    dropout : float
        Dropout after the ASPP projection.
    """

    def __init__(self, num_classes: int, encoder: str = "espnetv2", encoder_options: dict[str, Any] | None = None,
                 rates: Sequence[int] = ATROUS_RATES, aspp_channels: int = 64, low_level_channels: int = 24,
                 decoder_channels: int = 64, low_level_stride: int = 4, dropout: float = 0.1) -> None:
        enc = build_encoder(encoder, encoder_options)
        if low_level_stride not in enc.strides[:-1]:
            raise InputError(f"low_level_stride {low_level_stride}: encoder {encoder} has levels at strides "
                             f"{', '.join(map(str, enc.strides[:-1]))} below its deepest")
        config = {"num_classes": num_classes, "encoder": encoder, "encoder_options": enc.options,
                  "rates": [int(r) for r in rates], "aspp_channels": int(aspp_channels),
                  "low_level_channels": int(low_level_channels), "decoder_channels": int(decoder_channels),
                  "low_level_stride": int(low_level_stride), "dropout": float(dropout)}
        super().__init__(config, enc.strides[-1])
        self.encoder = enc
        self._low = enc.strides.index(low_level_stride)
        self.aspp = ASPP(enc.channels[-1], aspp_channels, rates, dropout)
        self.reduce = conv_bn_act(enc.channels[self._low], low_level_channels, 1)
        self.refine = conv_stack(aspp_channels + low_level_channels, decoder_channels, 2)
        self.head = nn.Conv2d(decoder_channels, num_classes, 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        features = self.encoder(x)
        low = self.reduce(features[self._low])
        context = resize_to(self.aspp(features[-1]), low)
        return self.head(self.refine(torch.cat([context, low], 1)))
