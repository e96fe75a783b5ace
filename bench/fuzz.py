"""Fuzz the command line: damaged photos, videos, frame folders and masks through ``unseen``, each run
classified by what a user would meet.

    nice -n 10 .venv/bin/python bench/fuzz.py [--mutants N] [--seed S] [--timeout SEC] [--out DIR]
    .venv/bin/python bench/fuzz.py --case 417 --seed 0 --out fuzz-out     # one case again, kept for reading

Seed files are made here (PyAV, OpenCV, NumPy; 64x48 pixels, videos 12 frames at 24 fps): PNG, JPEG, WebP,
16-bit PNG, RGBA PNG, MP4 (H.264 + AAC), MKV (H.264 + Opus), WebM (VP9 + Opus), MOV (MPEG-4 + PCM), a
folder of four PNG frames and a mask PNG. Each case mutates one of them (truncation, bit flips, byte runs
zeroed or duplicated, another format's header, a wrong extension, a huge or zero declared size or
duration, an empty file) and runs, in a fresh process with a time and memory bound,

    python -m unseen remove INPUT --mask MASK -o OUTPUT -q
    python -m unseen segment INPUT --model selfie --render mask -o OUTPUT -q     (where selfie is found)

with the damaged file as INPUT (a frame of the folder), or as the MASK of an intact input. The output is
an image, a video (.mp4 .mkv .webm .mov) or a folder, by the input's kind, sometimes in folders that do not
exist yet. Every run is one of:

    ok               exit 0, the output opens, with the input's size and frame count, nothing else written
    refused          exit 2, one stderr line ``unseen: error: ...``, no output, nothing left behind
    noisy            the right exit status, but more on stderr than that one line (library chatter)
    traceback        a Python traceback on stderr, or exit status 1
    leftover         temporary or partial files or folders after the run (or an output after a failure)
    silent success   exit 0 but the output missing, unreadable, of the wrong size or frame count, or a
                     video that lost frames with no warning about it (checked by a second run without -q)
    hang             still running after --timeout seconds
    crash            killed by a signal (a segfault, the memory bound), or another exit status
    input modified   the input or mask files changed, or files appeared beside them

(the first that applies, in the order crash, hang, traceback, input modified, leftover, silent success,
noisy). A markdown tally, by seed format and by mutation, goes to stdout and OUT/tally.md; every case to
OUT/results.jsonl; each failing case to OUT/failures/NNNN-CATEGORY/ with its input files, its command
(``run.sh``), its stderr and a description, to reproduce it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import random
import re
import resource
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 64, 48
FRAMES = 12
FPS = 24
FOLDER_FRAMES = 4
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".gif")
OUTPUT_VIDEO = (".mp4", ".mkv", ".webm", ".mov")
OUTPUT_IMAGE = (".png", ".jpg", ".webp")
# Extensions a file may be given wrongly: every media kind, an unknown one and none.
WRONG_SUFFIXES = (".png", ".jpg", ".webp", ".tif", ".bmp", ".mp4", ".mkv", ".webm", ".mov", ".avi", ".gif",
                  ".xyz", "")

CATEGORIES = ("ok", "refused", "noisy", "traceback", "leftover", "silent success", "hang", "crash",
              "input modified")
# What must never happen (the targets, and the two that are worse).
FAILURES = ("traceback", "leftover", "silent success", "hang", "crash", "input modified")
# What is kept for reproduction.
KEPT = FAILURES + ("noisy",)
SELFIE_FILE = "selfie_segmentation.tflite"


# --- seed files --------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Seed:
    """An intact file (or folder) to mutate: its format's name, what it is, its files by relative path."""

    name: str
    kind: str  # image, video, folder or mask
    files: dict[str, bytes]
    main: str  # the path given to the command: the file, or the folder
    frames: int


def _picture(index: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """A smooth panning pattern (RGB) with a dark square where the mask is."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 128 + 100 * np.sin((x + 3 * index) / 9.0)
    g = 128 + 100 * np.cos(y / 7.0)
    b = np.full_like(x, (index * 20) % 256)
    image = np.dstack([r, g, b]).clip(0, 255).astype(np.uint8)
    image[16:32, 22 + index % 4:38 + index % 4] = 30
    return image


def _encode(suffix: str, array: np.ndarray, params: list[int] | None = None) -> bytes:
    ok, data = cv2.imencode(suffix, array, params or [])
    assert ok, suffix
    return data.tobytes()


def _image_seeds() -> list[Seed]:
    bgr = cv2.cvtColor(_picture(0), cv2.COLOR_RGB2BGR)
    deep = bgr.astype(np.uint16) * 257 + np.arange(WIDTH, dtype=np.uint16)[None, :, None]
    rgba = np.dstack([bgr, np.full((HEIGHT, WIDTH), 255, np.uint8)])
    rgba[:, 44:, 3] = 0
    rgba[:8, :8, 3] = 128
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    mask[16:32, 22:41] = 255
    made = [("png", "image", "input.png", _encode(".png", bgr)),
            ("jpeg", "image", "input.jpg", _encode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])),
            ("webp", "image", "input.webp", _encode(".webp", bgr, [cv2.IMWRITE_WEBP_QUALITY, 80])),
            ("png16", "image", "input.png", _encode(".png", deep)),
            ("rgba-png", "image", "input.png", _encode(".png", rgba)),
            ("mask", "mask", "mask.png", _encode(".png", mask))]
    seeds = [Seed(name, kind, {path: data}, path, 1) for name, kind, path, data in made]
    frames = {f"frames/{i:05d}.png": _encode(".png", cv2.cvtColor(_picture(i), cv2.COLOR_RGB2BGR))
              for i in range(FOLDER_FRAMES)}
    seeds.append(Seed("folder", "folder", frames, "frames", FOLDER_FRAMES))
    return seeds


_VIDEO_KINDS = {  # name: (suffix, video encoder, pixel format, audio encoder, audio rate)
    "mp4": (".mp4", "libx264", "yuv420p", "aac", 48000),
    "mkv": (".mkv", "libx264", "yuv420p", "libopus", 48000),
    "webm": (".webm", "libvpx-vp9", "yuv420p", "libopus", 48000),
    "mov": (".mov", "mpeg4", "yuv420p", "pcm_s16le", 48000),
}


def _write_video(path: Path, codec: str, pix_fmt: str, audio: str, rate: int) -> None:
    time_base = Fraction(1, 12800)
    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, pix_fmt
        video.codec_context.time_base = time_base
        if codec == "libx264":
            video.options = {"crf": "18", "bf": "2"}
        sound = out.add_stream(audio, rate=rate)
        sound.codec_context.layout = "stereo"
        for i in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(_picture(i), format="rgb24")
            frame.pts, frame.time_base = round(Fraction(i, FPS) / time_base), time_base
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        samples = rate * FRAMES // FPS
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / rate)).astype(np.float32)
        for start in range(0, samples, 960):
            chunk = tone[start:start + 960]
            frame = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            out.mux(sound.encode(frame))
        out.mux(sound.encode(None))


def _video_seeds() -> list[Seed]:
    seeds = []
    with tempfile.TemporaryDirectory() as folder:
        for name, (suffix, codec, pix_fmt, audio, rate) in _VIDEO_KINDS.items():
            path = Path(folder) / f"input{suffix}"
            _write_video(path, codec, pix_fmt, audio, rate)
            seeds.append(Seed(name, "video", {path.name: path.read_bytes()}, path.name, FRAMES))
    return seeds


def build_seeds() -> dict[str, Seed]:
    """Every seed, by format name."""
    return {seed.name: seed for seed in _image_seeds() + _video_seeds()}


# --- mutations ---------------------------------------------------------------------------------------------

Mutation = Callable[[random.Random, bytes, str, dict[str, Seed]], tuple[bytes, str, str | None]]


def _truncate(rng: random.Random, data: bytes, fmt: str, seeds: dict[str, Seed]) -> tuple[bytes, str, None]:
    where = rng.choice(["anywhere", "near the end", "in the header"])
    if len(data) < 2:
        return b"", "truncated to 0 bytes", None
    if where == "near the end":
        cut = len(data) - rng.randint(1, min(len(data) - 1, 400))
    elif where == "in the header":
        cut = rng.randint(1, min(len(data) - 1, 600))
    else:
        cut = rng.randint(1, len(data) - 1)
    return data[:cut], f"truncated at {cut} of {len(data)} bytes", None


def _header_end(data: bytes) -> int:
    return min(len(data), 1024)


def _bitflip(rng: random.Random, data: bytes, fmt: str, seeds: dict[str, Seed]) -> tuple[bytes, str, None]:
    count = rng.choice([1, 1, 2, 4, 8, 32])
    head = rng.random() < 0.5
    buffer = bytearray(data)
    for _ in range(count):
        position = rng.randrange(_header_end(data) if head else len(data))
        buffer[position] ^= 1 << rng.randrange(8)
    return bytes(buffer), f"{count} bit(s) flipped {'in the first KiB' if head else 'anywhere'}", None


def _run_length(rng: random.Random) -> int:
    return rng.choice([1, 2, 4, 8, 16, 64, 256, 4096])


def _zero_run(rng: random.Random, data: bytes, fmt: str, seeds: dict[str, Seed]) -> tuple[bytes, str, None]:
    length = min(_run_length(rng), len(data))
    start = rng.randrange(len(data) - length + 1)
    return data[:start] + bytes(length) + data[start + length:], f"{length} bytes zeroed at {start}", None


def _duplicate_run(rng: random.Random, data: bytes, fmt: str, seeds: dict[str, Seed]) -> tuple[bytes, str, None]:
    length = min(_run_length(rng), len(data))
    start = rng.randrange(len(data) - length + 1)
    run = data[start:start + length]
    return data[:start + length] + run + data[start + length:], f"{length} bytes at {start} duplicated", None


def _header_swap(rng: random.Random, data: bytes, fmt: str, seeds: dict[str, Seed]) -> tuple[bytes, str, None]:
    other = rng.choice([s for s in seeds.values() if s.name != fmt and s.kind != "folder"])
    header = next(iter(other.files.values()))
    length = min(rng.choice([4, 8, 12, 16, 32, 64, 256, 1024]), len(header))
    return header[:length] + data[length:], f"first {length} bytes from the {other.name} seed", None


def _wrong_suffix(rng: random.Random, data: bytes, fmt: str, seeds: dict[str, Seed]) -> tuple[bytes, str, str]:
    suffix = rng.choice(WRONG_SUFFIXES)
    return data, f"named {suffix or '(no extension)'}", suffix


def _empty(rng: random.Random, data: bytes, fmt: str, seeds: dict[str, Seed]) -> tuple[bytes, str, None]:
    return b"", "zero-length file", None


def _huge(rng: random.Random, data: bytes, fmt: str, seeds: dict[str, Seed]) -> tuple[bytes, str, None]:
    """A size, count or duration field set to something huge, zero or absurd, by the file's format."""
    buffer = bytearray(data)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        described = _huge_png(rng, buffer)
    elif data[:2] == b"\xff\xd8":
        described = _huge_jpeg(rng, buffer)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        described = _huge_webp(rng, buffer)
    elif data[4:8] == b"ftyp" or b"moov" in data:
        described = _huge_mp4(rng, buffer)
    elif data[:4] == b"\x1a\x45\xdf\xa3":
        described = _huge_matroska(rng, buffer)
    else:
        described = None
    if described is None:  # nothing known found: a 32-bit word near the start
        position = rng.randrange(0, max(1, min(len(buffer), 4096) - 4)) & ~3
        value = rng.choice([0, 0x7FFFFFFF, 0xFFFFFFFF])
        buffer[position:position + 4] = value.to_bytes(4, "big")[:len(buffer) - position]
        described = f"word at {position} set to {value:#x}"
    return bytes(buffer), described, None


def _huge_png(rng: random.Random, buffer: bytearray) -> str:
    which = rng.choice(["width", "height", "both"])
    value = rng.choice([0, 1, 30000, 65535, 100000, 0x7FFFFFFF, 0x80000000])
    if which in ("width", "both"):
        buffer[16:20] = value.to_bytes(4, "big")
    if which in ("height", "both"):
        buffer[20:24] = value.to_bytes(4, "big")
    fixed = rng.random() < 0.8
    if fixed:  # a valid CRC: the decoder believes the header
        buffer[29:33] = zlib.crc32(bytes(buffer[12:29])).to_bytes(4, "big")
    return f"PNG {which} set to {value}{' (CRC fixed)' if fixed else ''}"


def _huge_jpeg(rng: random.Random, buffer: bytearray) -> str | None:
    found = re.search(rb"\xff[\xc0\xc1\xc2]", bytes(buffer))
    if found is None:
        return None
    which = rng.choice(["width", "height", "both"])
    value = rng.choice([0, 1, 30000, 65500, 65535])
    start = found.start()
    if which in ("height", "both"):
        buffer[start + 5:start + 7] = value.to_bytes(2, "big")
    if which in ("width", "both"):
        buffer[start + 7:start + 9] = value.to_bytes(2, "big")
    return f"JPEG frame {which} set to {value}"


def _huge_webp(rng: random.Random, buffer: bytearray) -> str | None:
    if rng.random() < 0.3:
        value = rng.choice([0, 0x7FFFFFFF, 0xFFFFFFFF])
        buffer[4:8] = value.to_bytes(4, "little")
        return f"RIFF size set to {value:#x}"
    found = bytes(buffer).find(b"\x9d\x01\x2a")
    if found < 0:
        return None
    value = rng.choice([0, 1, 16383, 0xFFFF])
    which = rng.choice(["width", "height", "both"])
    if which in ("width", "both"):
        buffer[found + 3:found + 5] = value.to_bytes(2, "little")
    if which in ("height", "both"):
        buffer[found + 5:found + 7] = value.to_bytes(2, "little")
    return f"VP8 {which} set to {value:#x}"


def _box(buffer: bytearray, name: bytes, after: int = 0) -> int | None:
    """Where the type of the first ``name`` box (at or after ``after``) is, or None."""
    found = bytes(buffer).find(name, after)
    return found if found >= 4 else None


def _huge_mp4(rng: random.Random, buffer: bytearray) -> str | None:
    choice = rng.choice(["sample size", "sample entry size", "track size", "rotation", "timescale",
                         "duration", "sample count", "time delta", "box size", "chunk offset"])
    value = rng.choice([0, 1, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF])
    stsd = _box(buffer, b"stsd")
    offsets = {
        "sample entry size": (_box(buffer, b"avc1", stsd or 0) or _box(buffer, b"mp4v", stsd or 0), 28, 2),
        "track size": (_box(buffer, b"tkhd"), 84 + 4 * rng.randrange(2), 4),
        "rotation": (_box(buffer, b"tkhd"), 48 + 4 * rng.randrange(9), 4),
        "timescale": (_box(buffer, rng.choice([b"mdhd", b"mvhd"])), 16, 4),
        "duration": (_box(buffer, rng.choice([b"mdhd", b"mvhd"])), 20, 4),
        "sample count": (_box(buffer, b"stsz"), 12, 4),
        "sample size": (_box(buffer, b"stsz"), 16 + 4 * rng.randrange(FRAMES), 4),
        "time delta": (_box(buffer, b"stts"), 12 + 4 * rng.randrange(3), 4),
        "chunk offset": (_box(buffer, b"stco"), 12 + 4 * rng.randrange(3), 4),
        "box size": (_box(buffer, rng.choice([b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mdat", b"stsd"])),
                     -4, 4),
    }
    position, offset, width = offsets[choice]
    if position is None:
        return None
    at = position + offset
    if at + width > len(buffer):
        return None
    buffer[at:at + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width, "big")
    return f"MP4 {choice} set to {value:#x}"


def _huge_matroska(rng: random.Random, buffer: bytearray) -> str | None:
    data = bytes(buffer)
    choice = rng.choice(["pixel size", "duration", "timestamp scale", "element size", "default duration"])
    if choice == "pixel size":
        tracks = data.find(b"\x16\x54\xae\x6b")
        found = re.search(rb"[\xb0\xba][\x81\x82]", data[max(tracks, 0):])
        if tracks < 0 or found is None:
            return None
        at = tracks + found.start()
        length = data[at + 1] & 0x0F
        buffer[at + 2:at + 2 + length] = b"\xff" * length if rng.random() < 0.7 else bytes(length)
        return f"Matroska pixel {'width' if data[at] == 0xB0 else 'height'} set to {buffer[at + 2]:#x}.."
    if choice == "duration":
        at = data.find(b"\x44\x89")
        if at < 0:
            return None
        length = data[at + 2] & 0x0F
        value = rng.choice([0.0, -1.0, 1e15, float("inf"), float("nan")])
        buffer[at + 3:at + 3 + length] = struct.pack(">f" if length == 4 else ">d", value)
        return f"Matroska duration set to {value}"
    if choice == "timestamp scale":
        at = data.find(b"\x2a\xd7\xb1")
        if at < 0:
            return None
        length = data[at + 3] & 0x0F
        value = rng.choice([0, 1, (1 << (8 * length)) - 1])
        buffer[at + 4:at + 4 + length] = value.to_bytes(length, "big")
        return f"Matroska timestamp scale set to {value}"
    if choice == "default duration":
        at = data.find(b"\x23\xe3\x83")
        if at < 0:
            return None
        length = data[at + 3] & 0x0F
        value = rng.choice([0, 1, (1 << (8 * length)) - 1])
        buffer[at + 4:at + 4 + length] = value.to_bytes(length, "big")
        return f"Matroska default duration set to {value}"
    element = rng.choice([b"\x18\x53\x80\x67", b"\x1f\x43\xb6\x75", b"\x16\x54\xae\x6b", b"\xa3", b"\xae"])
    at = data.find(element, 4)
    if at < 0 or at + len(element) >= len(data):
        return None
    size_at = at + len(element)
    first = data[size_at]
    length = 9 - first.bit_length() if first else 1
    # Every value bit set: "unknown size" for the longest form, huge otherwise.
    marker = 1 << (8 - length)
    buffer[size_at] = marker | (marker - 1)
    buffer[size_at + 1:size_at + length] = b"\xff" * (length - 1)
    return f"Matroska element {element.hex()} size set to all ones"


MUTATIONS: dict[str, Mutation] = {
    "truncate": _truncate, "bit flips": _bitflip, "zeroed run": _zero_run, "duplicated run": _duplicate_run,
    "header swap": _header_swap, "wrong extension": _wrong_suffix, "huge size": _huge, "empty": _empty,
}


# --- cases -------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Case:
    """One run: the files ``in/`` holds, the command's arguments (relative to the case's folder)."""

    index: int
    seed: str  # the format of the mutated file
    role: str  # input or mask
    mutation: str
    detail: str
    files: dict[str, bytes]
    args: list[str]
    input: str
    output: str
    seed_frames: int
    # What the intact seed video declares (see _declaration): a mutant that still declares the same has lost
    # frames if fewer come out; one whose declaration itself is damaged is taken for what it now says.
    reference: tuple | None = None


def _media_kind(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return "folder" if not suffix else "unknown"


def _output_for(rng: random.Random, input_path: str, command: str) -> str:
    kind = _media_kind(input_path)
    if kind == "folder" and "." not in Path(input_path).name:
        name = "clean"
    elif kind == "video":
        name = "clean" + rng.choice(OUTPUT_VIDEO)
    else:
        name = "clean" + (".png" if command == "segment" else rng.choice(OUTPUT_IMAGE))
    nested = rng.random() < 0.25  # folders that the run must create, and remove again if it fails
    return f"out/new/sub/{name}" if nested else f"out/{name}"


def make_case(index: int, base_seed: int, seeds: dict[str, Seed], segmenting: bool) -> Case:
    """Case ``index`` of the run seeded ``base_seed``: the same on every run (with the same encoders, which
    make the seed files)."""
    rng = random.Random(f"unseen-fuzz:{base_seed}:{index}")
    role = "mask" if rng.random() < 0.15 else "input"
    inputs = [s for s in seeds.values() if s.kind != "mask"]
    source = rng.choice(inputs)
    mutation = rng.choice(list(MUTATIONS))
    files = {**source.files, **seeds["mask"].files}
    victim = seeds["mask"] if role == "mask" else source
    target = rng.choice(sorted(victim.files))  # a folder's frame, or the one file
    data, detail, suffix = MUTATIONS[mutation](rng, victim.files[target], victim.name, seeds)
    input_path, mask_path = f"in/{source.main}", f"in/{seeds['mask'].main}"
    del files[target]
    renamed = str(Path(target).with_suffix(suffix)) if suffix is not None else target
    files[renamed] = data
    if renamed != target and victim is not source:
        mask_path = f"in/{renamed}"
    elif renamed != target and source.kind != "folder":
        input_path = f"in/{renamed}"
    command = "segment" if segmenting and role == "input" and rng.random() < 0.2 else "remove"
    output = _output_for(rng, input_path, command)
    if command == "segment":
        args = ["segment", input_path, "--model", "selfie", "--render", "mask", "-o", output, "-q"]
    else:
        args = ["remove", input_path, "--mask", mask_path, "-o", output, "-q"]
    # A video's frames, where the input is still taken for a video: fewer in the output need a warning.
    frames = source.frames if source.kind == "video" and _media_kind(input_path) == "video" else 1
    return Case(index, victim.name, role, mutation, detail, {f"in/{name}": data for name, data in files.items()},
                args, input_path, output, frames)


# --- checks ------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """What libjpeg or FFmpeg say while this harness looks at a file goes nowhere."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _image_size(path: Path) -> tuple[int, int] | None:
    with _quiet_stderr():
        try:
            array = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR) if path.stat().st_size else None
        except cv2.error:
            array = None
    return None if array is None else (array.shape[1], array.shape[0])


def _video_frames(path: Path) -> tuple[int, tuple[int, int] | None] | None:
    """Frames that decode before the first error, and their upright size; None if it does not open."""
    with _quiet_stderr():
        try:
            container = av.open(str(path))
        except (av.error.FFmpegError, UnicodeDecodeError, ValueError):
            return None
        count, size = 0, None
        with container:
            if not container.streams.video:
                return None
            try:
                for frame in container.decode(container.streams.video[0]):
                    if size is None:
                        turned = int(round(frame.rotation or 0)) % 180
                        size = (frame.height, frame.width) if turned else (frame.width, frame.height)
                    count += 1
            except (av.error.FFmpegError, ValueError):
                pass
    return count, size


def _folder_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith("."))


def _expected(work: Path, case: Case) -> tuple[int, tuple[int, int] | None, list[str] | None]:
    """What the input gives a player: its frame count, size and (a folder) frame names."""
    path = work / case.input
    if path.is_dir():
        images = _folder_images(path)
        sizes = {_image_size(p) for p in images}
        return len(images), sizes.pop() if len(sizes) == 1 else None, [p.stem for p in images]
    if _media_kind(case.input) == "image":
        return 1, _image_size(path), None
    decoded = _video_frames(path)
    return (0, None, None) if decoded is None else (decoded[0], decoded[1], None)


def _check_output(work: Path, case: Case) -> str | None:
    """Why the output of a successful run is wrong, or None."""
    output = work / case.output
    count, size, names = _expected(work, case)
    if not output.exists():
        return "exit 0 but no output"
    if output.is_dir():
        written = _folder_images(output)
        if names is not None and sorted(p.stem for p in written) != sorted(names):
            return f"output frames {sorted(p.stem for p in written)} for input frames {sorted(names)}"
        if names is None and len(written) != count:
            return f"{len(written)} output frames for {count} input frames"
        sizes = [_image_size(p) for p in written]
        if None in sizes:
            return "an output frame does not open"
        if size is not None and any(s != size for s in sizes):
            return f"output frames of {sorted(set(sizes))} for input frames of {size}"
        return None
    if _media_kind(case.output) == "image":
        got = _image_size(output)
        if got is None:
            return "the output image does not open"
        return None if got == size else f"output image {got} for an input of {size}"
    decoded = _video_frames(output)
    if decoded is None or decoded[0] == 0:
        return "the output video does not open or holds no frames"
    if decoded[0] != count:
        return f"output video of {decoded[0]} frames for an input of {count}"
    if decoded[1] != size:
        return f"output video of {decoded[1]} for an input of {size}"
    if count < case.seed_frames and case.reference is not None \
            and _declaration(work / case.input) == case.reference:
        return f"lost:{count}"  # frames lost: a warning must say so (checked by a run without -q)
    return None


def _declaration(path: Path) -> tuple | None:
    """What a video file says it holds, read as a player reads it: its container format, the frames its index
    shows (MP4, MOV: entries an edit list does not cut) and its declared length (to 10 ms)."""
    with _quiet_stderr():
        try:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                entries = stream.index_entries
                shown = sum(1 for entry in entries if not entry.is_discard) \
                    if len(entries) and len(entries) == stream.frames else None
                duration = round(container.duration / av.time_base, 2) if container.duration else None
                return container.format.name, shown, duration
        except (av.error.FFmpegError, UnicodeDecodeError, ValueError, IndexError):
            return None


def _tree(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder``: relative path -> sha256 (files) or "dir"."""
    found = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        found[name] = "dir" if path.is_dir() and not path.is_symlink() else hashlib.sha256(
            path.read_bytes()).hexdigest() if path.is_file() else "other"
    return found


def _leftovers(work: Path, case: Case, succeeded: bool) -> list[str]:
    """Files or folders the run should not have left: under out/ (all of them after a failure; anything
    but the output and its folders after a success), in the run's temporary folder ($TMPDIR) and in the
    folder it runs in."""
    output = Path(case.output)
    allowed = {str(p) for p in output.parents if str(p) not in (".", "out")} | {str(output)} if succeeded else set()
    left = []
    for name in _tree(work / "out"):
        path = Path("out") / name
        inside = succeeded and (str(path) in allowed or output in path.parents)
        if not inside or ".part" in path.name:
            left.append(str(path))
    left += [f"tmp/{name}" for name in _tree(work / "tmp")]
    left += sorted(p.name for p in work.iterdir() if p.name not in ("in", "out", "tmp"))  # the working folder
    return left


def _limit_memory(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


@dataclasses.dataclass
class Outcome:
    category: str
    detail: str
    returncode: int | None
    seconds: float
    stderr: str


def _command(python: str, args: list[str]) -> list[str]:
    return [python, "-m", "unseen", *args]


def _run(work: Path, python: str, args: list[str], timeout: float, env: dict[str, str],
         memory: int) -> tuple[int | None, str, float]:
    started = time.monotonic()
    process = subprocess.Popen(_command(python, args), cwd=work, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                               preexec_fn=_limit_memory(memory) if memory else None)
    try:
        _, err = process.communicate(timeout=timeout)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        _, err = process.communicate()
        code = None
    return code, err.decode("utf-8", "replace"), time.monotonic() - started


def run_case(case: Case, work: Path, python: str, timeout: float, env: dict[str, str],
             memory: int = 0) -> Outcome:
    """Run ``case`` in ``work`` (emptied first) and classify it."""
    shutil.rmtree(work, ignore_errors=True)
    for name, data in case.files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(data)
    (work / "out").mkdir()
    (work / "tmp").mkdir()
    before = _tree(work / "in")
    env = {**env, "TMPDIR": str(work / "tmp")}
    code, err, seconds = _run(work, python, case.args, timeout, env, memory)
    lines = [line for line in err.splitlines() if line.strip()]

    def outcome(category: str, detail: str) -> Outcome:
        return Outcome(category, detail, code, round(seconds, 2), err)

    if code is None:
        return outcome("hang", f"still running after {timeout:g} s")
    if code < 0 or code not in (0, 1, 2):
        name = signal.Signals(-code).name if code < 0 and -code in signal.Signals._value2member_map_ else code
        return outcome("crash", f"ended by {name}")
    if code == 1 or "Traceback" in err:
        last = next((line for line in reversed(lines) if line.strip()), "")
        return outcome("traceback", last.strip()[:300])
    after = _tree(work / "in")
    if after != before:
        changed = sorted(set(before.items()) ^ set(after.items()))
        return outcome("input modified", ", ".join(sorted({name for name, _ in changed}))[:300])
    left = _leftovers(work, case, code == 0)
    if left:
        return outcome("leftover", f"exit {code}, left {', '.join(left[:5])}")
    if code == 2:
        if len(lines) == 1 and lines[0].startswith("unseen: error: "):
            return outcome("refused", lines[0][len("unseen: error: "):][:300])
        return outcome("noisy", f"exit 2 with {len(lines)} stderr lines: {' | '.join(lines)[:300]}")
    wrong = _check_output(work, case)
    if wrong and wrong.startswith("lost:"):
        wrong = _warned(work, case, python, timeout, env, memory, int(wrong[5:]))
    if wrong:
        return outcome("silent success", wrong)
    if lines:
        return outcome("noisy", f"exit 0 with {len(lines)} stderr lines under -q: {' | '.join(lines)[:300]}")
    return outcome("ok", "")


def _warned(work: Path, case: Case, python: str, timeout: float, env: dict[str, str], memory: int,
            count: int) -> str | None:
    """Run again without -q: a video that lost frames must be written with a warning that says so."""
    shutil.rmtree(work / "out")
    (work / "out").mkdir()
    code, err, _ = _run(work, python, [a for a in case.args if a != "-q"], timeout, env, memory)
    if code == 0 and any(line.startswith("unseen: warning: ") for line in err.splitlines()):
        return None
    return f"{count} of the {case.seed_frames} frames kept and no warning about the others (exit {code})"


# --- the run -----------------------------------------------------------------------------------------------

def _models_folder() -> Path | None:
    """Where the selfie model is: ``$UNSEEN_MODELS`` or ../shared/models; None if nowhere."""
    candidates = [Path(p) for p in os.environ.get("UNSEEN_MODELS", "").split(os.pathsep) if p]
    candidates.append(ROOT.parent / "shared" / "models")
    return next((p.resolve() for p in candidates if (p / SELFIE_FILE).is_file()), None)


def _segmentable(python: str) -> bool:
    code = "import importlib.util, sys; sys.exit(importlib.util.find_spec('ai_edge_litert') is None)"
    return subprocess.run([python, "-c", code], capture_output=True).returncode == 0


def reference_declarations(seeds: dict[str, Seed]) -> dict[str, tuple | None]:
    """What each intact seed video declares (:func:`_declaration`), by format name."""
    references = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, seed in seeds.items():
            if seed.kind == "video":
                path = Path(folder, seed.main)
                path.write_bytes(seed.files[seed.main])
                references[name] = _declaration(path)
    return references


def _keep(folder: Path, case: Case, result: Outcome, python: str) -> None:
    """A failing case, ready to run again: ``sh run.sh`` in its folder."""
    shutil.rmtree(folder, ignore_errors=True)
    for name, data in case.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    models = _models_folder()
    prefix = f"UNSEEN_MODELS={shlex.quote(str(models))} " if models and case.args[0] == "segment" else ""
    script = (f'cd "$(dirname "$0")" && rm -rf out && mkdir -p out in && '
              f"{prefix}{shlex.join(_command(python, case.args))}\n")
    (folder / "run.sh").write_text(script)
    (folder / "stderr.txt").write_text(result.stderr)
    (folder / "case.json").write_text(json.dumps(_record(case, result), indent=2) + "\n")


def _record(case: Case, result: Outcome) -> dict:
    return {"case": case.index, "seed": case.seed, "role": case.role, "mutation": case.mutation,
            "detail": case.detail, "command": shlex.join(["unseen", *case.args]), "category": result.category,
            "why": result.detail, "exit": result.returncode, "seconds": result.seconds}


def tally_tables(records: list[dict]) -> str:
    """Markdown: counts per category, by seed format and by mutation, with a total row."""
    shown = list(CATEGORIES)
    blocks = []
    for key, title in (("seed", "seed format"), ("mutation", "mutation")):
        groups = sorted({r[key] for r in records})
        header = [title, "runs", *shown]
        rows = []
        for group in [*groups, None]:
            chosen = [r for r in records if group is None or r[key] == group]
            counts = Counter(r["category"] for r in chosen)
            rows.append(["**all**" if group is None else group, len(chosen), *(counts[c] for c in shown)])
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" + "---:|" * (len(header) - 1)]
        lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def fuzz(mutants: int = 1000, seed: int = 0, timeout: float = 120.0, out: str | os.PathLike = "fuzz-out",
         memory_gb: float = 4.0, cases: list[int] | None = None, python: str = sys.executable,
         log: Callable[[str], None] | None = None, src: str | os.PathLike | None = None) -> list[dict]:
    """Run the cases (``range(mutants)``, or the given ``cases``) and return one record per case; failing
    cases are kept under ``out/failures``. ``src``: the ``unseen`` sources to run (default: this checkout's)."""
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    seeds = build_seeds()
    references = reference_declarations(seeds)
    models = _models_folder()
    segmenting = models is not None and _segmentable(python)
    env = {key: value for key, value in os.environ.items() if not key.startswith("UNSEEN_")}
    src = Path(src or ROOT / "src").resolve()
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")])),
               PYTHONDONTWRITEBYTECODE="1")
    if models is not None:
        env["UNSEEN_MODELS"] = str(models)
    env["UNSEEN_CACHE"] = str(out / "no-cache")  # nothing fetched, nothing found outside the models folder
    memory = int(memory_gb * (1 << 30)) if memory_gb else 0
    work = out / "work"
    records = []
    chosen = cases if cases is not None else range(mutants)
    with (out / "results.jsonl").open("a" if cases is not None else "w") as results:
        for number, index in enumerate(chosen, 1):
            case = make_case(index, seed, seeds, segmenting)
            if case.role == "input":
                case.reference = references.get(case.seed)
            result = run_case(case, work, python, timeout, env, memory)
            record = _record(case, result)
            records.append(record)
            results.write(json.dumps(record) + "\n")
            results.flush()
            if result.category in KEPT:
                _keep(out / "failures" / f"{index:04d}-{result.category.replace(' ', '-')}", case, result, python)
            if log is not None:
                log(f"[{number}/{len(chosen)}] #{index} {case.seed} {case.mutation} ({case.detail}); "
                    f"{case.args[0]} -> {Path(case.output).suffix or 'folder'}: {result.category} "
                    f"{result.detail[:120]} ({result.seconds:.1f} s)")
    shutil.rmtree(work, ignore_errors=True)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mutants", type=int, default=1000, help="cases to run (default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed: the same seed makes the same cases")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a run may take (default: 120)")
    parser.add_argument("--out", default="fuzz-out", help="folder for results and failing cases")
    parser.add_argument("--memory-gb", type=float, default=4.0,
                        help="address-space limit of each run, GiB (default: 4; 0: none)")
    parser.add_argument("--src", help="the unseen sources to fuzz (default: this checkout's src/), e.g. an "
                                      "older version's, to compare")
    parser.add_argument("--case", type=int, action="append", help="run only this case (repeatable)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no line per case on stderr")
    args = parser.parse_args()
    started = time.monotonic()
    records = fuzz(args.mutants, args.seed, args.timeout, args.out, args.memory_gb, args.case, src=args.src,
                   log=None if args.quiet else lambda line: print(line, file=sys.stderr, flush=True))
    minutes = (time.monotonic() - started) / 60
    failing = Counter(r["category"] for r in records if r["category"] in FAILURES)
    cases = f" --case {' --case '.join(map(str, args.case))}" if args.case else f" --mutants {args.mutants}"
    command = f"bench/fuzz.py{cases} --seed {args.seed} --timeout {args.timeout:g}"
    text = (f"`{command}`, {datetime.date.today().isoformat()}, {len(records)} runs in {minutes:.1f} min\n\n"
            f"{tally_tables(records)}\n")
    Path(args.out, "tally.md").write_text(text)
    print(text)
    print(f"failing cases kept in {Path(args.out, 'failures')}" if failing else "no failing case", file=sys.stderr)


if __name__ == "__main__":
    main()
