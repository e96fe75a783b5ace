"""Benchmark flow completion: how far the flow guessed inside the holes is from the flow of the true frames.

    .venv/bin/python bench/flow_completion.py [--out DIR] [--cases a,b] [--completers RUN,...] [--every 2]

Each hole case (the referee's ``$UNSEEN_SHARED/data/holes`` and the held-out pairings of ``bench/holes``,
built as ``bench/video.py`` builds them and cached in the same folder) gives, for frame pairs both ways,
the flow the video engine estimates on the frames with holes (hole grown by the engine's
``flow_margin``, on its flow grid) and the truth: DIS flow of the same preset on the true frames. Each
completion route of the engine (:data:`unseen.inpaint.video.ROUTES`: ``camera``, ``border``, ``learned``
once it ships) and each run of ``--completers`` (named by its folder) replaces the flow inside the hole;
the table gives the mean end-point error (EPE, pixels of the engine's flow grid) over the hole's pixels,
per case and on average, and how the EPE of each compares with the camera's in the same run. ``best`` is
the per-pixel better of camera and border (what the engine's agreement weighting could reach at most
with those two). A completer trained with confidence also gets ``NAME sure``: its EPE on the half of each
hole whose error it expects to be smallest (well under its whole-hole EPE if it knows where it is right).

``--neighbours`` asks instead what the neighbouring frames' flows know about a hole (the temporal input
ProPainter's completion uses): for the flow from frame t to t+1, the flow back from t+1 (outside its own
hole) and the flow from t-1 into t (outside its hole) are carried along themselves into frame t; the table
gives the share of the hole each reaches and the EPE there of what it carries, next to the learned
completion's EPE on the same pixels.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np

from unseen.inpaint.flow import FlowEstimator, working_hole
from unseen.inpaint.learned_flow import DEFAULT_WEIGHTS, LearnedFlowCompletion, default_completion
from unseen.inpaint.video import ROUTES, FlowVideoFiller
from unseen.masks.ops import dilate
from unseen.media.frames import list_images
from unseen.media.image import read_gray, read_image

from common import ROOT, load_score_holes, markdown_table
from video import case_specs, prepare_case


def open_case(case: Path) -> tuple[FlowVideoFiller, FlowEstimator, list[Path], list[Path], list[np.ndarray]]:
    """The engine (for its flow settings), its flow estimator, a case's input and true frames, and its holes."""
    engine = FlowVideoFiller()
    estimator = FlowEstimator(engine.flow_preset, engine.flow_side, engine.flow_scale)
    holes = [read_gray(path) > 127 for path in list_images(case / "masks")]
    return engine, estimator, list_images(case / "input"), list_images(case / "gt"), holes


def case_errors(case: Path, completions: dict, every: int) -> dict[str, float]:
    """Mean EPE inside the holes of one case, per completion (and ``best`` of camera and border); for a
    completion that says which of its guesses it is sure of, also on the surer half of each hole
    (``NAME sure``)."""
    engine, estimator, frames, truths, holes = open_case(case)
    sums = {name: 0.0 for name in [*completions, "best"]}
    pixels = dict.fromkeys(sums, 0)
    for t in range(0, len(frames) - 1, every):
        images = [read_image(frames[t]), read_image(frames[t + 1])]
        grays = [estimator.gray(image, hole) for image, hole in zip(images, holes[t:t + 2], strict=True)]
        clean = [estimator.gray(read_image(truths[i])) for i in (t, t + 1)]
        scale = images[0].shape[1] / grays[0].shape[1]
        for a, b in ((0, 1), (1, 0)):
            hole = working_hole(dilate(holes[t + a], engine.flow_margin), grays[0].shape)
            if not hole.any():
                continue
            estimated = estimator.flow(grays[a], grays[b], scale)
            truth = estimator.flow(clean[a], clean[b], scale)[hole]
            errors = {}
            for name, complete in completions.items():
                flow, expected = complete(estimated, hole, scale, grays[a])
                errors[name] = np.linalg.norm(flow[hole] - truth, axis=1) / scale
                if expected is not None:
                    errors[f"{name} sure"] = errors[name][expected[hole] <= np.median(expected[hole])]
            errors["best"] = np.minimum(errors["camera"], errors["border"])
            for name, error in errors.items():
                sums[name] = sums.get(name, 0.0) + float(error.sum())
                pixels[name] = pixels.get(name, 0) + len(error)
    return {name: total / max(1, pixels[name]) for name, total in sums.items()}


def carried_flow(flow: np.ndarray, hole: np.ndarray, sign: float, target: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """What a neighbouring frame's ``flow`` into this frame says of the ``target`` hole's flow: each of its
    pixels outside its own ``hole`` lands at ``position + flow`` and brings ``sign * flow`` (-1: the flow
    back, reversed; +1: the flow from the frame before, motion assumed steady); averaged over a 3x3
    neighbourhood. Returns the flow and the target's pixels reached."""
    h, w = target.shape
    ys, xs = np.nonzero(~hole)
    values = flow[ys, xs]
    tx, ty = np.rint(xs + values[:, 0]).astype(int), np.rint(ys + values[:, 1]).astype(int)
    inside = (tx >= 0) & (tx < w) & (ty >= 0) & (ty < h)
    index = ty[inside] * w + tx[inside]
    counts = cv2.blur(np.bincount(index, minlength=h * w).reshape(h, w).astype(np.float32), (3, 3))
    sums = cv2.blur(np.stack([np.bincount(index, sign * values[inside, c], h * w) for c in (0, 1)], axis=-1)
                    .reshape(h, w, 2).astype(np.float32), (3, 3))
    reached = (counts > 0) & target
    out = np.zeros_like(flow)
    out[reached] = sums[reached] / counts[reached][:, None]
    return out, reached


def neighbour_errors(case: Path, every: int) -> dict[str, float]:
    """Shares of the holes (forward flows, frames 1..n-2) that the flow back and the flow from the frame before
    reach, the mean EPE of what they carry there, and the learned completion's EPE on the same pixels."""
    engine, estimator, frames, truths, holes = open_case(case)
    learned = LearnedFlowCompletion(DEFAULT_WEIGHTS)
    totals: dict[str, float] = {}
    for t in range(1, len(frames) - 1, every):
        images = [read_image(frames[i]) for i in (t - 1, t, t + 1)]
        grays = [estimator.gray(image, hole) for image, hole in zip(images, holes[t - 1:t + 2], strict=True)]
        flow_holes = [working_hole(dilate(hole, engine.flow_margin), grays[0].shape) for hole in holes[t - 1:t + 2]]
        scale = images[0].shape[1] / grays[0].shape[1]
        hole = flow_holes[1]
        if not hole.any():
            continue
        clean = [estimator.gray(read_image(truths[i])) for i in (t, t + 1)]
        truth = estimator.flow(clean[0], clean[1], scale)
        ahead = estimator.flow(grays[1], grays[2], scale)
        guess_error = np.linalg.norm(learned(ahead, hole, scale, grays[1]) - truth, axis=2) / scale
        neighbours = {"back": (estimator.flow(grays[2], grays[1], scale), flow_holes[2], -1.0),
                      "before": (estimator.flow(grays[0], grays[1], scale), flow_holes[0], 1.0)}
        totals["pixels"] = totals.get("pixels", 0) + int(hole.sum())
        for name, (flow, source_hole, sign) in neighbours.items():
            carried, reached = carried_flow(flow, source_hole, sign, hole)
            error = np.linalg.norm(carried - truth, axis=2) / scale
            for key, value in ((name, reached.sum()), (f"{name} EPE", error[reached].sum()),
                               (f"{name} learned EPE", guess_error[reached].sum())):
                totals[key] = totals.get(key, 0) + float(value)
    pixels = max(1.0, totals.pop("pixels", 0))
    out = {}
    for name in ("back", "before"):
        reached = max(1.0, totals.get(name, 0))
        out |= {f"{name}: share": totals.get(name, 0) / pixels, f"{name}: EPE": totals.get(f"{name} EPE", 0) / reached,
                f"{name}: learned EPE": totals.get(f"{name} learned EPE", 0) / reached}
    return out


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "out" / "bench-video", help="work folder (cases cached)")
    p.add_argument("--cases", help="comma-separated case names, referee's or held-out (default: all)")
    p.add_argument("--completers", help="also trained flow completers (RUN or .pt, comma-separated), each named "
                                        "by its folder")
    p.add_argument("--every", type=int, default=1, help="every Nth frame pair (faster)")
    p.add_argument("--neighbours", action="store_true",
                   help="what the neighbouring frames' flows know of each hole, against the learned completion")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    completions = {name: complete for name, complete in ROUTES.items()
                   if name != "learned" or DEFAULT_WEIGHTS.is_file()}
    sure = ["learned sure"] if "learned" in completions and default_completion().network.confidence else []
    for run in args.completers.split(",") if args.completers else []:
        path, trained = Path(run), LearnedFlowCompletion(run)
        name = (path.parent if path.suffix == ".pt" else path).name
        completions[name] = trained.guess
        sure += [f"{name} sure"] if trained.network.confidence else []
    referee = load_score_holes()
    specs = case_specs(args.cases)
    if args.neighbours:
        print_neighbours(referee, specs, args)
        return
    names = [*completions, *sure, "best"]
    print(f"# Flow completion benchmark ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores): mean EPE "
          "inside the holes, px of the engine's flow grid (lower is better)\n", flush=True)
    for title, group in (("Referee's cases", specs[0]), ("Held-out pairings", specs[1])):
        rows, means = [], {name: [] for name in names}
        for spec in group:
            errors = case_errors(prepare_case(referee, spec, args.out), completions, args.every)
            rows.append([spec.stem, *(f"{errors[name]:.3f}" for name in names)])
            for name in names:
                means[name].append(errors[name])
        if not rows:
            continue
        mean = {name: float(np.mean(values)) for name, values in means.items()}
        rows.append(["**mean**", *(f"**{mean[name]:.3f}**" for name in names)])
        rows.append(["x camera", *(f"{mean[name] / mean['camera']:.2f}" for name in names)])
        print(f"## {title}\n\n" + markdown_table(["case", *names], rows) + "\n", flush=True)


def print_neighbours(referee, specs: tuple[list[Path], list[Path]], args: argparse.Namespace) -> None:
    """The ``--neighbours`` table: per case, what the flow back and the flow from the frame before reach."""
    print(f"# Neighbouring flows in the holes ({time.strftime('%Y-%m-%d %H:%M')}): share of each hole reached, EPE "
          "there of the carried flow and of the learned completion (px of the engine's flow grid)\n", flush=True)
    rows = []
    for spec in specs[0] + specs[1]:
        errors = neighbour_errors(prepare_case(referee, spec, args.out), args.every)
        rows.append([spec.stem, *(f"{value:.2f}" for value in errors.values())])
    print(markdown_table(["case", *errors], rows), flush=True)


if __name__ == "__main__":
    main()
