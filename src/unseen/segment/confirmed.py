"""One class from two segmenters that fail differently: what one proposes counts where the other confirms.

ESPNetv2-PASCAL finds a close car whole, with a clean outline, but calls hard shadows on asphalt (and snow)
"car"; our street model (``unseen-street-car``) leaves road and shadows alone and finds small distant cars,
but misses the shiny flanks and roof of a close one and spreads onto the road under it.
:class:`ConfirmedSegmenter` takes each object the confirmer finds: where the proposer sees it too, with the
proposer's outline, kept within the confirmer's object (its convex hull, grown a little: a missed flank lies
inside it, a road's shadow does not); where the proposer does not see it (a distant car), as the confirmer
sees it. What the proposer alone sees is left out.

With ``keep_proposed`` the proposer is trusted where it looks: its mask is kept whole, and the confirmer only
adds the objects it does not see at all. People are the case: ESPNetv2-PASCAL outlines a close person well
and calls no shadow or animal one, but at 256 px the pedestrians of a street are a few pixels it misses;
a street model finds them. The street model is asked about the whole frame only (:meth:`ConfirmedSegmenter.
add_missed`; :class:`unseen.segment.focus.Focus` zooms with the proposer alone): shown a zoomed-in crop, it
took a dark tree and hedge for a pedestrian (7 % of a CamVid frame).
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


class ConfirmedSegmenter:
    """``class_name`` from ``proposer`` and ``confirmer`` (see the module); classes
    ``("background", class_name)``, at the finer of the two models' resolutions; ``keep_proposed``: the
    proposer's mask whole, with what the confirmer alone finds added."""

    def __init__(self, name: str, class_name: str, proposer: Segmenter, confirmer: Segmenter,
                 keep_proposed: bool = False) -> None:
        self.name, self.classes = name, (BACKGROUND, class_name)
        self._proposer, self._confirmer, self._keep_proposed = proposer, confirmer, keep_proposed
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
        if self._keep_proposed:
            return _with_missed(proposed, sure)
        outlines, alone = confirmed_regions(sure > 0.5, proposed > 0.5)
        return two_class(np.maximum(proposed * outlines, sure * alone))

    @property
    def keeps_proposed(self) -> bool:
        """Whether the proposer's mask is kept whole (then :meth:`add_missed` completes what it finds)."""
        return self._keep_proposed

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
    return two_class(np.maximum(proposed, sure * alone))


def confirmed_regions(confirmed: np.ndarray, proposed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two float maps over the confirmer's blobs: 1 within the grown convex hull of each blob the
    ``proposed`` mask covers :data:`SEEN_BY_BOTH` of, and 1 on (and :data:`EDGE` px around) each other blob."""
    outlines, alone = np.zeros(confirmed.shape, np.uint8), np.zeros(confirmed.shape, np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(confirmed.astype(np.uint8))
    for blob in range(1, count):
        if stats[blob, cv2.CC_STAT_AREA] < LEAST_BLOB * confirmed.size:
            continue
        region = (labels == blob).astype(np.uint8)
        if proposed[region > 0].mean() < SEEN_BY_BOTH:
            alone |= cv2.dilate(region, np.ones((2 * EDGE + 1,) * 2, np.uint8))
            continue
        hull = np.zeros(confirmed.shape, np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(cv2.findNonZero(region)), 1)
        grow = max(1, round(REACH * max(stats[blob, cv2.CC_STAT_WIDTH], stats[blob, cv2.CC_STAT_HEIGHT])))
        outlines |= cv2.dilate(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    return outlines.astype(np.float32), alone.astype(np.float32)
