"""Cuts between shots told from fast camera motion, by how much a small thumbnail changes."""

from __future__ import annotations

import itertools

import cv2
import numpy as np

from unseen.media.cuts import CutWatch, change, thumbnail


def shot(cell: int, phase: int, low: int = 30, high: int = 220, size: tuple[int, int] = (320, 180)) -> np.ndarray:
    """A grey picture of large soft squares (``cell`` px, shifted by ``phase``): structure a thumbnail sees."""
    y, x = np.mgrid[0:size[1], 0:size[0]]
    squares = (((x + phase) // cell + (y + phase) // cell) % 2).astype(np.float32)
    return cv2.GaussianBlur(low + (high - low) * squares, (0, 0), cell / 6).astype(np.uint8)


def zoom(image: np.ndarray, factor: float) -> np.ndarray:
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 0, factor)
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)


def cuts(watch: CutWatch, frames: list[np.ndarray]) -> list[int]:
    return [i for i, frame in enumerate(frames) if watch.is_cut(frame)]


def test_a_hard_cut_is_one_and_the_first_frame_starts_a_shot() -> None:
    first, second = shot(40, 0), shot(40, 20)
    frames = [first] * 6 + [second] * 6
    assert cuts(CutWatch(), frames) == [0, 6]
    assert cuts(CutWatch(spikes=True), frames) == [0, 6]


def test_a_camera_zooming_ever_faster_is_no_cut_when_spikes_are_asked_for() -> None:
    # As motocross-jump's rider fills the frame: the thumbnail changes more each frame, past the fixed threshold.
    base = shot(24, 0)
    frames, factor = [], 1.0
    for step in range(14):
        factor *= 1.0 + 0.02 * step
        frames.append(zoom(base, factor))
    changes = [change(thumbnail(a), thumbnail(b)) for a, b in itertools.pairwise(frames)]
    assert max(changes) > 40  # the fixed threshold calls it a cut
    assert len(cuts(CutWatch(), frames)) > 1
    assert cuts(CutWatch(spikes=True), frames) == [0]


def test_a_cut_between_two_dim_shots_is_found_by_its_spike() -> None:
    dim = [shot(40, phase, low=90, high=150) for phase in (0, 20)]
    frames = [np.roll(dim[0], shift, axis=1) for shift in range(8)] + [np.roll(dim[1], s, axis=1) for s in range(8)]
    assert cuts(CutWatch(), frames) == [0]  # under the fixed threshold
    assert cuts(CutWatch(spikes=True), frames) == [0, 8]
