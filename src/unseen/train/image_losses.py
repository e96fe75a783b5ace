"""Losses of the inpainter: a reconstruction term, a hinge GAN, and a feature (perceptual) term.

Images are N x 3 x H x W in [-1, 1]; holes N x 1 x H x W, 1 = filled by the generator.

The seed compared VGG19 features of the result and the truth; no VGG weights can be had here, so the
feature term uses a frozen network we do have: the published ESPNetv2 encoder (PASCAL, scale 1), its
three finest levels, each normalised by its channel count.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from unseen.nets.espnetv2 import IMAGENET_MEAN, IMAGENET_STD, load_espnetv2

FEATURE_NET = "espnetv2-pascal-s1"
FEATURE_LEVELS = 3


def masked_l1(fake: torch.Tensor, real: torch.Tensor, hole: torch.Tensor, hole_weight: float) -> torch.Tensor:
    """Mean absolute error, hole pixels weighing ``hole_weight`` times the others (the generator's own
    output outside the hole is thrown away, but learning to reproduce it keeps its colours anchored)."""
    weight = 1 + (hole_weight - 1) * hole
    return (weight * (fake - real).abs()).mean() / weight.mean()


def hinge_discriminator(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The discriminator's hinge loss: real patches above +1, fake ones below -1."""
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def hinge_generator(fake_scores: torch.Tensor) -> torch.Tensor:
    """The generator's side of the hinge GAN: make the discriminator score its patches high."""
    return -fake_scores.mean()


class FeatureLoss(nn.Module):
    """L1 between frozen encoder features of two images; the encoder never trains."""

    def __init__(self, name: str = FEATURE_NET) -> None:
        super().__init__()
        self.encoder = load_espnetv2(name, download=False).base_net.eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def _levels(self, image: torch.Tensor) -> list[torch.Tensor]:
        return self.encoder(((image + 1) / 2 - self.mean) / self.std)[:FEATURE_LEVELS]

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            targets = self._levels(real)
        return sum(F.l1_loss(a, b) for a, b in zip(self._levels(fake), targets, strict=True)) / FEATURE_LEVELS
