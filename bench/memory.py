"""Peak memory and time of ``unseen.remove`` on large photos and videos, each case in its own process.

    .venv/bin/python bench/memory.py [--cases photo-12mp,photo-48mp,video-720p,video-1080p,video-4k]
                                     [--previous] [--floor] [--seconds 2.4] [--out DIR]

Inputs are generated in this process, then every case runs ``unseen.remove(input, output, mask=...)``
in a fresh child process, whose peak resident memory comes from the kernel (``ru_maxrss``, what
``os.wait4`` reports) and whose seconds are timed around the call alone.

- Photos: a real photo of ``$UNSEEN_SHARED/data/photos/objects`` (``5.png``) scaled up to 12 MP
  (4000x3000) and 48 MP (8000x6000) with a little grain, as a JPEG; the hole is the next photo's object
  mask (``6.png``, 12 % of the frame, as ``score_holes.py prepare`` pairs them) scaled up with it.
- Videos: a texture panning under the camera, with an ellipse (about 4 % of the frame) moving on its
  own path, as H.264 MP4, and its mask video; ``--seconds`` at 25 fps (default 2.4 s = 60 frames:
  more than one window of the flow engine, whose peak is a full window).

``--previous`` runs the photos again with the filler's previous whole-frame path
(``PatchFiller(context=None, max_search=None)``: no crop to the holes, PatchMatch at every scale);
``--floor`` adds a child that only reads and writes each input (an empty mask: the I/O floor). The
table gives the targets (48 MP photo < 2 GB, 1080p video < 1.5 GB) with PASS/FAIL. A 48 MP photo with
the previous path needs ~12 GB and ~80 s; it is not run unless asked for.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from common import markdown_table, shared_dir

PHOTOS = {"photo-12mp": (4000, 3000), "photo-48mp": (8000, 6000)}
VIDEOS = {"video-720p": (1280, 720), "video-1080p": (1920, 1080), "video-4k": (3840, 2160)}
TARGET_MB = {"photo-48mp": 2000, "video-1080p": 1500}
FPS = 25
DEFAULT_CASES = "photo-12mp,photo-48mp,video-720p,video-1080p,video-4k"


# ------------------------------------------------------------------------------------------- inputs

def make_photo(folder: Path, size: tuple[int, int]) -> None:
    """A shared photo scaled up to ``size`` with fine grain (a real photo's sensor detail), as a JPEG, and
    the next photo's object mask scaled up with it, as a PNG."""
    objects = shared_dir() / "data" / "photos" / "objects"
    image = cv2.imread(str(objects / "images" / "5.png"))
    mask = cv2.imread(str(objects / "masks" / "6.png"), cv2.IMREAD_GRAYSCALE)
    big = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng(0)
    for rows in range(0, size[1], 512):  # in strips: the generator's memory stays out of the way
        strip = big[rows:rows + 512]
        grain = rng.normal(0, 6, strip.shape[:2] + (1,)).astype(np.float32)
        strip[:] = np.clip(strip + grain, 0, 255).astype(np.uint8)
    big_mask = cv2.resize((mask > 127).astype(np.uint8) * 255, size, interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(folder / "photo.jpg"), big, [cv2.IMWRITE_JPEG_QUALITY, 95])
    cv2.imwrite(str(folder / "mask.png"), big_mask)


def _texture(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """Random RGB texture with detail at several scales (relative to a 854-pixel-wide frame)."""
    out = np.full((height, width, 3), 40.0, np.float32)
    unit = max(1, width // 1708)
    for cell, weight in ((96 * unit, 100.0), (24 * unit, 60.0), (6 * unit, 30.0), (2, 15.0)):
        small = rng.random((height // cell + 2, width // cell + 2, 3), dtype=np.float32)
        out += weight * cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(out, 0, 255).astype(np.uint8)


def make_video(folder: Path, size: tuple[int, int], frames: int) -> None:
    """A pan over a texture with an ellipse moving across it (~4 % of the frame), and its mask video;
    written frame by frame."""
    from unseen.media import Frame, VideoWriter

    width, height = size
    rng = np.random.default_rng(0)
    canvas = _texture(width + width // 2, height + height // 4, rng)
    axes = (round(55 * width / 854), round(95 * width / 854))
    video, mask_video = folder / "video.mp4", folder / "mask.mp4"
    with VideoWriter(video, fps=Fraction(FPS)) as out, VideoWriter(mask_video, fps=Fraction(FPS)) as masks:
        for i in range(frames):
            u = i / max(frames - 1, 1)
            view = (width / 2 + (width // 2 - 2) * u, height / 2 + (height // 4 - 2) * (0.5 + 0.5 * np.sin(6 * u)))
            image = cv2.getRectSubPix(canvas, (width, height), view)
            centre = (int(width * (0.2 + 0.6 * u)), int(height * (0.5 + 0.2 * np.sin(4 * u))))
            mask = np.zeros((height, width), np.uint8)
            cv2.ellipse(mask, centre, axes, 10 * u, 0, 360, 255, -1)
            image[mask > 0] = (200, 60, 50)
            out.write(Frame(image, i, f"{i:05d}"))
            masks.write(Frame(np.repeat(mask[..., None], 3, axis=2), i, f"{i:05d}"))


# -------------------------------------------------------------------------------------------- child

def child(spec: dict) -> None:
    """Run one case (in this fresh process) and print its seconds as JSON."""
    import unseen

    if spec.get("previous"):
        from unseen.inpaint import register_filler
        from unseen.inpaint.patch import PatchFiller

        register_filler("patch", lambda: PatchFiller(context=None, max_search=None))
    mask = spec["mask"]
    if spec.get("floor") and spec["kind"] == "photo":
        # An empty mask of the photo's size: read, nothing to fill, write.
        mask = str(Path(spec["output"]).with_name("empty.png"))
        height, width = cv2.imread(spec["mask"], cv2.IMREAD_GRAYSCALE).shape
        cv2.imwrite(mask, np.zeros((height, width), np.uint8))
    start = time.perf_counter()
    if spec.get("floor") and spec["kind"] == "video":
        from unseen.media import clip_writer, open_clip

        clip = open_clip(spec["input"])
        with clip_writer(spec["output"], clip, "png") as sink:
            for frame in clip:
                sink.write(frame)
    else:
        unseen.remove(spec["input"], spec["output"], mask=mask)
    print(json.dumps({"seconds": time.perf_counter() - start}))


def _parse(out: str) -> float:
    for line in reversed(out.strip().splitlines()):
        try:
            return float(json.loads(line)["seconds"])
        except (ValueError, KeyError, TypeError):
            continue
    return float("nan")


def measure(spec: dict) -> tuple[float, float, int, str]:
    """Run the case in a child; seconds, peak RSS MiB, exit status, last stderr line."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(spec)], stdout=out, stderr=err,
                                text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        err.seek(0)
        lines = err.read().strip().splitlines()
        return _parse(out.read()), usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), \
            (lines[-1] if lines else "")


# --------------------------------------------------------------------------------------------- main

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default=DEFAULT_CASES, help=f"comma-separated (default {DEFAULT_CASES})")
    p.add_argument("--seconds", type=float, default=2.4, help="length of the videos (default 2.4 s, 60 frames)")
    p.add_argument("--previous", action="store_true", help="photos again with the previous whole-frame path")
    p.add_argument("--floor", action="store_true", help="also read + write each input alone (I/O floor)")
    p.add_argument("--out", type=Path, help="keep inputs and outputs here (default: a temporary folder)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--make", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        child(json.loads(a.child))
        return
    if a.make:
        kind, size, frames, folder = json.loads(a.make)
        if kind == "photo":
            make_photo(Path(folder), tuple(size))
        else:
            make_video(Path(folder), tuple(size), frames)
        return
    names = [n for n in a.cases.split(",") if n]
    unknown = [n for n in names if n not in PHOTOS and n not in VIDEOS]
    if unknown:
        raise SystemExit(f"unknown cases {unknown}; choose from {DEFAULT_CASES}")
    frames = round(a.seconds * FPS)
    rows = []
    with tempfile.TemporaryDirectory(prefix="unseen-bench-memory-") as tmp:
        root = a.out or Path(tmp)
        for name in names:
            folder = root / name
            folder.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            kind = "photo" if name in PHOTOS else "video"
            size = PHOTOS.get(name) or VIDEOS[name]
            # Made in a child too: a process forked from a large one inherits its peak in ru_maxrss.
            subprocess.run([sys.executable, __file__, "--make", json.dumps([kind, size, frames, str(folder)])],
                           check=True)
            if kind == "photo":
                source, mask, output = folder / "photo.jpg", folder / "mask.png", folder / "clean.jpg"
                what = f"{size[0]}x{size[1]} ({size[0] * size[1] / 1e6:.0f} MP) photo"
            else:
                source, mask, output = folder / "video.mp4", folder / "mask.mp4", folder / "clean.mp4"
                what = f"{size[0]}x{size[1]} video, {frames} frames"
            print(f"{name}: inputs in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
            variants = [("now", {})]
            if a.previous and kind == "photo":
                variants.append(("previous (whole frame)", {"previous": True}))
            if a.floor:
                variants.append(("read + write only", {"floor": True}))
            for label, extra in variants:
                spec = {"kind": kind, "input": str(source), "mask": str(mask), "output": str(output), **extra}
                seconds, peak, code, last = measure(spec)
                print(f"  {label}: {seconds:.1f} s, {peak:.0f} MiB, exit {code} {last}", file=sys.stderr, flush=True)
                target = TARGET_MB.get(name) if label == "now" else None
                verdict = "" if target is None else ("PASS" if code == 0 and peak < target else "FAIL")
                status = "" if code == 0 else f" (exit {code}: {last[:60]})".replace("|", "/")
                rows.append([what, label + status, f"{seconds:.1f}",
                             f"{seconds / frames:.2f}" if kind == "video" else "", f"{peak:.0f}",
                             f"< {target}" if target else "", verdict])
    print()
    print(markdown_table(["case", "code", "seconds", "s/frame", "peak RSS MiB", "target MiB", "verdict"], rows))


if __name__ == "__main__":
    main()
