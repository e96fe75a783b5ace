"""``unseen evaluate segmenter``: any segmenter's IoU and Dice per class on a labelled dataset.

The model is used as users use it (:class:`~unseen.segment.base.Segmenter`: its own input size, its
probabilities brought back to the image's size) and scored at full resolution. The model's classes are
matched to the data's by name or by a known synonym (``unseen.segment.classes.CLASS_ALIASES``:
CamVid's ``pedestrian`` is Cityscapes' ``person``), so a published model can be measured zero-shot on
data labelled another way; data classes the model does not know are reported and score 0.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from unseen.errors import InputError
from unseen.progress import progress
from unseen.segment import get_segmenter
from unseen.segment.base import BACKGROUND, Segmenter, to_frame
from unseen.segment.classes import match_classes
from unseen.train.data import OBJECT, open_segmentation_data
from unseen.train.metrics import ConfusionMatrix

SPLITS = ("val", "test", "train", "all")
UNMATCHED = -1


def label_map(segmenter: Segmenter, data_classes: tuple[str, ...]) -> np.ndarray:
    """For each model output channel, the data class it stands for (``UNMATCHED`` for none)."""
    matched = match_classes(segmenter.classes, data_classes)  # data index -> model index
    lookup = np.full(len(segmenter.classes), UNMATCHED, np.int64)
    for data_index, model_index in matched.items():
        lookup[model_index] = data_index
    return lookup


def _object_name(data: str | os.PathLike, segmenter: Segmenter) -> list[str] | None:
    """Binary masks name no class: score them as the model's one class, when it has one."""
    objects = [c for c in segmenter.classes if c != BACKGROUND]
    if len(objects) == 1 and open_segmentation_data(data).classes == (BACKGROUND, OBJECT):
        return objects
    return None


def evaluate_segmenter(data: str | os.PathLike, model: str, *, split: str = "val", classes: list[str] | None = None,
                       device: str = "cpu", show_progress: bool = False) -> dict[str, Any]:
    """Per-class IoU and Dice, their means, and the speed of ``model`` on a split of ``data``.

    Returns
    -------
    ``miou``, ``mdice``, ``accuracy``, ``iou/CLASS``, ``dice/CLASS``, plus ``images``, ``seconds_per_image``,
    ``model``, ``split`` and ``unmatched`` (data classes the model has no output for).
    """
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    segmenter = get_segmenter(model, device)
    dataset = open_segmentation_data(data, classes=classes or _object_name(data, segmenter))
    samples = dataset.train + dataset.val + dataset.test if split == "all" else getattr(dataset, split)
    if not samples:
        raise InputError(f"{data} has no {split} split; choose another with --split ({', '.join(SPLITS)})")
    lookup = label_map(segmenter, dataset.classes)
    unmatched = [c for i, c in enumerate(dataset.classes) if i not in lookup]
    if len(unmatched) == len(dataset.classes):
        raise InputError(f"model {model!r} knows none of the data's classes ({', '.join(dataset.classes)})")
    matrix = ConfusionMatrix(len(dataset.classes) + 1, dataset.ignore_index)  # last row/column: unmatched
    seconds = 0.0
    for sample in progress(samples, len(samples), "evaluate", show_progress):
        rgb, labels = sample.load()
        began = time.perf_counter()
        probs = segmenter.predict(rgb)
        seconds += time.perf_counter() - began
        predicted = lookup[to_frame(probs, rgb.shape[1], rgb.shape[0]).argmax(2)]
        matrix.update(np.where(predicted == UNMATCHED, len(dataset.classes), predicted), labels)
    scores = matrix.summary(dataset.classes)
    return {**scores, "images": len(samples), "seconds_per_image": seconds / len(samples), "model": model,
            "split": split, "unmatched": unmatched}

