"""Background replacement: alpha refinement, background specs, cover-cropping, looping, blur, transparency."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from unseen.errors import InputError
from unseen.media import open_clip, read_gray, read_image, write_image
from unseen.render.alpha import refine_alpha
from unseen.render.background import (
    BlurBackground,
    ImageBackground,
    SolidBackground,
    TransparentBackground,
    VideoBackground,
    composite,
    parse_background,
    replace_background,
)

from conftest import make_video, shared_path


@pytest.mark.parametrize(("spec", "colour"), [
    ("white", (255, 255, 255)), ("black", (0, 0, 0)), ("Green", (0, 255, 0)), ("grey", (128, 128, 128)),
    ("#ff8000", (255, 128, 0)), ("#F80", (255, 136, 0)), (" #0a0B0c ", (10, 11, 12)),
])
def test_colour_specs_fill_the_frame_exactly(spec: str, colour: tuple[int, int, int]) -> None:
    background = parse_background(spec)
    assert isinstance(background, SolidBackground) and not background.transparent
    frame = background.frame(0, 7, 5, np.zeros((5, 7, 3), np.uint8))
    assert frame.shape == (5, 7, 3) and frame.dtype == np.uint8
    assert (frame == np.array(colour, np.uint8)).all()


def test_word_specs() -> None:
    assert parse_background("transparent").transparent
    assert isinstance(parse_background("TRANSPARENT"), TransparentBackground)
    assert parse_background("blur").sigma is None
    blur = parse_background("blur:7.5")
    assert isinstance(blur, BlurBackground) and blur.sigma == 7.5 and not blur.transparent


@pytest.mark.parametrize("spec", ["#12345", "#ggg", "#", "blur:", "blur:abc", "blur:-2", "blur:0", "blur:inf",
                                  "chartreuse-ish", "", "no/such/picture.png"])
def test_bad_specs_say_what_is_accepted(spec: str) -> None:
    with pytest.raises(InputError) as error:
        parse_background(spec)
    message = str(error.value)
    assert "\n" not in message
    if not spec.startswith(("#", "blur")):
        assert all(word in message for word in ("white", "#RRGGBB", "blur", "transparent", "video"))


def test_a_file_of_unknown_type_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a picture")
    with pytest.raises(InputError):
        parse_background(str(path))


def _stripes(width: int, height: int, colours: list[tuple[int, int, int]]) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    step = width // len(colours)
    for i, colour in enumerate(colours):
        image[:, i * step:(i + 1) * step] = colour
    return image


STRIPES = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0)]


def test_image_background_covers_without_stretching(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    write_image(path, _stripes(40, 20, STRIPES))  # four 10 px stripes, 2:1
    background = parse_background(str(path))
    assert isinstance(background, ImageBackground)
    # A square frame: scaled x5 to 200x100, the middle 100 columns are kept, so each stripe is 50 px wide
    # and only the two middle stripes show (a stretched image would show all four, 25 px each).
    frame = background.frame(0, 100, 100)
    assert frame.shape == (100, 100, 3)
    assert (frame[:, 3:47] == STRIPES[1]).all() and (frame[:, 53:97] == STRIPES[2]).all()
    assert background.frame(1, 100, 100) is frame  # the same size again comes from the cache
    # A tall frame keeps the middle of the image (the boundary between stripes 1 and 2) in its middle.
    tall = background.frame(0, 20, 100)
    assert tall.shape == (100, 20, 3)
    assert (tall[:, :8] == STRIPES[1]).all() and (tall[:, 12:] == STRIPES[2]).all()


def test_short_video_background_loops(tmp_path: Path) -> None:
    path = tmp_path / "bg.mp4"
    make_video(path, frames=5, width=32, height=24, audio=None)
    expected = [frame.image for frame in open_clip(path)]
    assert len(expected) == 5
    with parse_background(str(path)) as background:
        assert isinstance(background, VideoBackground)
        for index in range(12):
            assert np.array_equal(background.frame(index, 32, 24), expected[index % 5]), index
        # Going back (a re-run, a seek) restarts the stream.
        assert np.array_equal(background.frame(1, 32, 24), expected[1])
        # Another frame size is cover-scaled from the same source frame.
        assert background.frame(2, 64, 24).shape == (24, 64, 3)


def test_folder_background_loops(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    images = [np.full((6, 8, 3), 40 * (i + 1), np.uint8) for i in range(3)]
    for i, image in enumerate(images):
        write_image(folder / f"f{i}.png", image)
    with parse_background(str(folder)) as background:
        for index in range(7):
            assert np.array_equal(background.frame(index, 8, 6), images[index % 3])


def test_composite_blends_in_float_and_rounds_once() -> None:
    fg = np.full((1, 4, 3), 200, np.uint8)
    bg = np.full((1, 4, 3), 100, np.uint8)
    alpha = np.array([[0.0, 1.0, 0.5, 0.254]], np.float32)
    out = composite(fg, alpha, bg)
    assert out.dtype == np.uint8
    assert out[0, :, 0].tolist() == [100, 200, 150, 125]  # 125.4 rounds to 125
    # A float foreground is not rounded before blending: 0.5 * 200.6 + 0.5 * 100 = 150.3 -> 150.
    assert composite(np.full((1, 4, 3), 200.6, np.float32), alpha, bg)[0, 2, 0] == 150


def _red_square_on_grey(size: int = 96, side: int = 32) -> tuple[np.ndarray, np.ndarray, slice]:
    rng = np.random.default_rng(1)
    grey = rng.integers(90, 170, (size, size), dtype=np.uint8)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    inside = slice((size - side) // 2, (size + side) // 2)
    rgb[inside, inside] = (255, 0, 0)
    probability = np.zeros((size, size), np.float32)
    probability[inside, inside] = 1
    return rgb, probability, inside


def test_blur_keeps_the_person_and_keeps_their_colour_out_of_the_background() -> None:
    rgb, probability, inside = _red_square_on_grey()
    out = replace_background(rgb, probability, parse_background("blur:6"))
    core = slice(inside.start + 3, inside.stop - 3)
    assert np.array_equal(out[core, core], rgb[core, core])
    # The textured background is smoothed...
    far = (slice(0, 20), slice(0, 20))
    assert out[far].astype(float).std() < 0.3 * rgb[far].astype(float).std()
    # ...and just outside the square it stays grey: no red halo (R - G is 0 for grey).
    ring = np.zeros(probability.shape, bool)
    ring[inside.start - 8:inside.stop + 8, inside.start - 8:inside.stop + 8] = True
    ring[inside.start - 2:inside.stop + 2, inside.start - 2:inside.stop + 2] = False
    redness = out[ring][:, 0].astype(int) - out[ring][:, 1].astype(int)
    assert redness.max() <= 6
    # A plain blur of the frame would have turned that ring red: the check above means something.
    naive = cv2.GaussianBlur(rgb, (0, 0), 6)
    assert (naive[ring][:, 0].astype(int) - naive[ring][:, 1].astype(int)).max() > 60


def test_transparent_gives_rgba_whose_alpha_follows_the_probability() -> None:
    rgb, _, _ = _red_square_on_grey()
    y, x = np.mgrid[0:96, 0:96]
    probability = np.clip(20 - np.hypot(x - 48, y - 48), 0, 1).astype(np.float32)  # a disc, 1 px ramp
    out = replace_background(rgb, probability, parse_background("transparent"))
    assert out.shape == (96, 96, 4) and out.dtype == np.uint8
    alpha = out[..., 3]
    expected = np.clip(refine_alpha(rgb, probability) * 255 + 0.5, 0, 255).astype(np.uint8)
    assert np.abs(alpha.astype(int) - expected).max() <= 1  # rounding ties may go either way
    assert (alpha[probability == 1] == 255).all() and (alpha[probability == 0] == 0).all()
    # Where the person is opaque the colours are the input's.
    opaque = alpha == 255
    assert np.array_equal(out[..., :3][opaque], rgb[opaque])


def _edge_band(mask: np.ndarray, radius: int = 8) -> np.ndarray:
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    outside = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3)
    return ((inside > 0) & (inside <= radius)) | ((outside > 0) & (outside <= radius))


def test_refine_alpha_brings_a_blocky_mask_closer_to_the_truth() -> None:
    clip = shared_path("data", "clips", "parkour")
    rgb = read_image(clip / "frames" / "00030.jpg")
    truth = read_gray(clip / "masks" / "00030.png") > 127
    height, width = truth.shape
    # What a network at a quarter of the resolution gives, scaled up without smoothing: blocks.
    small = cv2.resize(truth.astype(np.float32), (width // 4, height // 4), interpolation=cv2.INTER_AREA)
    blocky = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    band = _edge_band(truth)

    def error(alpha: np.ndarray) -> float:
        return float(np.abs(alpha - truth)[band].mean())

    refined = error(refine_alpha(rgb, blocky))
    # Measured: blocky 0.092, thresholded 0.066, refined 0.036.
    assert refined < 0.6 * error(blocky)
    assert refined < 0.7 * error((blocky > 0.5).astype(np.float32))


def test_refine_alpha_accepts_a_network_sized_uint8_map() -> None:
    rgb, probability, inside = _red_square_on_grey()
    small = cv2.resize((probability * 255).astype(np.uint8), (48, 48), interpolation=cv2.INTER_AREA)
    alpha = refine_alpha(rgb, small)
    assert alpha.shape == (96, 96) and alpha.dtype == np.float32
    assert alpha.min() >= 0 and alpha.max() <= 1
    # The red square's real edge is sharp, so the refined edge is too: at most one partial pixel per row.
    assert ((alpha[48] > 0) & (alpha[48] < 1)).sum() <= 2
    assert (alpha[inside, inside][2:-2, 2:-2] == 1).all()
