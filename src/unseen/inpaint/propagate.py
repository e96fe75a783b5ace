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

from unseen.inpaint.flow import lookup_points, sample_points


@dataclasses.dataclass
class Sightings:
    """For the hole pixels of one frame (in ``np.nonzero`` order): where each one was seen.

    ``frame`` is -1 where no frame in that direction shows the pixel.
    """

    frame: np.ndarray  # N int32
    x: np.ndarray  # N float32
    y: np.ndarray  # N float32

    @property
    def found(self) -> np.ndarray:
        return self.frame >= 0


def track(t: int, hole: np.ndarray, flows: list[np.ndarray | None], visible: list[np.ndarray], step: int,
          hits: int = 1, scale: float = 1.0) -> list[Sightings]:
    """Follow the hole pixels of frame ``t`` through frames ``t+step, t+2*step, ...``.

    Parameters
    ----------
    hole
        HxW bool, the pixels of frame ``t`` to trace.
    flows
        ``flows[s]`` is the completed flow from frame ``s`` to frame ``s + step``, None where a chain must
        stop (the window's edge, a scene cut).
    visible
        Per frame, HxW float32: 1 where the frame shows the background (outside its hole, or filled).
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
    result = [Sightings(np.full(len(xs), -1, np.int32), x.copy(), y.copy()) for _ in range(hits)]
    level = np.zeros(len(xs), np.int32)
    pending = np.arange(len(xs))
    s = t
    height, width = hole.shape
    while len(pending) and 0 <= s + step < len(visible) and flows[s] is not None:
        motion = lookup_points(flows[s], x, y, scale)
        x, y, s = x + motion[:, 0], y + motion[:, 1], s + step
        inside = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
        # Seen only if every pixel the bilinear sample touches is seen: no hole colour bleeds in.
        seen = inside & (sample_points(visible[s], x, y) > 0.999)
        for k in np.unique(level[pending[seen]]):
            pick = seen & (level[pending] == k)
            hit = pending[pick]
            result[k].frame[hit], result[k].x[hit], result[k].y[hit] = s, x[pick], y[pick]
        level[pending[seen]] += 1
        keep = inside & (level[pending] < hits)
        pending, x, y = pending[keep], x[keep], y[keep]
    return result


def sample(fields: Sequence[np.ndarray | None], sightings: Sightings, channels: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Values (N x channels float32) of per-frame fields (frames, flows) where the pixels were seen,
    bilinear, and which of them could be sampled (seen, in a frame whose field exists)."""
    values = np.zeros((len(sightings.frame), channels), np.float32)
    ok = np.zeros(len(sightings.frame), bool)
    for s in np.unique(sightings.frame[sightings.found]):
        if fields[s] is None:
            continue
        pick = sightings.frame == s
        values[pick] = sample_points(fields[s], sightings.x[pick], sightings.y[pick])
        ok |= pick
    return values, ok


def average(fields: Sequence[np.ndarray | None], t: int, sightings: list[Sightings]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mean of a per-frame field (the frames themselves, or blurred copies) over each pixel's
    sightings, nearer frames weighing more: averaging several views cancels much of the drift of long
    flow chains and keeps a fill steady from frame to frame.

    Returns
    -------
    mean
        N x C values.
    missing
        N bool: pixels that no frame showed.
    spread
        N: how much the views disagree (weighted standard deviation, averaged over channels).
    """
    channels = next(f for f in fields if f is not None).shape[-1]
    total = np.zeros((len(sightings[0].frame), channels), np.float32)
    squares = np.zeros_like(total)
    weight = np.zeros((len(sightings[0].frame), 1), np.float32)
    for seen in sightings:
        values, ok = sample(fields, seen, channels)
        w = np.where(ok, 1.0 / (1.0 + np.abs(seen.frame - t)), 0.0).astype(np.float32)[:, None]
        total += values * w
        squares += values * values * w
        weight += w
    mean = total / np.maximum(weight, 1e-6)
    spread = np.sqrt(np.maximum(squares / np.maximum(weight, 1e-6) - mean * mean, 0).mean(axis=1))
    return mean, weight[:, 0] == 0, spread
