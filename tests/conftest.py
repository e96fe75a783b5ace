"""Shared fixtures: synthetic media made in the test (PyAV, NumPy) and the location of ../shared."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from unseen.media import Frame

ROOT = Path(__file__).resolve().parents[1]
# Every architecture of the registry, small enough to train in a second or two on one CPU thread.
TINY = {
    "unet": {"encoder_options": {"width": 0.125, "depth": 4}},
    "unet-vgg16": {"encoder_options": {"width": 0.0625, "depth": 4}},
    "deeplabv3plus": {"encoder_options": {"scale": 1.0}, "aspp_channels": 16, "low_level_channels": 8,
                      "decoder_channels": 16},
    "fcn": {"encoder_options": {"width": 0.0625}, "neck_channels": 16},
    "espnetv2": {"scale": 1.0},
}
ARCHS = list(TINY)


def shared_path(*parts: str) -> Path:
    """A file under ../shared; fails under CI=true when missing, skips elsewhere."""
    base = Path(os.environ.get("UNSEEN_SHARED", ROOT.parent / "shared"))
    path = base.joinpath(*parts)
    if not path.exists():
        message = f"{path} is missing: tests need ../shared beside the project"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session", autouse=True)
def private_model_cache(tmp_path_factory: pytest.TempPathFactory):
    """A model cache of the test session's own: the networks the tests build and train (new weights every run)
    would otherwise leave their onnxruntime exports in the user's cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UNSEEN_CACHE", str(tmp_path_factory.mktemp("unseen-cache")))
        yield


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op torch thread: on a shared 2-core machine two OpenMP threads can run 10x slower, not 2x
    faster. A module asks for it with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def shared_models_one_thread(one_thread):
    """Models from ../shared/models, never downloaded; one torch thread (a shared 2-core machine)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UNSEEN_MODELS", str(shared_path("models")))
        yield


def textured_frame(index: int, width: int, height: int) -> np.ndarray:
    """A smooth, panning pattern: frames differ, and their content is easy to check after coding."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 128 + 100 * np.sin((x + 3 * index) / 9.0)
    g = 128 + 100 * np.cos(y / 7.0)
    b = np.full_like(x, (index * 20) % 256)
    return np.dstack([r, g, b]).clip(0, 255).astype(np.uint8)


def make_video(path: Path, frames: int = 24, width: int = 64, height: int = 48,
               fps: Fraction = Fraction(30000, 1001), audio: str | None = "aac", vfr: bool = False,
               rotation: int = 0, images: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Write a test video with PyAV (independently of unseen's writer); return its frames.

    ``vfr`` doubles every third frame's duration; ``audio`` names the codec of a 440 Hz tone that
    lasts as long as the video; ``images`` are the frames to write (default: ``frames`` textured ones).
    """
    time_base = Fraction(1, 90000)
    step = round(1 / fps / time_base)
    if images is None:
        images = [textured_frame(i, width, height) for i in range(frames)]
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        # Rotated videos store the picture turned back clockwise; players turn it upright.
        stored = [np.ascontiguousarray(np.rot90(image, -(rotation // 90))) for image in images]
        video.height, video.width = stored[0].shape[:2]
        video.pix_fmt = "yuv420p"
        video.codec_context.time_base = time_base
        video.options = {"crf": "10"}
        if rotation:
            video.set_display_rotation(rotation)
        sound = out.add_stream(audio, rate=48000) if audio else None
        if sound is not None:
            sound.codec_context.layout = "stereo"
        pts = 0
        for i, image in enumerate(stored):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = pts, time_base
            pts += step * (2 if vfr and i % 3 == 0 else 1)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            samples = int(pts * time_base * 48000)
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / 48000)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = tone[start:start + 1024]
                frame = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp", layout="stereo")
                frame.sample_rate, frame.pts, frame.time_base = 48000, start, Fraction(1, 48000)
                out.mux(sound.encode(frame))
            out.mux(sound.encode(None))
    return images


def probe(path: Path) -> dict:
    """Facts a user checks about a video: frames, timing, size, rotation and audio."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        audio = container.streams.audio[0] if container.streams.audio else None
        info = {
            "frames": len(frames),
            "pts_seconds": [round(float(f.pts * f.time_base), 3) for f in frames],
            "avg_fps": stream.average_rate,
            "size": (stream.codec_context.width, stream.codec_context.height),
            "rotation": int(frames[0].rotation or 0),
            "duration": float(stream.duration * stream.time_base) if stream.duration else None,
            "audio_codec": audio.codec_context.name if audio else None,
        }
    if audio is not None:
        with av.open(str(path)) as container:
            packets = [p for p in container.demux(container.streams.audio[0]) if p.size]
            info["audio_packets"] = [bytes(p) for p in packets]
            info["audio_seconds"] = float(sum(p.duration for p in packets) * packets[0].time_base)
    return info


def write_mask(path: Path, mask: np.ndarray) -> Path:
    cv2.imwrite(str(path), mask.astype(np.uint8) * 255)
    return path


@pytest.fixture
def video_with_audio(tmp_path: Path) -> Path:
    path = tmp_path / "in.mp4"
    make_video(path)
    return path


# Small synthetic clips whose true background is known (the video engine's tests).

def texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Random texture about as smooth as a photo's: no two places alike, so a fill copied from the wrong
    place shows."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (height // 8, width // 8, 3)).astype(np.uint8)
    return cv2.GaussianBlur(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC), (0, 0), 2.0)


def with_disc_holes(truth: list[np.ndarray], centres: list[tuple[int, int]], radius: int):
    """The true frames with a red disc blanked at each centre: frames, disc masks, true frames."""
    images, holes = [], []
    for frame, centre in zip(truth, centres, strict=True):
        hole = np.zeros(frame.shape[:2], np.uint8)
        cv2.circle(hole, centre, radius, 1, -1)
        image = frame.copy()
        image[hole > 0] = (255, 0, 0)
        images.append(image)
        holes.append(hole > 0)
    return images, holes, truth


def hole_error(out: list[np.ndarray], truth: list[np.ndarray], holes: list[np.ndarray]) -> float:
    return float(np.mean([np.abs(o.astype(float) - g)[h].mean() for o, g, h in zip(out, truth, holes, strict=True)]))


def hole_detail(out: list[np.ndarray], truth: list[np.ndarray], holes: list[np.ndarray]) -> float:
    """Gradient energy inside the holes (their seam left out) relative to the truth's, as the referee's
    ``detail``: 1 = as sharp as the real background, below 1 = blurred."""
    def energy(image: np.ndarray, inner: np.ndarray) -> float:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return float(np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))[inner].sum())
    inners = [cv2.erode(h.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0 for h in holes]
    return (sum(energy(o, i) for o, i in zip(out, inners, strict=True))
            / sum(energy(g, i) for g, i in zip(truth, inners, strict=True)))


def run(engine, images: list[np.ndarray], holes: list[np.ndarray]) -> list[np.ndarray]:
    frames = (Frame(image, i, f"{i:05d}") for i, image in enumerate(images))
    return [f.image for f in engine.fill_frames(zip(frames, holes, strict=True))]


def sliding_clip(frames: int = 20, size: tuple[int, int] = (160, 96), speed: int = 3):
    """A still camera; a textured slab, wider than the hole, slides right behind a still hole (as under a
    logo): frames, holes, true frames. The camera's motion (none) never shows what is behind the hole;
    the slab's does, a few frames later."""
    width, height = size
    ground, slab = texture(height, width, seed=5), texture(72, 150, seed=6)
    hole = np.zeros((height, width), bool)
    hole[36:60, 70:94] = True
    truth, images = [], []
    for t in range(frames):
        frame = ground.copy()
        left = speed * t - 40
        visible = slab[:, max(0, -left):max(0, min(150, width - left))]
        frame[12:84, max(left, 0):max(left, 0) + visible.shape[1]] = visible
        image = frame.copy()
        image[hole] = (255, 0, 0)
        truth.append(frame)
        images.append(image)
    return images, [hole] * frames, truth
