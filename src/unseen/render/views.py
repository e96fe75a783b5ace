"""The pictures ``unseen segment --render KIND`` makes of one frame and what was found in it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from unseen.render.alpha import refine_alpha
from unseen.render.background import composite
from unseen.render.collage import collage
from unseen.render.cutout import cutout, mask_image
from unseen.render.overlay import contours, legend, overlay

RENDER_KINDS = ("mask", "overlay", "contours", "cutout", "collage")
WHITE = (255, 255, 255)


def render_view(kind: str, rgb: np.ndarray, labels: np.ndarray, foreground: np.ndarray,
                colors: np.ndarray, names: Sequence[str] = ()) -> np.ndarray:
    """One frame rendered as ``kind`` (see :data:`RENDER_KINDS`).

    Parameters
    ----------
    kind : str
        ``mask``: 0/255 grey (one class) or the class-index image (several); ``overlay``: translucent
        colours; ``contours``: each class's outline in its colour on the darkened frame; ``cutout``: RGBA
        with soft edges; ``collage``: frame | mask | the object on white, side by side.
    rgb : ndarray
        HxWx3 uint8 frame.
    labels : ndarray
        HxW uint8, 0 = nothing, k = the k-th class.
    foreground : ndarray
        HxW float32 probability of any class (the soft edge of cut-outs).
    colors : ndarray
        K x 3 uint8, one RGB colour per class.
    names : sequence of str
        The classes' names: with two or more, ``overlay`` and ``contours`` get a legend.
    """
    if kind == "mask":
        return mask_image(labels, len(colors))
    if kind in ("overlay", "contours"):
        drawn = overlay(rgb, labels, colors) if kind == "overlay" else contours(rgb, labels, colors)
        return legend(drawn, names, colors) if len(names) > 1 else drawn
    alpha = refine_alpha(rgb, foreground)
    if kind == "cutout":
        return cutout(rgb, alpha)
    if kind == "collage":
        on_white = composite(rgb, alpha, np.full_like(rgb, WHITE))
        return collage([rgb, mask_image(labels > 0, 1), on_white], labels=["frame", "mask", "result"])
    raise ValueError(f"unknown render kind {kind!r}")
