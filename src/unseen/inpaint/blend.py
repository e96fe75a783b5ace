"""Blending a textured fill with a smooth one.

Exemplar fills copy real texture but can only reuse colours the photo already has: across a gradient
(sky, a lit wall) the right colour may exist nowhere, and the copy lands a few grey levels off in
large blotches. Diffusion fills get such gradients right and lack texture. The blend takes the slow
colour changes of the smooth fill and the fast detail of the textured one.
"""

from __future__ import annotations

import cv2
import numpy as np


def transfer_low_frequencies(textured: np.ndarray, smooth: np.ndarray, hole: np.ndarray,
                             sigma: float) -> np.ndarray:
    """Shift ``textured`` inside ``hole`` so that its blur at ``sigma`` matches the blur of ``smooth``.

    The correction is a normalised convolution over hole pixels only, so it does not fade towards the
    border of the hole (where both fills already agree with the photo).

    Parameters
    ----------
    textured, smooth : np.ndarray
        HxWx3 float32 fills of the same photo.
    hole : np.ndarray
        HxW bool, the filled pixels.
    sigma : float
        Gaussian scale in pixels; texture finer than about ``2 * sigma`` is left alone.
    """
    weight = hole.astype(np.float32)
    diff = (smooth - textured) * weight[..., None]
    num = cv2.GaussianBlur(diff, (0, 0), sigma)
    den = cv2.GaussianBlur(weight, (0, 0), sigma)
    out = textured.copy()
    out[hole] += num[hole] / np.maximum(den[hole], 1e-6)[:, None]
    return out
