"""Segmenters: networks that say which pixels belong to which class, behind one interface.

:func:`get_segmenter` builds one by registry name (``unseen models list``) or from a model file;
:class:`Focus` gives a segmenter's wanted classes at frame size, with a zoomed second look. The models'
own modules (ESPNetv2 needs PyTorch, selfie LiteRT, ONNX onnxruntime) are imported on first use.
"""

from unseen.segment.base import Segmenter, default_segmenter, get_segmenter, list_segmenters, register_segmenter
from unseen.segment.focus import Focus

__all__ = ["Focus", "Segmenter", "default_segmenter", "get_segmenter", "list_segmenters", "register_segmenter"]
