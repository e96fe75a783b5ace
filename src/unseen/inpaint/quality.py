"""How good a removal is, against the truth: PSNR, PSNR inside the holes, SSIM, detail and flicker.

A *case* is a folder with ``gt/`` (the true frames), ``masks/`` (the holes, white) and usually ``input/``
(the frames with the holes blanked), as ``score_holes.py prepare`` writes them; a ``case.json`` in it
marks a video case (flicker is measured only there). The result is a folder of frames with the case's
names, or a video with as many frames. The definitions follow the project's referee
(``../shared/data/score_holes.py``) so that users measure what the benchmarks report:

- ``psnr``: over whole frames; ``psnr_hole``: over the hole pixels only;
- ``ssim``: mean structural similarity of the grey frames (Gaussian window, sigma 1.5);
- ``detail``: gradient energy inside the hole (its seam left out) relative to the truth's: 1 is as
  sharp as the real background, below 1 is blurred (PSNR alone rewards blur);
- ``flicker``: the previous filled frame warped onto this one with the truth's optical flow, mean
  absolute difference inside the hole where the truth itself stays consistent (lower is steadier).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from unseen.errors import InputError
from unseen.media import open_clip
from unseen.media.frames import list_images
from unseen.media.image import read_gray, read_image

SEAM_PX = 5            # the hole's border band left out of ``detail`` (erosion kernel side)
CONSISTENT_LEVELS = 20  # truth pixels that change more than this after warping are not flicker evidence
MIN_FLICKER_PIXELS = 50


def score_removal(case: str | os.PathLike, result: str | os.PathLike) -> dict[str, float]:
    """Scores of ``result`` (frames folder or video) against the case folder ``case``.

    Raises
    ------
    InputError
        The case lacks ``gt/`` or ``masks/``, or the result does not match it frame for frame in size.
    """
    case = Path(case)
    truths, holes = _case_files(case)
    sums = RemovalScores()
    previous = None
    for truth_file, hole_file, filled in zip(truths, holes, _result_frames(Path(result), truths), strict=True):
        truth, hole = read_image(truth_file), read_gray(hole_file) > 0
        if filled.shape != truth.shape:
            raise InputError(f"{result}: frame {truth_file.name} is {filled.shape[1]}x{filled.shape[0]}, "
                             f"the truth {truth.shape[1]}x{truth.shape[0]}")
        sums.add(truth, filled, hole)
        if (case / "case.json").exists() and previous is not None:
            sums.add_flicker(previous, (truth, filled), hole)
        previous = (truth, filled)
    return sums.scores(len(truths))


def _case_files(case: Path) -> tuple[list[Path], list[Path]]:
    for part in ("gt", "masks"):
        if not (case / part).is_dir():
            raise InputError(f"{case} is not a removal case: it has no {part}/ folder (see score_holes.py prepare)")
    truths = list_images(case / "gt")
    holes = {p.stem: p for p in list_images(case / "masks")}
    missing = [t.name for t in truths if t.stem not in holes]
    if missing or not truths:
        raise InputError(f"{case}: {'no frames in gt/' if not truths else 'no mask for ' + missing[0]}")
    return truths, [holes[t.stem] for t in truths]


def _result_frames(result: Path, truths: list[Path]) -> Iterator[np.ndarray]:
    """The result's frames in the case's order: by name from a folder, in order from a video."""
    if result.is_dir():
        found = {p.stem: p for p in list_images(result)}
        for truth in truths:
            if truth.stem not in found:
                raise InputError(f"{result} has no frame {truth.stem} (the case's frames keep their names)")
            yield read_image(found[truth.stem])
        return
    clip = open_clip(result)
    count = 0
    for frame in clip:
        if count < len(truths):
            yield frame.image
        count += 1
    if count != len(truths):
        raise InputError(f"{result} has {count} frames, the case {len(truths)}")


def _gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _gradient(gray: np.ndarray) -> np.ndarray:
    z = gray.astype(np.float32)
    return np.hypot(cv2.Sobel(z, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(z, cv2.CV_32F, 0, 1, ksize=3))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two grey images (Wang et al. 2004; 11x11 Gaussian window, sigma 1.5)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (11, 11), 1.5)

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mu_a ** 2, blur(b * b) - mu_b ** 2, blur(a * b) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(index.mean())


class RemovalScores:
    """Running totals over the frames of a removal (``add`` one filled frame at a time, then ``scores``)."""

    def __init__(self) -> None:
        self.error_all = self.count_all = self.error_hole = self.count_hole = 0.0
        self.detail_filled = self.detail_truth = 0.0
        self.ssims: list[float] = []
        self.flickers: list[float] = []
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def add(self, truth: np.ndarray, filled: np.ndarray, hole: np.ndarray) -> None:
        squared = (truth.astype(np.float64) - filled) ** 2
        self.error_all += squared.sum()
        self.count_all += squared.size
        self.error_hole += squared[hole].sum()
        self.count_hole += hole.sum() * 3
        self.ssims.append(ssim(_gray(truth), _gray(filled)))
        inner = cv2.erode(hole.astype(np.uint8), np.ones((SEAM_PX, SEAM_PX), np.uint8)) > 0
        self.detail_filled += float(_gradient(_gray(filled))[inner].sum())
        self.detail_truth += float(_gradient(_gray(truth))[inner].sum())

    def add_flicker(self, previous: tuple[np.ndarray, np.ndarray], current: tuple[np.ndarray, np.ndarray],
                    hole: np.ndarray) -> None:
        (truth_before, filled_before), (truth, filled) = previous, current
        flow = self.flow.calc(_gray(truth), _gray(truth_before), None)
        h, w = hole.shape
        grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        map_x, map_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
        filled_warped = cv2.remap(filled_before.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR)
        truth_warped = cv2.remap(truth_before.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR)
        valid = hole & (np.abs(truth_warped - truth).mean(axis=2) < CONSISTENT_LEVELS)
        if valid.sum() > MIN_FLICKER_PIXELS:
            self.flickers.append(float(np.abs(filled_warped - filled).mean(axis=2)[valid].mean()))

    def scores(self, frames: int) -> dict[str, float]:
        def psnr(error: float, count: float) -> float:
            return 10 * math.log10(255 ** 2 / max(error / max(count, 1), 1e-10))

        return {"psnr": round(psnr(self.error_all, self.count_all), 3),
                "psnr_hole": round(psnr(self.error_hole, self.count_hole), 3),
                "ssim": round(float(np.mean(self.ssims)), 4),
                "detail": round(self.detail_filled / self.detail_truth, 3) if self.detail_truth > 0 else math.nan,
                "flicker": round(float(np.mean(self.flickers)), 3) if self.flickers else math.nan,
                "frames": frames}
