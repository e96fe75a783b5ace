"""unseen: make objects disappear from photos and videos.

The public API mirrors the ``unseen`` command, on paths or NumPy arrays: :func:`remove` erases masked or
segmented objects from an image, a video or a folder of frames; :func:`segment` finds people, cars and
other classes and renders masks, overlays, contours, cut-outs or collages; :func:`replace_background`
puts people on another background; :func:`train_segmenter`, :func:`evaluate_segmenter` and :func:`export_model`
train, measure and export your own segmenters; :func:`evaluate_removal` scores a removal against the truth.
"""

from unseen.api import (
    DEFAULT_DILATE,
    evaluate_removal,
    evaluate_segmenter,
    export_model,
    remove,
    replace_background,
    segment,
    train_segmenter,
)
from unseen.errors import InputError, UnseenWarning

__version__ = "0.1.0"
__all__ = ["DEFAULT_DILATE", "InputError", "UnseenWarning", "__version__", "evaluate_removal", "evaluate_segmenter",
           "export_model", "remove", "replace_background", "segment", "train_segmenter"]
