"""Every network unseen trains or runs, built by architecture name; inference and training both use this.

``build_network(arch, num_classes, **options)`` returns an ``nn.Module`` that maps N x 3 x H x W
ImageNet-normalised RGB (H, W multiples of ``net.side_multiple``) to N x C x H x W logits, with
``net.config`` (``build_network(**net.config)`` rebuilds it) and ``net.head_keys`` (its class layers'
state-dict keys). See :mod:`unseen.nets.base`; encoders are in :mod:`unseen.nets.encoders`, weight
transfer between class lists in :mod:`unseen.nets.transfer`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from torch import nn

from unseen.errors import InputError
from unseen.nets.deeplab import DeepLabV3Plus
from unseen.nets.espnetv2 import espnetv2_network
from unseen.nets.fcn import FCN
from unseen.nets.options import check_options
from unseen.nets.unet import UNet

NetworkFactory = Callable[..., nn.Module]
_ARCHITECTURES: dict[str, tuple[NetworkFactory, str]] = {}


def register_architecture(name: str, factory: NetworkFactory, description: str) -> None:
    """Make ``factory(num_classes=..., **options)`` buildable as ``name``.

    The factory's network must follow :class:`unseen.nets.base.SegmentationNet`'s contract (``forward``,
    ``side_multiple``, ``config``, ``head_keys``); ``description`` is one line for listings.
    """
    _ARCHITECTURES[name] = (factory, description)


def list_architectures() -> dict[str, str]:
    """Architecture name -> one-line description, in registration order."""
    return {name: description for name, (_, description) in _ARCHITECTURES.items()}


def build_network(arch: str, num_classes: int, **options: Any) -> nn.Module:
    """A freshly initialised network of architecture ``arch`` with ``num_classes`` outputs.

    ``options`` are the architecture's keyword options (``encoder``, ``encoder_options``, widths...);
    ``net.config`` records them all, defaults resolved, under ``arch`` and ``num_classes``.

    Raises
    ------
    InputError
        Unknown architecture or option (the message lists the known ones), fewer than two classes, or an
        invalid option value.
    """
    if arch not in _ARCHITECTURES:
        raise InputError(f"unknown architecture {arch!r}; choose one of: {', '.join(_ARCHITECTURES)}")
    if not isinstance(num_classes, int) or num_classes < 2:
        raise InputError(f"{arch} needs at least 2 classes (softmax over classes), got {num_classes}")
    factory = _ARCHITECTURES[arch][0]
    check_options(f"architecture {arch}", factory, options, reserved=("num_classes",))
    net = factory(num_classes=num_classes, **options)
    net.config = {"arch": arch, **{key: value for key, value in net.config.items() if key != "arch"}}
    return net


register_architecture("unet", UNet, "U-Net (seed 004): plain strided-conv encoder, transposed-conv decoder, skips")
register_architecture("unet-vgg16", partial(UNet, encoder="vgg16", decoder_convs=2, dropout=0.0),
                      "U-Net (seed 002) on a VGG16 encoder (width 1.0 loads torchvision VGG16 weights)")
register_architecture("deeplabv3plus", DeepLabV3Plus,
                      "DeepLabV3+ (seed 003): ASPP + low-level skip decoder, ESPNetv2 encoder by default")
register_architecture("fcn", FCN, "FCN-8s (seed 001): scores at strides 8/16/32 fused, narrow VGG16 encoder")
register_architecture("espnetv2", espnetv2_network,
                      "ESPNetv2 (the published PASCAL/Cityscapes models' network); scale 1.0 or 2.0")

__all__ = ["build_network", "list_architectures", "register_architecture"]
