"""The unit that flows through every pipeline: one picture plus what is needed to write it back."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np

from unseen.media.metadata import PhotoMetadata


@dataclasses.dataclass(frozen=True)
class Frame:
    """One frame of a clip, upright (as a viewer shows it), RGB ``uint8``; outputs may hold RGBA (``HxWx4``)
    frames, which image formats and video containers that keep transparency write with their alpha.

    ``name`` is the stem an output frame file gets; ``pts``, ``duration`` and ``time_base`` carry a video
    frame's timing so that variable and fractional frame rates survive processing untouched. ``original``
    is the file's own pixels where they hold more than ``image`` (an alpha channel, 16 bits per channel;
    read only for jobs that give them back, see :func:`unseen.media.image.restore`). ``palette`` (K x 3 RGB)
    says that ``image`` is an index image whose index k shows in ``palette[k - 1]``. ``metadata`` is a photo
file's EXIF and colour profile, written back into image outputs (read along with ``original``).
    """

    image: np.ndarray
    index: int
    name: str
    pts: int | None = None
    duration: int | None = None
    time_base: Fraction | None = None
    original: np.ndarray | None = dataclasses.field(default=None, repr=False)
    palette: np.ndarray | None = dataclasses.field(default=None, repr=False)
    metadata: PhotoMetadata | None = dataclasses.field(default=None, repr=False)

    def with_image(self, image: np.ndarray, palette: np.ndarray | None = None) -> Frame:
        """The same frame (name, timing, original) holding another picture, an index image if ``palette``."""
        return dataclasses.replace(self, image=image, palette=palette)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self.image.shape[1], self.image.shape[0]
