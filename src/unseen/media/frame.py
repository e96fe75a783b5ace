"""The unit that flows through every pipeline: one picture plus what is needed to write it back."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np


@dataclasses.dataclass(frozen=True)
class Frame:
    """One frame of a clip, upright (as a viewer shows it), RGB ``uint8``; outputs may hold RGBA (``HxWx4``)
    frames, which image formats and video containers that keep transparency write with their alpha.

    ``name`` is the stem an output frame file gets; ``pts``, ``duration`` and ``time_base`` carry a video
    frame's timing so that variable and fractional frame rates survive processing untouched.
    """

    image: np.ndarray
    index: int
    name: str
    pts: int | None = None
    duration: int | None = None
    time_base: Fraction | None = None

    def with_image(self, image: np.ndarray) -> Frame:
        """The same frame (name, timing) holding another picture."""
        return dataclasses.replace(self, image=image)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self.image.shape[1], self.image.shape[0]
