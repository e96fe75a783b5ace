"""Benchmark every registered photo filler on the photo cases with ground truth.

    .venv/bin/python bench/photos.py [--out DIR] [--fillers a,b] [--collage-fillers a,b]

Builds the cases from ``$UNSEEN_SHARED/data/photos/objects`` (default ``../shared`` beside the repo)
with ``score_holes.py prepare``, fills them with each filler on one thread, scores them with
``score_holes.py score`` and prints a markdown table. Timings are noisy on a shared machine, so they
are also given as a ratio to Telea timed in the same run. Side-by-side collages go to ``DIR/collages``:
``case-N.png`` (input with hole | fillers... | ground truth) and ``object-N.png`` (the photo's own object
mask, no ground truth).
"""

from __future__ import annotations

import os

# One core, as in the target: set before numpy/OpenCV start their thread pools.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from unseen.inpaint import DEFAULT_FILLER, get_filler, list_fillers  # noqa: E402
from unseen.media import read_gray, read_image  # noqa: E402

from common import ROOT, load_score_holes, shared_dir  # noqa: E402


def read_mask(path: Path) -> np.ndarray:
    return read_gray(path) > 127


def run_filler(name: str, case: Path, res: Path, repeats_512: int) -> tuple[float, float]:
    """Fill every case photo; return (mean seconds per photo, best seconds on 512x512 photos)."""
    filler = get_filler(name)
    res.mkdir(parents=True, exist_ok=True)
    times, times_512 = [], []
    for f in sorted((case / "input").iterdir()):
        image, mask = read_image(f), read_mask(case / "masks" / f.name)
        for rep in range(repeats_512 if image.shape[:2] == (512, 512) else 1):
            t0 = time.perf_counter()
            out = filler.fill(image, mask)
            dt = time.perf_counter() - t0
            if rep == 0:
                times.append(dt)
            if image.shape[:2] == (512, 512):
                times_512.append(dt)
        cv2.imwrite(str(res / f.name), cv2.cvtColor(out, cv2.COLOR_RGB2BGR))
    return float(np.mean(times)), float(np.min(times_512)) if times_512 else float("nan")


def _label(img: np.ndarray, text: str) -> np.ndarray:
    img = img.copy()
    cv2.putText(img, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def _show_hole(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    shown = image.copy()
    shown[mask] = (0.5 * shown[mask] + [127, 0, 127]).astype(np.uint8)
    return shown


def collages(case: Path, photos: Path, out: Path, names: list[str]) -> None:
    """Side-by-side PNGs: ground-truth cases from the results, and the photos' own object masks."""
    out.mkdir(parents=True, exist_ok=True)
    for f in sorted((case / "input").iterdir()):
        mask = read_mask(case / "masks" / f.name)
        tiles = [_label(_show_hole(read_image(case / "gt" / f.name), mask), "hole")]
        tiles += [_label(read_image(out.parent / "results" / n / f.name), n) for n in names]
        tiles.append(_label(read_image(case / "gt" / f.name), "ground truth"))
        cv2.imwrite(str(out / f"case-{f.stem}.png"), cv2.cvtColor(np.hstack(tiles), cv2.COLOR_RGB2BGR))
    fillers = [get_filler(n) for n in names]
    for f in sorted((photos / "images").iterdir()):
        image, mask = read_image(f), read_mask(photos / "masks" / f.name)
        mask = cv2.resize(mask.astype(np.uint8), image.shape[1::-1], interpolation=cv2.INTER_NEAREST) > 0
        tiles = [_label(_show_hole(image, mask), "object")]
        tiles += [_label(fl.fill(image, mask), fl.name) for fl in fillers]
        cv2.imwrite(str(out / f"object-{f.stem}.png"), cv2.cvtColor(np.hstack(tiles), cv2.COLOR_RGB2BGR))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "out" / "bench-photos")
    p.add_argument("--fillers", help="comma-separated fillers (default: all registered)")
    p.add_argument("--collage-fillers", help=f"fillers shown in collages (default: telea,{DEFAULT_FILLER})")
    p.add_argument("--repeats", type=int, default=3, help="timing repeats on 512x512 photos (best kept)")
    a = p.parse_args()
    cv2.setNumThreads(1)
    names = a.fillers.split(",") if a.fillers else list_fillers()
    names = ["telea"] + [n for n in names if n != "telea"]  # the baseline first: ratios refer to it
    referee = load_score_holes()
    photos = shared_dir() / "data" / "photos" / "objects"
    case = a.out / "case"
    referee.prepare(str(photos), str(case), [])
    rows = {}
    for n in names:
        sec, sec512 = run_filler(n, case, a.out / "results" / n, a.repeats)
        rows[n] = (referee.score(str(case), str(a.out / "results" / n)), sec, sec512)
    base512 = rows["telea"][2]
    print(f"\n{len(os.listdir(case / 'gt'))} photos from {photos}, one thread\n")
    # detail: the fill's gradient energy in the hole over the truth's (1 = as sharp; PSNR alone rewards blur)
    print("| filler | PSNR | hole PSNR | SSIM | detail | s/photo | s @512x512 | x Telea time |")
    print("|---|---|---|---|---|---|---|---|")
    for n, (s, sec, sec512) in rows.items():
        mark = " (default)" if n == DEFAULT_FILLER else ""
        print(f"| {n}{mark} | {s['psnr']:.2f} | {s['psnr_hole']:.2f} | {s['ssim']:.4f} | {s['detail']:.3f} | {sec:.3f} "
              f"| {sec512:.3f} | {sec512 / base512:.1f} |")
    shown = a.collage_fillers.split(",") if a.collage_fillers else ["telea", DEFAULT_FILLER]
    collages(case, photos, a.out / "collages", [n for n in shown if n in rows])
    print(f"\ncollages in {a.out / 'collages'}")


if __name__ == "__main__":
    main()
