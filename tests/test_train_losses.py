"""Losses and metrics of segmenter training: what they reward, what they ignore, and bad names."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from unseen.errors import InputError
from unseen.train.losses import IGNORE_INDEX, LOSS_NAMES, get_loss
from unseen.train.metrics import ConfusionMatrix


def logits_for(labels: torch.Tensor, classes: int, confidence: float) -> torch.Tensor:
    """Logits that favour ``labels`` by ``confidence`` (0: a coin toss)."""
    return torch.nn.functional.one_hot(labels.clamp(max=classes - 1), classes).permute(0, 3, 1, 2).float() * confidence


@pytest.fixture
def target() -> torch.Tensor:
    labels = torch.zeros(2, 16, 16, dtype=torch.long)
    labels[:, 4:12, 4:12] = 1
    labels[1, :2] = 2
    return labels


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_every_loss_rewards_the_right_answer(name: str, target: torch.Tensor) -> None:
    loss = get_loss(name)
    right = loss(logits_for(target, 3, 5.0), target)
    unsure = loss(logits_for(target, 3, 0.5), target)
    wrong = loss(logits_for((target + 1) % 3, 3, 5.0), target)
    assert float(right) < float(unsure) < float(wrong)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_ignored_pixels_change_nothing(name: str, target: torch.Tensor) -> None:
    loss = get_loss(name)
    logits = torch.randn(2, 3, 16, 16)
    void = target.clone()
    void[:, :, :3] = IGNORE_INDEX
    changed = logits.clone()
    changed[:, :, :, :3] = torch.randn(2, 3, 16, 3) * 10  # wild guesses where the label is void
    assert torch.allclose(loss(logits, void), loss(changed, void), atol=1e-6)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_losses_give_gradients(name: str, target: torch.Tensor) -> None:
    logits = torch.randn(2, 3, 16, 16, requires_grad=True)
    get_loss(name)(logits, target).backward()
    assert logits.grad is not None and float(logits.grad.abs().sum()) > 0


def test_weights_of_a_sum_and_class_weights(target: torch.Tensor) -> None:
    logits = torch.randn(2, 3, 16, 16)
    bce, dice = get_loss("bce")(logits, target), get_loss("dice")(logits, target)
    assert torch.allclose(get_loss("bce-dice:1,0.3")(logits, target), bce + 0.3 * dice)
    # Weighting class 0 out of CE leaves only classes 1 and 2's pixels.
    weighted = get_loss("ce", class_weights=[0.0, 1.0, 1.0])(logits, target)
    kept = target != 0
    expected = torch.nn.functional.cross_entropy(logits.permute(0, 2, 3, 1)[kept], target[kept])
    assert torch.allclose(weighted, expected, atol=1e-6)


@pytest.mark.parametrize("spec", ["hinge", "dice:1", "bce-dice:1", "bce-dice:a,b", "bce-dice:1,-1"])
def test_bad_loss_names_are_refused_in_one_line(spec: str) -> None:
    with pytest.raises(InputError) as error:
        get_loss(spec)
    assert "\n" not in str(error.value)


def test_confusion_matrix_scores() -> None:
    truth = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 255, 255]])
    guess = np.array([[0, 0, 1, 0], [0, 0, 1, 1], [2, 1, 0, 1]])
    matrix = ConfusionMatrix(4)
    matrix.update(guess, truth)
    scores = matrix.summary(["a", "b", "c", "d"])
    assert scores["iou/a"] == pytest.approx(4 / 5)       # one "b" taken for "a"
    assert scores["iou/b"] == pytest.approx(3 / 5)       # one missed, one "c" taken for "b"
    assert scores["iou/c"] == pytest.approx(1 / 2)
    assert scores["dice/c"] == pytest.approx(2 / 3)
    assert math.isnan(scores["iou/d"])                   # never present, never predicted: no score
    assert scores["miou"] == pytest.approx((4 / 5 + 3 / 5 + 1 / 2) / 3)
    assert scores["accuracy"] == pytest.approx(8 / 10)   # void pixels are not counted


def test_named_classes_fewer_than_the_matrix_count_the_rest_as_misses() -> None:
    matrix = ConfusionMatrix(3)
    matrix.update(np.array([0, 2, 1, 1]), np.array([0, 0, 1, 1]))  # 2 = "no class of the data"
    scores = matrix.summary(["a", "b"])
    assert scores["iou/a"] == pytest.approx(1 / 2)
    assert scores["iou/b"] == pytest.approx(1.0)
    assert scores["accuracy"] == pytest.approx(3 / 4)
