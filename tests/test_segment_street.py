"""The default car model on a sunny street with hard shadows: the road must not become "car" (issue 13).

A real CamVid frame (test split, never trained on) with every car labelled: whatever the default model
calls car away from the labelled cars is road, pavement or building that ``remove --target car`` would
erase.
"""

from __future__ import annotations

import numpy as np
import pytest

import unseen
from unseen.masks import dilate
from unseen.masks.segmented import segment_frames
from unseen.media import Frame, read_gray, read_image
from unseen.segment.base import default_segmenter, get_segmenter
from unseen.segment.focus import Focus

from conftest import shared_path

# Low sun behind the camera: parked cars on the left, their and the houses' hard shadows across the road.
# The old default (ESPNetv2-PASCAL s=1 at 256 px) called 6.7 % of this frame car outside the cars; the
# default since 2026-12-01 (unseen-car: the same network confirmed by our street model) 1.2 %.
SHADOW_FRAME = "0001TP_010230"
CAR, PEDESTRIAN, BICYCLIST, VOID = 8, 9, 10, 11  # CamVid class indices (seg-street/classes.json)
# Dusk, a parked car ahead: two people on the pavement on the left, about 60 px tall, whom the person default does
# not see at all.
PEDESTRIANS_FRAME = "0001TP_009450"
EDGE_PX = 2  # hand-drawn outlines: a mask this close to a car is neither right nor wrong
MAX_WRONG = 0.02  # the target: no frame with more than 2 % of the image wrongly "car"


@pytest.fixture(scope="module", autouse=True)
def setup_models(shared_models_one_thread):
    """Every test here reads ../shared/models (see conftest.py)."""


def test_default_car_model_leaves_the_shadowed_road_alone_and_finds_the_parked_cars():
    folder = shared_path("data", "train", "seg-street")
    rgb = read_image(folder / "images" / f"{SHADOW_FRAME}.jpg")
    labels = read_gray(folder / "masks" / f"{SHADOW_FRAME}.png")
    cars = labels == CAR
    focus = Focus(get_segmenter(default_segmenter(["car"])), ["car"])
    _, found = next(segment_frames([Frame(rgb, 0, SHADOW_FRAME)], focus, smoothing=0))
    wrong = found.mask & ~dilate(cars, EDGE_PX) & (labels != VOID)
    assert wrong.mean() < MAX_WRONG, f"{100 * wrong.mean():.1f} % of the frame wrongly car"
    assert (found.mask & cars).sum() > 0.5 * cars.sum()  # and not by finding nothing


def test_the_street_car_model_ships_inside_the_package_and_leaves_the_shadowed_road_alone(tmp_path, monkeypatch):
    """No ../shared/models, no download: `--model unseen-street-car` runs on our own trained weights."""
    monkeypatch.setenv("UNSEEN_MODELS", str(tmp_path))  # an empty model folder
    folder = shared_path("data", "train", "seg-street")
    rgb = read_image(folder / "images" / f"{SHADOW_FRAME}.jpg")
    labels = read_gray(folder / "masks" / f"{SHADOW_FRAME}.png")
    cars = labels == CAR
    found = unseen.segment(rgb, classes="car", model="unseen-street-car") > 0
    wrong = found & ~dilate(cars, EDGE_PX) & (labels != VOID)
    assert wrong.mean() < MAX_WRONG, f"{100 * wrong.mean():.1f} % of the frame wrongly car"
    assert found[cars].mean() > 0.5


def test_the_person_pair_finds_the_small_pedestrians_the_person_default_misses():
    folder = shared_path("data", "train", "seg-street")
    rgb = read_image(folder / "images" / f"{PEDESTRIANS_FRAME}.jpg")
    labels = read_gray(folder / "masks" / f"{PEDESTRIANS_FRAME}.png")
    people = labels == PEDESTRIAN
    default = unseen.segment(rgb, classes="person") > 0
    pair = unseen.segment(rgb, classes="person", model="unseen-person") > 0
    assert default[people].mean() < 0.1  # (what this frame is here for)
    assert pair[people].mean() > 0.5
    wrong = pair & ~dilate(people, EDGE_PX) & ~np.isin(labels, (BICYCLIST, VOID))
    assert wrong.mean() < 0.01, f"{100 * wrong.mean():.2f} % of the frame wrongly person"
