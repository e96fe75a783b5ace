"""What every network of :mod:`unseen.nets` offers: logits at the input size, its config, its class layers.

A network takes N x 3 x H x W ImageNet-normalised RGB (H and W multiples of ``side_multiple``) and returns
N x C x H x W class logits. ``config`` is a JSON-serialisable dict with which
:func:`unseen.nets.build_network` rebuilds the same architecture (checkpoints store it), and ``head_keys``
names the state-dict entries whose first dimension runs over the classes, which is what weight transfer
copies row by row when the class list changes.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from unseen.errors import InputError
from unseen.nets.blocks import resize_to

HEAD_KEYS = ("head.weight", "head.bias")


class SegmentationNet(nn.Module):
    """Base of the registry's networks: a subclass builds ``head`` and implements :meth:`logits`.

    ``head`` is the 1x1 class convolution; :meth:`forward` checks the input and brings the logits to its size.

    Parameters
    ----------
    config : dict
        The architecture's options, every default resolved, JSON types only.
    side_multiple : int
        Input height and width must be multiples of it (the encoder's deepest stride).
    """

    head_keys: tuple[str, ...] = HEAD_KEYS

    def __init__(self, config: dict[str, Any], side_multiple: int) -> None:
        super().__init__()
        self.config = config
        self.side_multiple = side_multiple

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits at some fraction of the input resolution (the encoder's and decoder's business)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.side_multiple)
        return resize_to(self.logits(x), x)


def check_input(x: torch.Tensor, multiple: int) -> None:
    """Refuse, in one line, an input that is not N x 3 x H x W with sides multiples of ``multiple``.

    Skipped while tracing (ONNX export): there the sizes are symbolic and the check would be frozen in.
    """
    if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        return
    if x.ndim != 4 or x.shape[1] != 3:
        raise InputError(f"expected an N x 3 x H x W image batch, got shape {tuple(x.shape)}")
    h, w = x.shape[-2:]
    if h % multiple or w % multiple:
        raise InputError(f"input {w}x{h}: width and height must be multiples of {multiple} for this network")
