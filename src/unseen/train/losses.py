"""Segmentation losses on logits: cross-entropy, focal, BCE, Dice, Jaccard and weighted sums of them.

Every loss takes ``logits`` (N x C x H x W, softmax over C gives the class probabilities the segmenters
return) and ``target`` (N x H x W int64 class indices, ``ignore_index`` where the label is void) and
leaves ignored pixels out entirely. The region losses (Dice, Jaccard) are computed over the whole batch
per class, then averaged over classes, as seeds 002-004 did. A class absent from the batch scores
1 / (1 + its probability summed over the batch's pixels): 1 only when it is predicted nowhere at all, so these
losses push every absent class towards exactly nothing. To fine-tune a many-class network on labels of a few of
its classes without pushing the others out, use ``ce`` (where its gradient on a class is that class's small
probability).

Names (``get_loss``): ``ce``, ``focal``, ``bce``, ``dice``, ``jaccard``, ``bce-dice`` and ``ce-dice``.
A sum takes its weights after a colon: ``bce-dice:1,0.3`` is seed 004's ``BCE + 0.3 * Dice``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from unseen.errors import InputError
from unseen.train.data.samples import IGNORE as IGNORE_INDEX

SMOOTH = 1.0  # the seeds' Laplace smoothing of Dice and IoU
FOCAL_GAMMA = 2.0

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _valid_one_hot(logits: torch.Tensor, target: torch.Tensor, ignore_index: int
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Softmax probabilities, one-hot target and the valid-pixel mask (N x 1 x H x W), void zeroed in all."""
    valid = (target != ignore_index).unsqueeze(1)
    probs = torch.softmax(logits.float(), 1) * valid
    one_hot = F.one_hot(target.masked_fill(~valid[:, 0], 0), logits.shape[1]).permute(0, 3, 1, 2)
    return probs, one_hot.to(probs.dtype) * valid, valid


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, ignore_index: int = IGNORE_INDEX,
                  class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy over valid pixels, each class's pixels weighted by ``class_weights``."""
    weight = None if class_weights is None else class_weights.to(logits.device, torch.float32)
    return F.cross_entropy(logits.float(), target, weight=weight, ignore_index=ignore_index)


def focal(logits: torch.Tensor, target: torch.Tensor, ignore_index: int = IGNORE_INDEX,
          class_weights: torch.Tensor | None = None, gamma: float = FOCAL_GAMMA) -> torch.Tensor:
    """Focal loss (Lin et al. 2017): cross-entropy scaled by ``(1 - p_true) ** gamma``, so pixels the
    network already gets right stop dominating a loss full of easy background."""
    weight = None if class_weights is None else class_weights.to(logits.device, torch.float32)
    per_pixel = F.cross_entropy(logits.float(), target, weight=weight, ignore_index=ignore_index, reduction="none")
    valid = target != ignore_index
    p_true = torch.exp(-F.cross_entropy(logits.float(), target, ignore_index=ignore_index, reduction="none"))
    scaled = (1.0 - p_true) ** gamma * per_pixel
    return scaled[valid].sum() / valid.sum().clamp(min=1)


def binary_cross_entropy(logits: torch.Tensor, target: torch.Tensor, ignore_index: int = IGNORE_INDEX,
                         class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Per-class binary cross-entropy between the softmax probabilities and the one-hot target (seed 003)."""
    probs, one_hot, valid = _valid_one_hot(logits, target, ignore_index)
    probs = probs.clamp(1e-6, 1 - 1e-6)
    per_class = -(one_hot * torch.log(probs) + (1 - one_hot) * torch.log1p(-probs)) * valid
    if class_weights is not None:
        per_class = per_class * class_weights.to(per_class).view(1, -1, 1, 1)
    return per_class.sum() / (valid.sum() * logits.shape[1]).clamp(min=1)


def _overlap(logits: torch.Tensor, target: torch.Tensor, ignore_index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per class over the batch: soft intersection and the sum of both areas."""
    probs, one_hot, _ = _valid_one_hot(logits, target, ignore_index)
    dims = (0, 2, 3)
    return (probs * one_hot).sum(dims), (probs + one_hot).sum(dims)


def dice(logits: torch.Tensor, target: torch.Tensor, ignore_index: int = IGNORE_INDEX,
         class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """1 - soft Dice, averaged over classes (seed 004's ``dice_mc_loss``)."""
    intersection, total = _overlap(logits, target, ignore_index)
    score = (2 * intersection + SMOOTH) / (total + SMOOTH)
    return 1.0 - _class_mean(score, class_weights)


def jaccard(logits: torch.Tensor, target: torch.Tensor, ignore_index: int = IGNORE_INDEX,
            class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """1 - soft Jaccard (IoU), averaged over classes (seed 002's loss)."""
    intersection, total = _overlap(logits, target, ignore_index)
    score = (intersection + SMOOTH) / (total - intersection + SMOOTH)
    return 1.0 - _class_mean(score, class_weights)


def _class_mean(score: torch.Tensor, class_weights: torch.Tensor | None) -> torch.Tensor:
    if class_weights is None:
        return score.mean()
    weights = class_weights.to(score)
    return (score * weights).sum() / weights.sum()


_SINGLE: dict[str, Callable[..., torch.Tensor]] = {
    "ce": cross_entropy, "focal": focal, "bce": binary_cross_entropy, "dice": dice, "jaccard": jaccard,
}
# A sum's parts and their default weights: seed 003 added BCE and Dice as they were.
_SUMS: dict[str, tuple[tuple[str, float], ...]] = {
    "bce-dice": (("bce", 1.0), ("dice", 1.0)),
    "ce-dice": (("ce", 1.0), ("dice", 1.0)),
}
LOSS_NAMES = (*_SINGLE, *_SUMS)


def get_loss(spec: str, ignore_index: int = IGNORE_INDEX, class_weights: Sequence[float] | None = None) -> Loss:
    """The loss named by ``spec`` (see the module docstring) as ``loss(logits, target) -> scalar``.

    Raises
    ------
    InputError
        Unknown name, or weights that are not numbers, one per part.
    """
    name, _, weight_text = spec.partition(":")
    weights_tensor = None if class_weights is None else torch.tensor(list(class_weights), dtype=torch.float32)
    if name in _SINGLE:
        if weight_text:
            raise InputError(f"loss {name!r} takes no weights; only sums do ({', '.join(_SUMS)})")
        parts = ((name, 1.0),)
    elif name in _SUMS:
        parts = _SUMS[name]
        if weight_text:
            parts = tuple(zip((part for part, _ in parts), _weights(weight_text, len(parts), spec), strict=True))
    else:
        raise InputError(f"unknown loss {name!r}; choose one of: {', '.join(LOSS_NAMES)}")

    def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return sum(w * _SINGLE[part](logits, target, ignore_index, weights_tensor) for part, w in parts)

    return loss


def _weights(text: str, count: int, spec: str) -> list[float]:
    try:
        weights = [float(w) for w in text.split(",")]
    except ValueError:
        weights = []
    if len(weights) != count or any(w < 0 for w in weights):
        raise InputError(f"loss {spec!r}: give {count} non-negative weights after the colon, e.g. "
                         f"{spec.partition(':')[0]}:{','.join(['1'] * count)}")
    return weights
