"""One class from two segmenters that fail differently: what one proposes counts where the other confirms.

ESPNetv2-PASCAL finds a close car whole, with a clean outline, but calls hard shadows on asphalt (and snow)
"car"; our street model (``unseen-street-car``) leaves road and shadows alone and finds small distant cars,
but misses the shiny flanks and roof of a close one and spreads onto the road under it.
:class:`ConfirmedSegmenter` takes each object the confirmer finds: where the proposer sees it too, with the
proposer's outline, kept within the confirmer's object (its convex hull, grown a little: a missed flank lies
inside it, a road's shadow does not); where the proposer does not see it (a distant car), as the confirmer
sees it. What the proposer alone sees is left out.

With :data:`ADD_MISSED` the proposer is trusted where it looks: its mask is kept whole, and the confirmer only
adds the objects it does not see at all. People are the case: ESPNetv2-PASCAL outlines a close person well
and calls no shadow or animal one, but at 256 px the pedestrians of a street are a few pixels it misses;
a street model finds them. The street model is asked about the whole frame only (:meth:`ConfirmedSegmenter.
add_missed`; :class:`unseen.segment.focus.Focus` zooms with the proposer alone): shown a zoomed-in crop, it
took a dark tree and hedge for a pedestrian (7 % of a CamVid frame).

With :data:`EXTEND` the proposer's mask is kept whole too, and each object of the confirmer's that the proposer
sees part of is added whole: a network fine-tuned on people finds the legs and heads ESPNetv2-PASCAL drops
from a person in an unusual pose, or on a bike or a horse, but also takes an animal (a camel, a swan) for a
person; the animals PASCAL does not see at all are left out.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import cv2
import numpy as np

from unseen.segment.base import BACKGROUND, Segmenter, class_indices, to_frame, two_class

# Blobs of the confirmer smaller than this share of its map confirm nothing (a stray pixel on the road).
LEAST_BLOB = 2e-4
# How far (share of the blob's longer side) the proposer's outline may reach beyond a confirmed blob's convex
# hull: a mirror or bumper the confirmer cut off.
REACH = 0.05
# Share of a confirmer's blob the proposer must see for its outline to be the object's.
SEEN_BY_BOTH = 0.2
# Pixels a blob the confirmer alone sees is grown by, so that its soft edge is kept.
EDGE = 2

# How a pair puts its two looks together (see the module).
CONFIRM = "confirm"  # the proposer's outline of the objects the confirmer finds
ADD_MISSED = "add-missed"  # the proposer's mask whole, with the objects it misses that the confirmer finds
EXTEND = "extend"  # the proposer's mask whole, with the confirmer's objects it sees part of added whole
MODES = (CONFIRM, ADD_MISSED, EXTEND)


class ConfirmedSegmenter:
    """``class_name`` from ``proposer`` and ``confirmer``, put together as ``mode`` says (one of :data:`MODES`,
    see the module); classes ``("background", class_name)``, at the finer of the two models' resolutions."""

    def __init__(self, name: str, class_name: str, proposer: Segmenter, confirmer: Segmenter,
                 mode: str = CONFIRM) -> None:
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        self.name, self.classes = name, (BACKGROUND, class_name)
        self._proposer, self._confirmer, self._mode = proposer, confirmer, mode
        self._proposed = class_indices(proposer, [class_name])[0]
        self._confirmed = class_indices(confirmer, [class_name])[0]
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="unseen-confirmer")

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        # The two networks run side by side: each uses one torch thread, and torch lets go of the GIL.
        confirming = self.start_missed(rgb)
        proposed = self._proposer.predict(rgb)[..., self._proposed]
        sure = confirming.result()
        height, width = max(sure.shape, proposed.shape)
        sure, proposed = to_frame(sure, width, height), to_frame(proposed, width, height)
        if self._mode == ADD_MISSED:
            return _with_missed(proposed, sure)
        seen, alone = confirmed_regions(sure > 0.5, proposed > 0.5)
        if self._mode == EXTEND:
            return two_class(np.maximum(proposed, sure * _grown(seen)))
        return two_class(np.maximum(proposed * _hulls(seen), sure * _grown(alone)))

    @property
    def adds_missed(self) -> bool:
        """Whether the mode is :data:`ADD_MISSED` (then :meth:`add_missed` completes the proposer's mask)."""
        return self._mode == ADD_MISSED

    @property
    def proposer(self) -> Segmenter:
        return self._proposer

    def start_missed(self, rgb: np.ndarray) -> Future:
        """The confirmer's look at the whole frame ``rgb``, started on its own thread (see :meth:`add_missed`)."""
        return self._pool.submit(lambda: self._confirmer.predict(rgb)[..., self._confirmed])

    def add_missed(self, look: Future, probs: np.ndarray) -> np.ndarray:
        """``probs`` (H x W x 2, background and the class, at frame size: the proposer's) with the objects the
        confirmer's ``look`` (:meth:`start_missed`) finds and the proposer does not added."""
        height, width = probs.shape[:2]
        return _with_missed(probs[..., 1], to_frame(look.result(), width, height))


def _with_missed(proposed: np.ndarray, sure: np.ndarray) -> np.ndarray:
    """Background and class probabilities: ``proposed`` whole, with the blobs of ``sure`` it does not see added."""
    _, alone = confirmed_regions(sure > 0.5, proposed > 0.5)
    return two_class(np.maximum(proposed, sure * _grown(alone)))


def confirmed_regions(confirmed: np.ndarray, proposed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two boolean masks splitting the confirmer's blobs (of at least :data:`LEAST_BLOB` of the map): those the
    ``proposed`` mask covers :data:`SEEN_BY_BOTH` of, and the others."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(confirmed.astype(np.uint8))
    area = stats[:, cv2.CC_STAT_AREA]
    seen = np.bincount(labels.ravel(), weights=proposed.ravel(), minlength=count) / np.maximum(area, 1)
    kept = area >= LEAST_BLOB * confirmed.size
    kept[0] = False  # (the background)
    return (kept & (seen >= SEEN_BY_BOTH))[labels], (kept & (seen < SEEN_BY_BOTH))[labels]


def _grown(mask: np.ndarray) -> np.ndarray:
    """``mask`` grown by :data:`EDGE` px, as float: a blob taken from a network keeps its soft edge."""
    return cv2.dilate(mask.astype(np.uint8), np.ones((2 * EDGE + 1,) * 2, np.uint8)).astype(np.float32)


def _hulls(blobs: np.ndarray) -> np.ndarray:
    """1 within each blob's convex hull grown by :data:`REACH` of its longer side, as float."""
    hulls = np.zeros(blobs.shape, np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(blobs.astype(np.uint8))
    for blob in range(1, count):
        hull = np.zeros(blobs.shape, np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(cv2.findNonZero((labels == blob).astype(np.uint8))), 1)
        grow = max(1, round(REACH * max(stats[blob, cv2.CC_STAT_WIDTH], stats[blob, cv2.CC_STAT_HEIGHT])))
        hulls |= cv2.dilate(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    return hulls.astype(np.float32)
