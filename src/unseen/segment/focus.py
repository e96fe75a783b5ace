"""Wanted classes only, at the frame's size, with a second look at where they are.

Networks of this size see a 854x480 frame at 256 px, so a person 100 px tall in the frame is 30 px to
the network and its outline is guessed. :class:`Focus` runs the segmenter once on the whole frame, then
again on the box around what it found (the zoom), so small objects are segmented at several times the
resolution for the cost of one more small pass; the full frame still decides what is outside the box.

In a video the box follows the object from frame to frame, so the whole frame is looked at again only
every few frames (``refresh``), to catch what enters the picture: a frame then costs about one pass.
"""

from __future__ import annotations

import cv2
import numpy as np

from unseen.media.cuts import CutWatch
from unseen.segment.base import Segmenter, check_rgb, class_indices, to_frame
from unseen.segment.confirmed import ConfirmedSegmenter

ZOOM_THRESHOLD = 0.3  # probability that counts as "found" when framing the zoom box
ZOOM_MARGIN = 0.3  # the box grows by this fraction of its size on every side, for context
ZOOM_MAX_FRACTION = 0.6  # boxes covering more of the frame than this gain little from a second look
MIN_ZOOM_SIDE = 32
REFRESH = 4  # frames between two looks at the whole frame in a video
SIDE_FRACTION = 0.05  # found pixels along a side of the box that mean the object goes on beyond it
MIN_SIDE_RUN = 8
SEAM_FRACTION = 0.08  # width of the blend between the close and the whole look, as a share of the box


def wanted_probs(probs: np.ndarray, indices: list[int]) -> np.ndarray:
    """h x w x (1 + K) float32: "anything else" then each wanted class, from a model's full output."""
    wanted = probs[..., indices]
    rest = np.clip(1.0 - wanted.sum(axis=-1, keepdims=True), 0.0, 1.0)
    return np.concatenate([rest, wanted], axis=-1)


def predict_wanted(segmenter: Segmenter, rgb: np.ndarray, indices: list[int]) -> np.ndarray:
    """:func:`wanted_probs` of ``segmenter`` on ``rgb``, by the segmenter's own ``predict_wanted`` where it has one
    (a network's softmax over the wanted classes alone, cheaper than over all of them)."""
    own = getattr(segmenter, "predict_wanted", None)
    return own(rgb, indices) if own is not None else wanted_probs(segmenter.predict(rgb), indices)


def either_look(upright: np.ndarray, turned: np.ndarray) -> np.ndarray:
    """Two looks' h x w x (1 + K) probabilities (:func:`wanted_probs`) as one: each wanted class at the likelier
    of the two, "anything else" what is left."""
    return wanted_probs(np.maximum(upright, turned), list(range(1, upright.shape[-1])))


def zoom_box(found: np.ndarray, margin: float = ZOOM_MARGIN) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` around the true pixels of ``found`` grown by ``margin``; None if nothing is found
    or the box would cover most of the frame anyway."""
    x0, y0, box_width, box_height = cv2.boundingRect(found.astype(np.uint8))
    if box_width == 0:
        return None
    h, w = found.shape
    x1, y1 = x0 + box_width, y0 + box_height
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
    refresh : int
        Successive calls are taken as the frames of one video: the whole frame is segmented again every
        ``refresh`` frames, and in between only the box (placed by the previous frame's result) is; 1 looks
        at every whole frame.
    upside_down : bool
        Every look also sees the picture upside down, and each pixel keeps the likelier of the two
        (:func:`either_look`): for people turned over (flips, handstands, a breakdancer's freeze), whom networks
        trained on upright people half miss. Twice the network's time.
    """

    def __init__(self, segmenter: Segmenter, classes: list[str] | tuple[str, ...], zoom: bool = True,
                 refresh: int = REFRESH, upside_down: bool = False) -> None:
        # A pair that adds what its proposer misses is looked through with the proposer, and its confirmer adds
        # what the proposer missed on the whole frame (:mod:`unseen.segment.confirmed`).
        self._pair = segmenter if isinstance(segmenter, ConfirmedSegmenter) and segmenter.adds_missed else None
        self.classes = tuple(classes)
        self.indices = class_indices(segmenter, self.classes)  # (refusing a class the pair does not know)
        if self._pair is not None:
            segmenter = self._pair.proposer
            self.indices = class_indices(segmenter, self.classes)
        self.segmenter = segmenter
        self.zoom = zoom
        self.upside_down = upside_down
        self.refresh = max(1, refresh)
        self._whole: np.ndarray | None = None  # the last whole-frame look, at frame size
        self._box: tuple[int, int, int, int] | None = None
        self._age = 0
        self._cuts = CutWatch()
        self._found = 0  # pixels found in the box at the last frame

    def probs(self, rgb: np.ndarray) -> np.ndarray:
        """H x W x (1 + K) float32 probabilities of one frame (the next frame of the video, if any)."""
        check_rgb(rgb)
        missed = None if self._pair is None else self._pair.start_missed(rgb)
        h, w = rgb.shape[:2]
        # Every frame, so that it compares neighbours: another shot, or a folder's next photo.
        cut = self._cuts.is_cut(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        fresh = cut or self._box is None or self._age >= self.refresh or self._whole.shape[:2] != (h, w)
        if fresh:
            self._look_whole(rgb)
        probs = self._look_close(rgb, fresh)
        if probs is None:  # the object left the box since the last whole look: look again now
            self._look_whole(rgb)
            probs = self._look_close(rgb, fresh=True)
        self._age += 1
        return probs if missed is None else self._pair.add_missed(missed, probs)

    def _predict(self, rgb: np.ndarray) -> np.ndarray:
        """The wanted classes' probabilities at the network's resolution (and upside down, if asked)."""
        probs = predict_wanted(self.segmenter, rgb, self.indices)
        if not self.upside_down:
            return probs
        # (the network's output for the picture turned over has the same size: turned back, it lies on this one)
        turned = predict_wanted(self.segmenter, np.ascontiguousarray(rgb[::-1, ::-1]), self.indices)
        return either_look(probs, turned[::-1, ::-1])

    def _look_whole(self, rgb: np.ndarray) -> None:
        h, w = rgb.shape[:2]
        self._whole = to_frame(self._predict(rgb), w, h)
        self._box, self._age = self._find(self._whole), 0

    def _look_close(self, rgb: np.ndarray, fresh: bool) -> np.ndarray | None:
        """The whole look with the box looked at closely; None if the box no longer holds what it framed.

        What the close look finds should not run along a side of the box (inside the frame): the box then
        grows once, and the close look is blended into the whole one near the sides, so that an object
        that goes on beyond the box does not end in a straight line.
        """
        grown = False
        while self._box is not None:
            x0, y0, x1, y1 = self._box
            crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
            close = to_frame(self._predict(crop), x1 - x0, y1 - y0)
            found = close[..., 0] < 1.0 - ZOOM_THRESHOLD
            if not fresh and (self._at_side(found) or found.sum() < 0.5 * self._found):
                return None
            if grown or not self._at_side(found):
                probs = self._whole.copy()
                weight = self._seam_weight()
                probs[y0:y1, x0:x1] = weight * close + (1.0 - weight) * probs[y0:y1, x0:x1]
                self._box, self._found = self._find(probs), int(found.sum())
                return probs
            self._box, grown = self._grown_box(), True
        return self._whole.copy()

    def _seam_weight(self) -> np.ndarray:
        """Weight of the close look in its box: 1 inside, falling to 0 at sides that are not the frame's."""
        x0, y0, x1, y1 = self._box
        h, w = self._whole.shape[:2]

        def ramp(n: int, open_start: bool, open_end: bool) -> np.ndarray:
            band = max(4, round(SEAM_FRACTION * n))
            i = np.arange(n, dtype=np.float32)
            r = np.ones(n, np.float32)
            if open_start:
                r = np.minimum(r, (i + 0.5) / band)
            if open_end:
                r = np.minimum(r, (n - i - 0.5) / band)
            return r

        rows = ramp(y1 - y0, y0 > 0, y1 < h)
        cols = ramp(x1 - x0, x0 > 0, x1 < w)
        return np.minimum(rows[:, None], cols[None, :])[..., None]

    def _at_side(self, found: np.ndarray) -> bool:
        """Whether ``found`` (the box's crop) runs along a side of the box that is not the frame's border.

        A few pixels touching a side (a stray blob, a toe) do not count; a run of
        :data:`SIDE_FRACTION` of the side does.
        """
        x0, y0, x1, y1 = self._box
        h, w = self._whole.shape[:2]
        sides = ((y0 > 0, found[0]), (y1 < h, found[-1]), (x0 > 0, found[:, 0]), (x1 < w, found[:, -1]))
        return any(inside and line.sum() > max(MIN_SIDE_RUN, SIDE_FRACTION * line.size) for inside, line in sides)

    def _grown_box(self) -> tuple[int, int, int, int] | None:
        """The box grown by the zoom margin on every side; None once it would cover too much of the frame."""
        x0, y0, x1, y1 = self._box
        inside = np.zeros(self._whole.shape[:2], bool)
        inside[y0:y1, x0:x1] = True
        bigger = zoom_box(inside)
        return bigger if bigger != self._box else None

    def _find(self, probs: np.ndarray) -> tuple[int, int, int, int] | None:
        return zoom_box(probs[..., 0] < 1.0 - ZOOM_THRESHOLD) if self.zoom else None
