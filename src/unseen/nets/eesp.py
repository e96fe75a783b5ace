"""The ESPNetv2 encoder: EESP units, strided EESP with input reinforcement, and the four-level backbone.

Written from the ESPNetv2 paper (Mehta et al., CVPR 2019) and from the parameter names and shapes in the
published state dicts, so that those files load with exact key matching. Attribute names below are
therefore part of the file format: renaming one breaks loading.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# Receptive-field size of a 3x3 kernel at dilation d is 2d+1: the paper's branch "kernel sizes" map to dilations.
_DILATION_OF_SIZE = {3: 1, 5: 2, 7: 3, 9: 4, 11: 5, 13: 6, 15: 7, 17: 8}
# Largest receptive field allowed per level (the paper limits dilation as the feature maps shrink).
RECEPTIVE_LIMITS = (13, 11, 9, 7, 5)
BRANCHES = 4


class ConvBNAct(nn.Module):
    """Convolution (no bias) -> batch norm -> PReLU: the basic unit of the encoder."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, bias=False, groups=groups)
        self.bn = nn.BatchNorm2d(c_out)
        self.act = nn.PReLU(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class ConvBN(nn.Module):
    """Convolution (no bias) -> batch norm, no activation: used where a sum or a concat follows."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, bias=False, groups=groups)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class BNAct(nn.Module):
    """Batch norm -> PReLU on an already convolved tensor (after the branch concat)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)
        self.act = nn.PReLU(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(x))


class DilatedDepthwise(nn.Module):
    """One EESP branch: a 3x3 depth-wise convolution at one dilation rate ("same" padding)."""

    def __init__(self, channels: int, stride: int, dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride, dilation, dilation=dilation, groups=channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def branch_dilations(branches: int, receptive_limit: int) -> list[int]:
    """Dilation of each EESP branch: 3x3, 5x5, 7x7, ... receptive fields, capped at the level's limit.

    A branch that would exceed the limit falls back to an undilated 3x3; sizes are sorted so the
    hierarchical sum goes from the smallest to the largest receptive field.
    """
    sizes = [3 + 2 * i if 3 + 2 * i <= receptive_limit else 3 for i in range(branches)]
    return [_DILATION_OF_SIZE[size] for size in sorted(sizes)]


class EESP(nn.Module):
    """Extremely Efficient Spatial Pyramid unit (paper, Fig. 1c / 3).

    Reduce with a grouped 1x1 convolution, run ``branches`` dilated depth-wise 3x3 convolutions in
    parallel, add each branch to the previous one (hierarchical feature fusion, which removes gridding
    artefacts of dilation), concatenate, then expand back with a grouped 1x1 convolution. With stride 1
    the input is added back (residual) and a PReLU follows; with stride 2 the expanded tensor is returned
    as it is, for :class:`StridedEESP` to concatenate.
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1, branches: int = BRANCHES,
                 receptive_limit: int = 7) -> None:
        super().__init__()
        width = c_out // branches
        self.stride = stride
        self.proj_1x1 = ConvBNAct(c_in, width, 1, groups=branches)
        self.spp_dw = nn.ModuleList(
            DilatedDepthwise(width, stride, d) for d in branch_dilations(branches, receptive_limit))
        self.conv_1x1_exp = ConvBN(c_out, c_out, 1, groups=branches)
        self.br_after_cat = BNAct(c_out)
        self.module_act = nn.PReLU(c_out)  # present in strided units too (unused there): kept for loading

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        reduced = self.proj_1x1(x)
        outputs = [self.spp_dw[0](reduced)]
        for branch in self.spp_dw[1:]:
            outputs.append(branch(reduced) + outputs[-1])
        expanded = self.conv_1x1_exp(self.br_after_cat(torch.cat(outputs, 1)))
        if self.stride == 2:
            return expanded
        if expanded.shape == x.shape:
            expanded = expanded + x
        return self.module_act(expanded)


class StridedEESP(nn.Module):
    """Down-sampling unit: [avg-pooled input | strided EESP] concatenated, plus input reinforcement.

    Input reinforcement (paper, Fig. 3) adds a cheap projection of the RGB image, average-pooled to the
    same resolution, so that spatial detail lost by the strided path is fed back at every level.
    """

    def __init__(self, c_in: int, c_out: int, branches: int = BRANCHES, receptive_limit: int = 9) -> None:
        super().__init__()
        self.eesp = EESP(c_in, c_out - c_in, stride=2, branches=branches, receptive_limit=receptive_limit)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1)
        self.inp_reinf = nn.Sequential(ConvBNAct(3, 3, 3), ConvBN(3, c_out, 1))
        self.act = nn.PReLU(c_out)

    def forward(self, x: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        out = torch.cat([self.pool(x), self.eesp(x)], 1)
        while image.shape[-2] > out.shape[-2]:
            image = F.avg_pool2d(image, 3, stride=2, padding=1)
        return self.act(out + self.inp_reinf(image))


def level_channels(scale: float) -> list[int]:
    """Channels of levels 1-4 for a width ``scale``: 32 at level 1, then base*2, base*4, base*8.

    The base (32*scale) is rounded up to a multiple of the branch count so every EESP splits evenly;
    this gives 32/64/128/256 at s=1.0 and 32/128/256/512 at s=2.0, as the published files hold.
    """
    base = math.ceil(int(32 * scale) / BRANCHES) * BRANCHES
    return [32, base * 2, base * 4, base * 8]


class ESPNetv2Encoder(nn.Module):
    """The ESPNetv2 backbone up to level 4 (1/16 resolution), returning every level's features.

    Level 1: strided 3x3 convolution (1/2). Level 2: one strided EESP (1/4). Level 3: one strided EESP
    and 3 EESP units (1/8). Level 4: one strided EESP and 7 EESP units (1/16).
    """

    def __init__(self, scale: float = 2.0, reps: tuple[int, int] = (3, 7)) -> None:
        super().__init__()
        c1, c2, c3, c4 = level_channels(scale)
        r = RECEPTIVE_LIMITS
        self.level1 = ConvBNAct(3, c1, 3, stride=2)
        self.level2_0 = StridedEESP(c1, c2, receptive_limit=r[0])
        self.level3_0 = StridedEESP(c2, c3, receptive_limit=r[1])
        self.level3 = nn.ModuleList(EESP(c3, c3, receptive_limit=r[2]) for _ in range(reps[0]))
        self.level4_0 = StridedEESP(c3, c4, receptive_limit=r[2])
        self.level4 = nn.ModuleList(EESP(c4, c4, receptive_limit=r[3]) for _ in range(reps[1]))
        self.channels = (c1, c2, c3, c4)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        l1 = self.level1(image)
        l2 = self.level2_0(l1, image)
        l3 = self.level3_0(l2, image)
        for unit in self.level3:
            l3 = unit(l3)
        l4 = self.level4_0(l3, image)
        for unit in self.level4:
            l4 = unit(l4)
        return l1, l2, l3, l4
