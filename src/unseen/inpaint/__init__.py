"""Photo fillers: complete the masked pixels of an RGB photo.

``get_filler(name).fill(image, mask)`` is the whole interface; ``register_filler`` adds more
(for instance a learned model) under a new name.
"""

from . import opencv, patch, smooth  # noqa: F401  (importing registers the fillers)
from .base import FILLERS, Filler, get_filler, list_fillers, register_filler

DEFAULT_FILLER = "patch"

__all__ = ["DEFAULT_FILLER", "FILLERS", "Filler", "get_filler", "list_fillers", "register_filler"]
