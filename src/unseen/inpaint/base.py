"""The filler interface and the registry of named fillers.

A filler completes the masked pixels of one RGB photo. Every filler is reached by name through
:func:`get_filler`, so a learned model (ONNX, a trained network) slots in with :func:`register_filler`
without touching the code that calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

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
    """Build the filler registered as ``name``.

    Raises
    ------
    ValueError
        If no filler has that name; the message lists the choices.
    """
    if name not in FILLERS:
        raise ValueError(f"unknown filler {name!r}; choose one of: {', '.join(list_fillers())}")
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
    out[mask] = np.clip(np.rint(filled[mask]), 0, 255).astype(np.uint8) if filled.dtype != np.uint8 \
        else filled[mask]
    return out


def fill_hole(image: np.ndarray, mask: np.ndarray, complete: Callable[[np.ndarray, np.ndarray], np.ndarray]
              ) -> np.ndarray:
    """The contract every filler keeps, around its own ``complete(image, hole)``: inputs checked, an empty
    mask returns a copy, and pixels outside the mask come back byte-identical."""
    image, hole = check_inputs(image, mask)
    if not hole.any():
        return image.copy()
    return paste(image, hole, complete(image, hole))
