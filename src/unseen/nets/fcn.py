"""FCN-8s-style segmentation (Long et al., CVPR 2015): class scores at three strides, fused coarse to fine.

The deepest encoder level goes through a small "fully connected as convolution" neck (fc6/fc7 of the
paper, here a 3x3 and a 1x1 conv-BN-ReLU with dropout) and is scored; each shallower level of the last
``fuse_levels`` is scored by its own 1x1 convolution and added to the up-sampled coarser scores. On the
6-level VGG16 encoder these are strides 8, 16 and 32: FCN-8s. Up-sampling is bilinear rather than
learned, and the skip scores start at zero, as in the paper, so training begins as FCN-32s.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from unseen.errors import InputError
from unseen.nets.base import SegmentationNet
from unseen.nets.blocks import conv_bn_act, resize_to
from unseen.nets.encoders import build_encoder

# A narrow VGG16 with batch norm and its pool5 level: from scratch on a CPU, and strides 8/16/32.
ENCODER_DEFAULTS = {"vgg16": {"width": 0.25, "depth": 6, "batch_norm": True}}


class FCN(SegmentationNet):
    """FCN with score fusion over the encoder's last ``fuse_levels`` levels.

    Parameters
    ----------
    num_classes : int
        Output channels.
    encoder, encoder_options
        The encoder and its options; by default VGG16 at width 0.25 with batch norm, 6 levels.
    neck_channels : int
        Width of the fc6/fc7 convolutions on the deepest level.
    fuse_levels : int
        How many levels are scored and fused (3 = FCN-8s on a stride-32 encoder, 1 = FCN-32s).
    dropout : float
        Dropout after fc6 and fc7.
    """

    def __init__(self, num_classes: int, encoder: str = "vgg16", encoder_options: dict[str, Any] | None = None,
                 neck_channels: int = 128, fuse_levels: int = 3, dropout: float = 0.5) -> None:
        enc = build_encoder(encoder, encoder_options, ENCODER_DEFAULTS)
        if not 1 <= fuse_levels <= len(enc.channels):
            raise InputError(f"fuse_levels {fuse_levels}: encoder {encoder} has {len(enc.channels)} levels")
        config = {"num_classes": num_classes, "encoder": encoder, "encoder_options": enc.options,
                  "neck_channels": int(neck_channels), "fuse_levels": int(fuse_levels), "dropout": float(dropout)}
        super().__init__(config, enc.strides[-1])
        self.encoder = enc
        self.neck = nn.Sequential(conv_bn_act(enc.channels[-1], neck_channels, 3), nn.Dropout(dropout),
                                  conv_bn_act(neck_channels, neck_channels, 1), nn.Dropout(dropout))
        self.head = nn.Conv2d(neck_channels, num_classes, 1)
        skips = enc.channels[len(enc.channels) - fuse_levels:-1][::-1]  # deepest first
        self.skip_heads = nn.ModuleList(nn.Conv2d(c, num_classes, 1) for c in skips)
        for score in self.skip_heads:
            nn.init.zeros_(score.weight)
            nn.init.zeros_(score.bias)
        self.head_keys = (*self.head_keys, *(f"skip_heads.{i}.{p}" for i in range(len(skips))
                                             for p in ("weight", "bias")))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        features = self.encoder(x)
        score = self.head(self.neck(features[-1]))
        for skip_head, level in zip(self.skip_heads, reversed(features[:-1]), strict=False):
            score = resize_to(score, level) + skip_head(level)
        return score
