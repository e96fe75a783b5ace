"""Segmenters: networks that say which pixels belong to which class.

ESPNetv2 (:mod:`unseen.segment.espnetv2`) needs PyTorch; it is imported on first use, so that
``import unseen.segment`` stays cheap and works where only the other back-ends are installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from unseen.segment.espnetv2 import (
        CITYSCAPES_CLASSES,
        PASCAL_CLASSES,
        ESPNetv2Segmenter,
        load_espnetv2,
        predict_labels,
        predict_probs,
    )

__all__ = ["CITYSCAPES_CLASSES", "PASCAL_CLASSES", "ESPNetv2Segmenter", "load_espnetv2", "predict_labels",
           "predict_probs"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from unseen.segment import espnetv2

        return getattr(espnetv2, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
