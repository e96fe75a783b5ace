"""Renderers of ``unseen segment``: what a user sees in overlays, contours, cutouts, masks and collages."""

from __future__ import annotations

import numpy as np
import pytest

from unseen.errors import InputError
from unseen.render import class_colors, collage, colors_for, contours, cutout, mask_image, overlay

from conftest import textured_frame


def _squares(height: int = 96, width: int = 128) -> np.ndarray:
    """Class 1 in a square on the left, class 2 in a square touching it on the right."""
    labels = np.zeros((height, width), np.uint8)
    labels[20:60, 20:60] = 1
    labels[20:60, 60:100] = 2
    return labels


def test_class_colors_are_distinct_stable_and_person_and_car_differ() -> None:
    colors = class_colors(40)
    assert colors.shape == (40, 3) and colors.dtype == np.uint8
    assert len({tuple(c) for c in colors}) == 40
    assert np.array_equal(colors, class_colors(40)) and np.array_equal(colors[:2], class_colors(2))
    person, car = colors[:2].astype(int)
    assert np.linalg.norm(person - car) > 150
    assert np.array_equal(colors_for(["car", "person"]), colors[[1, 0]])
    dog = colors_for(["dog"])[0]
    assert not any(np.array_equal(dog, c) for c in colors[:2])  # pink and amber stay person's and car's


def test_overlay_tints_labelled_pixels_only_and_outlines_them() -> None:
    rgb, labels = textured_frame(0, 128, 96), _squares()
    colors = np.array([(255, 0, 0), (0, 0, 255)], np.uint8)
    out = overlay(rgb, labels, colors, opacity=0.5)
    assert np.array_equal(out[labels == 0], rgb[labels == 0])
    # Deep inside a region: half frame, half colour.
    expected = rgb[40, 40] * 0.5 + colors[0] * 0.5
    assert np.abs(out[40, 40].astype(float) - expected).max() <= 1
    # On the regions' edges (also where the two classes meet): solid colour.
    assert np.array_equal(out[20, 40], colors[0]) and np.array_equal(out[59, 80], colors[1])
    assert np.array_equal(out[40, 59], colors[0]) and np.array_equal(out[40, 60], colors[1])


def test_contours_draw_class_colours_on_boundaries_of_a_darkened_frame() -> None:
    rgb = np.full((240, 320, 3), 200, np.uint8)
    labels = np.zeros((240, 320), np.uint8)
    labels[60:180, 80:240] = 1
    labels[100:140, 140:180] = 0  # a hole: its edge is outlined too
    out = contours(rgb, labels, [(0, 255, 0)], darken=0.5)
    green = np.array([0, 255, 0])
    for y, x in [(60, 160), (179, 160), (120, 80), (120, 239), (100, 160)]:
        assert np.abs(out[y, x].astype(int) - green).max() <= 10, (y, x, out[y, x])
    for y, x in [(5, 5), (230, 300), (80, 120), (120, 160)]:  # far outside, inside, inside the hole
        assert np.abs(out[y, x].astype(int) - 100).max() <= 1, (y, x, out[y, x])


def test_contour_lines_grow_with_the_frame() -> None:
    def line_width(height: int) -> int:
        labels = np.zeros((height, height), np.uint8)
        labels[height // 4:, :] = 1
        out = contours(np.zeros((height, height, 3), np.uint8), labels, [(255, 255, 255)])
        return int((out[:, height // 2, 0] > 128).sum())

    assert line_width(240) == line_width(480) >= 2  # small frames keep readable lines
    assert line_width(1440) >= 2 * line_width(480)


def test_renderers_reject_labels_that_do_not_fit() -> None:
    rgb = textured_frame(0, 64, 48)
    with pytest.raises(InputError, match="48x64"):
        overlay(rgb, np.zeros((48, 63), np.uint8), class_colors(1))
    with pytest.raises(InputError, match="label 3 has no colour"):
        contours(rgb, np.full((48, 64), 3, np.uint8), class_colors(2))


@pytest.mark.parametrize("alpha, expected", [(np.float32(0.5), 128), (True, 255), (np.uint8(7), 7)])
def test_cutout_keeps_the_frame_and_carries_alpha(alpha, expected: int) -> None:
    rgb = textured_frame(1, 32, 24)
    matte = np.zeros((24, 32), np.asarray(alpha).dtype)
    matte[5:15, 5:15] = alpha
    rgba = cutout(rgb, matte)
    assert rgba.shape == (24, 32, 4) and rgba.dtype == np.uint8
    assert np.array_equal(rgba[..., :3], rgb)
    assert rgba[10, 10, 3] == expected and rgba[20, 20, 3] == 0
    with pytest.raises(InputError):
        cutout(rgb, matte[:-1])


def test_mask_image_is_black_and_white_for_one_class_and_an_index_image_for_several() -> None:
    labels = _squares()
    assert set(np.unique(mask_image(labels > 0, 1))) == {0, 255}
    several = mask_image(labels, 2)
    assert several.dtype == np.uint8 and np.array_equal(several, labels)
    with pytest.raises(InputError):
        mask_image(labels, 1)


def test_collage_puts_panels_side_by_side_at_one_height() -> None:
    frame, mask = textured_frame(0, 64, 48), np.zeros((48, 64), bool)
    mask[10:20, 10:20] = True
    small = textured_frame(2, 32, 24)  # scaled up to the first panel's height
    out = collage([frame, mask, small])
    assert out.shape == (48, 192, 3)
    assert np.array_equal(out[:, :64], frame)
    assert np.array_equal(out[15, 64 + 15], [255, 255, 255]) and np.array_equal(out[30, 64 + 30], [0, 0, 0])
    assert collage([frame, frame], gap=6).shape == (48, 134, 3)


def test_collage_sizes_are_even_and_captions_stay_in_their_corner() -> None:
    frame = textured_frame(0, 33, 47)
    out = collage([frame, frame, frame])
    assert out.shape[0] % 2 == 0 and out.shape[1] % 2 == 0 and out.shape[:2] == (48, 100)
    big = textured_frame(0, 320, 240)
    captioned = collage([big, big], labels=["frame", "result"])
    changed = np.any(captioned != collage([big, big]), axis=2)
    assert changed[:40, :120].any() and changed[:40, 320:440].any()
    assert not changed[60:].any()


def test_collage_shows_transparent_cutouts_over_a_checkerboard() -> None:
    rgb = textured_frame(0, 64, 48)
    matte = np.zeros((48, 64), bool)
    matte[:, :32] = True
    out = collage([cutout(rgb, matte)])
    assert np.array_equal(out[:, :32], rgb[:, :32])
    assert len(np.unique(out[:, 32:])) == 2  # two greys
