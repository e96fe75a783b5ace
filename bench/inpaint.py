"""Benchmark learned inpainters against the photo fillers, on car-removal cases and the photo cases.

    .venv/bin/python bench/inpaint.py --learned runs/gan [--cars 12] [--out DIR]

Two sets of cases with ground truth, built by the referee (``score_holes.py``):

- cars: ``paste`` of the vehicle cut-outs of ``train/inpaint/objects`` on the street photos of
  ``photos/street-unlabeled`` (photos no training reads; the hole is the pasted car's alpha grown by 3 px,
  the truth the clean photo). A trained inpainter saw the cut-outs' shapes, never these streets.
- photos: ``prepare`` of ``photos/objects`` (each photo gets the next one's object mask as its hole).

Every filler runs in the same process on one thread: Telea (the baseline the targets refer to), patch
(the default), membrane, and each ``--learned`` run. Scores: PSNR, hole PSNR, SSIM and **detail** (gradient
energy in the hole relative to the truth's: PSNR alone rewards blur). Targets for a shipped learned
filler: on cars, hole PSNR >= Telea + 2 dB and detail >= 0.6; on photos, hole PSNR >= patch's with more
detail. Side-by-side collages of the car cases go to ``DIR/collages``: look at them.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from unseen.media import read_gray, read_image  # noqa: E402

from common import ROOT, load_score_holes, markdown_table, shared_dir  # noqa: E402
from photos import _show_hole, run_filler  # noqa: E402

BASELINES = ["telea", "patch", "membrane"]


def build_cases(out: Path, cars: int) -> dict[str, Path]:
    referee, shared = load_score_holes(), shared_dir() / "data"
    cases = {"cars": out / "cases" / "cars", "photos": out / "cases" / "photos"}
    if not (cases["cars"] / "gt").is_dir():
        referee.paste(str(shared / "photos" / "street-unlabeled"), str(shared / "train" / "inpaint" / "objects"),
                      str(cases["cars"]), cars, 0)
    if not (cases["photos"] / "gt").is_dir():
        referee.prepare(str(shared / "photos" / "objects"), str(cases["photos"]), [])
    return cases


def collage(case: Path, results: Path, names: list[str], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for f in sorted((case / "gt").iterdir()):
        hole = read_gray(case / "masks" / f.name) > 127
        filled = [read_image(results / Path(n).name / f.name) for n in names]
        tiles = [_show_hole(read_image(case / "input" / f.name), hole), *filled, read_image(case / "gt" / f.name)]
        cv2.imwrite(str(out / f"{f.stem}.png"), cv2.cvtColor(np.hstack(tiles), cv2.COLOR_RGB2BGR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learned", default="", help="trained inpainter runs (RUN or RUN/best.pt), comma-separated")
    parser.add_argument("--cars", type=int, default=12, help="car cases to paste (default 12)")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench-inpaint")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    referee = load_score_holes()
    cases = build_cases(args.out, args.cars)
    names = BASELINES + [n for n in args.learned.split(",") if n]
    rows = []
    for kind, case in cases.items():
        scores = {}
        for name in names:
            results = args.out / "results" / kind / Path(name).name
            seconds, _ = run_filler(name, case, results, 1)
            scores[name] = (referee.score(str(case), str(results)), seconds)
        telea, patch = scores["telea"][0], scores["patch"][0]
        for name, (s, seconds) in scores.items():
            if name in BASELINES:
                verdict = ""
            elif kind == "cars":
                ok = s["psnr_hole"] >= telea["psnr_hole"] + 2 and s["detail"] >= 0.6
                verdict = "PASS" if ok else "FAIL"
            else:
                ok = s["psnr_hole"] >= patch["psnr_hole"] and s["detail"] > patch["detail"]
                verdict = "PASS" if ok else "FAIL"
            rows.append([kind, Path(name).name, f"{s['psnr']:.2f}", f"{s['psnr_hole']:.2f}",
                         f"{s['psnr_hole'] - telea['psnr_hole']:+.2f}", f"{s['ssim']:.4f}", f"{s['detail']:.3f}",
                         f"{seconds:.3f}", verdict])
        if kind == "cars":
            collage(case, args.out / "results" / kind, names, args.out / "collages")
    print(markdown_table(["cases", "filler", "PSNR", "hole PSNR", "vs Telea", "SSIM", "detail", "s/photo",
                          "target"], rows))
    print(f"\ncollages in {args.out / 'collages'}")


if __name__ == "__main__":
    main()
