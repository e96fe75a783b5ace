"""One class from two segmenters: the proposer's mask counts inside the confirmer's objects' outlines."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unseen.segment.confirmed import ADD_MISSED, EXTEND, ConfirmedSegmenter


class Fixed:
    """A stand-in network that always answers with one probability map of one class ('car' unless told)."""

    def __init__(self, name: str, probability: np.ndarray, class_name: str = "car"):
        self.name, self.probability, self.classes = name, probability, ("background", class_name)

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        return np.stack([1 - self.probability, self.probability], axis=2)


def test_a_car_is_whole_where_one_model_misses_its_flanks_and_the_road_shadow_the_other_adds_is_not() -> None:
    proposed = np.zeros((60, 80), np.float32)  # coarser than the confirmer: the output takes the finer grid
    proposed[20:40, 10:40] = 0.9  # the close car, whole
    proposed[40:55, 0:50] = 0.8  # its hard shadow across the road, joined to it
    confirmed = np.zeros((120, 160), np.float32)
    confirmed[40:80, 20:80] = 0.9
    confirmed[55:65, 35:65] = 0.1  # its shiny flank, missed
    confirmed[50:56, 120:128] = 0.8  # a small distant car the proposer does not see
    car = ConfirmedSegmenter("both", "car", Fixed("proposer", proposed), Fixed("confirmer", confirmed))
    probability = car.predict(np.zeros((240, 320, 3), np.uint8))
    assert car.classes == ("background", "car") and probability.shape == (120, 160, 2)
    found = probability[..., 1] > 0.5
    assert found[40:80, 20:80].all() and found[50:56, 120:128].all()
    shadow = cv2.resize(proposed, (160, 120), interpolation=cv2.INTER_NEAREST) > 0.5
    shadow[:84] = False  # beyond the car's outline (and the few pixels it may reach past it)
    assert shadow.sum() > 1000 and not found[shadow].any()
    assert found.sum() < 1.1 * (40 * 60 + 6 * 8)



def test_where_both_see_a_car_its_outline_is_the_proposers_not_the_confirmers_spread_onto_the_road() -> None:
    proposed = np.zeros((120, 160), np.float32)
    proposed[40:80, 20:80] = 0.9
    confirmed = proposed.copy()
    confirmed[80:90, 10:90] = 0.8  # the road under the car, taken along
    car = ConfirmedSegmenter("both", "car", Fixed("proposer", proposed), Fixed("confirmer", confirmed))
    found = car.predict(np.zeros((120, 160, 3), np.uint8))[..., 1] > 0.5
    assert found[40:80, 20:80].all() and not found[80:90].any()
    # A confirmer's blob the proposer does not see stays as the confirmer saw it.
    alone = ConfirmedSegmenter("both", "car", Fixed("proposer", np.zeros_like(proposed)), Fixed("confirmer", confirmed))
    assert ((alone.predict(np.zeros((120, 160, 3), np.uint8))[..., 1] > 0.5) == (confirmed > 0.5)).all()


def test_kept_whole_the_proposers_people_stay_as_it_saw_them_and_the_small_ones_it_missed_are_added() -> None:
    proposed = np.zeros((120, 160), np.float32)
    proposed[20:100, 60:90] = 0.9  # a close person, whole
    confirmed = np.zeros((120, 160), np.float32)
    confirmed[50:100, 60:90] = 0.8  # the street model sees only his legs
    confirmed[40:52, 130:135] = 0.7  # and a distant pedestrian the proposer does not see
    # (the street model names them "pedestrian": the same class)
    people = ConfirmedSegmenter("both", "person", Fixed("proposer", proposed, "person"),
                                Fixed("confirmer", confirmed, "pedestrian"), ADD_MISSED)
    found = people.predict(np.zeros((120, 160, 3), np.uint8))[..., 1] > 0.5
    assert found[20:100, 60:90].all() and found[40:52, 130:135].all()
    assert found.sum() < 1.1 * (80 * 30 + 12 * 5)


def test_extended_a_persons_legs_the_proposer_dropped_are_added_and_an_animal_it_never_saw_is_not() -> None:
    proposed = np.zeros((120, 160), np.float32)
    proposed[20:60, 60:90] = 0.9  # the upper body of a person in an odd pose: the legs are missed
    confirmed = np.zeros((120, 160), np.float32)
    confirmed[18:100, 58:92] = 0.8  # the fine-tuned model sees the whole person
    confirmed[70:110, 110:150] = 0.7  # and takes a camel for a person: the proposer sees none of it
    people = ConfirmedSegmenter("both", "person", Fixed("proposer", proposed, "person"),
                                Fixed("confirmer", confirmed, "person"), EXTEND)
    found = people.predict(np.zeros((120, 160, 3), np.uint8))[..., 1] > 0.5
    assert found[18:100, 58:92].all() and not found[70:110, 110:150].any()
    # What the proposer alone sees stays: the confirmer adds, never takes away.
    both = people.predict(np.zeros((120, 160, 3), np.uint8))
    assert (both[..., 1] >= proposed - 1e-6).all()


def test_a_mode_that_does_not_exist_is_refused() -> None:
    one = Fixed("one", np.zeros((8, 8), np.float32))
    with pytest.raises(ValueError, match="extend"):
        ConfirmedSegmenter("both", "car", one, one, "union")
