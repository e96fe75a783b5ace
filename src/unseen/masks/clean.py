"""Tidying segmenter masks: specks away, holes closed, optionally only the largest object."""

from __future__ import annotations

import cv2
import numpy as np


def _components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Component labels (0 = outside) and each component's area (index 0 unused)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return labels, stats[:, cv2.CC_STAT_AREA]


def remove_small(mask: np.ndarray, min_area: int) -> np.ndarray:
    """``mask`` without its connected components smaller than ``min_area`` pixels."""
    if min_area <= 1 or not mask.any():
        return mask.astype(bool, copy=True)
    labels, areas = _components(mask)
    big = areas >= min_area
    big[0] = False
    return big[labels]


def fill_holes(mask: np.ndarray, max_area: int) -> np.ndarray:
    """``mask`` with the enclosed holes of at most ``max_area`` pixels filled.

    A hole is a component of the outside that does not touch the frame's border; large ones are kept,
    since an arm on a hip really does enclose background.
    """
    if max_area <= 0 or not mask.any():
        return mask.astype(bool, copy=True)
    labels, areas = _components(~mask)
    small = areas <= max_area
    small[0] = False
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    small[border] = False
    return mask | small[labels]


def keep_largest(mask: np.ndarray) -> np.ndarray:
    """Only the largest connected component of ``mask``."""
    if not mask.any():
        return mask.astype(bool, copy=True)
    labels, areas = _components(mask)
    areas[0] = 0
    return labels == int(np.argmax(areas))


def clean_labels(labels: np.ndarray, min_area: int, max_hole: int, largest: bool = False) -> np.ndarray:
    """Each class of a label image (0 = none) tidied by :func:`remove_small`, :func:`fill_holes` and
    optionally :func:`keep_largest`; filled holes take the class that encloses them."""
    cleaned = np.zeros_like(labels)
    # Worked on the objects' bounding box with a pixel of the outside around it: the same components, and a hole
    # that reaches the frame's border still reaches the box's, in a fraction of the frame's pixels (a person in
    # an 854x480 frame: a third of the time).
    rows, cols = np.flatnonzero(labels.any(axis=1)), np.flatnonzero(labels.any(axis=0))
    if not len(rows):
        return cleaned
    box = (slice(max(rows[0] - 1, 0), rows[-1] + 2), slice(max(cols[0] - 1, 0), cols[-1] + 2))
    crop, tidied = labels[box], cleaned[box]
    for k in np.unique(crop[crop > 0]):
        mask = remove_small(crop == k, min_area)
        if largest:
            mask = keep_largest(mask)
        mask = fill_holes(mask, max_hole)
        tidied[mask & (tidied == 0)] = k
    return cleaned
