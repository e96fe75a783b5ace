"""The flow completer: the optical flow inside a hole, from the flow around it.

Input (N x 6 x H x W, see :func:`unseen.inpaint.learned_flow.completion_inputs`): the known flow relative
to the camera's motion (zero in the hole), the border's flow carried inside relative to the camera's
(zero outside), the hole, and the frame in grey (zero in the hole: where the image's edges run shows
where motion boundaries may); output (N x 2 x H x W): the flow relative to the camera's motion, of which
the hole's pixels are used. Working relative to the camera's motion means a network that outputs zero
is the engine's camera completion, and that a pan or a zoom needs no learning. With ``confidence``, a third
output channel is the log of the end-point error the network expects of its own guess there (in the flow
unit of :mod:`unseen.inpaint.learned_flow`): where it is small, the engine can trust the views it copies.
"""

from __future__ import annotations

from typing import Any

from unseen.errors import InputError
from unseen.nets.inpaint import HoleUNet

INPUTS = 6


class FlowCompleter(HoleUNet):
    """:class:`~unseen.nets.inpaint.HoleUNet` from the six input maps to two flow channels (and the log of
    the error expected of them, with ``confidence``)."""

    def __init__(self, width: int = 12, depth: int = 4, dilations: tuple[int, ...] = (2, 4, 8, 1),
                 confidence: bool = False) -> None:
        super().__init__(INPUTS, 3 if confidence else 2, width, depth, dilations)
        self.confidence = bool(confidence)
        self.config = {"arch": "flow-unet", **self.config, "confidence": self.confidence}


def build_flow_completer(arch: str = "flow-unet", **options: Any) -> FlowCompleter:
    """A flow completer from its ``config`` (``build_flow_completer(**net.config)`` rebuilds one)."""
    if arch != "flow-unet":
        raise InputError(f"unknown flow completer architecture {arch!r}; the one there is: flow-unet")
    try:
        return FlowCompleter(**options)
    except TypeError as error:
        raise InputError(f"flow completer: {error}") from None
