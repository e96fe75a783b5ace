"""Mask sources (image, folder, video, arrays) and mask operations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unseen.errors import InputError, UnseenWarning
from unseen.masks import dilate, fit_to, masks_for
from unseen.media import Frame, VideoWriter

from conftest import textured_frame, write_mask


def _frames(count: int, width: int = 32, height: int = 24) -> list[Frame]:
    return [Frame(textured_frame(i, width, height), i, f"{i:05d}") for i in range(count)]


def _box(width: int, height: int, x: int, y: int, size: int = 6) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    mask[y:y + size, x:x + size] = True
    return mask


def test_dilate_grows_by_the_given_radius() -> None:
    mask = np.zeros((21, 21), bool)
    mask[10, 10] = True
    grown = dilate(mask, 3)
    assert grown[10, 7] and grown[10, 13] and grown[7, 10] and not grown[10, 6]
    assert not grown[7, 7]  # round, not square
    assert np.array_equal(dilate(mask, 0), mask)


def test_one_mask_image_applies_to_every_frame(tmp_path: Path) -> None:
    path = write_mask(tmp_path / "m.png", _box(32, 24, 4, 4))
    pairs = list(masks_for(_frames(3), path))
    assert len(pairs) == 3 and all(m.sum() == 36 for _, m in pairs)


def test_mask_folder_is_matched_by_frame_name(tmp_path: Path) -> None:
    folder = tmp_path / "masks"
    folder.mkdir()
    for i in (2, 0, 1):
        write_mask(folder / f"{i:05d}.png", _box(32, 24, 2 + 5 * i, 2))
    pairs = list(masks_for(_frames(3), folder))
    assert [int(np.argwhere(m)[0, 1]) for _, m in pairs] == [2, 7, 12]


def test_mask_video_gives_one_mask_per_frame(tmp_path: Path) -> None:
    path = tmp_path / "masks.mp4"
    with VideoWriter(path) as writer:
        for i in range(4):
            image = np.repeat(_box(32, 24, 2 + 5 * i, 2, size=8)[..., None], 3, axis=2).astype(np.uint8) * 255
            writer.write(Frame(image, i, str(i)))
    pairs = list(masks_for(_frames(4), path))
    assert len(pairs) == 4
    # Lossy coding may move edges by a pixel; the box must stay where it was drawn.
    centres = [float(np.argwhere(m)[:, 1].mean()) for _, m in pairs]
    assert np.allclose(centres, [5.5, 10.5, 15.5, 20.5], atol=1.0)


def test_array_masks_static_and_per_frame() -> None:
    frames = _frames(2)
    static = list(masks_for(frames, _box(32, 24, 0, 0).astype(np.uint8) * 255))
    assert all(m.sum() == 36 for _, m in static)
    stack = np.stack([_box(32, 24, 0, 0), _box(32, 24, 10, 10)])
    assert [m[10, 10] for _, m in masks_for(frames, stack)] == [False, True]
    with pytest.raises(InputError, match="3 masks for 2 frames"):
        list(masks_for(frames, np.zeros((3, 24, 32), bool)))


def test_same_aspect_mask_is_scaled_with_a_warning() -> None:
    with pytest.warns(UnseenWarning, match="64x48.*32x24"):
        scaled = fit_to(_box(64, 48, 8, 8, size=12), (32, 24))
    assert scaled.shape == (24, 32) and scaled.sum() == 36


def test_other_aspect_mask_is_an_error_naming_both_sizes() -> None:
    with pytest.raises(InputError, match="40x40.*32x24"):
        fit_to(np.zeros((40, 40), bool), (32, 24))


def test_mask_count_mismatch_names_both_counts(tmp_path: Path) -> None:
    folder = tmp_path / "masks"
    folder.mkdir()
    for i in range(2):
        write_mask(folder / f"{i:05d}.png", _box(32, 24, 0, 0))
    with pytest.raises(InputError, match="holds 2 masks but the input has .*3 frames"):
        list(masks_for(_frames(3), folder))
