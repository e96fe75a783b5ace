"""One class from two segmenters that fail differently: what one proposes counts where the other confirms.

ESPNetv2-PASCAL finds a close car whole but calls hard shadows on asphalt "car"; our street model
(``unseen-street-car``) leaves road and shadows alone and finds small distant cars, but misses the shiny
flanks and roof of a close one. :class:`ConfirmedSegmenter` keeps the confirmer's class everywhere and the
proposer's inside the outline of what the confirmer found (each of its blobs' convex hull, grown a little):
a car's missed flanks lie inside its outline, a road's shadow does not.
"""

from __future__ import annotations

import cv2
import numpy as np

from unseen.segment.base import BACKGROUND, Segmenter, class_indices, to_frame, two_class

# Blobs of the confirmer smaller than this share of its map confirm nothing (a stray pixel on the road).
LEAST_BLOB = 2e-4
# How far (share of the blob's longer side) the proposer may reach beyond a confirmed blob's convex hull:
# a mirror or bumper the confirmer cut off.
REACH = 0.05


class ConfirmedSegmenter:
    """``class_name`` as ``confirmer`` sees it, joined by what ``proposer`` sees of it within the confirmer's
    objects' outlines; classes ``("background", class_name)``, at the finer of the two models' resolutions."""

    def __init__(self, name: str, class_name: str, proposer: Segmenter, confirmer: Segmenter) -> None:
        self.name, self.classes = name, (BACKGROUND, class_name)
        self._proposer, self._confirmer = proposer, confirmer
        self._proposed = class_indices(proposer, [class_name])[0]
        self._confirmed = class_indices(confirmer, [class_name])[0]

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        sure = self._confirmer.predict(rgb)[..., self._confirmed]
        proposed = self._proposer.predict(rgb)[..., self._proposed]
        height, width = max(sure.shape, proposed.shape)
        sure, proposed = to_frame(sure, width, height), to_frame(proposed, width, height)
        return two_class(np.maximum(sure, proposed * outlines(sure > 0.5)))


def outlines(mask: np.ndarray) -> np.ndarray:
    """Float map: 1 inside the convex hull of each blob of ``mask`` (grown by :data:`REACH` of its size)."""
    out = np.zeros(mask.shape, np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    least = LEAST_BLOB * mask.size
    for blob in range(1, count):
        if stats[blob, cv2.CC_STAT_AREA] < least:
            continue
        points = cv2.findNonZero((labels == blob).astype(np.uint8))
        hull = np.zeros(mask.shape, np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(points), 1)
        grow = max(1, round(REACH * max(stats[blob, cv2.CC_STAT_WIDTH], stats[blob, cv2.CC_STAT_HEIGHT])))
        out |= cv2.dilate(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    return out.astype(np.float32)
