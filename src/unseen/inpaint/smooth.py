"""Smooth membrane fill: the hole becomes the harmonic (Laplace) interpolation of its border.

Solved coarse to fine: a masked pyramid (push-pull) gives every hole pixel a first value, then a few
Jacobi sweeps per scale relax it towards the harmonic solution. Unlike Telea, whose fast-marching order
bends edges into odd shapes across big holes, the membrane is the smoothest surface through the
border, so it is a fair mean guess (what PSNR rewards) and a neutral start for the exemplar fill.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .base import fill_hole, register_filler

_CROSS = np.array([[0, 0.25, 0], [0.25, 0, 0.25], [0, 0.25, 0]], np.float32)


def membrane_fill(img: np.ndarray, hole: np.ndarray, sweeps: int = 30) -> np.ndarray:
    """Harmonic fill of ``hole`` in the float32 HxWxC ``img``; pixels outside the hole are kept.

    Parameters
    ----------
    img : np.ndarray
        HxWxC float32 image; hole pixels may hold anything.
    hole : np.ndarray
        HxW bool, True where to fill.
    sweeps : int
        Jacobi sweeps per scale; the coarse scales do the long-range work, so a few dozen suffice.
    """
    if not hole.any():
        return img.copy()
    if hole.all():
        return np.full_like(img, 128.0)
    region = membrane_region(hole)
    if region is not None:
        out = img.copy()
        out[region] = membrane_fill(img[region], hole[region], sweeps)
        return out
    h, w = hole.shape
    out = img.copy()
    # cv2.copyTo with a uint8 mask is several times faster than boolean indexing in the sweeps.
    hole_u8 = hole.astype(np.uint8)
    if min(h, w) > 4 and hole.mean() > 0:
        size = ((w + 1) // 2, (h + 1) // 2)
        known = (~hole).astype(np.float32)
        # Mask-weighted downsampling: a coarse pixel is known if any pixel under it is.
        wsum = cv2.resize(known, size, interpolation=cv2.INTER_AREA)
        acc = cv2.resize(img * known[..., None], size, interpolation=cv2.INTER_AREA)
        small_hole = wsum < 1e-6
        small = acc / np.maximum(wsum, 1e-6)[..., None]
        coarse = membrane_fill(small, small_hole, sweeps)
        up = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR).reshape(out.shape)
        cv2.copyTo(up, hole_u8, out)
    else:
        out[hole] = img[~hole].mean(0)
    for _ in range(sweeps):
        nb = cv2.filter2D(out, -1, _CROSS, borderType=cv2.BORDER_REPLICATE).reshape(out.shape)
        cv2.copyTo(nb, hole_u8, out)
    return out


def membrane_region(hole: np.ndarray) -> tuple[slice, slice] | None:
    """The box :func:`membrane_fill` solves on (the hole's box with a margin: only the hole's surroundings
    shape the solution), or None where it takes the whole image (the box would be most of it)."""
    ys, xs = np.nonzero(hole)
    margin = 8 + max(np.ptp(ys), np.ptp(xs)) // 4
    # (The ends may lie beyond the image: slicing stops at its edge.)
    rows = slice(int(max(ys.min() - margin, 0)), int(ys.max() + margin + 1))
    cols = slice(int(max(xs.min() - margin, 0)), int(xs.max() + margin + 1))
    if (rows.stop - rows.start) * (cols.stop - cols.start) < 0.8 * hole.size:
        return rows, cols
    return None


@dataclass
class MembraneFiller:
    """Harmonic (membrane) interpolation of the hole border; smooth and fast."""

    name: str = "membrane"
    sweeps: int = 30

    def fill(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Fill the masked pixels; see :class:`unseen.inpaint.Filler`."""
        return fill_hole(image, mask, lambda im, hole: membrane_fill(im.astype(np.float32), hole, self.sweeps))


register_filler("membrane", MembraneFiller)
