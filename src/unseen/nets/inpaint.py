"""Networks of the learned inpainter: mask-aware generators and the conditional PatchGAN discriminator.

A generator maps the image with its hole blanked (N x 3 x H x W in [-1, 1], zero in the hole) and the
hole (N x 1 x H x W, 1 = missing) to a whole image in [-1, 1]; only its hole pixels are used. Sides
must be multiples of ``net.side_multiple``. ``net.config`` rebuilds it with :func:`build_generator`.

- ``unet``: :class:`HoleUNet`, an encoder of strided convolutions, a bottleneck of dilated residual
  convolutions, a decoder with skips. With ``prior="membrane"`` (the default) it first fills the hole
  smoothly from its surroundings (:func:`push_pull`) and learns only what to add to that fill.
- ``seed000``: the car-removal seed's two-branch generator (strided 4x4 convolutions in one branch, 2x2
  convolutions with max-pooling in the other, seven levels each, two decoders whose outputs are joined
  by a last convolution), ported to PyTorch, with the mask as a fourth input channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from unseen.errors import InputError


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=True)


class HoleUNet(nn.Module):
    """A U-Net for filling holes in a map: strided encoder, a bottleneck of dilated residual convolutions
    (a wide view of the surroundings at low cost, as LaMa's large receptive field argues), a decoder with
    skips; ``in_channels`` maps in, ``out_channels`` raw values out. The inpainter's ``unet`` generator
    and the flow completer (:mod:`unseen.nets.flow_completion`) are both this body.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output.
    width : int
        Channels of the first level (doubled per level, at most 8x).
    depth : int
        Halvings of the resolution (inputs: multiples of ``2**depth``).
    dilations : tuple of int
        Dilation rates of the bottleneck's residual blocks.
    """

    def __init__(self, in_channels: int, out_channels: int, width: int = 16, depth: int = 4,
                 dilations: tuple[int, ...] = (2, 4, 8, 1)) -> None:
        super().__init__()
        if not 2 <= depth <= 6 or width < 4:
            raise InputError(f"hole U-Net: depth 2-6 and width 4 or more, got depth {depth}, width {width}")
        self.config: dict[str, Any] = {"width": int(width), "depth": int(depth),
                                       "dilations": [int(d) for d in dilations]}
        self.side_multiple = 2 ** depth
        widths = [width * min(2 ** i, 8) for i in range(depth + 1)]
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 5, padding=2, padding_mode="reflect"), _act())
        self.downs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[i], widths[i + 1], 4, stride=2, padding=1, padding_mode="reflect"), _act(),
                          nn.Conv2d(widths[i + 1], widths[i + 1], 3, padding=1, padding_mode="reflect"), _act())
            for i in range(depth))
        c = widths[-1]
        # Zero padding here: reflecting needs a map wider than the dilation, and small photos have none.
        self.middle = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, c, 3, padding=d, dilation=d), _act(),
                          nn.Conv2d(c, c, 3, padding=1, padding_mode="reflect"))
            for d in dilations)
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                          nn.Conv2d(widths[i + 1], widths[i], 3, padding=1, padding_mode="reflect"), _act())
            for i in reversed(range(depth)))
        self.fuses = nn.ModuleList(
            nn.Sequential(nn.Conv2d(2 * widths[i], widths[i], 3, padding=1, padding_mode="reflect"), _act())
            for i in reversed(range(depth)))
        self.head = nn.Conv2d(widths[0], out_channels, 3, padding=1, padding_mode="reflect")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        skips = [x]
        for down in self.downs:
            x = down(x)
            skips.append(x)
        for block in self.middle:
            x = torch.nn.functional.leaky_relu(x + block(x), 0.2)
        for up, fuse, skip in zip(self.ups, self.fuses, reversed(skips[:-1]), strict=True):
            x = fuse(torch.cat([up(x), skip], 1))
        return self.head(x)


PRIORS = ("membrane", "pushpull", "none")
# Smoothing steps per pyramid level of each prior: the hole PSNR of the fill alone on the photo cases
# of bench/inpaint.py went 15.74 (pushpull) -> 16.55 (4 steps) -> 16.80 (16); a membrane fill 16.88.
PRIOR_SMOOTHING = {"pushpull": 0, "membrane": 8}
_NEIGHBOURS = torch.tensor([[0.0, 0.25, 0.0], [0.25, 0.0, 0.25], [0.0, 0.25, 0.0]]).view(1, 1, 3, 3)


class InpaintUNet(HoleUNet):
    """The ``unet`` generator: :class:`HoleUNet` from the blanked image and the hole to an image in [-1, 1].

    ``prior="membrane"``: the network also sees the hole filled smoothly from its surroundings
    (:func:`push_pull` with smoothing: close to a membrane fill) and adds to it (a zero output gives that
    fill back): the colours and gradients across a large hole, which a small network trained for hours on
    a CPU gets wrong, come for free, and the network's capacity goes to structure and texture.
    ``"pushpull"``: the same with the plain pyramid fill; ``"none"``: the plain generator.
    """

    def __init__(self, width: int = 16, depth: int = 4, dilations: tuple[int, ...] = (2, 4, 8, 1),
                 prior: str = "membrane") -> None:
        if prior not in PRIORS:
            raise InputError(f"unet prior: one of {', '.join(PRIORS)}, got {prior!r}")
        super().__init__(4 if prior == "none" else 7, 3, width, depth, dilations)
        self.config = {"arch": "unet", **self.config, "prior": prior}
        if prior != "none":
            # The first step gives back the smooth fill exactly.
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        if self.config["prior"] == "none":
            return torch.tanh(super().forward(torch.cat([image, hole], 1)))
        smooth = push_pull(image, 1 - hole, PRIOR_SMOOTHING[self.config["prior"]]).clamp(-0.999, 0.999)
        raw = super().forward(torch.cat([image, hole, smooth], 1))
        return torch.tanh(torch.atanh(smooth) + raw)


def push_pull(image: torch.Tensor, known: torch.Tensor, smoothing: int = 0) -> torch.Tensor:
    """Fill where ``known`` is 0 from where it is 1 (N x 1 x H x W, fractions allowed), smoothly: known
    pixels are averaged down a pyramid (each level weighted by how much of it is known) and the gaps of
    each level filled from the level below, bilinearly. ``smoothing`` steps of neighbour averaging inside
    the gaps at every level (multigrid) bring it to the membrane fill (the smoothest one); each level's
    bilinear guess alone is a little blocky. A few milliseconds either way."""
    if min(image.shape[-2:]) <= 1:
        weight = known.sum((-2, -1), keepdim=True)
        mean = (image * known).sum((-2, -1), keepdim=True) / weight.clamp(min=1e-6)
        return image * known + mean * (1 - known)
    total = F.avg_pool2d(image * known, 2, ceil_mode=True)
    weight = F.avg_pool2d(known, 2, ceil_mode=True)
    coarse = push_pull(total / weight.clamp(min=1e-6), weight.clamp(max=1), smoothing)
    up = F.interpolate(coarse, size=image.shape[-2:], mode="bilinear", align_corners=False)
    filled = image * known + up * (1 - known)
    if not smoothing:
        return filled
    channels = image.shape[1]
    neighbours = _NEIGHBOURS.to(image).expand(channels, 1, 3, 3)
    for _ in range(smoothing):
        mean = F.conv2d(F.pad(filled, (1, 1, 1, 1), mode="replicate"), neighbours, groups=channels)
        filled = image * known + mean * (1 - known)
    return filled


class Seed000Generator(nn.Module):
    """The ``seed000`` generator (see the module's text); ``width`` is the seed's ``filters`` (32)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.config = {"arch": "seed000", "width": int(width)}
        self.side_multiple = 128
        f = width
        widths = [f, 2 * f, 4 * f, 8 * f, 8 * f, 8 * f, 8 * f]
        self.branch1 = nn.ModuleList(_seed_down(c_in, c_out, 4, stride=2, norm=i > 0)
                                     for i, (c_in, c_out) in enumerate(zip([4, *widths[:-1]], widths, strict=True)))
        self.branch2 = nn.ModuleList(_seed_down(c_in, c_out, 2, stride=2 if i == 0 else 1, norm=i > 0, pool=i > 0)
                                     for i, (c_in, c_out) in enumerate(zip([4, *widths[:-1]], widths, strict=True)))
        self.join = nn.Sequential(nn.Conv2d(16 * f, 8 * f, 3, padding=1), nn.ReLU(inplace=True))
        outs = [8 * f, 8 * f, 8 * f, 4 * f, 2 * f, f]
        skips = list(reversed(widths[:-1]))  # e6 .. e1
        self.up1, self.up2 = nn.ModuleList(), nn.ModuleList()
        c1 = c2 = 8 * f
        for out, skip in zip(outs, skips, strict=True):
            self.up1.append(_SeedUp(c1, out, 3))
            self.up2.append(_SeedUp(c2, out, 2))
            c1 = c2 = out + skip
        self.out1 = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(c1, 3, 3, padding=1), nn.Tanh())
        self.out2 = nn.Sequential(nn.ConvTranspose2d(c2, 3, 2, stride=2), nn.Tanh())
        self.head = nn.Conv2d(6, 3, 3, padding=1)

    def forward(self, image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        x = torch.cat([image, hole], 1)
        e, ee = [], []
        a = b = x
        for down1, down2 in zip(self.branch1, self.branch2, strict=True):
            a, b = down1(a), down2(b)
            e.append(a)
            ee.append(b)
        d = dd = self.join(torch.cat([e[-1], ee[-1]], 1))
        for up1, up2, skip1, skip2 in zip(self.up1, self.up2, reversed(e[:-1]), reversed(ee[:-1]), strict=True):
            d, dd = up1(d, skip1), up2(dd, skip2)
        return torch.tanh(self.head(torch.cat([self.out1(d), self.out2(dd)], 1)))


def _seed_down(c_in: int, c_out: int, kernel: int, stride: int, norm: bool, pool: bool = False) -> nn.Sequential:
    """The seed's ``en_conv2d``: two convolutions with LeakyReLU, then batch norm (and max-pooling)."""
    layers: list[nn.Module] = [*_same(c_in, c_out, kernel), _act()]
    if stride > 1:  # Keras' "same" for a strided convolution: the extra padding on the right and bottom
        layers += [nn.ZeroPad2d((0, kernel - 2, 0, kernel - 2)) if kernel > 2 else nn.Identity(),
                   nn.Conv2d(c_out, c_out, kernel, stride=stride), _act()]
    else:
        layers += [*_same(c_out, c_out, kernel), _act()]
    if norm:
        layers.append(nn.BatchNorm2d(c_out, momentum=0.2))
        if pool:
            layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


def _same(c_in: int, c_out: int, kernel: int) -> tuple[nn.Module, nn.Module]:
    """A convolution that keeps the size, for even kernels too (the extra pixel on the right and bottom)."""
    before = (kernel - 1) // 2
    return nn.ZeroPad2d((before, kernel - 1 - before, before, kernel - 1 - before)), nn.Conv2d(c_in, c_out, kernel)


class _SeedUp(nn.Module):
    """The seed's ``de_conv2d``: up-sample, two ReLU convolutions, batch norm, then the skip joined on."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Upsample(scale_factor=2), *_same(c_in, c_out, kernel), nn.ReLU(inplace=True),
                                  *_same(c_out, c_out, kernel), nn.ReLU(inplace=True),
                                  nn.BatchNorm2d(c_out, momentum=0.2))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.body(x), skip], 1)


class PatchDiscriminator(nn.Module):
    """Conditional PatchGAN: the image (real, or the generator's fill pasted in) and the hole, to a map of
    real-or-fake scores, one per ~70 px patch (the generator's adversarial loss evaluates it with its
    weights detached). Instance norm without running statistics, or, with ``spectral``, spectral
    normalisation of every convolution instead (SN-PatchGAN, as DeepFill v2; its power-iteration vectors
    are buffers saved with the weights): a discriminator that cannot sharpen without bound, against which
    a generator has less to gain from stripes."""

    def __init__(self, width: int = 64, layers: int = 3, spectral: bool = False) -> None:
        super().__init__()
        self.config = {"width": int(width), "layers": int(layers), "spectral": bool(spectral)}

        def conv(c_in: int, c_out: int, stride: int) -> nn.Module:
            layer = nn.Conv2d(c_in, c_out, 4, stride=stride, padding=1)
            return nn.utils.parametrizations.spectral_norm(layer) if spectral else layer

        blocks: list[nn.Module] = [conv(4, width, 2), _act()]
        c = width
        for i in range(1, layers + 1):
            c_out = width * min(2 ** i, 8)
            blocks += [conv(c, c_out, 2 if i < layers else 1),
                       nn.Identity() if spectral else nn.InstanceNorm2d(c_out), _act()]
            c = c_out
        blocks.append(conv(c, 1, 1))
        self.body = nn.Sequential(*blocks)

    def forward(self, image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([image, hole], 1))


GENERATORS: dict[str, tuple[Callable[..., nn.Module], str]] = {
    "unet": (InpaintUNet, "strided encoder, dilated residual bottleneck, decoder with skips (default)"),
    "seed000": (Seed000Generator, "seed 000's two-branch U-Net (inputs: multiples of 128)"),
}


def saved_generator_config(config: dict[str, Any]) -> dict[str, Any]:
    """A generator's saved ``config`` as :func:`build_generator` takes it today: a ``unet`` saved before
    the smooth prior existed had none."""
    config = dict(config)
    if config.get("arch") == "unet":
        config.setdefault("prior", "none")
    return config


def build_generator(arch: str = "unet", **options: Any) -> nn.Module:
    """A generator by name (:data:`GENERATORS`) and its options; ``build_generator(**net.config)`` rebuilds one."""
    if arch not in GENERATORS:
        raise InputError(f"unknown inpainter architecture {arch!r}; choose one of: {', '.join(GENERATORS)}")
    try:
        return GENERATORS[arch][0](**options)
    except TypeError as error:
        raise InputError(f"inpainter {arch}: {error}") from None
