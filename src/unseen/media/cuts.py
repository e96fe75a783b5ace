"""Cuts: whether a frame starts another shot (or is another photo), from how much a small grey thumbnail changes.

A mean change of :data:`CUT_CHANGE` grey levels between neighbouring thumbnails is another shot or another photo
whatever came before it: what :class:`~unseen.segment.focus.Focus` needs, whose next frame may be a folder's next
photo. Following one object needs more care (``spikes=True``): a camera that zooms or swings fast changes the
thumbnail as much, but over several frames (motocross-jump: 28, 34, 36, 47, 45, 41 grey levels, frame after
frame), where a cut is a spike over the changes just before it; and a cut between two low-contrast shots (snow
after snow) changes less than 40. There a cut is a change of at least :data:`SPIKE_LEAST` and :data:`SPIKE_RATIO`
times the median of the last :data:`SPIKE_HISTORY` changes (no frame of the 18 clips of ``bench/track.py`` is one).
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

THUMBNAIL_SIZE = (32, 18)
CUT_CHANGE = 40.0
SPIKE_LEAST, SPIKE_RATIO, SPIKE_HISTORY = 20.0, 3.0, 5
QUIET = 2.0  # the least "usual change" a spike is measured against (a still camera's noise)


def thumbnail(gray: np.ndarray) -> np.ndarray:
    """The 32x18 float32 thumbnail of a grey image that cuts are told by."""
    return cv2.resize(gray, THUMBNAIL_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)


def change(a: np.ndarray, b: np.ndarray) -> float:
    """Mean grey-level change between two thumbnails."""
    return float(np.abs(a - b).mean())


class CutWatch:
    """Says of each frame in turn (:meth:`is_cut`) whether it starts another shot; the first frame does.

    Parameters
    ----------
    spikes
        Tell cuts from fast camera motion by the changes just before (see the module); else any change of
        :data:`CUT_CHANGE` is a cut.
    """

    def __init__(self, spikes: bool = False) -> None:
        self._spikes = spikes
        self._last: np.ndarray | None = None
        self._recent: deque[float] = deque(maxlen=SPIKE_HISTORY)

    def is_cut(self, gray: np.ndarray) -> bool:
        """Whether the grey frame ``gray`` starts another shot than the frame before."""
        now = thumbnail(gray)
        last, self._last = self._last, now
        if last is None:
            return True
        moved = change(last, now)
        recent = list(self._recent)
        self._recent.append(moved)
        if not self._spikes or not recent:
            return moved > CUT_CHANGE
        return moved > SPIKE_LEAST and moved > SPIKE_RATIO * max(float(np.median(recent)), QUIET)
