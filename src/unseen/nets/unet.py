"""U-Net: an encoder, then a decoder that doubles the resolution level by level and concatenates skips.

Seed 004's layout (``unet``): the plain encoder; each decoder step is a 4x4 transposed convolution
(BN, dropout on the deepest steps, ReLU) followed by concatenation of the encoder level at that
resolution, and nothing else. Seed 002's (``unet-vgg16``): the VGG16 encoder, and two 3x3 conv-BN-ReLU
after every concatenation. Steps below the shallowest level (stride 2 for the plain encoder) up-sample
without a skip; a 1x1 convolution (``head``) gives the class logits at the input resolution.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from unseen.nets.base import SegmentationNet
from unseen.nets.blocks import conv_stack, up_block
from unseen.nets.encoders import build_encoder


class UNet(SegmentationNet):
    """U-Net on any registry encoder.

    Parameters
    ----------
    num_classes : int
        Output channels.
    encoder : str
        Encoder name (:func:`unseen.nets.encoders.list_encoders`).
    encoder_options : dict, optional
        The encoder's options (``width``, ``depth``...).
    decoder_convs : int
        3x3 conv-BN-ReLU layers after each concatenation (0 in seed 004, 2 in seed 002).
    dropout : float
        Dropout probability in the deepest ``dropout_blocks`` up-sampling steps (seed 004: 0.25).
    dropout_blocks : int
        How many of the deepest steps drop out.
    """

    def __init__(self, num_classes: int, encoder: str = "plain", encoder_options: dict[str, Any] | None = None,
                 decoder_convs: int = 0, dropout: float = 0.25, dropout_blocks: int = 2) -> None:
        enc = build_encoder(encoder, encoder_options)
        config = {"num_classes": num_classes, "encoder": encoder, "encoder_options": enc.options,
                  "decoder_convs": int(decoder_convs), "dropout": float(dropout), "dropout_blocks": int(dropout_blocks)}
        super().__init__(config, enc.strides[-1])
        self.encoder = enc
        channels = enc.channels
        self.ups, self.fuses = nn.ModuleList(), nn.ModuleList()
        c = channels[-1]
        for step, skip in enumerate(reversed(channels[:-1])):
            self.ups.append(up_block(c, skip, dropout if step < dropout_blocks else 0.0))
            self.fuses.append(conv_stack(2 * skip, skip, decoder_convs))
            c = skip if decoder_convs else 2 * skip
        # From the shallowest level's stride down to 1: no skip left to join.
        tail = []
        for _ in range(enc.strides[0].bit_length() - 1):
            tail.append(up_block(c, channels[0]))
            c = channels[0]
        self.tail = nn.Sequential(*tail)
        self.head = nn.Conv2d(c, num_classes, 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        *skips, out = self.encoder(x)
        for up, fuse, skip in zip(self.ups, self.fuses, reversed(skips), strict=True):
            out = fuse(torch.cat([up(out), skip], 1))
        return self.head(self.tail(out))
