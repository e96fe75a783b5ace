"""The ESPNetv2 segmentation decoder's blocks: efficient pyramid pooling and the gated skip projection.

Attribute names follow the published state dicts (``cbr``, ``br``, ``stages``, ``merge_layer``...), so
renaming one breaks loading.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

PYRAMID_SCALES = (2.0, 1.5, 1.0, 0.5, 0.1)
MIN_PYRAMID_SIDE = 5


class CBR(nn.Module):
    """Convolution (no bias) -> batch norm -> PReLU, stored as one ``cbr`` sequence."""

    def __init__(self, c_in: int, c_out: int, kernel: int, groups: int = 1) -> None:
        super().__init__()
        self.cbr = nn.Sequential(
            nn.Conv2d(c_in, c_out, kernel, 1, (kernel - 1) // 2, bias=False, groups=groups),
            nn.BatchNorm2d(c_out),
            nn.PReLU(c_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cbr(x)


def bn_prelu(channels: int) -> nn.Sequential:
    """Batch norm -> PReLU as a bare sequence (keys ``0.*`` and ``1.*``)."""
    return nn.Sequential(nn.BatchNorm2d(channels), nn.PReLU(channels))


class BR(nn.Module):
    """Batch norm -> PReLU wrapped in a ``br`` sequence."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.br = bn_prelu(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.br(x)


class ChannelShuffle(nn.Module):
    """Interleave channel groups so the following grouped convolution mixes every pyramid scale."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class EfficientPyramidPool(nn.Module):
    """Project to few channels, look at several scales with depth-wise 3x3 convolutions, then merge.

    Each scale resizes the projected map (up-sampling for scales above 1, adaptive average pooling below),
    applies its depth-wise convolution and brings the result back to the input size. The concatenated
    scales go through one batch norm + PReLU, a channel shuffle and a grouped 3x3 convolution (one group
    per projected channel, mixing its views at all scales), then a 1x1 convolution to ``c_out``. The last
    decoder stage emits class logits: it has a bias and no final batch norm.
    """

    def __init__(self, c_in: int, c_proj: int, c_out: int, last: bool = False,
                 scales: tuple[float, ...] = PYRAMID_SCALES) -> None:
        super().__init__()
        self.scales = tuple(sorted(scales, reverse=True))
        self.projection_layer = CBR(c_in, c_proj, 1)
        self.stages = nn.ModuleList(
            nn.Conv2d(c_proj, c_proj, 3, 1, 1, bias=False, groups=c_proj) for _ in self.scales)
        k = len(self.scales)
        self.merge_layer = nn.Sequential(
            BR(c_proj * k),
            ChannelShuffle(k),
            CBR(c_proj * k, c_proj, 3, groups=c_proj),
            nn.Conv2d(c_proj, c_out, 1, bias=last),
        )
        self.last = last
        if not last:
            self.br = BR(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.projection_layer(x)
        h, w = x.shape[-2:]
        views = []
        for scale, stage in zip(self.scales, self.stages, strict=True):
            size = (_pyramid_side(h, scale), _pyramid_side(w, scale))
            if scale > 1.0:
                view = F.interpolate(x, size, mode="bilinear", align_corners=True)
                view = _adaptive_avg_pool(stage(view), (h, w))
            elif scale < 1.0:
                view = stage(_adaptive_avg_pool(x, size))
                view = F.interpolate(view, (h, w), mode="bilinear", align_corners=True)
            else:
                view = stage(x)
            views.append(view)
        out = self.merge_layer(torch.cat(views, 1))
        return out if self.last else self.br(out)


# While tracing (ONNX export) sides are 0-d tensors: the two helpers below then compute with tensor
# operations, so that the exported graph follows the input size instead of freezing the traced one.

def _pyramid_side(side: int | torch.Tensor, scale: float) -> int | torch.Tensor:
    """A pyramid level's side: ``side * scale`` rounded up, at least :data:`MIN_PYRAMID_SIDE`."""
    if isinstance(side, torch.Tensor):
        # In double precision, as Python computes it (float32 would round 0.1 * 10 up to 2).
        return torch.ceil(side.double() * scale).clamp(min=MIN_PYRAMID_SIDE).long()
    return max(math.ceil(side * scale), MIN_PYRAMID_SIDE)


def _adaptive_avg_pool(x: torch.Tensor, size: tuple) -> torch.Tensor:
    """``F.adaptive_avg_pool2d``, or while tracing the same averages as two matrix products.

    ONNX has no adaptive pooling to a size known only at run time; output cell ``i`` of a side of ``n``
    averages input cells ``floor(i * n / m)`` to ``ceil((i + 1) * n / m)``, which a 0/1 matrix,
    normalised by row, expresses exactly.
    """
    if not torch.jit.is_tracing():
        return F.adaptive_avg_pool2d(x, size)
    h, w = x.shape[-2:]
    return _pool_matrix(h, size[0], x) @ x @ _pool_matrix(w, size[1], x).transpose(0, 1)


def _pool_matrix(n_in: torch.Tensor, n_out: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """n_out x n_in averaging matrix of adaptive average pooling along one side, on ``like``'s device."""
    i = torch.arange(n_out, device=like.device).unsqueeze(1)
    j = torch.arange(n_in, device=like.device).unsqueeze(0)
    inside = (j >= i * n_in // n_out) & (j < ((i + 1) * n_in + n_out - 1) // n_out)
    weights = inside.to(like.dtype)
    return weights / weights.sum(1, keepdim=True)


class GatedProjection(nn.Module):
    """Skip connection from the encoder: a grouped 3x3 CBR, scaled per channel by a global-context gate.

    The gate (global average pool -> 1x1 convolution -> sigmoid) lets the decoder weigh encoder channels
    by what the whole image contains, at the cost of one tiny matrix product.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.wt_layer = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.Sigmoid(),
        )
        self.expansion_layer = CBR(c_in, c_out, 3, groups=math.gcd(c_in, c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.expansion_layer(x) * self.wt_layer(x)
