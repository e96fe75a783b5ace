"""From segmenter to user: model choice, the zoomed second look, per-video smoothing, tidying, and the
segment / background / remove --target jobs on real frames."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch

import unseen
from unseen.cli import main
from unseen.errors import InputError
from unseen.masks import dilate
from unseen.masks.clean import clean_labels, fill_holes, keep_largest, remove_small
from unseen.masks.segmented import Segmentation, held_over, segment_frames, smooth_in_time, warn_floods
from unseen.media import Frame, read_image
from unseen.segment.base import default_segmenter, get_segmenter, list_segmenters
from unseen.segment.focus import Focus, zoom_box

from conftest import make_video, probe, shared_path

PARKOUR_FRAMES = (0, 40, 80)


@pytest.fixture(scope="module", autouse=True)
def setup_models(shared_models_one_thread):
    """Every test here reads ../shared/models (see conftest.py)."""


@pytest.fixture(scope="module")
def pascal():
    return get_segmenter("espnetv2-pascal")


def parkour(index: int) -> tuple[np.ndarray, np.ndarray]:
    """A real 854x480 frame of a person vaulting a wall, and its GT person mask."""
    folder = shared_path("data", "clips", "parkour")
    rgb = read_image(folder / "frames" / f"{index:05d}.jpg")
    gt = cv2.imread(str(folder / "masks" / f"{index:05d}.png"), cv2.IMREAD_GRAYSCALE) > 127
    return rgb, gt


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.fixture(scope="module")
def parkour_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("parkour") / "frames"
    folder.mkdir()
    for i in PARKOUR_FRAMES:
        shutil.copy(shared_path("data", "clips", "parkour", "frames", f"{i:05d}.jpg"), folder)
    return folder


# --- choosing a model -------------------------------------------------------------------------------------

def test_default_model_is_each_class_best_and_an_all_rounder_for_several():
    assert default_segmenter(["person"]) == "unseen-person-full"
    assert default_segmenter(["person"], background=True) == "selfie-landscape"
    assert default_segmenter(["car"], background=True) == "unseen-car"
    assert default_segmenter(["car"]) == "unseen-car"
    assert default_segmenter(["person", "car"]) == default_segmenter(["dog"]) == "espnetv2-pascal"
    assert default_segmenter(["road", "car"]) == "espnetv2-city"
    with pytest.raises(InputError, match="no shipped model knows unicorn"):
        default_segmenter(["unicorn", "car"])
    with pytest.raises(InputError, match="together"):
        default_segmenter(["road", "dog"])


def test_registry_lists_every_shipped_model_and_refuses_unknown_names():
    assert {"espnetv2-pascal", "espnetv2-city", "selfie", "prisma"} <= set(list_segmenters())
    with pytest.raises(InputError, match="unknown model 'nope'"):
        get_segmenter("nope")


def test_asking_a_model_for_a_class_it_does_not_know_names_its_classes(pascal):
    with pytest.raises(InputError, match="has no class 'road'.*person"):
        Focus(pascal, ["road"])


# --- the zoomed second look -------------------------------------------------------------------------------

def test_zoom_box_frames_what_was_found_with_a_margin_and_skips_big_or_empty_finds():
    found = np.zeros((100, 200), bool)
    assert zoom_box(found) is None
    found[40:60, 90:110] = True
    x0, y0, x1, y1 = zoom_box(found, margin=0.5)
    assert (x0, y0, x1, y1) == (80, 30, 120, 70)
    found[5:95, 10:190] = True
    assert zoom_box(found) is None


def test_the_second_look_segments_a_small_person_better_than_the_whole_frame(pascal):
    rgb, gt = parkour(40)
    whole = Focus(pascal, ["person"], zoom=False).probs(rgb)
    zoomed = Focus(pascal, ["person"]).probs(rgb)
    assert zoomed.shape == (480, 854, 2) and np.allclose(zoomed.sum(axis=2), 1, atol=1e-4)
    assert iou(zoomed.argmax(2) == 1, gt) > iou(whole.argmax(2) == 1, gt) + 0.03
    assert iou(zoomed.argmax(2) == 1, gt) > 0.75


# --- per video: smoothing and tidying ----------------------------------------------------------------------

def test_smoothing_in_time_calms_unsure_pixels_but_never_overrules_a_sure_one():
    maps = [np.full((2, 2), float(i % 2)) for i in range(7)]  # sure: on, off, on, off...
    smoothed = list(smooth_in_time(iter(maps), radius=1))
    assert len(smoothed) == 7
    assert smoothed[0][0, 0] == pytest.approx(1 / 5)  # the first frame has no past: 4/5 * off + 1/5 * on
    assert smoothed[2][0, 0] == pytest.approx(1 / 3)  # 1/6 * on + 4/6 * off + 1/6 * on
    assert all((m[0, 0] > 0.5) == bool(i % 2) for i, m in enumerate(smoothed))
    unsure = [np.full((1, 1), p) for p in (0.9, 0.45, 0.9)]  # a frame that doubts is pulled along
    assert list(smooth_in_time(iter(unsure), radius=1))[1][0, 0] > 0.5
    assert [m[0, 0] for m in smooth_in_time(iter(maps), radius=0)] == [m[0, 0] for m in maps]


def test_tidying_removes_specks_fills_enclosed_holes_and_keeps_the_largest_object():
    mask = np.zeros((60, 60), bool)
    mask[10:40, 10:40] = True
    mask[20:23, 20:23] = False  # a small hole
    mask[50:52, 50:52] = True  # a speck
    mask[0:10, 45:60] = True  # a second object, touching the border
    assert not remove_small(mask, 10)[51, 51] and remove_small(mask, 10)[15, 15]
    assert fill_holes(mask, 20)[21, 21] and not fill_holes(mask, 5)[21, 21]
    assert keep_largest(mask).sum() == 900 - 9  # the square, with its hole
    labels = np.where(mask, 2, 0).astype(np.uint8)
    cleaned = clean_labels(labels, min_area=10, max_hole=20)
    assert cleaned[21, 21] == 2 and cleaned[51, 51] == 0 and cleaned[5, 50] == 2


def test_tidying_fills_a_hole_only_when_the_object_encloses_it_wherever_the_object_lies():
    """A bay open to the frame's edge is not a hole, even when the objects' box reaches that edge; an enclosed
    hole is, even when it touches the box's side."""
    for shift in (0, 7, 20):
        labels = np.zeros((40, 50), np.uint8)
        labels[0:20, 10 + shift:30 + shift] = 1
        labels[0:5, 18 + shift:22 + shift] = 0  # a bay open to the top edge
        labels[10:14, 10 + shift:30 + shift] = 0  # a band across: splits the object, encloses nothing
        labels[2:8, 26 + shift:29 + shift] = 0  # enclosed, a pixel from the object's side
        cleaned = clean_labels(labels, min_area=1, max_hole=50)
        assert cleaned[1, 20 + shift] == 0 and cleaned[12, 20 + shift] == 0
        assert cleaned[5, 27 + shift] == 1


class Scripted:
    """A stand-in network for the per-video logic: each call answers with the next of the given 'thing'
    probability maps (the frames themselves are not looked at)."""

    name, classes = "scripted", ("background", "thing")

    def __init__(self, maps: list[np.ndarray]):
        self.maps = iter(maps)

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        thing = next(self.maps)
        return np.stack([1 - thing, thing], axis=2)


def test_a_part_the_network_doubts_for_a_frame_stays_while_a_doubtful_stranger_is_not_taken():
    # A body the network is sure of, a leg it sees in every frame but the middle one (motion blur), and in
    # the middle frame alone a fairly likely blob elsewhere. Smoothed over time both are at ~0.43 there.
    maps = []
    for t in range(5):
        thing = np.zeros((120, 160), np.float32)
        thing[20:70, 60:90] = 0.95  # body
        thing[70:110, 62:74] = 0.2 if t == 2 else 0.9  # leg, joined to the body
        if t == 2:
            thing[30:60, 120:150] = 0.6  # a stranger, on its own
        maps.append(thing)
    frames = [Frame(np.zeros((120, 160, 3), np.uint8), t, f"{t:05d}") for t in range(5)]
    found = [s.mask for _, s in segment_frames(iter(frames), Focus(Scripted(maps), ["thing"], zoom=False), 1)]
    assert all(mask[90, 68] for mask in found)  # the leg, every frame (without hysteresis: not in frame 2)
    assert not any(mask[45, 135] for mask in found)
    # Photos (no smoothing) are each on their own: nothing is held over from the one before.
    alone = [s.mask for _, s in segment_frames(iter(frames), Focus(Scripted(maps), ["thing"], zoom=False), 0)]
    assert not alone[2][90, 68] and alone[1][90, 68]


def test_holding_over_needs_the_last_frames_mask_nearby_and_a_join_to_this_frames_own():
    probs = np.zeros((60, 80, 2), np.float32)
    probs[..., 0] = 1.0
    probs[10:30, 10:30] = (0.1, 0.9)  # sure
    probs[30:50, 12:18] = (0.6, 0.4)  # fairly likely, joined
    probs[10:30, 50:60] = (0.6, 0.4)  # fairly likely, apart
    labels = (probs.argmax(axis=2)).astype(np.uint8)
    everywhere = np.ones((60, 80), bool)
    grown = held_over(probs, labels, everywhere, 2)
    assert grown[40, 15] == 1 and grown[20, 55] == 0
    assert held_over(probs, labels, labels > 0, 2)[45, 15] == 0  # the last frame had nothing there
    probs[30:50, 12:18] = (0.8, 0.2)
    assert held_over(probs, labels, everywhere, 2)[40, 15] == 0  # too unlikely


def test_segment_frames_streams_every_frame_in_order_with_soft_foreground_that_agrees_with_labels(pascal):
    frames = [Frame(parkour(i)[0], n, f"{i:05d}") for n, i in enumerate(PARKOUR_FRAMES)]
    results = list(segment_frames(iter(frames), Focus(pascal, ["person"]), smoothing=1))
    assert [f.name for f, _ in results] == [f.name for f in frames]
    for (_, found), i in zip(results, PARKOUR_FRAMES, strict=True):
        assert found.labels.shape == (480, 854) and found.labels.dtype == np.uint8
        assert iou(found.mask, parkour(i)[1]) > 0.7
        assert (found.foreground[found.mask] >= 0.5).mean() > 0.99
        assert (found.foreground[~found.mask] < 0.5).mean() > 0.99


# --- the jobs, end to end -----------------------------------------------------------------------------------

def test_segment_writes_one_mask_png_per_frame_with_the_frame_names(parkour_folder, tmp_path):
    out = unseen.segment(parkour_folder, tmp_path / "masks", classes="person")
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{i:05d}.png" for i in PARKOUR_FRAMES]
    for i in PARKOUR_FRAMES:
        mask = cv2.imread(str(out / f"{i:05d}.png"), cv2.IMREAD_UNCHANGED)
        assert mask.ndim == 2 and set(np.unique(mask)) <= {0, 255}
        assert iou(mask > 0, parkour(i)[1]) > 0.7


def test_segment_renders_on_arrays_overlay_contours_collage_and_cutout():
    rgb, gt = parkour(40)
    small = cv2.resize(rgb, (427, 240), interpolation=cv2.INTER_AREA)
    inside = cv2.resize(gt.astype(np.uint8), (427, 240)) > 0
    inside = cv2.erode(inside.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    overlay = unseen.segment(small, classes="person", render="overlay")
    assert overlay.shape == small.shape
    assert np.abs(overlay[inside].astype(int) - small[inside]).mean() > 20  # coloured where the person is
    assert np.array_equal(overlay[:40, :100], small[:40, :100])  # the sky is untouched
    contours = unseen.segment(small, classes="person", render="contours")
    assert contours[:40, :100].mean() < 0.7 * small[:40, :100].mean()  # darkened away from the outline
    collage = unseen.segment(small, classes="person", render="collage")
    assert collage.shape[0] % 2 == 0 and collage.shape[1] >= 3 * 426
    cut = unseen.segment(small, classes="person", render="cutout")
    assert cut.shape == (240, 427, 4)
    assert (cut[..., 3][inside] > 200).mean() > 0.9 and (cut[:40, :100, 3] == 0).all()


def test_background_white_keeps_the_person_and_whitens_the_rest():
    rgb, gt = parkour(40)
    out = unseen.replace_background(rgb, background="white")
    inner = cv2.erode(gt.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    far = cv2.dilate(gt.astype(np.uint8), np.ones((61, 61), np.uint8)) == 0
    assert (out[far] == 255).all(axis=1).mean() > 0.97
    assert np.abs(out[inner].astype(int) - rgb[inner]).mean() < 10


def test_remove_target_person_leaves_no_person_for_the_segmenter_to_find(parkour_folder, tmp_path):
    # Frames of one video, though 1.6 s apart they no longer look like it: said to be a sequence.
    out = unseen.remove(parkour_folder, tmp_path / "clean", target="person", method="telea", folder="sequence")
    seen = unseen.segment(out, tmp_path / "masks", classes="person", folder="sequence")
    for i in PARKOUR_FRAMES:
        before = parkour(i)[1].sum()
        after = (cv2.imread(str(seen / f"{i:05d}.png"), cv2.IMREAD_GRAYSCALE) > 0).sum()
        assert after < 0.1 * before


def test_segment_keeps_a_videos_frames_timing_and_audio(tmp_path):
    source = tmp_path / "in.mp4"
    make_video(source, frames=12, width=96, height=64)
    out = unseen.segment(source, tmp_path / "masks.mp4", classes="person,car")
    before, after = probe(source), probe(out)
    assert after["frames"] == before["frames"] and after["size"] == before["size"]
    assert after["audio_packets"] == before["audio_packets"]


# --- bad input: one line, exit 2, nothing written ----------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["segment", "IN", "-o", "out.mp4", "--render", "cutout"], "cannot hold transparency"),
    (["segment", "IN", "-o", "out", "--render", "sketch"], "invalid choice"),
    (["segment", "IN", "-o", "out", "--classes", "unicorn"], "unicorn"),
    (["segment", "IN", "-o", "out", "--classes", ","], "no class given"),
    (["segment", "IN", "-o", "out", "--smoothing", "-1"], "smoothing"),
    (["segment", "IN", "-o", "out", "--model", "nope"], "unknown model"),
    (["background", "IN", "-o", "out", "--with", "plaid"], "plaid"),
    (["background", "IN", "-o", "out.mp4", "--with", "transparent"], "cannot hold transparency"),
    (["remove", "IN", "-o", "out", "--mask", "m.png", "--target", "car"], "not allowed with"),
    (["remove", "IN", "-o", "out"], "give exactly one of a mask, a target class or a box/point prompt"),
])
def test_bad_segmentation_requests_fail_in_one_line_with_exit_2(parkour_folder, tmp_path, capsys, args, message):
    args = [str(parkour_folder) if a == "IN" else str(tmp_path / a) if a.startswith("out") else a for a in args]
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not any(p.name.startswith("out") for p in tmp_path.iterdir())


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_asking_for_a_gpu_that_is_not_there_fails_in_one_line(parkour_folder, tmp_path, capsys):
    code = main(["segment", str(parkour_folder), "-o", str(tmp_path / "out"), "--classes", "car",
                 "--device", "cuda"])
    err = capsys.readouterr().err
    assert code == 2 and "no CUDA GPU" in err and len(err.strip().splitlines()) == 1
    # LiteRT models run on the CPU whatever is asked, and say so
    assert main(["segment", str(parkour_folder), "-o", str(tmp_path / "out"), "--model", "selfie-landscape",
                 "--device", "cuda", "-q"]) == 0
    assert len(list((tmp_path / "out").iterdir())) == len(PARKOUR_FRAMES)


def test_a_cpu_only_model_asked_for_a_gpu_warns_and_runs_on_the_cpu(recwarn):
    from unseen.errors import UnseenWarning

    segmenter = get_segmenter("selfie-landscape", device="cuda")
    assert segmenter.predict(parkour(0)[0]).shape[2] == 2
    assert any(issubclass(w.category, UnseenWarning) and "runs on the CPU" in str(w.message) for w in recwarn)


def test_background_on_a_video_keeps_its_timing_and_audio_and_transparent_keeps_alpha(tmp_path):
    source = tmp_path / "in.mp4"
    make_video(source, frames=10, width=96, height=64)
    white = unseen.replace_background(source, tmp_path / "white.mp4", background="white")
    clear = unseen.replace_background(source, tmp_path / "clear.mov", background="transparent")
    before = probe(source)
    for out in (white, clear):
        after = probe(out)
        assert after["frames"] == before["frames"] and after["size"] == before["size"]
        assert after["pts_seconds"] == before["pts_seconds"]
        assert after["audio_packets"] == before["audio_packets"]
    with av.open(str(clear)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgba")
    assert (first[..., 3] < 128).mean() > 0.9  # no person in a synthetic pattern: nearly all transparent


def test_remove_target_with_nothing_of_the_class_in_sight_says_so_and_passes_frames_through():
    rgb = parkour(0)[0][:240, :427]  # sky, buildings and a wall: no car
    with pytest.warns(UserWarning, match="no car found in any frame"):
        out = unseen.remove(rgb, target="car", method="telea")
    assert np.array_equal(out, rgb)


def test_a_mask_that_floods_frames_of_a_video_is_warned_about():
    # Rally cars on snow: ESPNetv2-PASCAL s=1 calls most of the snowfield "car" in the first frames.
    with av.open(str(shared_path("data/clips/running-car/running_car.mp4"))) as container:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)][::6])
    with pytest.warns(UserWarning, match=r"car mask covers up to 9\d% of the frame in \d+ of 49 frames \(first: "
                                         r"frame 0+\), where the typical frame has 0%"):
        masks = unseen.segment(frames, classes="car", model="espnetv2-pascal-s1")
    assert masks.shape[:3] == frames.shape[:3]


def test_a_person_filling_every_frame_is_no_flood():
    found = [(Frame(np.zeros((8, 8, 3), np.uint8), i, f"{i:05d}"),
              Segmentation(np.ones((8, 8), np.uint8) * (i % 5 != 0), np.ones((8, 8), np.float32)))
             for i in range(20)]  # a webcam's person: most of every frame, gone in a few
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(list(warn_floods(found, ["person"]))) == 20


class RedThings:
    """A stand-in network for Focus's tests: 'thing' = strongly red pixels, seen at a quarter of the size
    it is given (like a real network's working resolution); it counts whole-frame and close looks."""

    name, classes = "red-things", ("background", "thing")

    def __init__(self, frame_shape: tuple[int, int]):
        self.frame_shape, self.whole, self.close = frame_shape, 0, 0

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        if rgb.shape[:2] == self.frame_shape:
            self.whole += 1
        else:
            self.close += 1
        small = cv2.resize(rgb, (max(1, rgb.shape[1] // 4), max(1, rgb.shape[0] // 4)), interpolation=cv2.INTER_AREA)
        red = (small[..., 0].astype(int) - small[..., 1] > 100).astype(np.float32)
        return np.stack([1 - red, red], axis=2)


def red_square(x: int, y: int, background: int = 90) -> np.ndarray:
    frame = np.full((240, 320, 3), background, np.uint8)
    frame[y:y + 40, x:x + 40] = (230, 20, 20)
    return frame


def test_focus_follows_a_moving_object_with_few_whole_looks_and_relooks_when_it_jumps_or_the_shot_cuts():
    net = RedThings((240, 320))
    focus = Focus(net, ["thing"], refresh=4)
    for i in range(12):  # slides right 3 px a frame: the box follows it
        probs = focus.probs(red_square(100 + 3 * i, 100))
        assert iou(probs.argmax(2) == 1, red_square(100 + 3 * i, 100)[..., 1] == 20) > 0.8
    assert net.whole == 3 and net.close == 12  # a whole look every 4th frame, a close one every frame
    probs = focus.probs(red_square(250, 180))  # jumps out of its box: looked for again at once
    assert iou(probs.argmax(2) == 1, red_square(250, 180)[..., 1] == 20) > 0.8 and net.whole == 4
    focus.probs(red_square(252, 180, background=230))  # another shot (bright): a whole look
    assert net.whole == 5


def test_without_litert_people_get_the_pytorch_all_rounder(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "ai_edge_litert" else real(name, *args)
    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert default_segmenter(["person"], background=True) == "espnetv2-pascal"


def test_the_person_default_keeps_the_legs_espnetv2_pascal_leaves_behind():
    # Parkour's runner on the wall (frame 75) and landing (84): PASCAL alone misses his trousers, which a removal
    # would leave walking on their own (issue 13); the default adds them from its fine-tune, and little else.
    for index, pascal_most in ((75, 0.6), (84, 0.85)):
        rgb, person = parkour(index)
        pascal = unseen.segment(rgb, classes="person", model="espnetv2-pascal") > 0
        found = unseen.segment(rgb, classes="person") > 0
        assert (pascal & person).sum() < pascal_most * person.sum()
        assert (found & person).sum() >= 0.8 * person.sum()  # (86 % and 99 %)
        assert (found & ~dilate(person, 6)).sum() <= 0.05 * person.sum()


def test_a_person_upside_down_is_found_when_asked_to_look_upside_down():
    # Parkour's runner in a picture turned over (bench/segment.py's parkour-turned case turns him alone, where he
    # stands): the person default, looking the right way up, finds nothing of him on this frame.
    rgb, person = (np.ascontiguousarray(a[::-1, ::-1]) for a in parkour(54))
    upright = unseen.segment(rgb, classes="person") > 0
    both_ways = unseen.segment(rgb, classes="person", upside_down=True) > 0
    assert (both_ways & person).sum() >= 0.9 * person.sum()
    # Little else: a rim along his outline and his shoes' shadow (27 % of his area, 9 % farther than 6 px from him;
    # ESPNetv2-PASCAL alone: 16 % and 2 %); a wall or the sky taken for him would be several times his area.
    assert (both_ways & ~person).sum() <= 0.3 * person.sum()
    assert (both_ways & ~dilate(person, 6)).sum() <= 0.12 * person.sum()
    assert (both_ways & person).sum() >= (upright & person).sum() + 0.5 * person.sum()
