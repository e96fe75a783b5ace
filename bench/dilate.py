"""How far to grow an object mask before filling: the default of ``--dilate``, by measurement.

Real objects do not end where their annotated mask ends: edges are anti-aliased and motion-blurred, so
a ring of mixed object/background pixels lies just outside the mask. Left in place, that ring shows
as a halo around the fill; growing the mask too far throws away real background. Here real objects
(the DAVIS masks and pixels of one clip) are composited with soft edges (alpha = the mask blurred
with sigma 1.5 px, a typical blur at 480p) onto the real frames of another clip, whose true pixels are
the ground truth. Edges are pasted at three softnesses (alpha = the mask blurred with sigma 0.75, 1.5
and 3 px: a crisp still, a typical 480p edge, a fast-moving object) and the default is the width
with the best mean over them. The error is measured in the hole plus a 16 px ring around it, where a
halo shows.

    .venv/bin/python bench/dilate.py [--filler NAME] [--engines photo,video]

Photos are measured one by one with the photo filler; clips (30 consecutive frames) with the video
engine, which copies the background from other frames and so pays less for a wider hole.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

import unseen
from unseen.inpaint import DEFAULT_FILLER
from unseen.masks import dilate

from common import clip_frames, clip_masks, markdown_table

PAIRS = [("bmx-trees", "tennis"), ("tennis", "bmx-trees"), ("car-roundabout", "parkour"),
         ("parkour", "car-roundabout")]
SIZE = (432, 240)
WIDTHS = [0, 2, 3, 4, 6, 8, 12]
SIGMAS = [0.75, 1.5, 3.0]


def composite(background: np.ndarray, foreground: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    alpha = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigma)[..., None]
    return (foreground * alpha + background * (1 - alpha)).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float:
    mse = np.mean((a[region].astype(np.float64) - b[region].astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-10)))


def load_pair(bg_name: str, fg_name: str, every: int, limit: int) -> tuple[list, list, list]:
    """Background frames (the truth), foreground frames and their object masks, resized to SIZE."""
    backgrounds, foregrounds = clip_frames(bg_name, every)[:limit], clip_frames(fg_name, every)[:limit]
    masks = clip_masks(fg_name, every)[:limit]
    count = min(len(backgrounds), len(foregrounds), len(masks))
    resize = lambda image, how: cv2.resize(image, SIZE, interpolation=how)  # noqa: E731
    return ([resize(b, cv2.INTER_AREA) for b in backgrounds[:count]],
            [resize(f, cv2.INTER_AREA) for f in foregrounds[:count]],
            [resize(m.astype(np.uint8), cv2.INTER_NEAREST).astype(bool) for m in masks[:count]])


def measure(engine: str, filler: str) -> dict[tuple[int, float], list[float]]:
    """PSNR of the hole + ring for every (dilation, edge softness): photos one by one (every 10th frame)
    or 30-frame clips through the video engine."""
    scores = {(w, s): [] for w in WIDTHS for s in SIGMAS}
    for bg_name, fg_name in PAIRS:
        every, limit = (10, 100) if engine == "photo" else (1, 30)
        backgrounds, foregrounds, masks = load_pair(bg_name, fg_name, every, limit)
        regions = [dilate(m, 16) for m in masks]
        for sigma in SIGMAS:
            images = [composite(b, f, m, sigma) for b, f, m in zip(backgrounds, foregrounds, masks, strict=True)]
            for width in WIDTHS:
                if engine == "photo":
                    outs = [unseen.remove(i, mask=m, dilate_px=width, method=filler) for i, m in zip(images, masks,
                                                                                                strict=True)]
                else:
                    outs = list(unseen.remove(np.stack(images), mask=np.stack(masks), dilate_px=width, method="flow"))
                scores[width, sigma] += [psnr(o, b, r) for o, b, r, m in zip(outs, backgrounds, regions, masks,
                                                                             strict=True) if m.any()]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filler", default=DEFAULT_FILLER, help="photo filler (default: %(default)s)")
    parser.add_argument("--engines", default="photo,video", help="photo, video or both (default: %(default)s)")
    args = parser.parse_args()
    for engine in args.engines.split(","):
        started = time.perf_counter()
        scores = measure(engine, args.filler)
        rows = []
        for width in WIDTHS:
            per_sigma = [float(np.mean(scores[width, sigma])) for sigma in SIGMAS]
            rows.append([width, *per_sigma, float(np.mean(per_sigma))])
        what = f"photo filler {args.filler}" if engine == "photo" else "video engine (flow), 30-frame clips"
        print(f"\n{what}: {len(scores[0, SIGMAS[0]])} frames per edge softness, "
              f"{time.perf_counter() - started:.0f} s; PSNR (dB) in the hole + a 16 px ring")
        print(markdown_table(["dilate px", *[f"edge sigma {s}" for s in SIGMAS], "mean"], rows))
        print(f"best mean: {max(rows, key=lambda r: r[-1])[0]} px")


if __name__ == "__main__":
    main()
