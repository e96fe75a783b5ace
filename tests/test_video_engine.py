"""The video removal engine on small synthetic clips whose true background is known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unseen.inpaint.flow import Completed, complete_flow
from unseen.inpaint.propagate import average, track
from unseen.inpaint.video import FlowVideoFiller, PerFrameFiller
from unseen.media import Frame

from conftest import hole_detail, hole_error, run, sliding_clip, texture, with_disc_holes


def panning_clip(frames: int = 24, pan: int = 3, size: tuple[int, int] = (160, 96), radius: int = 16,
                 speed: int = 4):
    """A camera panning over a texture while a red disc crosses it: frames, disc masks, true frames."""
    width, height = size
    world = texture(height, width + pan * frames + 8)
    truth = [world[:, pan * t:pan * t + width].copy() for t in range(frames)]
    return with_disc_holes(truth, [(30 + speed * t, height // 2) for t in range(frames)], radius)


def test_panning_background_is_recovered_from_other_frames() -> None:
    images, holes, truth = panning_clip()
    ours = hole_error(run(FlowVideoFiller(), images, holes), truth, holes)
    telea = hole_error(run(PerFrameFiller("telea"), images, holes), truth, holes)
    assert ours < 8.0, ours  # the texture itself is copied, not guessed (measured: 1.3)
    assert telea > 4 * ours  # measured: 35


def test_a_window_reports_its_work_frame_by_frame() -> None:
    # What moves the progress bar while a window (tens of seconds on a large video) is being filled.
    images, holes, _ = panning_clip(frames=12)
    shares: list[float] = []
    FlowVideoFiller().fill_window(images, holes, on_progress=shares.append)
    assert shares == sorted(shares) and shares[0] < 0.1 and shares[-1] == 1.0
    assert len(shares) >= 2 * len(images)  # each frame's flow, then each frame's propagation


def test_outside_the_hole_nothing_changes() -> None:
    images, holes, _ = panning_clip(frames=8)
    for image, out, hole in zip(images, run(FlowVideoFiller(), images, holes), holes, strict=True):
        assert np.array_equal(out[~hole], image[~hole])


def test_what_no_frame_shows_is_filled_once_and_stays_still() -> None:
    # Static camera, static hole: no frame ever shows the background, so it must be made up, and the
    # made-up fill must be the same in every frame (no flicker).
    world = texture(80, 120, seed=3)
    hole = np.zeros((80, 120), bool)
    hole[30:50, 40:70] = True
    images = [world.copy() for _ in range(12)]
    for image in images:
        image[hole] = (0, 255, 0)
    out = run(FlowVideoFiller(), images, [hole] * 12)
    assert all(np.abs(o[hole].astype(int) - (0, 255, 0)).mean() > 40 for o in out)  # really filled
    changes = [np.abs(a[hole].astype(int) - b[hole]).mean() for a, b in zip(out, out[1:], strict=False)]
    assert max(changes) < 1.0, changes


def test_something_moving_behind_the_hole_is_followed_along_its_own_motion() -> None:
    images, holes, truth = sliding_clip()
    both = hole_error(run(FlowVideoFiller(), images, holes), truth, holes)
    camera_only = hole_error(run(FlowVideoFiller(routes=("camera",)), images, holes), truth, holes)
    telea = hole_error(run(PerFrameFiller("telea"), images, holes), truth, holes)
    # Measured: 12.3 with both routes, 27.4 with the camera's alone (the slab made up), 31.1 for Telea.
    # Not lower: DIS underestimates the slab's motion by ~15 % next to the still hole, and the error adds
    # up along the chains.
    assert camera_only > 1.15 * both, (camera_only, both)
    assert telea > 1.5 * both, (telea, both)


def test_what_moves_behind_the_hole_keeps_its_detail() -> None:
    # Views of the sliding slab that disagree a little (the flow is ~15 % short next to the hole) are
    # still the slab's texture: they must not give way to a blur. Measured: 0.72 (0.65 when views were
    # doubted at half the disagreement).
    images, holes, truth = sliding_clip()
    assert hole_detail(run(FlowVideoFiller(), images, holes), truth, holes) > 0.68


def churning_clip(frames: int = 20, size: tuple[int, int] = (160, 96), seed: int = 0):
    """A still camera; a disc-shaped hole crosses a patch whose content changes unpredictably every frame
    (blobs, like water or smoke), set in still ground: frames, holes, true frames. No other frame shows
    what is behind the hole now."""
    width, height = size
    ground = texture(height, width, seed=5)
    rng = np.random.default_rng(seed)
    truth = []
    for _ in range(frames):
        frame = ground.copy()
        blobs = rng.integers(60, 200, (6, 10, 3)).astype(np.uint8)
        frame[18:78, 30:130] = cv2.resize(blobs, (100, 60), interpolation=cv2.INTER_CUBIC)
        truth.append(frame)
    return with_disc_holes(truth, [(40 + 4 * t, height // 2) for t in range(frames)], 16)


def test_content_that_changes_unpredictably_is_not_copied_from_other_frames() -> None:
    images, holes, truth = churning_clip()
    doubting = hole_error(run(FlowVideoFiller(), images, holes), truth, holes)
    trusting = hole_error(run(FlowVideoFiller(doubt=0), images, holes), truth, holes)
    # Measured: 26.2 with doubt (views that disagree give way to a smooth fill and are smoothed less
    # along the flow), 29.9 without. Telea, which only looks at the current frame, gets 21.9 here:
    # such content is still a weak spot.
    assert doubting < 0.93 * trusting, (doubting, trusting)


def test_unknown_route_is_refused() -> None:
    with pytest.raises(ValueError, match="camera, border"):
        FlowVideoFiller(routes=("sideways",))


def test_streaming_in_windows_is_as_good_as_one_window() -> None:
    images, holes, truth = panning_clip(frames=40, pan=2, speed=2)

    def errors(engine: FlowVideoFiller) -> list[float]:
        frames = (Frame(image, i, f"f{i}") for i, image in enumerate(images))
        out = list(engine.fill_frames(zip(frames, holes, strict=True)))
        assert [f.name for f in out] == [f"f{i}" for i in range(40)]
        return [np.abs(f.image.astype(float) - g)[h].mean() for f, g, h in zip(out, truth, holes, strict=True)]

    windowed = errors(FlowVideoFiller(window=12, lookahead=4, context=4))  # a boundary every 8 frames
    whole = errors(FlowVideoFiller(window=60))
    assert np.subtract(windowed, whole).max() < 2.0, np.round(np.subtract(windowed, whole), 1)


def test_no_content_crosses_a_scene_cut() -> None:
    red, green = np.zeros((64, 96, 3), np.uint8), np.zeros((64, 96, 3), np.uint8)
    red[..., 0], green[..., 1] = 200, 200
    red = np.clip(red.astype(int) + texture(64, 96, 1) // 4, 0, 255).astype(np.uint8)
    green = np.clip(green.astype(int) + texture(64, 96, 2) // 4, 0, 255).astype(np.uint8)
    hole = np.zeros((64, 96), bool)
    hole[20:44, 30:60] = True
    images = [red.copy() for _ in range(5)] + [green.copy() for _ in range(5)]
    for image in images[5:]:
        image[hole] = (0, 0, 255)
    holes = [np.zeros_like(hole)] * 5 + [hole] * 5
    out = run(FlowVideoFiller(), images, holes)
    for image in out[5:]:
        assert image[hole][:, 1].mean() > 150 and image[hole][:, 0].mean() < 100  # green, not red


def test_flow_completion_recovers_camera_motion_inside_the_hole() -> None:
    ys, xs = np.mgrid[0:90, 0:120].astype(np.float32)
    zoom = np.dstack([0.02 * (xs - 60) + 2.0, 0.02 * (ys - 45) - 1.0])  # a zoom plus a pan
    hole = np.zeros((90, 120), bool)
    hole[30:60, 40:80] = True
    damaged = zoom.copy()
    damaged[hole] = (25.0, -25.0)  # the object's own motion
    completed = complete_flow(damaged, hole)
    assert np.abs(completed[hole] - zoom[hole]).max() < 0.05
    assert np.array_equal(completed[~hole], zoom[~hole])


@pytest.mark.parametrize("step", [1, -1])
def test_tracking_finds_the_nearest_frame_that_shows_a_pixel(step: int) -> None:
    size = (10, 12)
    still = [np.zeros(size + (2,), np.float32) for _ in range(5)]
    visible = [np.zeros(size, np.float32) for _ in range(5)]
    visible[0][4, 5] = visible[4][4, 5] = visible[1 if step == 1 else 3][0, 0] = 1.0
    hole = np.zeros(size, bool)
    hole[4, 5] = True
    (first, second) = track(2, hole, still, visible, step, hits=2)
    assert first.frame.tolist() == [4 if step == 1 else 0] and second.frame.tolist() == [-1]
    assert (first.x[0], first.y[0]) == (5.0, 4.0)


def test_views_reached_along_flows_the_completer_doubts_weigh_less() -> None:
    # A hole pixel is seen one frame back, along a flow its completer expects to be 8 px off, and two
    # frames ahead along flows it is sure of: counting that drift, the far view outweighs the near one.
    size = (10, 12)
    hole = np.zeros(size, bool)
    hole[4, 5] = True
    still = np.zeros(size + (2,), np.float32)
    nudged = still.copy()
    nudged[4, 5] = 1e-3  # the completion changed the hole's flow (a little), so it keeps its error there
    unsure, sure = np.where(hole, 8.0, 0.0).astype(np.float32), np.zeros(size, np.float32)
    back = [None, None, Completed(still, nudged, unsure), None, None]
    ahead = [None, None, Completed(still, nudged, sure), Completed(still, still), None]
    visible = [np.ones(size, np.float32) for _ in range(5)]
    visible[3][4, 5] = 0.0
    frames = [np.full(size + (3,), 200.0 if t == 4 else 0.0, np.float32) for t in range(5)]
    sightings = track(2, hole, back, visible, -1) + track(2, hole, ahead, visible, 1)
    assert [s.frame[0] for s in sightings] == [1, 4] and sightings[0].drift[0] == pytest.approx(8.0)
    by_distance = average(frames, 2, sightings)[0][0, 0]
    by_drift = average(frames, 2, sightings, drift_scale=0.1)[0][0, 0]
    assert by_distance == pytest.approx(80.0, abs=1) and by_drift > 190


def test_a_hole_larger_than_opencv_map_limits_is_filled() -> None:
    # OpenCV's remap takes maps under 32767 pixels a side; 45 000 hole pixels must still work.
    images, _, truth = panning_clip(frames=6, size=(320, 240))
    hole = np.zeros((240, 320), bool)
    hole[20:220, 40:265] = True
    images = [image.copy() for image in truth]
    for image in images:
        image[hole] = 0
    out = run(FlowVideoFiller(), images, [hole] * 6)
    assert all(o[hole].mean() > 40 for o in out)


def test_frame_step_fills_every_frame_from_the_key_frames() -> None:
    from unseen.inpaint.stepped import SteppedFiller

    images, holes, truth = panning_clip(frames=13)
    frames = (Frame(image, i, f"{i:05d}") for i, image in enumerate(images))
    out = list(SteppedFiller(FlowVideoFiller(), 3).fill_frames(zip(frames, holes, strict=True)))
    assert [f.index for f in out] == list(range(13))
    stepped = hole_error([f.image for f in out], truth, holes)
    every = hole_error(run(FlowVideoFiller(), images, holes), truth, holes)
    telea = hole_error(run(PerFrameFiller("telea"), images, holes), truth, holes)
    assert stepped < every + 4.0 and stepped < telea / 3, (stepped, every, telea)
