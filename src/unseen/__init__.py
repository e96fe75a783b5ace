"""unseen: make objects disappear from photos and videos.

The public API mirrors the ``unseen`` command, on paths or NumPy arrays: :func:`remove` erases masked or
segmented objects from an image, a video or a folder of frames; :func:`segment` finds people, cars and
other classes and renders masks, overlays, contours, cut-outs or collages; :func:`replace_background`
puts people on another background; :func:`cutout` cuts single objects out of photos as RGBA pictures;
:func:`train_segmenter`, :func:`evaluate_segmenter` and :func:`export_model`
train, measure and export your own segmenters; :func:`train_inpainter` trains a learned hole filler,
:func:`train_flow_completer` the video engine's flow completer;
:func:`evaluate_removal` scores a removal against the truth;
:func:`batch` runs a job over many files, resumably, on this machine or on Ray.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

from unseen.errors import InputError, UnseenWarning

if TYPE_CHECKING:
    from unseen.api import (
        DEFAULT_DILATE,
        batch,
        cutout,
        evaluate_removal,
        evaluate_segmenter,
        export_model,
        remove,
        replace_background,
        segment,
        train_flow_completer,
        train_inpainter,
        train_segmenter,
    )

__version__ = "0.1.0"
__all__ = ["DEFAULT_DILATE", "InputError", "UnseenWarning", "__version__", "batch", "cutout", "evaluate_removal",
           "evaluate_segmenter", "export_model", "remove", "replace_background", "segment",
           "train_flow_completer", "train_inpainter", "train_segmenter"]
_FROM_API = set(__all__) - {"InputError", "UnseenWarning", "__version__"}


def __getattr__(name: str):
    # The API (NumPy, OpenCV, PyAV) loads on first use: `python -m unseen` and the `unseen` command first
    # set up their signal handling, and `import unseen` alone stays quick.
    if name in _FROM_API:
        return getattr(importlib.import_module("unseen.api"), name)
    try:
        return importlib.import_module(f"unseen.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"unseen.{name}":
            raise
        raise AttributeError(f"module 'unseen' has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """``unseen.segment`` is the API's function although a subpackage has that name, as when the API was
    imported eagerly: loading the subpackage does not bind it over the function."""

    def __setattr__(self, name: str, value: object) -> None:
        if not (name in _FROM_API and isinstance(value, types.ModuleType)):
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
