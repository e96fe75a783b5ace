"""unseen: make objects disappear from photos and videos.

The public API mirrors the ``unseen`` command, on paths or NumPy arrays: :func:`remove` erases masked or
segmented objects from an image, a video or a folder of frames; :func:`segment` finds people, cars and
other classes and renders masks, overlays, contours, cut-outs or collages; :func:`replace_background`
puts people on another background.
"""

from unseen.api import DEFAULT_DILATE, remove, replace_background, segment
from unseen.errors import InputError, UnseenWarning

__version__ = "0.1.0"
__all__ = ["DEFAULT_DILATE", "InputError", "UnseenWarning", "__version__", "remove", "replace_background",
           "segment"]
