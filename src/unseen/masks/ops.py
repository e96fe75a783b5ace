"""Operations on binary masks (``HxW`` bool arrays, True = remove)."""

from __future__ import annotations

import cv2
import numpy as np

from unseen.errors import InputError, warn


def binarize(mask: np.ndarray) -> np.ndarray:
    """Non-zero pixels (in any channel) become True."""
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask.max(axis=2)
    if mask.ndim != 2:
        raise InputError(f"a mask must be a 2-D image, got an array of shape {mask.shape}")
    return mask != 0


def dilate(mask: np.ndarray, px: int) -> np.ndarray:
    """Grow a mask by ``px`` pixels in every direction (a round structuring element)."""
    if px <= 0:
        return mask.astype(bool, copy=True)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def fit_to(mask: np.ndarray, size: tuple[int, int], name: str = "the mask") -> np.ndarray:
    """Scale a bool mask to ``size`` (width, height) when its aspect ratio matches, with a warning.

    A mask of another aspect ratio cannot belong to the frames: ``InputError`` names both sizes.
    """
    height, width = mask.shape
    if (width, height) == tuple(size):
        return mask
    if abs(width * size[1] - height * size[0]) > 0.01 * width * size[1]:
        raise InputError(f"{name} is {width}x{height} but the frames are {size[0]}x{size[1]} "
                         "(another aspect ratio); give a mask of the frame size")
    warn(f"{name} is {width}x{height}, the frames are {size[0]}x{size[1]}: scaling the mask to fit")
    return cv2.resize(mask.astype(np.uint8), tuple(size), interpolation=cv2.INTER_NEAREST).astype(bool)
