"""Temporal propagation: find, for each hole pixel, the nearest frames that show what is behind it.

Each hole pixel is followed along the completed flow, frame by frame, until it lands on a pixel that
the frame shows (outside that frame's hole). Positions are carried as sub-pixel coordinates and the
flows are sampled bilinearly, so a long chain neither tears nor snaps to the pixel grid; colours are
sampled once, from the original frame where the chain ends.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np


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


def _lookup(field: np.ndarray, x: np.ndarray, y: np.ndarray, interpolation: int) -> np.ndarray:
    """Sample an image at N sub-pixel positions (values outside are 0)."""
    out = cv2.remap(field, x.reshape(1, -1), y.reshape(1, -1), interpolation, borderMode=cv2.BORDER_CONSTANT,
                    borderValue=0)
    return out.reshape(len(x), *field.shape[2:])


def track(t: int, hole: np.ndarray, flows: list[np.ndarray | None], visible: list[np.ndarray], step: int,
          max_distance: int) -> Sightings:
    """Follow the hole pixels of frame ``t`` through frames ``t+step, t+2*step, ...``.

    Parameters
    ----------
    hole
        HxW bool, the pixels of frame ``t`` to trace.
    flows
        ``flows[s]`` is the completed flow from frame ``s`` to frame ``s + step``, None where a chain must
        stop (the window's edge, a scene cut).
    visible
        Per frame, HxW uint8: 1 where the frame shows the background (outside its hole, or filled).
    """
    ys, xs = np.nonzero(hole)
    x, y = xs.astype(np.float32), ys.astype(np.float32)
    result = Sightings(np.full(len(xs), -1, np.int32), x.copy(), y.copy())
    pending = np.arange(len(xs))
    s = t
    height, width = hole.shape
    for _ in range(max_distance):
        if len(pending) == 0 or not 0 <= s < len(flows) or flows[s] is None:
            break
        motion = _lookup(flows[s], x, y, cv2.INTER_LINEAR)
        x, y, s = x + motion[:, 0], y + motion[:, 1], s + step
        inside = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
        # Seen only if every pixel the bilinear sample touches is seen: no hole colour bleeds in.
        seen = inside & (_lookup(visible[s], x, y, cv2.INTER_LINEAR) > 0.999)
        hit = pending[seen]
        result.frame[hit], result.x[hit], result.y[hit] = s, x[seen], y[seen]
        keep = inside & ~seen
        pending, x, y = pending[keep], x[keep], y[keep]
    return result


def sample(frames: np.ndarray, sightings: Sightings) -> np.ndarray:
    """Colours (N x 3 float32) where the pixels were seen, bilinear; zeros where they were not."""
    colours = np.zeros((len(sightings.frame), frames.shape[-1]), np.float32)
    for s in np.unique(sightings.frame[sightings.found]):
        pick = sightings.frame == s
        colours[pick] = _lookup(frames[s], sightings.x[pick], sightings.y[pick], cv2.INTER_LINEAR)
    return colours
