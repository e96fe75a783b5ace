"""Objects pointed at (``--box``, ``--point``) and followed through a video: prompts, following, removal."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

import unseen
from test_cli import run
from unseen.errors import InputError
from unseen.media import Frame, open_clip, read_gray, write_image
from unseen.segment.base import get_segmenter
from unseen.track import (
    PERSON_SEGMENTER,
    PROMPT_SEGMENTER,
    Prompt,
    check_prompts,
    nanotrack_files,
    parse_prompt,
    parse_prompts,
    prompted_labels,
    track_objects,
)
from unseen.track.appearance import Appearance, look_at, network_of
from unseen.track.first import context_box, first_mask, first_mask_for
from unseen.track.follow import MOTION_WEIGHT, MOTION_YES, _bin_index, _histograms, motion_odds

from conftest import make_video, shared_path, textured_frame

SIZE = (192, 144)
FRAMES = 30
BAND = (92, 128)  # columns of the occluder the object passes behind (hidden about frames 17-21)
RADIUS = 16


@pytest.fixture(scope="module")
def models():
    """The NanoTrack and segmenter weights from ../shared/models (fails under CI=true when missing)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UNSEEN_MODELS", str(shared_path("models")))
        yield


def scene(index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame ``index`` of a striped ball moving right over a still texture, behind a grey band (the occluder);
    returns the frame, the ball's visible mask and the background without the ball."""
    width, height = SIZE
    y, x = np.mgrid[0:height, 0:width]
    background = textured_frame(0, width, height)
    band = (x >= BAND[0]) & (x < BAND[1])
    background[band] = (70, 90, 110)
    cx, cy = 30 + 4.5 * index, 60 + 10 * np.sin(index / 5)
    ball = (x - cx) ** 2 + (y - cy) ** 2 <= RADIUS ** 2
    frame = background.copy()
    frame[ball] = (40, 60, 230)  # blue and cyan stripes: the texture has no blue
    frame[ball & (((x - cx + y - cy) // 5) % 2 == 0)] = (60, 230, 220)
    frame[band] = background[band]
    return frame, ball & ~band, background


def clip() -> tuple[list[Frame], list[np.ndarray]]:
    scenes = [scene(i) for i in range(FRAMES)]
    return [Frame(s[0], i, f"{i:05d}") for i, s in enumerate(scenes)], [s[1] for s in scenes]


def box_of(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def ball_left(image: np.ndarray, where: np.ndarray) -> float:
    """Share of the pixels ``where`` the ball was that are still the ball's blue or cyan."""
    return float((image[where][:, 2] > 150).mean())


def visible(truth: list[np.ndarray], share: float = 0.9) -> list[int]:
    """Frames where most of the ball shows."""
    full = truth[0].sum()
    return [i for i, t in enumerate(truth) if t.sum() >= share * full]


# -- prompts ---------------------------------------------------------------------------------------------

def test_prompts_parse_from_the_command_and_the_api_forms() -> None:
    assert parse_prompt("box", "10,20,30,40") == Prompt("box", (10, 20, 30, 40), 0)
    assert parse_prompt("box", " 10, 20,30,40 @ 7") == Prompt("box", (10, 20, 30, 40), 7)
    assert parse_prompt("point", "5,6@3") == Prompt("point", (5, 6), 3)
    assert parse_prompts((10, 20, 30, 40), frame=12) == [Prompt("box", (10, 20, 30, 40), 12)]
    assert parse_prompts(["1,2,8,8@1", (3, 4, 8, 8)], [(5, 6)], frame=2) == [
        Prompt("box", (1, 2, 8, 8), 1), Prompt("box", (3, 4, 8, 8), 2), Prompt("point", (5, 6), 2)]
    assert parse_prompts() == []


@pytest.mark.parametrize("kind,text,words", [
    ("box", "10,20,30", "X,Y,W,H"), ("box", "a,b,c,d", "X,Y,W,H"), ("box", "10,20,0,5", "positive"),
    ("point", "1,2,3", "X,Y"), ("box", "1,2,8,8@-1", "0 or more"), ("point", (1, 2, 3), "2 numbers")])
def test_malformed_prompts_are_refused(kind: str, text, words: str) -> None:
    with pytest.raises(InputError, match=words):
        parse_prompt(kind, text)


def test_prompts_outside_the_frame_or_past_the_end_are_refused_and_boxes_cut_to_the_frame() -> None:
    assert check_prompts([Prompt("box", (-10, 100, 50, 100), 0)], (160, 120), 5) == [
        Prompt("box", (0, 100, 40, 20), 0)]
    with pytest.raises(InputError, match="outside the 160x120 frame"):
        check_prompts([Prompt("box", (200, 10, 20, 20), 0)], (160, 120), 5)
    with pytest.raises(InputError, match="outside"):
        check_prompts([Prompt("point", (10, 120), 0)], (160, 120), 5)
    with pytest.raises(InputError, match="frame 5 is past the end; the input has 5 frames"):
        check_prompts([Prompt("box", (10, 10, 20, 20), 5)], (160, 120), 5)


# -- following -------------------------------------------------------------------------------------------

def panning_flow(moving: np.ndarray, own: tuple[float, float]) -> np.ndarray:
    """A 96x128 flow: the camera pans and zooms a little; the ``moving`` pixels move by ``own`` instead."""
    y, x = np.mgrid[0:96, 0:128].astype(np.float32)
    flow = np.dstack([2 + 0.01 * (x - 64), 0.5 + 0.01 * (y - 48)]).astype(np.float32)
    flow[moving] = own
    return flow


def test_what_moves_with_the_object_counts_for_it_and_what_moves_with_the_camera_against_it() -> None:
    y, x = np.mgrid[0:96, 0:128]
    body = (np.abs(x - 50) < 14) & (np.abs(y - 48) < 20)
    wheel = (np.abs(x - 74) < 8) & (np.abs(y - 60) < 8)  # a part the carried mask lost, moving along
    unsure = np.zeros(body.shape, bool)
    odds = motion_odds(panning_flow(body | wheel, (-4.0, 1.0)), body.astype(np.float32), unsure)
    yes = MOTION_YES * MOTION_WEIGHT
    assert odds[body].mean() > 0.9 * yes and odds[wheel].mean() > 0.9 * yes
    background = ~cv2.dilate((body | wheel).astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert odds[background].max() < -0.9 * MOTION_WEIGHT
    # An object carried along with the background (a parked car under a pan) says nothing by its motion.
    still = panning_flow(np.zeros(body.shape, bool), (0.0, 0.0))
    assert not motion_odds(still, body.astype(np.float32), unsure).any()
    # Nor does a flow that failed its round trip.
    unsure[:, 100:] = True
    assert not motion_odds(panning_flow(body, (-4.0, 1.0)), body.astype(np.float32), unsure)[:, 100:].any()


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a positive pixel scores above a negative one (ties count half)."""
    order = np.argsort(score, kind="stable")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(len(score))
    count = positive.sum()
    return float((ranks[positive].sum() - count * (count - 1) / 2) / (count * (len(score) - count)))


def training_frame(clip: str, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame ``index`` of a masked clip of ../shared/data/train/videos (RGB) and its object's mask."""
    folder = shared_path("data", "train", "videos", clip)
    rgb = np.ascontiguousarray(cv2.imread(str(folder / f"{index:05d}.jpg"))[..., ::-1])
    return rgb, read_gray(folder / "masks" / f"{index:05d}.png") > 0


@pytest.mark.usefixtures("models")
def test_the_look_tells_a_rider_from_his_surroundings_where_colours_cannot() -> None:
    """A motocross rider 12 frames after the prompt: his patches' nearest neighbours among the first frame's
    tell him from the sky and dust around him; the colour models learnt on the same frame barely can."""

    (first, first_truth), (later, truth) = training_frame("motocross-jump", 0), training_frame("motocross-jump", 12)
    network = network_of(get_segmenter("espnetv2-pascal"))
    assert network is not None
    height, width = truth.shape
    x0, y0, x1, y1 = context_box(box_of(first_truth), width, height, 0.5, 16)
    look = Appearance(network, first[y0:y1, x0:x1].copy(), first_truth[y0:y1, x0:x1])
    x0, y0, x1, y1 = context_box(box_of(truth), width, height, 0.5, 16)
    crop = later[y0:y1, x0:x1].copy()
    features, _ = look_at(network, crop)
    looked = look.odds(features, (x1 - x0, y1 - y0)).ravel()
    fg, bg = _histograms(first, first_truth, box_of(first_truth))
    index = _bin_index(crop)
    coloured = np.log((fg[index] + 1e-4) / (bg[index] + 1e-4)).ravel()
    rider = truth[y0:y1, x0:x1].ravel()
    assert auc(looked, rider) > 0.9 > auc(coloured, rider) + 0.1


@pytest.mark.usefixtures("models")
def test_a_box_around_a_dancer_takes_her_and_not_the_seated_crowd_behind_her() -> None:
    """The crowd is "person" too and fills the top of the box; the dancer is what spans it."""

    rgb, dancer = training_frame("dance-twirl", 0)
    mask, classes = first_mask(rgb, Prompt("box", box_of(dancer), 0), get_segmenter("espnetv2-pascal"))
    assert classes and iou(mask, dancer) > 0.6
    grown = cv2.dilate(dancer.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert (mask & ~grown).sum() < 0.3 * mask.sum()  # little of the crowd


@pytest.mark.usefixtures("models")
def test_a_box_around_a_horse_and_its_rider_takes_both() -> None:
    """The rider fills a twentieth of the box: too little to be its object, but a user boxing a horse and rider
    wants both gone (without the rider the first mask missed a quarter of the object)."""

    rgb, both = training_frame("horsejump-high", 0)
    segmenter = get_segmenter("espnetv2-pascal")
    mask, classes = first_mask(rgb, Prompt("box", box_of(both), 0), segmenter)
    assert {segmenter.classes[c] for c in classes} == {"horse", "person"}
    assert (mask & both).sum() > 0.85 * both.sum() and iou(mask, both) > 0.75


@pytest.mark.usefixtures("models")
def test_a_box_around_an_animal_no_class_names_takes_it_where_its_colours_are_the_grounds() -> None:
    """A giraffe on dirt and grass: no class of the segmenter names it and GrabCut, on colours, keeps nothing of
    it; the network's features tell it from what is around the box. (The photo's mask is a loose outline.)"""
    from unseen.track.first import _grabcut

    folder = shared_path("data", "photos", "objects")
    rgb = np.ascontiguousarray(cv2.imread(str(folder / "images" / "10.png"))[..., ::-1])
    giraffe = read_gray(folder / "masks" / "10.png") > 127
    box = box_of(giraffe)
    mask, classes = first_mask(rgb, Prompt("box", box, 0), get_segmenter("espnetv2-pascal"))
    height, width = giraffe.shape
    x0, y0, x1, y1 = context_box(box, width, height)
    by_colour = _grabcut(rgb[y0:y1, x0:x1], (box[0] - x0, box[1] - y0, box[2], box[3]))
    assert classes == [] and by_colour.sum() < 0.01 * box[2] * box[3]
    assert iou(mask, giraffe) > 0.6 and mask.sum() < 0.6 * box[2] * box[3]  # the giraffe, not its box


@pytest.mark.usefixtures("models")
@pytest.mark.parametrize("clip_name", ["goat", "cows"])
def test_a_click_on_an_animal_outlines_it_as_well_as_a_box_would(clip_name: str) -> None:
    """The look at the whole frame that finds the animal under a click sees it at 256 px: a blob without legs or
    horns (IoU 0.50 and 0.67). Its box, grown a little, is looked at again as a drawn box is."""
    rgb, animal = training_frame(clip_name, 0)
    inside = cv2.distanceTransform(animal.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(np.argmax(inside)), inside.shape)  # its middle, where a user clicks
    segmenter = get_segmenter("espnetv2-pascal")
    clicked, _ = first_mask(rgb, Prompt("point", (int(x), int(y)), 0), segmenter)
    boxed, _ = first_mask(rgb, Prompt("box", box_of(animal), 0), segmenter)
    assert iou(clicked, animal) > 0.75
    assert iou(clicked, animal) > iou(boxed, animal) - 0.1


@pytest.mark.usefixtures("models")
def test_a_click_on_a_dog_the_colours_cannot_tell_from_the_grass_is_taken_not_refused() -> None:
    """libby, a click at the dog's middle: the whole-frame look is not sure of her and GrabCut finds nothing whole
    around the point (it was refused: "no object under the point stands out"); the boxes around the point looked at
    as drawn boxes find her (recall ~0.5, precision ~0.7 now: her outline is not the point)."""
    rgb, dog = training_frame("libby", 0)
    inside = cv2.distanceTransform(dog.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(np.argmax(inside)), inside.shape)
    mask, _ = first_mask(rgb, Prompt("point", (int(x), int(y)), 0), get_segmenter("espnetv2-pascal"))
    assert (mask & dog).sum() > 0.4 * dog.sum() and (mask & dog).sum() > 0.6 * mask.sum()


@pytest.mark.usefixtures("models")
def test_a_box_on_the_first_frame_follows_the_ball_behind_the_band_and_out_again() -> None:
    frames, truth = clip()
    tracked = track_objects(frames, [Prompt("box", box_of(truth[0]), 0)], lambda: None, nanotrack_files)
    masks = [tracked.labels(i) > 0 for i in range(FRAMES)]
    seen = visible(truth)
    hidden = [i for i, t in enumerate(truth) if t.sum() == 0]
    assert hidden and seen[-1] > hidden[-1]  # the clip does hide the ball, and shows it again
    assert min(iou(masks[i], truth[i]) for i in seen) > 0.8
    assert all(masks[i].sum() < 0.1 * truth[0].sum() for i in hidden)  # nothing stands for the hidden ball
    assert min(tracked.confidence[i] for i in seen) > 0.5 > max(tracked.confidence[i] for i in hidden)


@pytest.mark.usefixtures("models")
def test_a_prompt_on_a_later_frame_is_followed_backwards_to_the_start() -> None:
    frames, truth = clip()
    start = FRAMES - 4
    tracked = track_objects(frames, [Prompt("box", box_of(truth[start]), start)], lambda: None, nanotrack_files)
    masks = [tracked.labels(i) > 0 for i in range(FRAMES)]
    assert min(iou(masks[i], truth[i]) for i in visible(truth)) > 0.8
    assert iou(masks[0], truth[0]) > 0.8


@pytest.mark.usefixtures("models")
def test_two_objects_get_their_own_labels() -> None:
    frames, truth = clip()
    other = (150, 100, 24, 24)  # a still dark square in the corner
    for frame in frames:
        frame.image[100:124, 150:174] = (20, 20, 20)
    tracked = track_objects(frames, [Prompt("box", box_of(truth[0]), 0), Prompt("box", other, 0)],
                            lambda: None, nanotrack_files)
    labels = tracked.labels(8)
    assert iou(labels == 1, truth[8]) > 0.8
    assert (labels[100:124, 150:174] == 2).mean() > 0.9


@pytest.mark.usefixtures("models")
def test_an_object_gone_for_good_is_not_taken_back_in_what_comes_after() -> None:
    # running_car.mp4 from frame 55: a white rally car, boxed on frame 60, drives off by frame 78; the shots after
    # hold a red car, a hut on skids, people and trees, which its follower took from frame 131 to 212 (its colours,
    # the tracker's box and the class say "car" or "like it" of all of them) until a re-find after a long absence
    # had to look like the object to the network's features.
    video = shared_path("data", "clips", "running-car", "running_car.mp4")
    start = 55
    frames = [Frame(frame.image, i, frame.name) for i, frame in
              enumerate(itertools.islice(open_clip(video), start, 213))]
    segmenter = get_segmenter(PROMPT_SEGMENTER)
    tracked = track_objects(frames, [Prompt("box", (550, 130, 150, 165), 60 - start)], lambda: segmenter,
                            nanotrack_files)
    masked = [bool((tracked.labels(i) > 0).any()) for i in range(len(frames))]
    assert all(masked[:70 - start])  # the white car, followed
    assert sum(masked[131 - start:]) <= 3  # and nothing standing in for it once it is gone


@pytest.mark.usefixtures("models")
def test_a_rider_lost_behind_trees_is_found_again_where_the_tracker_no_longer_looks() -> None:
    # bmx-trees: the rider is lost behind the trees from frame 63 and comes out smaller than he went in; the
    # candidates of the tracker's box and colours fail the likeness check, a blob of what the network's features
    # find like him over the whole frame passes it (before, he was not found again at all: IoU 0 from frame 63).
    folder = shared_path("data", "clips", "bmx-trees")
    frames = [Frame(frame.image, i, frame.name) for i, frame in enumerate(open_clip(folder / "frames"))]
    truth = [read_gray(folder / "masks" / f"{i:05d}.png") > 0 for i in range(len(frames))]
    segmenter = get_segmenter(PROMPT_SEGMENTER)
    tracked = track_objects(frames, [Prompt("box", box_of(truth[0]), 0)], lambda: segmenter, nanotrack_files)
    assert np.mean([iou(tracked.labels(i) > 0, truth[i]) for i in range(74, 80)]) > 0.4


@pytest.mark.usefixtures("models")
def test_riders_pascal_names_no_class_for_are_followed_by_the_person_model() -> None:
    # soapbox: two riders in a cart, pushed by a man. PASCAL sees no class in the box (the first mask was a
    # GrabCut) and its follower drifted off from frame ~40 (IoU 0.2-0.5 over frames 60-99); the person model
    # sees the riders and keeps them to the end (0.75-0.8).
    folder = shared_path("data", "train", "videos", "soapbox")
    frames = [Frame(frame.image, i, frame.name) for i, frame in enumerate(open_clip(folder, "sequence"))]
    truth = [read_gray(folder / "masks" / f"{i:05d}.png") > 0 for i in range(len(frames))]
    labelled = prompted_labels(frames, [Prompt("box", box_of(truth[0]), 0)], frames[0].size, len(frames))
    ious = [iou(labels > 0, truth[frame.index]) for frame, labels in labelled]
    assert len(ious) == len(frames) and np.mean(ious[60:]) > 0.65


@pytest.mark.usefixtures("models")
def test_a_car_is_followed_by_the_class_segmenter_without_loading_the_person_model() -> None:
    frame = next(iter(open_clip(shared_path("data", "clips", "car-roundabout", "frames"))))
    truth = read_gray(shared_path("data", "clips", "car-roundabout", "masks", "00000.png")) > 0

    def person_model() -> None:
        raise AssertionError("the person model was asked about a car")

    segmenter = get_segmenter(PROMPT_SEGMENTER)
    mask, classes, follows = first_mask_for(frame.image, Prompt("box", box_of(truth), 0), segmenter, person_model)
    assert follows is segmenter and classes == [segmenter.classes.index("car")] and iou(mask, truth) > 0.7
    assert get_segmenter(PERSON_SEGMENTER).classes == segmenter.classes  # the same channels, so classes carry over


# -- end to end ------------------------------------------------------------------------------------------

@pytest.mark.usefixtures("models")
def test_remove_with_a_box_on_frame_12_erases_the_ball_from_every_frame() -> None:
    scenes = [scene(i) for i in range(FRAMES)]
    stack = np.stack([s[0] for s in scenes])
    ball = box_of(scenes[12][1])
    clean = unseen.remove(stack, box=ball, frame=12)
    for i in (0, 6, 12, 26):
        frame, truth, background = scenes[i]
        assert ball_left(frame, truth) > 0.9 and ball_left(clean[i], truth) < 0.05, i


@pytest.mark.usefixtures("models")
def test_the_command_removes_and_segments_a_pointed_object_in_a_video(tmp_path: Path, capsys) -> None:
    scenes = [scene(i) for i in range(FRAMES)]
    make_video(tmp_path / "clip.mp4", fps=Fraction(25), audio=None, images=[s[0] for s in scenes])
    x, y, w, h = box_of(scenes[3][1])
    code, err = run(capsys, "segment", tmp_path / "clip.mp4", "--point", f"{x + w // 2},{y + h // 2}@3",
                    "--render", "mask", "-o", tmp_path / "masks", "-q")
    assert code == 0, err
    masks = [read_gray(tmp_path / "masks" / f"{i:05d}.png") > 0 for i in range(FRAMES)]
    assert min(iou(masks[i], scenes[i][1]) for i in visible([s[1] for s in scenes])) > 0.7
    code, err = run(capsys, "remove", tmp_path / "clip.mp4", "--box", f"{x},{y},{w},{h}@3",
                    "-o", tmp_path / "clean.mp4", "-q")
    assert code == 0, err
    clean = [f.image for f in open_clip(tmp_path / "clean.mp4")]
    assert max(ball_left(clean[i], scenes[i][1]) for i in (0, 3, 10, 29)) < 0.05


@pytest.mark.usefixtures("models")
def test_a_box_on_a_photo_removes_and_segments_the_object(tmp_path: Path, capsys) -> None:
    frame, truth, background = scene(2)
    write_image(tmp_path / "photo.png", frame)
    x, y, w, h = box_of(truth)
    code, err = run(capsys, "segment", tmp_path / "photo.png", "--box", f"{x - 3},{y - 3},{w + 6},{h + 6}",
                    "--render", "cutout", "-o", tmp_path / "cut.png", "-q")
    assert code == 0, err
    alpha = cv2.imread(str(tmp_path / "cut.png"), cv2.IMREAD_UNCHANGED)[..., 3] > 127
    assert iou(alpha, truth) > 0.8
    clean = unseen.remove(frame, box=(x - 3, y - 3, w + 6, h + 6))
    assert ball_left(clean, truth) < 0.05


@pytest.mark.usefixtures("models")
@pytest.mark.parametrize("prompt,words", [
    (["--box", "300,10,20,20"], "outside the 192x144 frame"),
    (["--box", "10,10,20,20@40"], "past the end"),
    (["--point", "5,5"], "no object under the point"),
    (["--box", "10,10,20"], "X,Y,W,H"),
])
def test_bad_prompts_get_one_line_and_exit_2(tmp_path: Path, capsys, prompt: list[str], words: str) -> None:
    plain = np.full((SIZE[1], SIZE[0], 3), 120, np.uint8)  # the point's corner is plain: nothing there
    plain[60:90, 80:110] = (200, 30, 30)
    (tmp_path / "frames").mkdir()
    for i in range(3):
        write_image(tmp_path / "frames" / f"{i:05d}.png", plain)
    code, err = run(capsys, "remove", tmp_path / "frames", *prompt, "-o", tmp_path / "out", "--sequence")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and words in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.usefixtures("models")
def test_a_bad_point_on_a_large_frame_is_named_as_the_user_gave_it(tmp_path: Path, capsys) -> None:
    # Frames over the following's working size are followed scaled down: the error must not show the scaled point.
    write_image(tmp_path / "plain.png", np.full((720, 1280, 3), 120, np.uint8))
    code, err = run(capsys, "remove", tmp_path / "plain.png", "--point", "301,199", "-o", tmp_path / "out.png")
    assert code == 2
    assert "--point 301,199@0: no object under the point" in err, err
    assert not (tmp_path / "out.png").exists()


def test_a_prompt_and_a_mask_together_are_refused(tmp_path: Path, capsys) -> None:
    frame, truth, _ = scene(0)
    write_image(tmp_path / "photo.png", frame)
    code, err = run(capsys, "remove", tmp_path / "photo.png", "--box", "1,1,9,9", "--mask", tmp_path / "photo.png",
                    "-o", tmp_path / "o.png")
    assert code == 2 and "exactly one" in err
