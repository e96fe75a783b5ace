"""Building blocks shared by the networks: convolution + batch norm + activation, up-sampling, resizing.

Each helper returns a plain ``nn.Sequential`` so state-dict keys are short and predictable
(``0.weight`` for the convolution, ``1.*`` for the batch norm).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn_act(c_in: int, c_out: int, kernel: int = 3, stride: int = 1, dilation: int = 1,
                act: nn.Module | None = None, batch_norm: bool = True) -> nn.Sequential:
    """Convolution ("same" padding for odd kernels) -> batch norm -> activation (ReLU unless given).

    The convolution has a bias only without batch norm, whose shift would cancel it.
    """
    padding = dilation * (kernel - 1) // 2
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, stride, padding, dilation=dilation, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(act if act is not None else nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def conv_stack(c_in: int, c_out: int, count: int) -> nn.Sequential:
    """``count`` 3x3 conv-BN-ReLU layers, the first taking ``c_in`` channels (empty for ``count`` 0)."""
    return nn.Sequential(*(conv_bn_act(c_in if i == 0 else c_out, c_out) for i in range(count)))


def up_block(c_in: int, c_out: int, dropout: float = 0.0) -> nn.Sequential:
    """Doubles the resolution: 4x4 transposed convolution (stride 2) -> BN -> dropout -> ReLU.

    The 4x4 kernel with padding 1 gives exactly twice the input size, so U-Net skips line up.
    """
    layers: list[nn.Module] = [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out)]
    if dropout:
        layers.append(nn.Dropout2d(dropout))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def resize_to(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``x`` resized bilinearly to ``like``'s height and width (a no-op when they already agree)."""
    if x.shape[-2:] == like.shape[-2:]:
        return x
    return F.interpolate(x, like.shape[-2:], mode="bilinear", align_corners=False)


def scaled(channels: int, width: float) -> int:
    """``channels`` times a width multiplier, at least 4 (so tiny test networks still have some depth)."""
    return max(4, round(channels * width))
