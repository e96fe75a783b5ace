"""Optical flow between frames, and its completion inside holes.

The flow inside a hole is the masked object's own motion, which must not be propagated: it is thrown
away and rebuilt, either as the camera's motion, a homography (pans, zooms, static shots) learnt on the
rest of the frame, or as the motion of the hole's border carried smoothly inside.
"""

from __future__ import annotations

import cv2
import numpy as np

from unseen.inpaint.smooth import membrane_fill

_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


class FlowEstimator:
    """DIS optical flow (OpenCV), computed at most ``max_side`` pixels wide for speed and memory.

    Flows stay at that working size (a 1080p window then costs no more than a 480p one) but are given
    in full-size pixels: ``flow[y, x]`` is how far the full-size point under working pixel ``(x, y)``
    moves. :func:`full_size` and :func:`lookup_points` translate between the two grids.
    """

    def __init__(self, preset: str = "fast", max_side: int = 480, finest_scale: int | None = None):
        self._dis = cv2.DISOpticalFlow_create(_PRESETS[preset])
        if finest_scale is not None:
            self._dis.setFinestScale(finest_scale)
        self._max_side = max_side

    def gray(self, image: np.ndarray, hole: np.ndarray | None = None) -> np.ndarray:
        """The picture the estimator works on: grey, scaled down to ``max_side`` at most, and with the
        hole smoothly filled in: a moving object left in place drags the flow around it along with it
        (measured: wrong up to 16 px away), a smooth fill does not."""
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        scale = self._max_side / max(gray.shape)
        if scale < 1:
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if hole is not None and hole.any():
            small = cv2.resize(hole.astype(np.uint8), gray.shape[::-1], interpolation=cv2.INTER_NEAREST)
            gray = cv2.inpaint(gray, cv2.dilate(small, np.ones((3, 3), np.uint8)), 3, cv2.INPAINT_TELEA)
        return gray

    def flow(self, gray_a: np.ndarray, gray_b: np.ndarray, scale: float) -> np.ndarray:
        """Flow from ``gray_a`` to ``gray_b`` (from :meth:`gray`) in full-size pixels (``scale`` = full
        width / working width), on the working grid."""
        return self._dis.calc(gray_a, gray_b, None) * np.float32(scale)


def working_hole(hole: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A full-size hole on a working grid of ``shape``: a working pixel is in it if any of its pixels is."""
    if hole.shape == shape:
        return hole
    return cv2.resize(hole.astype(np.float32), shape[::-1], interpolation=cv2.INTER_AREA) > 0


def full_size(flow: np.ndarray | Completed, size: tuple[int, int]) -> np.ndarray:
    """A working-grid flow resampled to the full ``size`` (width, height)."""
    if isinstance(flow, Completed):
        flow = flow.full()
    if flow.shape[1] == size[0]:
        return flow
    return cv2.resize(flow, size, interpolation=cv2.INTER_LINEAR)


def sample_points(image: np.ndarray, x: np.ndarray, y: np.ndarray, border: int = cv2.BORDER_CONSTANT,
                  outside: float = 0.0) -> np.ndarray:
    """Bilinear samples of ``image`` (HxW or HxWxC) at N sub-pixel points: N or N x C values; ``outside``
    is the value beyond the image with ``BORDER_CONSTANT``."""
    # cv2.remap takes maps under 32767 pixels a side: lay the points out as rows of 4096.
    count, width = len(x), 4096
    rows = max(1, -(-count // width))
    grid = np.zeros((2, rows * width), np.float32)
    grid[0, :count], grid[1, :count] = x, y
    out = cv2.remap(image, grid[0].reshape(rows, width), grid[1].reshape(rows, width), cv2.INTER_LINEAR,
                    borderMode=border, borderValue=outside)
    return out.reshape(rows * width, *image.shape[2:])[:count]


def lookup_points(flow: np.ndarray | Completed, x: np.ndarray, y: np.ndarray, scale: float) -> np.ndarray:
    """Sample a working-grid flow at full-size points (N x 2), bilinear."""
    if isinstance(flow, Completed):
        return flow.lookup(x, y, scale)
    # Pixel centres: full-size x maps to working (x + 0.5) / scale - 0.5.
    return sample_points(flow, (x + 0.5) / scale - 0.5, (y + 0.5) / scale - 0.5, cv2.BORDER_REPLICATE)


class Completed:
    """A flow completed inside a hole, kept as the estimated flow (shared with the other completions of it)
    and, over the box where completing changed it (and one pixel around), its own values: a window keeps
    one estimated flow per frame pair, not one per way of completing it. Read exactly as the whole
    completed array would be. ``error``: the end-point error (full-size px) that a learned completion
    expects of itself (H x W, 0 where nothing was guessed), kept over the same box."""

    def __init__(self, estimated: np.ndarray, completed: np.ndarray, error: np.ndarray | None = None):
        self.estimated = estimated
        self.shape = estimated.shape
        self.box: np.ndarray | None = None
        self.error_box: np.ndarray | None = None
        changed = (completed != estimated).any(axis=2)
        if changed.any():
            h, w = changed.shape
            ys, xs = np.nonzero(changed.any(axis=1))[0], np.nonzero(changed.any(axis=0))[0]
            self.rows = slice(max(int(ys[0]) - 1, 0), min(int(ys[-1]) + 2, h))
            self.cols = slice(max(int(xs[0]) - 1, 0), min(int(xs[-1]) + 2, w))
            self.box = completed[self.rows, self.cols].copy()
            if error is not None:
                self.error_box = error[self.rows, self.cols].copy()

    def expected_error(self, x: np.ndarray, y: np.ndarray, scale: float) -> np.ndarray | None:
        """The error expected of the completion at full-size points (N, bilinear; 0 where nothing was
        guessed), or None if the completion gave no such estimate."""
        if self.error_box is None:
            return None
        wx = (x + 0.5) / scale - 0.5 - np.float32(self.cols.start)
        wy = (y + 0.5) / scale - 0.5 - np.float32(self.rows.start)
        h, w = self.error_box.shape
        # Most points of a chain are outside the box (no guess, no error): only those inside are sampled.
        inside = (wx > -1) & (wx < w) & (wy > -1) & (wy < h)
        out = np.zeros(len(x), np.float32)
        if inside.any():
            out[inside] = sample_points(self.error_box, wx[inside], wy[inside])
        return out

    def full(self) -> np.ndarray:
        """The whole completed flow (a new array where completing changed something)."""
        if self.box is None:
            return self.estimated
        out = self.estimated.copy()
        out[self.rows, self.cols] = self.box
        return out

    def lookup(self, x: np.ndarray, y: np.ndarray, scale: float) -> np.ndarray:
        """:func:`lookup_points` of the whole completed flow."""
        wx, wy = (x + 0.5) / scale - 0.5, (y + 0.5) / scale - 0.5
        if self.box is None:
            return sample_points(self.estimated, wx, wy, cv2.BORDER_REPLICATE)
        h, w = self.shape[:2]
        # A bilinear sample that touches a changed pixel lies wholly in the box (one pixel wider than the
        # change); one beyond the flow's edge reads the edge, which the box then holds too.
        rows, cols = self.rows, self.cols
        inside = (((wx >= cols.start) | (cols.start == 0)) & ((wx <= cols.stop - 1) | (cols.stop == w))
                  & ((wy >= rows.start) | (rows.start == 0)) & ((wy <= rows.stop - 1) | (rows.stop == h)))
        out = np.empty((len(x), 2), np.float32)
        out[~inside] = sample_points(self.estimated, wx[~inside], wy[~inside], cv2.BORDER_REPLICATE)
        out[inside] = sample_points(self.box, wx[inside] - np.float32(cols.start), wy[inside] - np.float32(rows.start),
                                    cv2.BORDER_REPLICATE)
        return out


def _bbox(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    return (slice(max(ys.min() - margin, 0), min(ys.max() + margin + 1, h)),
            slice(max(xs.min() - margin, 0), min(xs.max() + margin + 1, w)))


def camera_motion(flow: np.ndarray, region: np.ndarray, max_points: int = 400) -> np.ndarray | None:
    """The homography that best explains ``flow`` on the pixels of ``region`` (RANSAC), or None."""
    ys, xs = np.nonzero(region)
    if len(xs) < 12:
        return None
    pick = np.linspace(0, len(xs) - 1, min(max_points, len(xs))).astype(int)
    src = np.stack([xs[pick], ys[pick]], axis=1).astype(np.float32)
    dst = src + flow[ys[pick], xs[pick]]
    matrix, inliers = cv2.findHomography(src, dst, cv2.RANSAC, 1.0)
    if matrix is None or inliers.mean() < 0.5:
        return None
    return matrix


def complete_flow(flow: np.ndarray, hole: np.ndarray, margin: int = 16) -> np.ndarray:
    """Replace the flow inside ``hole`` by the camera's motion, learnt on the whole frame outside the hole
    and a ``margin`` around it; where no single motion explains the frame, by a smooth fill from the
    hole's border.

    Measured on the video cases (mean PSNR): camera motion alone 29.89 dB; plus a smooth fill of how
    the border differs from it, 29.85 dB at best (border flow that moves unlike the camera, such as the
    removed object's shadow, had to be left out, or it smeared the fill: 29.66 dB) — and on a plain
    pan the border's small errors, carried far along the flow, misplaced a brick wall's joints.
    """
    if not hole.any():
        return flow
    away = cv2.dilate(hole.astype(np.uint8), np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)) == 0
    matrix = camera_motion(flow, away, max_points=1000)
    if matrix is None:
        return continue_border_flow(flow, hole, margin)
    out = flow.copy()
    ys, xs = np.nonzero(hole)
    out[ys, xs] = homography_motion(matrix, xs, ys)
    return out


def homography_motion(matrix: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """How far the homography ``matrix`` moves each point ``(xs, ys)`` (N x 2 float32)."""
    points = np.stack([xs, ys], axis=-1).astype(np.float32).reshape(-1, 1, 2)
    return cv2.perspectiveTransform(points, matrix).reshape(-1, 2) - points.reshape(-1, 2)


def continue_border_flow(flow: np.ndarray, hole: np.ndarray, margin: int = 16) -> np.ndarray:
    """Replace the flow inside ``hole`` by the smoothest field through its border's flow (a membrane).

    Where something that moves unlike the camera passes behind the hole (a person, a wall near a moving
    camera), its motion shows on the border and carries on inside; :func:`complete_flow` would give it
    the camera's motion. Neither is right everywhere: the video filler follows both and keeps, pixel by
    pixel, the one whose views agree.
    """
    if not hole.any():
        return flow
    out = flow.copy()
    rows, cols = _bbox(hole, 2 * margin)
    out[rows, cols] = membrane_fill(flow[rows, cols], hole[rows, cols], sweeps=20)
    return out


def warp(image: np.ndarray, flow: np.ndarray, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """What ``image`` (a neighbouring frame) shows at ``position + flow`` of each pixel."""
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(image, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=border)


def is_scene_cut(gray_a: np.ndarray, gray_b: np.ndarray, flow: np.ndarray, scale: float,
                 threshold: float = 28.0) -> bool:
    """Whether two frames are from different shots: even following the flow, ``gray_b`` does not look
    like ``gray_a`` (mean grey-level error above ``threshold``)."""
    warped = warp(gray_b, flow / np.float32(scale), cv2.BORDER_REFLECT)
    return float(np.abs(warped.astype(np.float32) - gray_a).mean()) > threshold
