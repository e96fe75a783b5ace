"""Negative images: photos or frames that hold none of the classes, so every pixel is background.

A segmenter trained only on street scenes has never been told that a cow, the sea or a grass field is not
a car; images of such scenes with no labels at all teach it (Ultralytics calls them background images).
They are split train/val like the labelled data (validation then counts what they wrongly call a class)
and capped at :data:`MAX_SHARE` of the training images, evenly spaced through the folders, so a few long
clips cannot drown the labelled data in near-identical frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unseen.media.frames import list_images
from unseen.media.image import image_size
from unseen.train.data.samples import Sample, SegmentationData
from unseen.train.data.splits import random_split

MAX_SHARE = 0.25  # of the training images, after adding them


@dataclass(frozen=True)
class _Background:
    """The labels of a negative image: background everywhere, at the image's size."""

    image: Path

    @property
    def where(self) -> str:
        return f"{self.image} (negative)"

    def read(self) -> np.ndarray:
        width, height = image_size(self.image)
        return np.zeros((height, width), np.uint8)


def negative_images(folders: Sequence[str | Path]) -> list[Path]:
    """The images in ``folders`` (each a folder of images, e.g. a clip's frames); ``InputError`` if one has none."""
    return [image for folder in folders for image in list_images(folder)]


def _evenly(items: list, count: int) -> list:
    if count >= len(items):
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, count).round().astype(int)]


def add_negatives(data: SegmentationData, folders: Sequence[str | Path], val_ratio: float, seed: int) -> int:
    """Add the images of ``folders`` to ``data`` as all-background samples; return how many train on.

    Raises
    ------
    InputError
        A folder that does not exist or holds no images, or a single image in all (none would be left to
        train on after the split).
    """
    images = negative_images(folders)
    samples = {f"negative:{image}": Sample(f"negative:{image}", image, _Background(image)) for image in images}
    train, val = random_split(list(samples), val_ratio, seed, Path(str(folders[0])))
    cap = max(1, round(MAX_SHARE / (1 - MAX_SHARE) * len(data.train)))
    train = _evenly(train, cap)
    val = _evenly(val, max(1, round(cap * val_ratio / (1 - val_ratio))))
    data.train += [samples[name] for name in train]
    data.val += [samples[name] for name in val]
    data.format += f"; {len(train)} train + {len(val)} val negative images (of {len(images)})"
    return len(train)
