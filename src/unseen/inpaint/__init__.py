"""Photo fillers: complete the masked pixels of an RGB photo.

``get_filler(name).fill(image, mask)`` is the whole interface; ``register_filler`` adds more
(for instance a learned model) under a new name.
"""

from unseen.zoo import PACKAGE_WEIGHTS

from . import opencv, patch, smooth  # noqa: F401  (importing registers the fillers)
from .base import FILLERS, Filler, get_filler, list_fillers, register_filler

DEFAULT_FILLER = "patch"
# The inpainter trained for unseen (`unseen train inpainter`; how: docs/benchmarks.md), as ``gan``.
SHIPPED_INPAINTER = PACKAGE_WEIGHTS / "inpainter.pt"


def _shipped_inpainter() -> Filler:
    from unseen.inpaint.learned import LearnedFiller  # torch loads only when it is asked for

    filler = LearnedFiller(SHIPPED_INPAINTER)
    filler.name = "gan"
    return filler


if SHIPPED_INPAINTER.is_file():
    register_filler("gan", _shipped_inpainter)

__all__ = ["DEFAULT_FILLER", "FILLERS", "SHIPPED_INPAINTER", "Filler", "get_filler", "list_fillers",
           "register_filler"]
