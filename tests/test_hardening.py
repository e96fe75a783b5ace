"""What fuzzing found, as a user meets it: transparency and 16 bits kept, nothing left behind by failed,
stopped or killed runs, one line for corrupt images, folders of photos not taken for videos, and the
newcomer's details (legend, palette masks, a progress bar that ends at its total)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from unseen.cli import main
from unseen.media import open_clip, write_image
from unseen.media.metadata import PhotoMetadata, embed_metadata
from unseen.progress import progress
from unseen.render.palette import colors_for
from unseen.segment.base import register_segmenter

from conftest import make_video, textured_frame, write_mask

FAKE_MODEL = "test-colours"


class _ColourSegmenter:
    """Red things are people, green things cars, with soft probabilities (so that smoothing across frames
    would show); no weights needed."""

    name = FAKE_MODEL
    classes = ("background", "person", "car")

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        red, green = (rgb[..., i].astype(np.float32) / 255 for i in (0, 1))
        person, car = red * (1 - green), green * (1 - red)
        return np.dstack([np.clip(1 - person - car, 0, 1), person, car]).astype(np.float32)


register_segmenter(FAKE_MODEL, lambda device: _ColourSegmenter(), "red people, green cars (tests)")


def run(capfd, *args) -> tuple[int, str]:
    """Run the command in-process; its exit status and everything on the stderr file descriptor (what C
    libraries print included)."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit_:
        code = exit_.code
    return code, capfd.readouterr().err


def _lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def _square_mask(path: Path, size: tuple[int, int], box: tuple[int, int, int, int]) -> Path:
    mask = np.zeros(size[::-1], bool)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = True
    return write_mask(path, mask)


# --- 1. transparency and 16 bits ----------------------------------------------------------------------------

def _rgba_photo(width: int = 64, height: int = 48, index: int = 0) -> np.ndarray:
    """A striped picture whose right third is transparent and hides bright green."""
    rgba = np.dstack([textured_frame(index, width, height), np.full((height, width), 255, np.uint8)])
    rgba[:, 2 * width // 3:] = (0, 255, 0, 0)
    rgba[:8, :8, 3] = 128  # half see-through
    return rgba


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_remove_keeps_the_alpha_channel_of_a_photo(tmp_path: Path, capfd, suffix: str) -> None:
    photo = tmp_path / f"photo{suffix}"
    rgba = _rgba_photo()
    cv2.imwrite(str(photo), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA), [cv2.IMWRITE_WEBP_QUALITY, 101])
    # The hole runs from the opaque part into the transparent one.
    mask = _square_mask(tmp_path / "mask.png", (64, 48), (30, 16, 56, 32))
    code, err = run(capfd, "remove", photo, "--mask", mask, "-o", tmp_path / f"out{suffix}", "-q")
    assert code == 0, err
    out = cv2.cvtColor(cv2.imread(str(tmp_path / f"out{suffix}"), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    assert out.shape == (48, 64, 4)
    assert np.array_equal(out[..., 3], rgba[..., 3])  # transparent stays transparent, the hole's part too
    if suffix == ".png":
        outside = ~cv2.dilate(cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE), np.ones((7, 7))).astype(bool)
        assert np.array_equal(out[outside], rgba[outside])


def test_remove_keeps_the_alpha_of_a_folder_of_frames(tmp_path: Path, capfd) -> None:
    frames, masks = tmp_path / "frames", tmp_path / "masks"
    frames.mkdir(), masks.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"{i:05d}.png"), cv2.cvtColor(_rgba_photo(index=i), cv2.COLOR_RGBA2BGRA))
        _square_mask(masks / f"{i:05d}.png", (64, 48), (10 + i, 16, 26 + i, 32))
    code, err = run(capfd, "remove", frames, "--mask", masks, "-o", tmp_path / "clean", "-q")
    assert code == 0, err
    for i in range(3):
        out = cv2.imread(str(tmp_path / "clean" / f"{i:05d}.png"), cv2.IMREAD_UNCHANGED)
        assert out.shape == (48, 64, 4) and np.array_equal(out[..., 3], _rgba_photo(index=i)[..., 3])


def test_remove_keeps_16_bits_and_warns_once_where_the_format_cannot(tmp_path: Path, capfd) -> None:
    deep = (textured_frame(0, 64, 48).astype(np.uint16) * 257 + np.arange(64, dtype=np.uint16)[None, :, None])
    deep[16:32, 20:36] = 2000
    photo = tmp_path / "deep.png"
    cv2.imwrite(str(photo), cv2.cvtColor(deep, cv2.COLOR_RGB2BGR))
    mask = _square_mask(tmp_path / "mask.png", (64, 48), (20, 16, 36, 32))
    code, err = run(capfd, "remove", photo, "--mask", mask, "-o", tmp_path / "out.png", "-q")
    assert code == 0, err
    out = cv2.cvtColor(cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    assert out.dtype == np.uint16
    hole = np.zeros((48, 64), bool)
    hole[14:34, 18:38] = True  # the mask, grown by --dilate's 2 px
    assert np.array_equal(out[~hole], deep[~hole])  # unmasked pixels exactly as they were
    assert out[18:30, 22:34].mean() > 60 * 257  # the dark square is gone
    # A format of 8 bits: written, with one warning (not one per frame).
    (tmp_path / "deeps").mkdir()
    for name in ("a", "b"):
        cv2.imwrite(str(tmp_path / "deeps" / f"{name}.png"), cv2.cvtColor(deep, cv2.COLOR_RGB2BGR))
    code, err = run(capfd, "remove", tmp_path / "deeps", "--mask", mask, "-o", tmp_path / "jpgs",
                    "--frame-format", "jpg")
    assert code == 0, err
    assert sum("16-bit" in line for line in _lines(err)) == 1, err
    assert cv2.imread(str(tmp_path / "jpgs" / "b.jpg")).dtype == np.uint8


def _srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp"])
def test_remove_keeps_exif_and_the_colour_profile_with_the_photo_upright(tmp_path: Path, capfd, suffix: str
                                                                         ) -> None:
    icc = _srgb_profile()
    exif = Image.Exif()
    exif[0x0112], exif[0x010F], exif[0x9003] = 6, "TestCam", "2026:11:30 12:00:00"  # turned, maker, date
    photo = tmp_path / "photo.jpg"
    Image.fromarray(textured_frame(0, 64, 48)).save(photo, exif=exif.tobytes(), icc_profile=icc, quality=95)
    mask = _square_mask(tmp_path / "mask.png", (48, 64), (10, 20, 30, 40))  # upright: 48 wide, 64 high
    out = tmp_path / f"out{suffix}"
    code, err = run(capfd, "remove", photo, "--mask", mask, "-o", out, "-q")
    assert code == 0, err
    with Image.open(out) as written:
        tags = written.getexif()
        assert written.size == (48, 64)
        assert written.info.get("icc_profile") == icc
    assert tags[0x010F] == "TestCam" and tags[0x9003] == "2026:11:30 12:00:00"
    assert tags.get(0x0112, 1) == 1  # the pixels are upright: a viewer must not turn them again
    assert cv2.imread(str(out)).shape == (64, 48, 3)


def test_a_16_bit_png_keeps_its_colour_profile_and_depth(tmp_path: Path, capfd) -> None:
    icc = _srgb_profile()
    deep = textured_frame(0, 64, 48).astype(np.uint16) * 257
    photo = tmp_path / "deep.png"
    cv2.imwrite(str(photo), cv2.cvtColor(deep, cv2.COLOR_RGB2BGR))
    photo.write_bytes(embed_metadata(photo.read_bytes(), ".png", PhotoMetadata(icc=icc)))
    mask = _square_mask(tmp_path / "mask.png", (64, 48), (20, 16, 36, 32))
    code, err = run(capfd, "remove", photo, "--mask", mask, "-o", tmp_path / "out.png", "-q")
    assert code == 0, err
    with Image.open(tmp_path / "out.png") as written:
        assert written.info.get("icc_profile") == icc
    assert cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16


# --- 2. nothing created by a failed run ---------------------------------------------------------------------

def test_a_failed_run_creates_no_folders(tmp_path: Path, capfd) -> None:
    photo = tmp_path / "photo.png"
    write_image(photo, textured_frame(0, 64, 48))
    code, err = run(capfd, "remove", photo, "--mask", tmp_path / "nope.png", "-o", tmp_path / "new/sub/out.png")
    assert code == 2 and len(_lines(err)) == 1
    assert not (tmp_path / "new").exists()
    # Failing half-way (the second photo has no mask): the folders made for the output go again.
    (tmp_path / "photos").mkdir(), (tmp_path / "masks").mkdir()
    for name in ("a", "b"):
        write_image(tmp_path / "photos" / f"{name}.png", textured_frame(0, 64, 48))
    for name in ("a", "c"):
        _square_mask(tmp_path / "masks" / f"{name}.png", (64, 48), (20, 16, 36, 32))
    code, err = run(capfd, "remove", tmp_path / "photos", "--mask", tmp_path / "masks", "-o", tmp_path / "new/sub/out")
    assert code == 2 and "no mask named 'b'" in err and len(_lines(err)) == 1
    assert not (tmp_path / "new").exists()


# --- 3. signals --------------------------------------------------------------------------------------------

def _long_job(tmp_path: Path, output: str) -> list[str]:
    """A command that works for a second or more after its temporary output appears."""
    video = tmp_path / "in.mp4"
    make_video(video, frames=40, width=160, height=120, audio=None)
    mask = _square_mask(tmp_path / "mask.png", (160, 120), (60, 40, 100, 80))
    return [sys.executable, "-m", "unseen", "remove", str(video), "--mask", str(mask), "-o",
            str(tmp_path / "out" / output), "-q"]


def _parts(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".part" in p.name] if folder.is_dir() else []


def _start_and_wait_for_part(command: list[str], folder: Path) -> subprocess.Popen:
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not _parts(folder):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no temporary output appeared"
        time.sleep(0.01)
    return process


@pytest.mark.parametrize("stop, output", [(signal.SIGTERM, "clean.mp4"), (signal.SIGHUP, "frames")])
def test_term_and_hup_clean_up_like_ctrl_c(tmp_path: Path, stop: signal.Signals, output: str) -> None:
    process = _start_and_wait_for_part(_long_job(tmp_path, output), tmp_path / "out")
    process.send_signal(stop)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + stop, err
    assert len(_lines(err)) == 1 and "no output written" in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()  # the temporary output and the folder made for it


def test_the_next_run_removes_what_a_killed_run_left(tmp_path: Path) -> None:
    command = _long_job(tmp_path, "frames")
    process = _start_and_wait_for_part(command, tmp_path / "out")
    process.kill()
    process.communicate(timeout=60)
    left = _parts(tmp_path / "out")
    assert left  # SIGKILL cannot be handled
    # Parts of running writers (here: this test's process) stay, unless they stopped changing an hour ago;
    # files of other naming are not ours to touch.
    live = tmp_path / "out" / f".other.{os.getpid()}.abcdefgh.part.png"
    old = tmp_path / "out" / f".old.{os.getpid()}.abcdefgh.part.png"
    theirs = tmp_path / "out" / ".notes.part.txt"
    for path in (live, old, theirs):
        path.write_text("")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not any(p.exists() for p in left) and not old.exists()
    assert live.exists() and theirs.exists()
    assert len(list((tmp_path / "out" / "frames").iterdir())) == 40


_HOOK = """
import os, runpy, signal, sys

class CtrlCDuringImport:  # the user presses Ctrl-C while NumPy loads
    def find_spec(self, name, path=None, target=None):
        if name == "numpy":
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlCDuringImport())
sys.argv = ["unseen", "--version"]
"""


@pytest.mark.parametrize("start", ["runpy.run_module('unseen', run_name='__main__')",
                                   "from unseen.cli import main; sys.exit(main())"])
def test_ctrl_c_while_loading_exits_130_with_one_line(start: str) -> None:
    done = subprocess.run([sys.executable, "-c", _HOOK + start], capture_output=True, text=True, timeout=60)
    assert done.returncode == 130, done.stderr
    assert _lines(done.stderr) == ["unseen: interrupted"], done.stderr


# --- 4. corrupt images -------------------------------------------------------------------------------------

def _corrupt(tmp_path: Path) -> dict[str, Path]:
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    png, jpg = (cv2.imencode(suffix, image)[1].tobytes() for suffix in (".png", ".jpg"))
    files = {"truncated png": png[:len(png) // 2], "bad png chunk": png[:40] + bytes([png[40] ^ 0xFF]) + png[41:],
             "garbled jpeg": jpg[:200] + bytes(50) + jpg[250:]}
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / (name.replace(" ", "-") + (".png" if "png" in name else ".jpg"))
        paths[name].write_bytes(data)
    return paths


NOISE = ("WARN", "libpng", "Corrupt JPEG", "grfmt", "error:")


@pytest.mark.parametrize("case", ["truncated png", "bad png chunk"])
@pytest.mark.parametrize("role", ["input", "mask"])
def test_a_corrupt_image_gets_one_line_and_no_library_noise(tmp_path: Path, capfd, case: str, role: str) -> None:
    bad = _corrupt(tmp_path)[case]
    photo = tmp_path / "photo.png"
    write_image(photo, textured_frame(0, 64, 48))
    photo, mask = (bad, photo) if role == "input" else (photo, bad)
    code, err = run(capfd, "remove", photo, "--mask", mask, "-o", tmp_path / "out.png", "-q")
    assert code == 2
    assert _lines(err) == [f"unseen: error: {bad}: not a readable image (empty, truncated or of an unknown format)"]


def test_damaged_but_readable_jpeg_prints_no_library_noise(tmp_path: Path, capfd) -> None:
    bad = _corrupt(tmp_path)["garbled jpeg"]
    mask = _square_mask(tmp_path / "mask.png", (64, 48), (20, 16, 36, 32))
    code, err = run(capfd, "remove", bad, "--mask", mask, "-o", tmp_path / "out.png", "-q")
    assert code == 0 and not any(word in err for word in NOISE), err


# --- 5. folders of photos ----------------------------------------------------------------------------------

def _unrelated(index: int, width: int, height: int) -> np.ndarray:
    """A picture of its own: a grey level and a direction of stripes that no other index shares, and a
    soft red (person) and green (car) blob."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = index * 1.3
    stripes = 60 + 50 * np.sin((x * np.cos(angle) + y * np.sin(angle)) / (3 + 2 * index)) + 40 * (index % 3)
    image = np.repeat(stripes[..., None], 3, axis=2)
    for channel, (cx, cy) in ((0, (0.3, 0.5)), (1, (0.7, 0.4))):
        blob = np.exp(-(((x - cx * width) / (0.15 * width)) ** 2 + ((y - cy * height) / (0.2 * height)) ** 2))
        image[..., channel] = image[..., channel] * (1 - blob) + 255 * blob
        image[..., 1 - channel] *= 1 - 0.8 * blob
    return image.clip(0, 255).astype(np.uint8)


SIZES = [(64, 48), (80, 60), (48, 64)]


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, size in enumerate(SIZES):
        write_image(folder / f"p{i}.jpg", _unrelated(i, *size))
    return folder


@pytest.mark.parametrize("render", ["mask", "overlay", "contours", "cutout", "collage"])
def test_segment_a_folder_of_photos_of_different_sizes(tmp_path: Path, capfd, photos: Path, render: str) -> None:
    code, err = run(capfd, "segment", photos, "--classes", "car", "--render", render, "--model", FAKE_MODEL,
                    "-o", tmp_path / "out", "-q")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p0.png", "p1.png", "p2.png"]
    if render != "collage":
        assert [Image.open(tmp_path / "out" / f"p{i}.png").size for i in range(3)] == SIZES


def test_background_and_remove_target_on_photos_of_different_sizes(tmp_path: Path, capfd, photos: Path) -> None:
    code, err = run(capfd, "background", photos, "--with", "white", "--model", FAKE_MODEL, "-o", tmp_path / "b", "-q")
    assert code == 0, err
    code, err = run(capfd, "remove", photos, "--target", "car", "--model", FAKE_MODEL, "-o", tmp_path / "r",
                    "--frame-format", "jpg", "-q")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["p0.jpg", "p1.jpg", "p2.jpg"]


def test_photos_do_not_change_each_others_masks(tmp_path: Path, capfd) -> None:
    alone, together = tmp_path / "alone", tmp_path / "together"
    alone.mkdir(), together.mkdir()
    write_image(alone / "a.png", _unrelated(0, 64, 48))
    for i, name in enumerate("abc"):
        write_image(together / f"{name}.png", _unrelated(i, 64, 48))  # one size: only their looks differ
    assert not open_clip(together).sequence
    for folder in (alone, together):
        code, err = run(capfd, "segment", folder, "--classes", "person,car", "--model", FAKE_MODEL,
                        "-o", tmp_path / f"{folder.name}-masks", "-q")
        assert code == 0, err
    masks = [np.array(Image.open(tmp_path / f"{name}-masks" / "a.png")) for name in ("alone", "together")]
    assert masks[0].any() and np.array_equal(*masks)


def test_frames_of_a_video_are_a_sequence_and_the_user_may_say_otherwise(tmp_path: Path, capfd, photos: Path
                                                                         ) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(6):
        write_image(frames / f"{i:05d}.jpg", textured_frame(i, 64, 48))
    assert open_clip(frames).sequence and not open_clip(frames, "photos").sequence
    assert not open_clip(photos).sequence
    mask = _square_mask(tmp_path / "mask.png", (64, 48), (20, 16, 36, 32))
    for args, words in ((["--sequence"], "share one size"), (["--method", "flow"], "--sequence"),
                        (["--photos", "--method", "flow"], "--sequence")):
        code, err = run(capfd, "remove", photos, "--mask", mask, "-o", tmp_path / "x", *args)
        assert code == 2 and len(_lines(err)) == 1 and words in err, err
    code, err = run(capfd, "segment", photos, "--model", FAKE_MODEL, "--classes", "car", "-o", tmp_path / "x.mp4")
    assert code == 2 and "differ in size" in err and len(_lines(err)) == 1
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.mp4").exists()


# --- 6. legend, palette masks, the progress bar's end --------------------------------------------------------

def _street(tmp_path: Path) -> Path:
    photo = tmp_path / "street.png"
    write_image(photo, _unrelated(0, 320, 240))
    return photo


@pytest.mark.parametrize("render", ["overlay", "contours"])
def test_several_classes_get_a_legend_in_their_colours(tmp_path: Path, capfd, render: str) -> None:
    photo = _street(tmp_path)
    corners = {}
    for classes in ("car", "person,car"):
        out = tmp_path / f"{classes}.png"
        code, err = run(capfd, "segment", photo, "--classes", classes, "--render", render, "--model", FAKE_MODEL,
                        "-o", out, "-q")
        assert code == 0, err
        corners[classes] = cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)[:40, :80].reshape(-1, 3)
    for color in colors_for(["person", "car"]):
        assert (corners["person,car"] == color).all(axis=1).sum() >= 20  # a swatch and the name
        assert not (corners["car"] == color).all(axis=1).any()  # one class: nothing to explain


def test_a_mask_of_several_classes_is_a_palette_png_of_class_numbers(tmp_path: Path, capfd) -> None:
    photo = _street(tmp_path)
    code, err = run(capfd, "segment", photo, "--classes", "person,car", "--model", FAKE_MODEL,
                    "-o", tmp_path / "labels.png", "-q")
    assert code == 0, err
    labels = Image.open(tmp_path / "labels.png")
    assert labels.mode == "P"
    assert set(np.unique(np.array(labels))) == {0, 1, 2}
    palette = np.array(labels.getpalette()[:9], np.uint8).reshape(3, 3)
    assert np.array_equal(palette, np.vstack([[0, 0, 0], colors_for(["person", "car"])]))
    # One class stays a black-and-white mask, usable as --mask.
    code, err = run(capfd, "segment", photo, "--classes", "car", "--model", FAKE_MODEL, "-o", tmp_path / "car.png")
    assert code == 0 and Image.open(tmp_path / "car.png").mode == "L"


def test_in_a_video_output_the_video_is_stream_0(tmp_path: Path, capfd, video_with_audio: Path) -> None:
    mask = _square_mask(tmp_path / "mask.png", (64, 48), (20, 16, 36, 32))
    code, err = run(capfd, "remove", video_with_audio, "--mask", mask, "-o", tmp_path / "out.mp4", "-q")
    assert code == 0, err
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert [stream.type for stream in container.streams] == ["video", "audio"]


def test_the_progress_bar_ends_at_its_total(capsys) -> None:
    def slow_then_quick():
        time.sleep(1.2)
        yield from range(5)  # the last ones come faster than the bar redraws

    assert list(progress(slow_then_quick(), 5, "remove", enabled=True)) == list(range(5))
    assert "5/5 [" in capsys.readouterr().err
