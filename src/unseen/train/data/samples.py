"""What training reads: :class:`Sample` (an image and where its labels come from), :class:`SegmentationData`
(classes and splits) and :class:`SegmentationDataset` (samples as tensors for a DataLoader)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from unseen.errors import InputError
from unseen.media.image import image_size, read_image
from unseen.nets.espnetv2 import IMAGENET_MEAN, IMAGENET_STD

IGNORE = 255


class _Target(Protocol):
    """Where a sample's labels come from: a mask file (:mod:`.masks`) or COCO shapes (:mod:`.coco`)."""

    @property
    def where(self) -> str: ...  # the file (and entry) named in messages

    def read(self) -> np.ndarray: ...  # HxW uint8 labels


@dataclass(frozen=True)
class Sample:
    """One training pair: an image file and where its labels come from (a mask file or COCO shapes).

    ``relabel`` (256 entries) maps the data's labels to the kept classes when ``classes=`` chose some.
    """

    name: str
    image: Path
    target: _Target
    relabel: tuple[int, ...] | None = None

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """The image (``HxWx3`` RGB ``uint8``) and its labels (``HxW`` ``uint8``: class index, 255 ignore)."""
        rgb = read_image(self.image)
        labels = self.labels()
        self._check_size(rgb.shape[1], rgb.shape[0], labels)
        return rgb, labels

    def check(self) -> None:
        """Read the labels and the image's header; ``InputError`` on anything that :meth:`load` would hit."""
        labels = self.labels()
        self._check_size(*image_size(self.image), labels)

    def labels(self) -> np.ndarray:
        """The labels (``HxW`` ``uint8``), mapped to the kept classes."""
        labels = self.target.read()
        return labels if self.relabel is None else np.asarray(self.relabel, np.uint8)[labels]

    def _check_size(self, width: int, height: int, labels: np.ndarray) -> None:
        if labels.shape != (height, width):
            raise InputError(f"{self.target.where}: labels are {labels.shape[1]}x{labels.shape[0]} but the image "
                             f"{self.image} is {width}x{height}; masks must match their images pixel for pixel")


@dataclass(kw_only=True)
class SegmentationData:
    """Training data, opened and checked: class names, the splits, and what was found (for the log)."""

    classes: tuple[str, ...]
    ignore_index: int = IGNORE
    train: list[Sample]
    val: list[Sample]
    test: list[Sample] = field(default_factory=list)
    format: str = ""
    notes: list[str] = field(default_factory=list)

    def check(self, limit: int | None = None) -> None:
        """Read every train and val pair (masks fully, images' headers); ``InputError`` on the first bad one.

        Parameters
        ----------
        limit
            Check at most this many pairs (all when None).
        """
        for sample in (self.train + self.val)[:limit]:
            sample.check()


class SegmentationDataset(torch.utils.data.Dataset):
    """Samples as ``(3xHxW float32 ImageNet-normalised image, HxW int64 labels)`` after ``transform``.

    Parameters
    ----------
    samples
        The pairs to serve (``SegmentationData.train`` or ``.val``).
    transform
        An albumentations transform called as ``transform(image=rgb, mask=labels)`` (see
        :mod:`unseen.train.augment`), or None to serve the pairs as they are.
    """

    def __init__(self, samples: Sequence[Sample], transform: Callable[..., dict] | None = None) -> None:
        self.samples = list(samples)
        self.transform = transform
        self._mean = np.asarray(IMAGENET_MEAN, np.float32) * 255
        self._std = np.asarray(IMAGENET_STD, np.float32) * 255

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rgb, labels = self.samples[index].load()
        if self.transform is not None:
            out = self.transform(image=rgb, mask=labels)
            rgb, labels = out["image"], out["mask"]
        x = (rgb.astype(np.float32) - self._mean) / self._std
        return (torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))),
                torch.from_numpy(labels.astype(np.int64)))
