"""Single objects cut out of a photo: each connected object of a wanted class as its own RGBA picture, cropped
to it, with soft edges. What ``unseen cutout`` writes, and the material of the inpainter's training pairs (an
object pasted on a clean background; seed 000 built its car set this way).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from unseen.render.alpha import refine_alpha
from unseen.render.cutout import cutout

# Objects are kept whole or not at all: one touching the photo's edge is cut off (pasted elsewhere, it would
# show a straight cut), one smaller than this many pixels is too small to be worth pasting.
DEFAULT_MIN_AREA = 3000
# Pixels of the photo kept around an object's box, so its soft edge is not clipped.
MARGIN = 4


@dataclasses.dataclass(frozen=True)
class FoundObject:
    """One object: its class (1..K, as in the labels), its box ``(x, y, w, h)`` in the photo, its mask
    (HxW bool, the photo's size) and its area in pixels."""

    label: int
    box: tuple[int, int, int, int]
    mask: np.ndarray = dataclasses.field(repr=False)
    area: int = 0

    @property
    def cut_off(self) -> bool:
        """Whether the object touches the photo's edge."""
        x, y, w, h = self.box
        height, width = self.mask.shape
        return x == 0 or y == 0 or x + w == width or y + h == height


def find_objects(labels: np.ndarray, min_area: int = DEFAULT_MIN_AREA, keep_cut_off: bool = False
                 ) -> list[FoundObject]:
    """The connected objects of each class of ``labels`` (HxW, 0 = none, k = class k), largest first,
    without those under ``min_area`` pixels and (unless ``keep_cut_off``) those touching the edge."""
    found = []
    for label in np.unique(labels[labels > 0]):
        count, parts, stats, _ = cv2.connectedComponentsWithStats((labels == label).astype(np.uint8), connectivity=8)
        for part in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[part])
            if area < min_area:
                continue
            item = FoundObject(int(label), (x, y, w, h), parts == part, area)
            if keep_cut_off or not item.cut_off:
                found.append(item)
    return sorted(found, key=lambda item: -item.area)


def object_cutout(rgb: np.ndarray, foreground: np.ndarray, item: FoundObject, margin: int = MARGIN) -> np.ndarray:
    """The object as an RGBA picture cropped to its box (plus ``margin``): soft edges from the class
    probability ``foreground`` (HxW float, refined along the photo's edges), nothing of other objects."""
    x, y, w, h = item.box
    height, width = item.mask.shape
    x0, y0 = max(x - margin, 0), max(y - margin, 0)
    x1, y1 = min(x + w + margin, width), min(y + h + margin, height)
    crop = (slice(y0, y1), slice(x0, x1))
    # The soft edge reaches a few pixels beyond the hard mask; other objects nearby stay out.
    near = cv2.dilate(item.mask[crop].view(np.uint8), np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)) > 0
    alpha = refine_alpha(np.ascontiguousarray(rgb[crop]), np.where(near, foreground[crop], 0).astype(np.float32))
    return cutout(np.ascontiguousarray(rgb[crop]), np.where(near, alpha, 0))
