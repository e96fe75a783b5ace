"""Encoders (backbones) by name: each turns an image into feature maps at increasing strides.

An encoder's ``forward`` returns a list of tensors, shallowest first; ``channels[i]`` and ``strides[i]``
describe level ``i`` (``strides`` are powers of two, each level twice the previous). ``options`` holds the
resolved constructor options that define its shape (JSON types; a weights path is not one of them), so a
decoder can store them in its config. Decoders only read these attributes, so any encoder fits any decoder.

- ``plain``: seed 004's encoder: stride-2 4x4 convolutions, batch norm (not on the first), LeakyReLU.
- ``vgg16``: the VGG16 ``features`` layout, optionally with batch norm (``vgg16_bn``); loads
  torchvision-format weights from a file the user supplies.
- ``espnetv2``: the ESPNetv2 backbone, whose published weights :mod:`unseen.nets.transfer` can load.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from unseen.errors import InputError
from unseen.nets.blocks import conv_bn_act, scaled
from unseen.nets.eesp import ESPNetv2Encoder
from unseen.nets.espnetv2 import as_state_dict, check_scale, read_torch_file
from unseen.nets.options import check_options

PLAIN_WIDTHS = (64, 128, 256, 512)  # then 512 for every deeper level, as in seed 004
# VGG16's blocks: convolutions per block and their width; a 2x2 max pool follows each block.
VGG16_BLOCKS = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))
# Keras' LeakyReLU default slope, which seed 004 used.
LEAKY_SLOPE = 0.3


class PlainEncoder(nn.Module):
    """Stacked stride-2 4x4 convolutions: level ``i`` at stride ``2**(i+1)``.

    Parameters
    ----------
    width : float
        Multiplier of the widths 64, 128, 256, 512, 512, ... (1.0 = seed 004's).
    depth : int
        Number of levels (and of halvings): the deepest stride is ``2**depth``.
    """

    def __init__(self, width: float = 0.25, depth: int = 5) -> None:
        super().__init__()
        if not 1 <= depth <= 8:
            raise InputError(f"plain encoder depth {depth}: choose 1 to 8 levels")
        widths = [scaled(PLAIN_WIDTHS[min(i, len(PLAIN_WIDTHS) - 1)], width) for i in range(depth)]
        self.levels = nn.ModuleList()
        c_in = 3
        for i, c_out in enumerate(widths):
            # Seed 004 leaves batch norm out of the first block, as pix2pix does: it would whiten the image.
            block = conv_bn_act(c_in, c_out, 4, 2, act=nn.LeakyReLU(LEAKY_SLOPE, inplace=True), batch_norm=i > 0)
            self.levels.append(block)
            c_in = c_out
        self.channels = tuple(widths)
        self.strides = tuple(2 ** (i + 1) for i in range(depth))
        self.options = {"width": float(width), "depth": int(depth)}

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for level in self.levels:
            x = level(x)
            features.append(x)
        return features


class VGG16Encoder(nn.Module):
    """VGG16's ``features``: 13 3x3 convolutions in 5 blocks, a max pool after each.

    Level ``i < 5`` is block ``i``'s last activation, before its pool (strides 1, 2, 4, 8, 16); level 5 is
    the last pool (stride 32). Modules sit at torchvision's indices (``features.N``), so a torchvision
    ``vgg16`` (or, with ``batch_norm``, ``vgg16_bn``) state dict loads key for key.

    Parameters
    ----------
    width : float
        Multiplier of VGG16's widths; 1.0 is the real VGG16, which published weights need.
    depth : int
        Levels returned, 1 to 6 (U-Nets use 5, FCN 6).
    batch_norm : bool
        Batch norm after every convolution (the ``vgg16_bn`` layout): trains from scratch far more easily.
    weights : str or Path, optional
        A torchvision-format VGG16 state dict to start from (``features.N.weight`` keys; others ignored).
    """

    def __init__(self, width: float = 1.0, depth: int = 5, batch_norm: bool = False,
                 weights: str | Path | None = None) -> None:
        super().__init__()
        if not 1 <= depth <= len(VGG16_BLOCKS) + 1:
            raise InputError(f"vgg16 encoder depth {depth}: choose 1 to {len(VGG16_BLOCKS) + 1} levels")
        layers: list[nn.Module] = []
        self._taps: list[int] = []  # index in ``features`` after which a level is read
        channels, c_in = [], 3
        for convs, c in VGG16_BLOCKS:
            c_out = scaled(c, width)
            for _ in range(convs):
                layers += list(conv_bn_act(c_in, c_out, batch_norm=batch_norm, act=nn.ReLU(inplace=True)))
                c_in = c_out
            self._taps.append(len(layers) - 1)
            channels.append(c_out)
            layers.append(nn.MaxPool2d(2, 2))
        self._taps.append(len(layers) - 1)
        channels.append(channels[-1])
        self.features = nn.Sequential(*layers[: self._taps[depth - 1] + 1])
        self.channels = tuple(channels[:depth])
        self.strides = tuple(2 ** i for i in range(depth))
        self.options = {"width": float(width), "depth": int(depth), "batch_norm": bool(batch_norm)}
        self._init_weights()
        if weights is not None:
            self.load_torchvision(weights)

    def _init_weights(self) -> None:
        # torchvision's VGG initialisation: without it a 13-layer stack without batch norm barely trains.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def load_torchvision(self, path: str | Path) -> None:
        """Load a torchvision VGG16 state dict's ``features.*`` tensors (strictly, for the levels kept).

        Raises
        ------
        InputError
            The file is unreadable or its features do not fit (another width, with or without batch norm).
        """
        path = Path(path)
        state = as_state_dict(read_torch_file(path), path)
        own = self.features.state_dict()  # fewer levels keep fewer blocks: the file's others are not wanted
        features = {key.removeprefix("features."): value for key, value in state.items()
                    if key.startswith("features.") and key.removeprefix("features.") in own}
        try:
            self.features.load_state_dict(features, strict=True)
        except RuntimeError as error:
            kind = "vgg16_bn" if self.options["batch_norm"] else "vgg16"
            raise InputError(f"{path} is not a torchvision {kind} state dict at width "
                             f"{self.options['width']}: {str(error).splitlines()[-1].strip()}") from error

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features, taps = [], set(self._taps)
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in taps:
                features.append(x)
        return features


class ESPNetv2Features(ESPNetv2Encoder):
    """The ESPNetv2 backbone (levels at strides 2, 4, 8, 16) as a registry encoder.

    Its keys are the published files' ``base_net.*`` keys without that prefix.

    Parameters
    ----------
    scale : float
        Width scale: 1.0 or 2.0, which have published weights, or 1.5.
    """

    def __init__(self, scale: float = 2.0) -> None:
        super().__init__(check_scale(scale))
        self.strides = (2, 4, 8, 16)
        self.options = {"scale": float(scale)}


EncoderFactory = Callable[..., nn.Module]
_ENCODERS: dict[str, EncoderFactory] = {"plain": PlainEncoder, "vgg16": VGG16Encoder, "espnetv2": ESPNetv2Features}


def register_encoder(name: str, factory: EncoderFactory) -> None:
    """Make ``factory(**options)`` available as ``encoder=name`` in every architecture that takes one."""
    _ENCODERS[name] = factory


def list_encoders() -> list[str]:
    """The registered encoder names."""
    return list(_ENCODERS)


def build_encoder(name: str, options: dict[str, Any] | None = None,
                  defaults: dict[str, dict[str, Any]] | None = None) -> nn.Module:
    """The encoder ``name`` built with ``options``, over an architecture's own ``defaults[name]``.

    ``defaults`` lets an architecture pick, say, a narrower VGG16 than the encoder's own default without
    imposing VGG options on another encoder the user chose.

    Raises
    ------
    InputError
        Unknown name or option (the message lists the known ones), or an invalid value.
    """
    if name not in _ENCODERS:
        raise InputError(f"unknown encoder {name!r}; choose one of: {', '.join(_ENCODERS)}")
    factory = _ENCODERS[name]
    options = {**(defaults or {}).get(name, {}), **(options or {})}
    check_options(f"encoder {name}", factory, options)
    encoder = factory(**options)
    ratios = {b / a for a, b in zip(encoder.strides, encoder.strides[1:], strict=False)}
    if ratios - {2}:
        raise ValueError(f"encoder {name}: levels must be two by two apart, got strides {encoder.strides}")
    return encoder
