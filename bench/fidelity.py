"""How faithfully a video comes out where nothing was removed: PSNR outside the hole, input against output.

    .venv/bin/python bench/fidelity.py [--frames N] [--baseline OTHER_SRC]

Inputs: the shared clip running_car.mp4 as it is (H.264, 8-bit 4:2:0, BT.709, 972x540), and from its first
``--frames`` frames: the same at 1280x720 (where players take untagged video for BT.709), as 10-bit HEVC,
and as 8-bit 4:4:4 H.264 (a screen recording). Each goes through ``unseen remove`` at the default settings
(a square hole, filled by telea: the filler does not touch what is outside). Frames are decoded as a
player shows them (by their colour tags, untagged: BT.709 from 720 lines up, BT.601 below; chroma upsampled
to every pixel) and compared
outside the hole grown by 8 px. ``--baseline`` runs another checkout's ``src`` (e.g. the last commit:
``git archive HEAD src | tar -x -C /tmp/base``, then ``--baseline /tmp/base/src``) for the figures before.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.reformatter import Interpolation

from common import ROOT, markdown_table, shared_dir

BT709, BT601, UNSPECIFIED = 1, 5, 2
# A player's chroma upsampling: to every pixel, exactly rounded (swscale's fast default is 5-11 dB worse).
PLAYER = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
HOLE = (slice(200, 300), slice(400, 560))  # rows, columns at 972x540; scaled for other sizes
MARGIN = 8


def encode(path: Path, frames: list[np.ndarray], codec: str, pix_fmt: str, options: dict[str, str]) -> Path:
    """Write RGB ``frames`` at 25 fps as BT.709 video, as a camera or an editor would."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=25, options=options)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = pix_fmt
        context = stream.codec_context
        context.colorspace = context.color_primaries = context.color_trc = BT709
        context.color_range = 1
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame = frame.reformat(format=pix_fmt, src_colorspace=BT709, dst_colorspace=BT709, dst_color_range=1)
            frame.pts, frame.time_base = index, Fraction(1, 25)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def shown(path: Path) -> list[np.ndarray]:
    """Frames as a player shows them: by their colour tags, or BT.709 for untagged HD and BT.601 below."""
    with av.open(str(path)) as container:
        frames = []
        for frame in container.decode(video=0):
            guess = BT709 if frame.height >= 720 or frame.width >= 1280 else BT601
            frames.append(frame.to_ndarray(format="rgb24", interpolation=PLAYER,
                                           src_colorspace=guess if frame.colorspace == UNSPECIFIED else None))
        return frames


def describe(path: Path) -> str:
    with av.open(str(path)) as container:
        context = container.streams.video[0].codec_context
        tag = {BT709: "709", UNSPECIFIED: "untagged"}.get(context.colorspace, str(context.colorspace))
        return f"{context.name} {context.pix_fmt} {tag}"


def hole_mask(height: int, width: int) -> np.ndarray:
    mask = np.zeros((540, 972), np.uint8)
    mask[HOLE] = 255
    return cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)


def outside_psnr(source: Path, result: Path, mask: np.ndarray) -> float:
    keep = cv2.dilate(mask, np.ones((2 * MARGIN + 1, 2 * MARGIN + 1), np.uint8)) == 0
    errors = [np.mean((a.astype(np.float64) - b)[keep] ** 2)
              for a, b in zip(shown(source), shown(result), strict=True)]
    return float(10 * np.log10(255 ** 2 / np.mean(errors)))


def remove(source: Path, mask_path: Path, output: Path, src: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run([sys.executable, "-m", "unseen", "remove", str(source), "--mask", str(mask_path), "-o",
                    str(output), "--method", "telea", "-q"], check=True, env=env)


def inputs(folder: Path, count: int) -> dict[str, Path]:
    clip = shared_dir() / "data" / "clips" / "running-car" / "running_car.mp4"
    with av.open(str(clip)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in itertools.islice(container.decode(video=0), count)]
    hd = [cv2.resize(f, (1280, 720), interpolation=cv2.INTER_CUBIC) for f in frames]
    made = {"h264 8-bit 4:2:0 (as shot)": clip,
            "h264 8-bit 4:2:0 1280x720": encode(folder / "hd.mp4", hd, "libx264", "yuv420p", {"crf": "12"}),
            "h264 8-bit 4:4:4": encode(folder / "444.mp4", frames, "libx264", "yuv444p", {"crf": "12"})}
    try:
        made["hevc 10-bit 4:2:0"] = encode(folder / "hevc10.mp4", frames, "libx265", "yuv420p10le",
                                           {"crf": "12", "x265-params": "log-level=error"})
    except (av.error.FFmpegError, ValueError):
        print("no libx265 in this build: the 10-bit HEVC case is left out", file=sys.stderr)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=48, help="frames of the made inputs (default: 48)")
    parser.add_argument("--baseline", type=Path, help="another checkout's src/ to compare with")
    args = parser.parse_args()
    runs = {"now": ROOT / "src"} | ({"before": args.baseline} if args.baseline else {})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, source in inputs(folder, args.frames).items():
            with av.open(str(source)) as container:
                context = container.streams.video[0].codec_context
                mask = hole_mask(context.height, context.width)
            mask_path = folder / f"mask-{context.width}.png"
            cv2.imwrite(str(mask_path), mask)
            row = [name]
            for label, src in runs.items():
                output = folder / f"{label}-{source.stem}.mp4"
                remove(source, mask_path, output, src)
                row += [describe(output), outside_psnr(source, output, mask), output.stat().st_size // 1024]
            rows.append(row)
    header = ["input"] + [f"{column} ({label})" for label in runs for column in ("output", "PSNR dB", "KiB")]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
