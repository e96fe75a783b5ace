"""Media in and out: videos keep frames, timing, rotation and audio; images and folders round-trip."""

from __future__ import annotations

import os
import stat
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from unseen.errors import InputError
from unseen.media import clip_writer, open_clip, read_image, write_image
from unseen.media.atomic import atomic_folder

from conftest import make_video, probe, textured_frame


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255**2 / max(mse, 1e-10))


def _copy(src: Path, dst: Path) -> None:
    clip = open_clip(src)
    with clip_writer(dst, clip) as sink:
        for frame in clip:
            sink.write(frame)


def test_video_round_trip_keeps_frames_timing_and_audio(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    images = make_video(src, frames=30)
    _copy(src, dst)
    before, after = probe(src), probe(dst)
    assert after["frames"] == before["frames"] == 30
    assert after["pts_seconds"] == before["pts_seconds"]
    assert after["avg_fps"] == Fraction(30000, 1001)
    assert after["duration"] == pytest.approx(before["duration"], abs=1e-3)
    assert after["size"] == (64, 48)
    # Audio is copied packet for packet, not re-encoded.
    assert after["audio_codec"] == "aac"
    assert after["audio_packets"] == before["audio_packets"]
    decoded = [f.image for f in open_clip(dst)]
    assert min(_psnr(a, b) for a, b in zip(images, decoded, strict=True)) > 30


def test_variable_frame_rate_survives(tmp_path: Path) -> None:
    src, dst = tmp_path / "vfr.mp4", tmp_path / "out.mov"
    make_video(src, frames=20, vfr=True)
    _copy(src, dst)
    before, after = probe(src), probe(dst)
    assert after["pts_seconds"] == before["pts_seconds"]
    assert after["duration"] == pytest.approx(before["duration"], abs=1e-3)
    assert after["audio_packets"] == before["audio_packets"]


def test_rotation_is_kept_and_frames_are_read_upright(tmp_path: Path) -> None:
    src, dst = tmp_path / "rot.mp4", tmp_path / "out.mp4"
    images = make_video(src, frames=6, width=64, height=48, rotation=90)
    clip = open_clip(src)
    assert clip.size == (64, 48)  # the upright picture, as the camera saw it
    first = next(iter(clip)).image
    assert first.shape == (48, 64, 3) and _psnr(first, images[0]) > 30
    _copy(src, dst)
    assert probe(dst)["rotation"] == 90
    assert probe(dst)["size"] == probe(src)["size"]


@pytest.mark.parametrize("suffix, audio_codec", [(".mkv", "aac"), (".mov", "aac"), (".webm", "opus"),
                                                 (".avi", "aac")])
def test_other_containers_keep_frame_count_and_audio(tmp_path: Path, suffix: str, audio_codec: str) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / f"out{suffix}"
    make_video(src, frames=12)
    _copy(src, dst)
    after = probe(dst)
    assert after["frames"] == 12
    assert after["audio_codec"] == audio_codec
    assert after["audio_seconds"] == pytest.approx(probe(src)["audio_seconds"], abs=0.05)


def test_odd_sized_video_keeps_its_size(tmp_path: Path) -> None:
    src, dst = tmp_path / "odd.mp4", tmp_path / "out.mp4"
    clip_images = [textured_frame(i, 33, 21) for i in range(3)]
    with clip_writer(dst, open_clip(_write_folder(tmp_path / "frames", clip_images))) as sink:
        for frame in open_clip(tmp_path / "frames"):
            sink.write(frame)
    assert probe(dst)["size"] == (33, 21)
    assert not src.exists()


def _write_folder(folder: Path, images: list[np.ndarray], names: list[str] | None = None,
                  suffix: str = ".png") -> Path:
    folder.mkdir()
    for i, image in enumerate(images):
        write_image(folder / f"{names[i] if names else f'{i:05d}'}{suffix}", image)
    return folder


def test_frame_folder_is_read_in_natural_order_and_names_are_kept(tmp_path: Path) -> None:
    images = [textured_frame(i, 20, 10) for i in range(3)]
    src = _write_folder(tmp_path / "in", images, names=["f2", "f10", "f1"], suffix=".jpg")
    clip = open_clip(src)
    assert [f.name for f in clip] == ["f1", "f2", "f10"]
    with clip_writer(tmp_path / "out", clip) as sink:
        for frame in clip:
            sink.write(frame)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["f1.png", "f10.png", "f2.png"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".webp", ".jpg"])
def test_image_formats_round_trip(tmp_path: Path, suffix: str) -> None:
    image = textured_frame(0, 40, 30)
    path = tmp_path / f"фото{suffix}"  # non-ASCII names must work too
    write_image(path, image)
    threshold = 30 if suffix == ".jpg" else 40
    assert _psnr(read_image(path), image) > threshold


def test_failed_write_leaves_nothing_behind(tmp_path: Path, video_with_audio: Path) -> None:
    clip = open_clip(video_with_audio)
    with pytest.raises(RuntimeError), clip_writer(tmp_path / "out.mp4", clip) as sink:
        for frame in clip:
            sink.write(frame)
            raise RuntimeError("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_corrupt_and_truncated_videos_are_input_errors(tmp_path: Path, video_with_audio: Path) -> None:
    data = video_with_audio.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 3])
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x01not a video" * 100)
    for path in (truncated, garbage):
        with pytest.raises(InputError):
            list(open_clip(path))


def test_outputs_get_the_permissions_of_any_new_file_not_private_temp_ones(tmp_path):
    old = os.umask(0o022)
    try:
        write_image(tmp_path / "a.png", np.zeros((4, 4, 3), np.uint8))
        with atomic_folder(tmp_path / "frames") as folder:
            write_image(folder / "b.png", np.zeros((4, 4, 3), np.uint8))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.png").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "frames" / "b.png").stat().st_mode) == 0o644
