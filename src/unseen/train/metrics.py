"""Segmentation metrics from a confusion matrix: IoU and Dice per class and their means.

The matrix is accumulated over a whole split (every pixel of every image counts once), which is how
benchmark figures are reported, rather than averaging per-image scores that small objects would swing.
A class neither present in the truth nor predicted anywhere has no score (NaN) and is left out of the
means. Seed 004 reported the mean Dice over all its classes, background included: that is ``mdice``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from unseen.train.losses import IGNORE_INDEX


class ConfusionMatrix:
    """Counts of (true class, predicted class) over the pixels seen so far; void pixels are not counted."""

    def __init__(self, num_classes: int, ignore_index: int = IGNORE_INDEX) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.counts = np.zeros((num_classes, num_classes), np.int64)

    def update(self, predicted: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray) -> None:
        """Add a batch: predicted and true class indices of the same shape (void in ``target`` skipped)."""
        predicted = torch.as_tensor(predicted).reshape(-1).to("cpu", torch.int64)
        target = torch.as_tensor(target).reshape(-1).to("cpu", torch.int64)
        valid = target != self.ignore_index
        pairs = target[valid] * self.num_classes + predicted[valid]
        counts = torch.bincount(pairs, minlength=self.num_classes ** 2)
        self.counts += counts.reshape(self.num_classes, self.num_classes).numpy()

    def iou(self) -> np.ndarray:
        """Per class: true positives / (true + false positives + false negatives); NaN where all are 0."""
        tp, fp, fn = self._rates()
        with np.errstate(invalid="ignore", divide="ignore"):
            return tp / (tp + fp + fn)

    def dice(self) -> np.ndarray:
        """Per class: 2 TP / (2 TP + FP + FN); NaN where all are 0."""
        tp, fp, fn = self._rates()
        with np.errstate(invalid="ignore", divide="ignore"):
            return 2 * tp / (2 * tp + fp + fn)

    def accuracy(self) -> float:
        """Share of counted pixels whose class is right."""
        total = self.counts.sum()
        return float(np.trace(self.counts) / total) if total else math.nan

    def summary(self, classes: Sequence[str]) -> dict[str, float]:
        """``miou``, ``mdice``, ``accuracy`` and ``iou/NAME``, ``dice/NAME`` for each class.

        ``classes`` may name fewer classes than the matrix has: the extra last ones (say, predictions
        that stand for no class of the data) then count as misses of the named ones, never as classes.
        """
        iou, dice = self.iou()[:len(classes)], self.dice()[:len(classes)]
        scores = {"miou": _mean(iou), "mdice": _mean(dice), "accuracy": self.accuracy()}
        for name, i, d in zip(classes, iou, dice, strict=True):
            scores[f"iou/{name}"] = float(i)
            scores[f"dice/{name}"] = float(d)
        return scores

    def _rates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tp = np.diag(self.counts).astype(np.float64)
        return tp, self.counts.sum(0) - tp, self.counts.sum(1) - tp


def _mean(values: np.ndarray) -> float:
    present = values[~np.isnan(values)]
    return float(present.mean()) if present.size else math.nan
