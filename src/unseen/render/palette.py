"""Colours for classes: distinct, stable from run to run, and visible on real footage."""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np

from unseen.errors import InputError

# Hand-picked first colours, all bright and saturated so they stand out on a darkened frame. The first two
# (person, car) sit far apart in hue and away from what fills most footage: grass and trees (green), sky
# (blue), asphalt and walls (grey). Pink and amber also stay apart for red-green colour-blind viewers.
_FIRST = np.array([
    (255, 40, 130),   # person: hot pink
    (255, 190, 0),    # car: amber
    (0, 200, 255),    # sky blue-cyan
    (150, 255, 60),   # lime
    (170, 90, 255),   # violet
    (255, 110, 30),   # orange
    (0, 255, 190),    # aquamarine
    (255, 90, 255),   # magenta
], dtype=np.uint8)

# Colours that classes of these names always get, whatever their position among the chosen classes.
_BY_NAME = {"person": 0, "car": 1}

_GOLDEN = 0.6180339887498949


def class_colors(n: int) -> np.ndarray:
    """``n`` distinct RGB colours, the same for the same ``n`` on every run.

    Parameters
    ----------
    n : int
        How many colours; label ``k`` of a label map is drawn with colour ``k - 1``.

    Returns
    -------
    colors : (n, 3) uint8 ndarray
        The first ones are hand-picked (pink for people, amber for cars); further ones step round the
        hue circle by the golden ratio, so that neighbours always differ clearly.
    """
    if n < 0:
        raise InputError(f"cannot make {n} colours")
    colors = list(_FIRST[:n])
    for i in range(len(colors), n):
        hue = (i * _GOLDEN) % 1.0
        value = 1.0 if i % 2 else 0.85  # alternate brightness too: hues get close after a few dozen
        colors.append(np.round(np.array(colorsys.hsv_to_rgb(hue, 0.85, value)) * 255))
    return np.array(colors, dtype=np.uint8).reshape(n, 3)


def colors_for(names: Sequence[str]) -> np.ndarray:
    """Colours for named classes: ``person`` and ``car`` always get theirs (pink, amber), whatever the
    order; other names take the following palette colours, in order (never pink or amber).

    Returns
    -------
    colors : (len(names), 3) uint8 ndarray
    """
    palette = class_colors(len(names) + len(_BY_NAME))
    free = (i for i in range(len(palette)) if i not in _BY_NAME.values())
    indices = [_BY_NAME[name] if name in _BY_NAME else next(free) for name in names]
    return palette[indices].reshape(len(names), 3)
