"""The filler interface and the registry of named fillers.

A filler completes the masked pixels of one RGB photo. Every filler is reached by name through
:func:`get_filler`, so a learned model (ONNX, a trained network) slots in with :func:`register_filler`
without touching the code that calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import cv2
import numpy as np


@runtime_checkable
class Filler(Protocol):
    """Something that fills the holes of a photo.

    Attributes
    ----------
    name : str
        The registry name of the filler.
    """

    name: str

    def fill(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Fill the masked pixels of ``image``.

        Parameters
        ----------
        image : np.ndarray
            HxWx3 uint8 RGB photo.
        mask : np.ndarray
            HxW bool or integer array; non-zero marks the pixels to fill.

        Returns
        -------
        np.ndarray
            A new HxWx3 uint8 array, byte-identical to ``image`` outside the mask.
        """
        ...


# Open on purpose: other modules (and users) add learned fillers with register_filler().
FILLERS: dict[str, Callable[[], Filler]] = {}


def register_filler(name: str, factory: Callable[[], Filler]) -> None:
    """Make a filler reachable by ``name``.

    Parameters
    ----------
    name : str
        The name given to :func:`get_filler`; an existing entry of that name is replaced.
    factory : callable
        Called with no arguments to build the filler, so heavy models load only when asked for.
    """
    FILLERS[name] = factory


def list_fillers() -> list[str]:
    """Return the names of all registered fillers, sorted."""
    return sorted(FILLERS)


def get_filler(name: str) -> Filler:
    """Build the filler registered as ``name``, or the trained inpainter ``name`` points at (a run folder of
    ``unseen train inpainter`` or its ``.pt`` checkpoint).

    Raises
    ------
    ValueError
        If no filler has that name; the message lists the choices.
    """
    if name not in FILLERS:
        from unseen.inpaint.learned import LearnedFiller
        from unseen.train.checkpoint import is_checkpoint_path

        if is_checkpoint_path(name):  # a run of `unseen train inpainter`
            return LearnedFiller(name)
        raise ValueError(f"unknown filler {name!r}; choose one of: {', '.join(list_fillers())}, or a trained "
                         "inpainter (RUN or RUN/best.pt)")
    return FILLERS[name]()


def check_inputs(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a fill request and return a contiguous uint8 image and a bool mask.

    Raises
    ------
    ValueError
        If the image is not HxWx3 uint8 or the mask is not HxW of the same size.
    """
    image = np.asarray(image)
    mask = np.asarray(mask)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be HxWx3 uint8, got {image.shape} {image.dtype}")
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[..., 0]
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} does not match image {image.shape[:2]}")
    return np.ascontiguousarray(image), np.ascontiguousarray(mask != 0)


def paste(image: np.ndarray, mask: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """Take ``filled`` inside ``mask`` and ``image`` elsewhere, so known pixels stay byte-identical."""
    out = image.copy()
    out[mask] = _to_uint8(filled[mask])
    return out


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return values if values.dtype == np.uint8 else np.clip(np.rint(values), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Context:
    """How much of a photo around its holes a filler looks at (see :func:`hole_regions`).

    Parameters
    ----------
    share
        Margin around each group of holes, as a share of the group's longer side.
    min_margin
        Margin in pixels at least (small holes still need patches to copy from).
    max_area
        Fill the whole photo at once when the boxes would cover at least this share of it (nothing to
        gain from cropping, and whole-frame fills stay as they were).
    """

    share: float = 0.5
    min_margin: int = 64
    max_area: float = 0.5


# Holes are grouped on a grid of at most this many pixels (a box is exact to one grid cell).
_GROUPING_PIXELS = 1 << 20


def hole_regions(hole: np.ndarray, context: Context) -> list[tuple[slice, slice]]:
    """Boxes (row and column slices) that together hold every hole pixel with ``context`` around it.

    Each connected hole gets a margin of ``context.share`` of its longer side (``context.min_margin`` at
    least); holes whose boxes overlap are grouped, until no two boxes overlap, so each box holds its own
    holes and nothing of another's. One box, the whole photo, when the boxes would cover
    ``context.max_area`` of it or more.
    """
    h, w = hole.shape
    whole = [(slice(0, h), slice(0, w))]
    # Grouping looks at a coarse copy (a cell is a hole if any pixel under it is): a 48 MP mask needs no
    # 48 M labels, and a box grown by one cell only widens the margin.
    cell = 1
    while (h // cell) * (w // cell) > _GROUPING_PIXELS:
        cell *= 2
    small = hole if cell == 1 else _any_pool(hole, cell)
    _, _, stats, _ = cv2.connectedComponentsWithStats(small.view(np.uint8), connectivity=8)
    boxes = []
    for x, y, bw, bh, _ in stats[1:]:
        y0, x0, y1, x1 = y * cell, x * cell, min((y + bh) * cell, h), min((x + bw) * cell, w)
        margin = max(context.min_margin, int(np.ceil(context.share * max(y1 - y0, x1 - x0))))
        boxes.append([int(max(y0 - margin, 0)), int(max(x0 - margin, 0)), int(min(y1 + margin, h)),
                      int(min(x1 + margin, w))])
    boxes = _merge_overlapping(boxes)
    if sum((y1 - y0) * (x1 - x0) for y0, x0, y1, x1 in boxes) >= context.max_area * h * w:
        return whole
    return [(slice(y0, y1), slice(x0, x1)) for y0, x0, y1, x1 in boxes]


def _any_pool(mask: np.ndarray, cell: int) -> np.ndarray:
    """``mask`` shrunk by ``cell`` (a power of two): a cell is True if any pixel under it is."""
    h, w = mask.shape
    ph, pw = -(-h // cell) * cell, -(-w // cell) * cell
    padded = mask if (ph, pw) == (h, w) else np.pad(mask, ((0, ph - h), (0, pw - w)))
    return np.ascontiguousarray(padded.reshape(ph // cell, cell, pw // cell, cell).any(axis=(1, 3)))


def _merge_overlapping(boxes: list[list[int]]) -> list[list[int]]:
    """Replace boxes that overlap by the box around them, until none do."""
    boxes = sorted(boxes)
    merged = True
    while merged:
        merged = False
        out: list[list[int]] = []
        for box in boxes:
            for other in out:
                if box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]:
                    other[:] = [min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]),
                                max(box[3], other[3])]
                    merged = True
                    break
            else:
                out.append(box)
        boxes = out
    return boxes


def fill_hole(image: np.ndarray, mask: np.ndarray, complete: Callable[[np.ndarray, np.ndarray], np.ndarray],
              context: Context | None = None) -> np.ndarray:
    """The contract every filler keeps, around its own ``complete(image, hole)``: inputs checked, an empty
    mask returns a copy, and pixels outside the mask come back byte-identical.

    With a ``context``, ``complete`` sees one box around each group of holes at a time (see
    :func:`hole_regions`) rather than the whole photo: memory and time then follow the holes' surroundings,
    not the photo's size.
    """
    image, hole = check_inputs(image, mask)
    if not hole.any():
        return image.copy()
    whole = (slice(0, hole.shape[0]), slice(0, hole.shape[1]))
    regions = [whole] if context is None else hole_regions(hole, context)
    if regions == [whole]:
        return paste(image, hole, complete(image, hole))
    out = image.copy()
    for rows, cols in regions:
        part = hole[rows, cols]
        filled = complete(np.ascontiguousarray(image[rows, cols]), part)
        out[rows, cols][part] = _to_uint8(filled[part])
    return out
