"""unseen: make objects disappear from photos and videos.

The public API mirrors the ``unseen`` command: :func:`remove` erases masked objects from an image, a
video or a folder of frames, on paths or NumPy arrays.
"""

from unseen.api import DEFAULT_DILATE, remove
from unseen.errors import InputError, UnseenWarning

__version__ = "0.1.0"
__all__ = ["DEFAULT_DILATE", "InputError", "UnseenWarning", "__version__", "remove"]
