"""Masks: where they come from (files, folders, videos, arrays) and what is done to them."""

from unseen.masks.ops import binarize, dilate, fit_to
from unseen.masks.sources import masks_for

__all__ = ["binarize", "dilate", "fit_to", "masks_for"]
