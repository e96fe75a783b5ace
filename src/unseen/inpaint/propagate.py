"""Temporal propagation: find, for each hole pixel, the nearest frames that show what is behind it.

Each hole pixel is followed along the completed flow, frame by frame, until it lands on a pixel that
the frame shows (outside that frame's hole). Positions are carried as sub-pixel coordinates and the
flows are sampled bilinearly, so a long chain neither tears nor snaps to the pixel grid; colours are
sampled once, from the original frame where the chain ends.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from unseen.inpaint.flow import Completed, lookup_points, sample_points


class Visibility:
    """Where a frame shows the background: everywhere but its hole (or everywhere, once filled).

    Kept as the hole's box alone (float32, 1 = seen), so that a window of large frames does not hold a
    full-size map per frame; sampled exactly as that map would be.
    """

    def __init__(self, hole: np.ndarray | None):
        self.box: np.ndarray | None = None
        self.x0 = self.y0 = 0
        if hole is not None and hole.any():
            h, w = hole.shape
            ys, xs = np.nonzero(hole.any(axis=1))[0], np.nonzero(hole.any(axis=0))[0]
            # One seen pixel around the hole, so bilinear samples near the box's edge read it, not the border.
            self.y0, self.x0 = max(int(ys[0]) - 1, 0), max(int(xs[0]) - 1, 0)
            rows, cols = slice(self.y0, min(int(ys[-1]) + 2, h)), slice(self.x0, min(int(xs[-1]) + 2, w))
            self.box = (~hole[rows, cols]).astype(np.float32)

    def seen(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether every pixel a bilinear sample at each point touches is seen (bool per point)."""
        if self.box is None:
            return np.ones(len(x), bool)
        # Shifting by whole pixels is exact in float32, so the samples weigh pixels as on the full map.
        return sample_points(self.box, x - np.float32(self.x0), y - np.float32(self.y0), outside=1.0) > 0.999


class Shrunk:
    """A per-frame field kept ``factor`` times smaller on each side (a low-passed frame, whose detail a
    smaller grid still holds), sampled at full-size points like the full-size field."""

    def __init__(self, image: np.ndarray, factor: int):
        self.image, self.factor = image, factor
        self.shape = image.shape

    def sample(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        f = np.float32(self.factor)
        return sample_points(self.image, (x + np.float32(0.5)) / f - np.float32(0.5),
                             (y + np.float32(0.5)) / f - np.float32(0.5))


def _sample_field(field: np.ndarray | Shrunk, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return field.sample(x, y) if isinstance(field, Shrunk) else sample_points(field, x, y)


def _seen(visible: Visibility | np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if isinstance(visible, Visibility):
        return visible.seen(x, y)
    return sample_points(visible, x, y) > 0.999


@dataclasses.dataclass
class Sightings:
    """For the hole pixels of one frame (in ``np.nonzero`` order): where each one was seen.

    ``frame`` is -1 where no frame in that direction shows the pixel. ``drift``: the end-point error
    (px) that the completions of the flows the chain followed expect of them, summed along it (0 where
    they gave no estimate).
    """

    frame: np.ndarray  # N int32
    x: np.ndarray  # N float32
    y: np.ndarray  # N float32
    drift: np.ndarray | None = None  # N float32

    @property
    def found(self) -> np.ndarray:
        return self.frame >= 0


def track(t: int, hole: np.ndarray, flows: list[np.ndarray | None], visible: Sequence[Visibility | np.ndarray],
          step: int, hits: int = 1, scale: float = 1.0) -> list[Sightings]:
    """Follow the hole pixels of frame ``t`` through frames ``t+step, t+2*step, ...``.

    Parameters
    ----------
    hole
        HxW bool, the pixels of frame ``t`` to trace.
    flows
        ``flows[s]`` is the completed flow from frame ``s`` to frame ``s + step``, None where a chain must
        stop (the window's edge, a scene cut).
    visible
        Per frame, where it shows the background (outside its hole, or filled): a :class:`Visibility`, or
        an HxW float32 map, 1 where seen.
    hits
        How many sightings to collect per pixel: the 1st, 2nd, ... frame that shows it.
    scale
        Full width / width of the flows' grid (see :class:`unseen.inpaint.flow.FlowEstimator`).

    Returns
    -------
    One :class:`Sightings` per hit, nearest first.
    """
    ys, xs = np.nonzero(hole)
    x, y = xs.astype(np.float32), ys.astype(np.float32)
    result = [Sightings(np.full(len(xs), -1, np.int32), x.copy(), y.copy(), np.zeros(len(xs), np.float32))
              for _ in range(hits)]
    level = np.zeros(len(xs), np.int32)
    pending = np.arange(len(xs))
    drift = np.zeros(len(xs), np.float32)
    s = t
    height, width = hole.shape
    while len(pending) and 0 <= s + step < len(visible) and flows[s] is not None:
        motion = lookup_points(flows[s], x, y, scale)
        expected = flows[s].expected_error(x, y, scale) if isinstance(flows[s], Completed) else None
        if expected is not None:
            drift = drift + expected
        x, y, s = x + motion[:, 0], y + motion[:, 1], s + step
        inside = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
        # Seen only if every pixel the bilinear sample touches is seen: no hole colour bleeds in.
        seen = inside & _seen(visible[s], x, y)
        for k in np.unique(level[pending[seen]]):
            pick = seen & (level[pending] == k)
            hit = pending[pick]
            result[k].frame[hit], result[k].x[hit], result[k].y[hit] = s, x[pick], y[pick]
            result[k].drift[hit] = drift[pick]
        level[pending[seen]] += 1
        keep = inside & (level[pending] < hits)
        pending, x, y, drift = pending[keep], x[keep], y[keep], drift[keep]
    return result


def _by_frame(sightings: Sightings):
    """``(frame, indices)`` for each frame the pixels were seen in: grouped once by sorting, rather than
    one pass over all N pixels per frame."""
    order = np.argsort(sightings.frame, kind="stable")
    frames, starts = np.unique(sightings.frame[order], return_index=True)
    for s, pick in zip(frames, np.split(order, starts[1:]), strict=True):
        if s >= 0:
            yield s, pick


def sample(fields: Sequence[Sequence[np.ndarray | Shrunk | None]], sightings: Sightings
           ) -> tuple[list[np.ndarray], np.ndarray]:
    """Values of per-frame fields (frames, blurred frames, flows) where the pixels were seen, bilinear:
    one N x C float32 array per sequence of fields, and which pixels could be sampled (seen, in a frame
    whose fields exist)."""
    count = len(sightings.frame)
    values = [np.zeros((count, next(f for f in seq if f is not None).shape[-1]), np.float32) for seq in fields]
    ok = np.zeros(count, bool)
    for s, pick in _by_frame(sightings):
        if fields[0][s] is None:
            continue
        for seq, out in zip(fields, values, strict=True):
            out[pick] = _sample_field(seq[s], sightings.x[pick], sightings.y[pick]).reshape(len(pick), -1)
        ok[pick] = True
    return values, ok


def average(fields: Sequence[np.ndarray | None], t: int, sightings: list[Sightings],
            judge: Sequence[np.ndarray | Shrunk | None] | None = None, drift_scale: float = 0.0
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mean of a per-frame field (the frames themselves) over each pixel's sightings, nearer frames
    weighing more: averaging several views cancels much of the drift of long flow chains and keeps a
    fill steady from frame to frame.

    Parameters
    ----------
    judge
        Per-frame fields (such as blurred copies of the frames) on which the views' disagreement is
        measured; by default ``fields`` themselves.
    drift_scale
        Pixels of a chain's expected drift (:attr:`Sightings.drift`) that weigh as much as one frame
        more of distance (0: drift is not counted).

    Returns
    -------
    mean
        N x C values.
    missing
        N bool: pixels that no frame showed.
    spread
        N: how much the views disagree (weighted standard deviation of ``judge``, averaged over channels).
    """
    sequences = [fields] if judge is None else [fields, judge]
    count = len(sightings[0].frame)
    total, judged, squares = (np.zeros((count, next(f for f in seq if f is not None).shape[-1]), np.float32)
                              for seq in (fields, sequences[-1], sequences[-1]))
    weight = np.zeros((count, 1), np.float32)
    for seen in sightings:
        values, ok = sample(sequences, seen)
        distance = np.abs(seen.frame - t).astype(np.float32)
        if drift_scale > 0 and seen.drift is not None:
            distance += seen.drift / np.float32(drift_scale)
        w = np.where(ok, 1.0 / (1.0 + distance), 0.0).astype(np.float32)[:, None]
        colour, judged_value = values[0], values[-1]
        total += colour * w
        judged += judged_value * w
        squares += judged_value * judged_value * w
        weight += w
    norm = np.maximum(weight, 1e-6)
    centre = judged / norm
    spread = np.sqrt(np.maximum(squares / norm - centre * centre, 0).mean(axis=1))
    return total / norm, weight[:, 0] == 0, spread
