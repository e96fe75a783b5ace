"""Wanted classes only, at the frame's size, with a second look at where they are.

Networks of this size see a 854x480 frame at ~320 px, so a person 100 px tall in the frame is 40 px to
the network and its outline is guessed. :class:`Focus` runs the segmenter once on the whole frame, then
again on the box around what it found (the zoom), so small objects are segmented at several times the
resolution for the cost of one more small pass; the full frame still decides what is outside the box.
"""

from __future__ import annotations

import numpy as np

from unseen.segment.base import Segmenter, check_rgb, class_indices, to_frame

ZOOM_THRESHOLD = 0.3  # probability that counts as "found" when framing the zoom box
ZOOM_MARGIN = 0.3  # the box grows by this fraction of its size on every side, for context
ZOOM_MAX_FRACTION = 0.5  # boxes covering more of the frame than this gain little from a second look
MIN_ZOOM_SIDE = 32


def wanted_probs(probs: np.ndarray, indices: list[int]) -> np.ndarray:
    """h x w x (1 + K) float32: "anything else" then each wanted class, from a model's full output."""
    wanted = probs[..., indices]
    rest = np.clip(1.0 - wanted.sum(axis=-1, keepdims=True), 0.0, 1.0)
    return np.concatenate([rest, wanted], axis=-1)


def zoom_box(found: np.ndarray, margin: float = ZOOM_MARGIN) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` around the true pixels of ``found`` grown by ``margin``; None if nothing is found
    or the box would cover most of the frame anyway."""
    ys, xs = np.nonzero(found)
    if len(xs) == 0:
        return None
    h, w = found.shape
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    grow_x, grow_y = margin * (x1 - x0), margin * (y1 - y0)
    x0, x1 = max(0, int(x0 - grow_x)), min(w, int(np.ceil(x1 + grow_x)))
    y0, y1 = max(0, int(y0 - grow_y)), min(h, int(np.ceil(y1 + grow_y)))
    if (x1 - x0) * (y1 - y0) > ZOOM_MAX_FRACTION * h * w or min(x1 - x0, y1 - y0) < MIN_ZOOM_SIDE:
        return None
    return x0, y0, x1, y1


class Focus:
    """A segmenter's wanted classes at frame size: ``probs(rgb)`` -> H x W x (1 + K) float32.

    Channel 0 is everything else (background and unwanted classes), channel k the k-th wanted class.

    Parameters
    ----------
    segmenter : Segmenter
        Any registered model.
    classes : sequence of str
        The wanted class names, as the model names them.
    zoom : bool
        Take the second, closer look at the box around the wanted classes.
    """

    def __init__(self, segmenter: Segmenter, classes: list[str] | tuple[str, ...], zoom: bool = True) -> None:
        self.segmenter = segmenter
        self.classes = tuple(classes)
        self.indices = class_indices(segmenter, self.classes)
        self.zoom = zoom

    def probs(self, rgb: np.ndarray) -> np.ndarray:
        check_rgb(rgb)
        h, w = rgb.shape[:2]
        coarse = wanted_probs(self.segmenter.predict(rgb), self.indices)
        probs = to_frame(coarse, w, h)
        box = zoom_box(probs[..., 0] < 1.0 - ZOOM_THRESHOLD) if self.zoom else None
        if box is not None:
            x0, y0, x1, y1 = box
            crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
            close = wanted_probs(self.segmenter.predict(crop), self.indices)
            probs[y0:y1, x0:x1] = to_frame(close, x1 - x0, y1 - y0)
        return probs
