"""Benchmark the segmenters on the shared clips: IoU and recall against the GT object, and speed.

    .venv/bin/python bench/segment.py [--models a,b] [--every N] [--ablation]

For each model and each (clip, class) pair — car: car-roundabout; person: parkour, tennis, bmx-trees —
the clip's frames go through the same per-video pipeline ``unseen segment`` uses (``Focus`` zoom,
temporal smoothing, tidying) and each frame's mask of the class is compared with the GT mask:

- IoU: the whole predicted class against the GT. The GT covers one object (the parked cars behind the
  car-roundabout car are cars too), so also
- object IoU: only the predicted blobs that touch the GT object, and
- recall: the share of the GT object found, and "recall +6px" after growing the mask by
  ``unseen.api.DEFAULT_TARGET_DILATE`` pixels, as ``remove --target`` does (what is still missed stays in
  the video as a ghost outline).
- change: how much the mask changes from frame to frame, over how much the GT changes (1.0 = as much as
  the object really moves; above = flicker).
- fps: frames per second of the whole pipeline at the clip's size (decoded frames in memory), with the
  models' default thread counts (one torch thread).

``--ablation`` adds rows for the default model without the zoom, with a whole-frame look at every
frame (refresh 1), with other temporal smoothing and at other network sizes, so each default is chosen
by these numbers. Markdown tables on stdout; PASS/FAIL against the targets (each class's default model,
``unseen.segment.base.default_segmenter``: object IoU >= 0.8 on car and person, >= 10 fps at 854x480).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import cv2
import numpy as np

from unseen.api import DEFAULT_TARGET_DILATE
from unseen.masks import dilate
from unseen.masks.segmented import segment_frames
from unseen.media import Frame
from unseen.segment.base import default_segmenter, get_segmenter
from unseen.segment.focus import REFRESH, Focus

from common import clip_frames, clip_masks, markdown_table

CASES = [("car-roundabout", "car"), ("parkour", "person"), ("tennis", "person"), ("bmx-trees", "person")]
MODELS = ["espnetv2-pascal", "espnetv2-pascal-s1", "espnetv2-city", "selfie", "selfie-landscape", "prisma"]
DEFAULT_MODEL = "espnetv2-pascal"  # the one the ablation rows vary
TARGET_IOU = 0.8
TARGET_FPS = 10.0


@dataclass(frozen=True)
class Setup:
    """One row of the table: a model and how the pipeline runs it."""

    model: str
    size: int | None = None  # network side for ESPNetv2 (None: its default)
    zoom: bool = True
    smoothing: int = 1
    refresh: int = REFRESH

    @property
    def label(self) -> str:
        parts = [self.model]
        if self.size:
            parts.append(f"@{self.size}")
        if not self.zoom:
            parts.append("no zoom")
        if self.smoothing != 1:
            parts.append(f"smoothing {self.smoothing}")
        if self.refresh != REFRESH:
            parts.append(f"refresh {self.refresh}")
        return " ".join(parts)


def object_part(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """The connected blobs of ``pred`` that overlap ``gt``."""
    _, blobs = cv2.connectedComponents(pred.astype(np.uint8))
    touching = np.unique(blobs[pred & gt])
    return np.isin(blobs, touching[touching > 0])


def scores(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float, float, float]:
    """(IoU, object IoU, recall, recall of the grown mask) of one frame."""
    def iou(a: np.ndarray) -> float:
        return float((a & gt).sum() / max(1, (a | gt).sum()))

    def recall(a: np.ndarray) -> float:
        return float((a & gt).sum() / max(1, gt.sum()))
    return iou(pred), iou(object_part(pred, gt)), recall(pred), recall(dilate(pred, DEFAULT_TARGET_DILATE))


def change_ratio(preds: list[np.ndarray], gts: list[np.ndarray]) -> float:
    """Pixels that flip between consecutive masks, over the same count for the GT."""
    def flips(masks: list[np.ndarray]) -> int:
        return sum(int((a ^ b).sum()) for a, b in zip(masks[:-1], masks[1:], strict=True))
    return flips(preds) / max(1, flips(gts))


def run_case(setup: Setup, clip: str, cls: str, every: int) -> list[float]:
    segmenter = get_segmenter(setup.model)
    if setup.size:
        segmenter.size = setup.size
    if cls not in segmenter.classes:
        return []
    images, gts = clip_frames(clip, every), clip_masks(clip, every)
    frames = [Frame(image, i, f"{i:05d}") for i, image in enumerate(images)]
    focus = Focus(segmenter, [cls], zoom=setup.zoom, refresh=setup.refresh)
    Focus(segmenter, [cls]).probs(images[0])  # warm-up: first-call allocations are not the steady speed
    start = time.perf_counter()
    results = [(seg.mask, frame.index) for frame, seg in segment_frames(frames, focus, setup.smoothing)]
    fps = len(frames) / (time.perf_counter() - start)
    per_frame = np.array([scores(mask, gts[i]) for mask, i in results])
    return [*per_frame.mean(axis=0).tolist(), change_ratio([m for m, _ in results], gts), fps]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--every", type=int, default=1, help="use every Nth frame (temporal smoothing sees these)")
    parser.add_argument("--ablation", action="store_true")
    args = parser.parse_args()
    setups = [Setup(m) for m in args.models.split(",")]
    if args.ablation:
        setups += [Setup(DEFAULT_MODEL, zoom=False), Setup(DEFAULT_MODEL, refresh=1),
                   Setup(DEFAULT_MODEL, smoothing=0), Setup(DEFAULT_MODEL, smoothing=2),
                   Setup(DEFAULT_MODEL, size=320), Setup(DEFAULT_MODEL, size=384)]
    header = ["model", "clip", "class", "IoU", "object IoU", "recall", f"recall +{DEFAULT_TARGET_DILATE}px",
              "change", "fps"]
    rows, verdicts = [], []
    for setup in setups:
        for clip, cls in CASES:
            result = run_case(setup, clip, cls, args.every)
            if not result:
                continue
            rows.append([setup.label, clip, cls, *result])
            print(markdown_table(header, rows[-1:]).splitlines()[-1], flush=True)
            if setup == Setup(default_segmenter([cls])) and clip in ("car-roundabout", "parkour"):
                verdicts.append((setup.model, clip, cls, result[1] >= TARGET_IOU, result[-1] >= TARGET_FPS))
    print()
    print(markdown_table(header, rows))
    for model, clip, cls, iou_ok, fps_ok in verdicts:
        print(f"default for {cls}, {model}, on {clip}: object IoU {'PASS' if iou_ok else 'FAIL'} (>= {TARGET_IOU}), "
              f"speed {'PASS' if fps_ok else 'FAIL'} (>= {TARGET_FPS} fps at 854x480)")


if __name__ == "__main__":
    main()
