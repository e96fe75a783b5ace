"""Benchmark the segmenters on the shared clips: IoU and recall against the GT object, and speed.

    .venv/bin/python bench/segment.py [--models a,b] [--every N] [--ablation]

For each model and each (clip, class) pair — car: car-roundabout; person: parkour, tennis, bmx-trees —
the clip's frames go through the same per-video pipeline ``unseen segment`` uses (``Focus`` zoom,
temporal smoothing, tidying) and each frame's mask of the class is compared with the GT mask:

- IoU: the whole predicted class against the GT. The GT covers one object (the parked cars behind the
  car-roundabout car are cars too), so also
- object IoU: only the predicted blobs that touch the GT object, and
- recall: the share of the GT object found.
- fps: frames per second of the whole pipeline at the clip's size (decoded frames in memory), on the
  threads torch is given (the machine's 2 cores by default).

``--ablation`` adds rows for the default model without the zoom, without temporal smoothing and at
other network sizes, so each default is chosen by these numbers. Markdown tables on stdout; PASS/FAIL
against the targets (default model: IoU >= 0.8 on car and person, >= 10 fps at 854x480).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import cv2
import numpy as np

from unseen.masks.segmented import segment_frames
from unseen.media import Frame
from unseen.segment.base import get_segmenter
from unseen.segment.focus import Focus

from common import clip_frames, clip_masks, markdown_table

CASES = [("car-roundabout", "car"), ("parkour", "person"), ("tennis", "person"), ("bmx-trees", "person")]
MODELS = ["espnetv2-pascal", "espnetv2-pascal-s1", "espnetv2-city", "selfie", "selfie-landscape", "prisma"]
DEFAULT_MODEL = "espnetv2-pascal"
TARGET_IOU = 0.8
TARGET_FPS = 10.0


@dataclass(frozen=True)
class Setup:
    """One row of the table: a model and how the pipeline runs it."""

    model: str
    size: int | None = None  # network side for ESPNetv2 (None: its default)
    zoom: bool = True
    smoothing: int = 1

    @property
    def label(self) -> str:
        parts = [self.model]
        if self.size:
            parts.append(f"@{self.size}")
        if not self.zoom:
            parts.append("no zoom")
        if self.smoothing != 1:
            parts.append(f"smoothing {self.smoothing}")
        return " ".join(parts)


def object_part(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """The connected blobs of ``pred`` that overlap ``gt``."""
    _, blobs = cv2.connectedComponents(pred.astype(np.uint8))
    touching = np.unique(blobs[pred & gt])
    return np.isin(blobs, touching[touching > 0])


def scores(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float, float]:
    """(IoU, object IoU, recall) of one frame."""
    def iou(a: np.ndarray) -> float:
        return float((a & gt).sum() / max(1, (a | gt).sum()))
    return iou(pred), iou(object_part(pred, gt)), float((pred & gt).sum() / max(1, gt.sum()))


def run_case(setup: Setup, clip: str, cls: str, every: int) -> list[float]:
    segmenter = get_segmenter(setup.model)
    if setup.size:
        segmenter.size = setup.size
    if cls not in segmenter.classes:
        return []
    images, gts = clip_frames(clip, every), clip_masks(clip, every)
    frames = [Frame(image, i, f"{i:05d}") for i, image in enumerate(images)]
    focus = Focus(segmenter, [cls], zoom=setup.zoom)
    focus.probs(images[0])  # warm-up: first-call allocations are not the steady speed
    start = time.perf_counter()
    results = [(seg.mask, frame.index) for frame, seg in segment_frames(frames, focus, setup.smoothing)]
    fps = len(frames) / (time.perf_counter() - start)
    per_frame = np.array([scores(mask, gts[i]) for mask, i in results])
    return [*per_frame.mean(axis=0).tolist(), fps]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--every", type=int, default=1, help="use every Nth frame (temporal smoothing sees these)")
    parser.add_argument("--ablation", action="store_true")
    args = parser.parse_args()
    setups = [Setup(m) for m in args.models.split(",")]
    if args.ablation:
        setups += [Setup(DEFAULT_MODEL, zoom=False), Setup(DEFAULT_MODEL, smoothing=0),
                   Setup(DEFAULT_MODEL, size=256), Setup(DEFAULT_MODEL, size=384), Setup(DEFAULT_MODEL, size=512)]
    header = ["model", "clip", "class", "IoU", "object IoU", "recall", "fps"]
    rows, verdicts = [], []
    for setup in setups:
        for clip, cls in CASES:
            result = run_case(setup, clip, cls, args.every)
            if not result:
                continue
            rows.append([setup.label, clip, cls, *result])
            print(markdown_table(header, rows[-1:]).splitlines()[-1], flush=True)
            if setup == Setup(DEFAULT_MODEL) and clip in ("car-roundabout", "parkour"):
                verdicts.append((clip, result[1] >= TARGET_IOU, result[3] >= TARGET_FPS))
    print()
    print(markdown_table(header, rows))
    for clip, iou_ok, fps_ok in verdicts:
        print(f"{DEFAULT_MODEL} on {clip}: object IoU {'PASS' if iou_ok else 'FAIL'} (>= {TARGET_IOU}), "
              f"speed {'PASS' if fps_ok else 'FAIL'} (>= {TARGET_FPS} fps at 854x480)")


if __name__ == "__main__":
    main()
