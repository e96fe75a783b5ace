"""Outputs the renderers need: animated GIFs, and transparency kept in images, frame folders and videos."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from unseen.errors import InputError
from unseen.media import clip_writer, media_kind, open_clip, write_image
from unseen.render import cutout

from conftest import make_video, probe, textured_frame


def _matte(index: int, height: int = 48, width: int = 64) -> np.ndarray:
    """A moving opaque square, a half-transparent band, the rest transparent."""
    alpha = np.zeros((height, width), np.uint8)
    alpha[10:30, 5 + index:25 + index] = 255
    alpha[:, width - 10:] = 128
    return alpha


def _write(src: Path, dst: Path, rgba: bool = True, crop: int = 0, **options) -> list[np.ndarray]:
    """Copy ``src`` to ``dst`` (less ``crop`` pixels at the bottom and right), as cutouts when ``rgba``;
    return what was written."""
    clip, written = open_clip(src), []
    with clip_writer(dst, clip, alpha=rgba, **options) as sink:
        for frame in clip:
            image = frame.image[:frame.image.shape[0] - crop, :frame.image.shape[1] - crop]
            image = cutout(image, _matte(frame.index, *image.shape[:2])) if rgba else image
            sink.write(frame.with_image(image))
            written.append(image)
    return written


def test_gif_output_plays_at_most_25_fps_over_the_same_time(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "out.gif"
    make_video(src, frames=24)  # 29.97 fps, with sound
    assert media_kind(dst) == "video"
    _write(src, dst, rgba=False)
    after = probe(dst)
    assert after["frames"] == 20  # 0.8 s at 25 fps
    assert after["size"] == (64, 48)
    assert after["audio_codec"] is None
    assert after["pts_seconds"][-1] == pytest.approx(probe(src)["pts_seconds"][-1], abs=0.04)
    first = next(iter(open_clip(dst))).image
    assert np.abs(first.astype(int) - textured_frame(0, 64, 48)).mean() < 12  # 256 colours, dithered


def test_gif_frames_can_be_scaled_down(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "small.gif"
    make_video(src, frames=3, audio=None)
    _write(src, dst, rgba=False, max_side=32)
    assert probe(dst)["size"] == (32, 24)


def _alpha_of_files(folder: Path) -> list[np.ndarray]:
    return [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(folder.iterdir())]


def test_rgba_frames_keep_their_alpha_in_a_png_folder(tmp_path: Path) -> None:
    src = tmp_path / "in.mp4"
    make_video(src, frames=4, audio=None)
    written = _write(src, tmp_path / "frames")
    read = _alpha_of_files(tmp_path / "frames")
    assert len(read) == 4
    for ours, bgra in zip(written, read, strict=True):
        assert np.array_equal(cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGBA), ours)


@pytest.mark.parametrize("suffix", [".png", ".webp", ".tif"])
def test_rgba_images_keep_their_alpha(tmp_path: Path, suffix: str) -> None:
    rgba = cutout(textured_frame(0, 64, 48), _matte(0))
    write_image(tmp_path / f"cut{suffix}", rgba)
    bgra = cv2.imread(str(tmp_path / f"cut{suffix}"), cv2.IMREAD_UNCHANGED)
    assert bgra.shape == (48, 64, 4)
    assert np.array_equal(bgra[..., 3], rgba[..., 3])


def _decoded_rgba(path: Path, codec: str | None = None) -> list[np.ndarray]:
    """Frames as RGBA; ``codec`` names a decoder to use instead of FFmpeg's own (whose VP9 drops alpha)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if codec is None:
            return [f.to_ndarray(format="rgba") for f in container.decode(stream)]
        decoder = av.CodecContext.create(codec, "r")
        return [f.to_ndarray(format="rgba") for packet in container.demux(stream) for f in decoder.decode(packet)]


def test_mov_keeps_alpha_as_prores_4444_with_timing_and_audio(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "cut.mov"
    make_video(src, frames=12)
    written = _write(src, dst)
    decoded = _decoded_rgba(dst)
    assert len(decoded) == 12
    with av.open(str(dst)) as container:
        assert container.streams.video[0].codec_context.name == "prores"  # what editors expect
    for ours, theirs in zip(written, decoded, strict=True):
        # Alpha is coded losslessly at 16 bits; 8 -> 10 -> 16 -> 12 -> 8-bit rounding moves it by one level.
        assert np.abs(ours[..., 3].astype(int) - theirs[..., 3]).max() <= 1
        assert np.abs(ours[..., :3].astype(int) - theirs[..., :3]).mean() < 1
    before, after = probe(src), probe(dst)
    assert after["pts_seconds"] == before["pts_seconds"]
    assert after["audio_packets"] == before["audio_packets"]


def test_webm_keeps_alpha_and_audio(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "cut.webm"
    make_video(src, frames=12)
    written = _write(src, dst, crop=1)  # odd sizes too
    decoded = _decoded_rgba(dst, codec="libvpx-vp9")
    assert len(decoded) == 12 and decoded[0].shape == (47, 63, 4)
    for ours, theirs in zip(written, decoded, strict=True):
        assert np.abs(ours[..., 3].astype(int) - theirs[..., 3]).mean() < 3
    assert probe(dst)["audio_codec"] == "opus"


@pytest.mark.parametrize("name", ["out.mp4", "out.avi", "out.gif", "out.jpg"])
def test_outputs_without_transparency_refuse_rgba_frames(tmp_path: Path, name: str) -> None:
    src = tmp_path / "in.mp4"
    make_video(src, frames=1, audio=None)
    clip = open_clip(src)
    frame = next(iter(clip))
    rgba = frame.with_image(cutout(frame.image, _matte(0)))
    # Told up front when the caller says the frames will be RGBA, and at the first frame otherwise.
    with pytest.raises(InputError, match=r"cannot hold transparency; .*\.png.*\.webm or \.mov"), \
            clip_writer(tmp_path / name, clip, alpha=True):
        pass
    with pytest.raises(InputError, match="cannot hold transparency"), clip_writer(tmp_path / name, clip) as sink:
        sink.write(rgba)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_a_jpg_frame_folder_refuses_rgba_frames_up_front(tmp_path: Path) -> None:
    src = tmp_path / "in.mp4"
    make_video(src, frames=1, audio=None)
    with pytest.raises(InputError, match=r"\*\.jpg: \.jpg cannot hold transparency"), \
            clip_writer(tmp_path / "frames", open_clip(src), frame_format="jpg", alpha=True):
        pass


def test_opaque_frames_after_transparent_ones_are_written_opaque(tmp_path: Path) -> None:
    src = tmp_path / "in.mp4"
    make_video(src, frames=2, audio=None)
    clip = open_clip(src)
    with clip_writer(tmp_path / "mixed.mov", clip) as sink:
        for frame in clip:
            sink.write(frame.with_image(cutout(frame.image, _matte(0)) if frame.index == 0 else frame.image))
    first, second = _decoded_rgba(tmp_path / "mixed.mov")
    assert np.abs(first[..., 3].astype(int) - _matte(0)).max() <= 1 and (second[..., 3] == 255).all()


def test_big_frames_make_gifs_960_pixels_wide_unless_asked_otherwise(tmp_path: Path) -> None:
    (tmp_path / "frames").mkdir()
    for i in range(2):
        write_image(tmp_path / "frames" / f"{i}.png", textured_frame(i, 1280, 96))
    clip = open_clip(tmp_path / "frames")
    for name, options, size in [("default.gif", {}, (960, 72)), ("full.gif", {"max_side": 0}, (1280, 96))]:
        with clip_writer(tmp_path / name, clip, **options) as sink:
            for frame in clip:
                sink.write(frame)
        assert probe(tmp_path / name)["size"] == size
