"""Photo fillers: the registry, the contract of fill(), and recovery of known textures."""

from __future__ import annotations

import numpy as np
import pytest

from unseen.inpaint import DEFAULT_FILLER, Filler, get_filler, list_fillers
from unseen.inpaint.base import register_filler


def stripes(n: int = 96, period: int = 10) -> np.ndarray:
    y, x = np.mgrid[:n, :n]
    v = 127 + 100 * np.sin(2 * np.pi * (x + 0.5 * y) / period)
    return np.stack([v, 0.5 * v + 50, 255 - v], -1).astype(np.uint8)


def checker(n: int = 96, period: int = 12) -> np.ndarray:
    y, x = np.mgrid[:n, :n]
    v = ((y // (period // 2) + x // (period // 2)) % 2) * 160 + 40
    return np.stack([v, 255 - v, np.full_like(v, 90)], -1).astype(np.uint8)


def box_mask(n: int = 96, y0: int = 36, y1: int = 64, x0: int = 30, x1: int = 62) -> np.ndarray:
    mask = np.zeros((n, n), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def hole_error(out: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    return float(np.abs(out[mask].astype(int) - truth[mask]).mean())


def noisy_photo(h: int = 64, w: int = 80) -> np.ndarray:
    rng = np.random.default_rng(1)
    base = np.linspace(0, 255, w)[None, :, None] * np.ones((h, 1, 3))
    return np.clip(base + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("texture", [stripes, checker])
def test_default_recovers_periodic_texture(texture):
    img, mask = texture(), box_mask()
    out = get_filler(DEFAULT_FILLER).fill(img, mask)
    err = hole_error(out, img, mask)
    telea = hole_error(get_filler("telea").fill(img, mask), img, mask)
    flat = hole_error(np.broadcast_to(img[~mask].mean(0), img.shape), img, mask)
    # Diffusion and a constant fill are off by ~50 grey levels here; copying texture gets it nearly exact.
    assert telea > 40 and flat > 40
    assert err < 5, err


def test_default_follows_smooth_structure():
    # The hole's colours exist nowhere else in a 2-D ramp, so copying alone cannot be exact; the
    # structure guide must still keep the fill close to the ramp (unguided copying is off by ~15).
    y, x = np.mgrid[:80, :80]
    img = np.stack([x * 3, y * 3, 255 - x * 3], -1).astype(np.uint8)
    mask = box_mask(80, 25, 55, 25, 55)
    err = hole_error(get_filler(DEFAULT_FILLER).fill(img, mask), img, mask)
    flat = hole_error(np.broadcast_to(img[~mask].mean(0), img.shape), img, mask)
    assert flat > 20
    assert err < 12, err
    assert hole_error(get_filler("membrane").fill(img, mask), img, mask) < 1


@pytest.mark.parametrize("name", list_fillers())
def test_contract(name):
    img = noisy_photo()
    mask = np.zeros(img.shape[:2], np.uint8)
    mask[20:40, 30:50] = 255
    filler = get_filler(name)
    assert isinstance(filler, Filler) and filler.name == name
    out = filler.fill(img, mask)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert out is not img
    np.testing.assert_array_equal(out[mask == 0], img[mask == 0])
    assert np.abs(out[mask > 0].astype(int) - 128).mean() > 1  # the hole was really filled


@pytest.mark.parametrize("name", list_fillers())
def test_edge_cases(name):
    filler = get_filler(name)
    img = noisy_photo()
    empty = filler.fill(img, np.zeros(img.shape[:2], bool))
    np.testing.assert_array_equal(empty, img)
    assert empty is not img
    border = np.zeros(img.shape[:2], bool)
    border[:15, -20:] = True  # a corner hole touching two borders
    out = filler.fill(img, border)
    np.testing.assert_array_equal(out[~border], img[~border])
    almost = np.ones(img.shape[:2], bool)
    almost[30:33, 40:43] = False  # nearly everything, no full patch anywhere
    out = filler.fill(img, almost)
    np.testing.assert_array_equal(out[~almost], img[~almost])
    tiny = img[:8, :8].copy()
    tmask = np.zeros((8, 8), bool)
    tmask[2:5, 3:6] = True
    out = filler.fill(tiny, tmask)
    assert out.shape == (8, 8, 3)
    np.testing.assert_array_equal(out[~tmask], tiny[~tmask])


def test_non_contiguous_inputs():
    img = np.ascontiguousarray(stripes(96)[:, ::-1])[::2, ::2]  # strided view
    mask = box_mask(96)[::2, ::2]
    assert not img.flags.c_contiguous
    out = get_filler(DEFAULT_FILLER).fill(img, mask)
    np.testing.assert_array_equal(out[~mask], img[~mask])


def test_default_is_deterministic():
    img, mask = checker(), box_mask()
    f = get_filler(DEFAULT_FILLER)
    np.testing.assert_array_equal(f.fill(img, mask), f.fill(img, mask))


def test_bad_name_lists_choices():
    with pytest.raises(ValueError, match="unknown filler 'nope'; choose one of: .*telea"):
        get_filler("nope")


def test_registry_is_open():
    class Flat:
        name = "flat-test"

        def fill(self, image, mask):
            out = image.copy()
            out[np.asarray(mask) != 0] = 7
            return out

    register_filler("flat-test", Flat)
    try:
        assert "flat-test" in list_fillers()
        img = noisy_photo()
        out = get_filler("flat-test").fill(img, img[..., 0] > 128)
        assert (out[img[..., 0] > 128] == 7).all()
    finally:
        from unseen.inpaint.base import FILLERS

        FILLERS.pop("flat-test")


def test_required_fillers_registered():
    assert {"telea", "ns", "fsr", DEFAULT_FILLER} <= set(list_fillers())


def test_default_continues_a_noisy_brick_wall():
    # The demo's scene: bricks with mortar joints under per-pixel noise. Matching must keep the joints'
    # exact places (compared after blurring the noise away); diffusion smears them (error ~19).
    import cv2

    from unseen.demo import ball_mask, scene

    truth = scene(320, 240)
    hole = ball_mask(320, 240, 160, 130, 40) > 0
    damaged = truth.copy()
    damaged[hole] = (200, 30, 30)
    out = get_filler(DEFAULT_FILLER).fill(damaged, hole)
    blur = lambda x: cv2.GaussianBlur(x.astype(np.float32), (0, 0), 1.5)  # noqa: E731
    assert np.abs(blur(out) - blur(truth))[hole].mean() < 4.0


def test_default_fills_a_rocky_hillside_with_texture_not_a_blur():
    # A real photo's irregular texture (dry scrub and rocks): each pixel of the hole is copied from the best match over
    # it, so the fill is about as busy as its surroundings; averaging the 49 overlapping matches (patch-soft) gave a
    # third of their gradient energy, a smooth blot.
    import cv2

    from unseen.media import read_image

    from conftest import shared_path

    hillside = np.ascontiguousarray(read_image(shared_path("data", "train", "videos", "goat", "00000.jpg"))[:240, :320])
    hole = np.zeros(hillside.shape[:2], np.uint8)
    cv2.circle(hole, (160, 120), 45, 1, -1)
    hole = hole > 0
    around = (cv2.dilate(hole.astype(np.uint8), np.ones((41, 41), np.uint8)) > 0) & ~hole
    inside = cv2.erode(hole.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0

    def busy(image: np.ndarray, where: np.ndarray) -> float:
        grey = image.astype(np.float32).mean(axis=2)
        return float((cv2.Sobel(grey, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(grey, cv2.CV_32F, 0, 1) ** 2)[where].mean())

    texture = busy(hillside, around)
    assert busy(get_filler(DEFAULT_FILLER).fill(hillside, hole), inside) >= 0.6 * texture
    assert busy(get_filler("patch-soft").fill(hillside, hole), inside) < 0.5 * texture
