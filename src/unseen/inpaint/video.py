"""The video removal engine: flow-guided propagation with one-time hallucination, streamed in windows.

For each window of frames: optical flow both ways, completed inside the holes; every hole pixel is
traced along the flow to the nearest frames (past and future) where the background is seen, and its
colour is copied from there. What no frame of the window shows is filled once, on a key frame, by the
photo filler, and that fill is propagated to the other frames like real background, so it stays put.
Windows overlap (the last outputs are context for the next window; the last frames wait for their
future), so memory depends on the window, not on the length of the video.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from unseen.inpaint.base import Filler, get_filler
from unseen.inpaint.flow import FlowEstimator, complete_flow
from unseen.inpaint.propagate import Sightings, sample, track
from unseen.masks.ops import dilate
from unseen.media.frame import Frame

# Mean grey-level error of a flow-warped neighbour above which two frames are not one shot.
_CUT_ERROR = 28.0
# Two candidate colours further apart than this (mean over RGB) are not blended: the nearer one wins.
_DISAGREE = 24.0


class PerFrameFiller:
    """A photo filler applied to each frame on its own (fast, but it flickers: for comparison)."""

    def __init__(self, filler: str):
        self._filler = get_filler(filler)
        self.name = filler

    def fill_frames(self, pairs: Iterable[tuple[Frame, np.ndarray]]) -> Iterator[Frame]:
        for frame, hole in pairs:
            yield frame.with_image(self._filler.fill(frame.image, hole)) if hole.any() else frame


@dataclasses.dataclass
class FlowVideoFiller:
    """Temporally consistent video filler.

    Parameters
    ----------
    window
        New frames per window.
    lookahead
        Frames at the end of a window that wait for the next one, so every output frame has a future.
    context
        Finished frames kept at the start of the next window, so fills continue across windows.
    keyframe_filler
        Photo filler for what no frame shows.
    flow_preset, flow_side
        DIS preset and the width/height flow is computed at (larger frames are scaled down for it).
    """

    window: int = 40
    lookahead: int = 10
    context: int = 6
    keyframe_filler: str = "patch"
    flow_preset: str = "fast"
    flow_side: int = 480
    name: str = "flow"

    def __post_init__(self) -> None:
        self._filler: Filler = get_filler(self.keyframe_filler)
        self._flow = FlowEstimator(self.flow_preset, self.flow_side)

    def fill_frames(self, pairs: Iterable[tuple[Frame, np.ndarray]]) -> Iterator[Frame]:
        """Fill the hole of every frame; frames come out in order, a window behind the input."""
        pending: list[tuple[Frame, np.ndarray]] = []
        context: list[np.ndarray] = []
        for frame, hole in pairs:
            if pending and frame.image.shape != pending[-1][0].image.shape:
                yield from self._flush(pending, context, final=True)
                context = []
            pending.append((frame, hole))
            if len(pending) >= self.window + self.lookahead:
                yield from self._flush(pending, context, final=False)
        yield from self._flush(pending, context, final=True)

    def _flush(self, pending: list[tuple[Frame, np.ndarray]], context: list[np.ndarray], final: bool
               ) -> Iterator[Frame]:
        if not pending:
            return
        images = context + [frame.image for frame, _ in pending]
        no_hole = np.zeros(images[0].shape[:2], bool)
        holes = [no_hole] * len(context) + [hole for _, hole in pending]
        filled = self.fill_window(images, holes)
        count = len(pending) if final else len(pending) - self.lookahead
        outputs = filled[len(context):len(context) + count]
        for (frame, _), image in zip(pending[:count], outputs, strict=True):
            yield frame.with_image(image)
        context[:] = (context + outputs)[-self.context:] if self.context else []
        del pending[:count]

    def fill_window(self, images: list[np.ndarray], holes: list[np.ndarray]) -> list[np.ndarray]:
        """Fill the holes of a short run of same-sized frames (RGB uint8, bool holes) all at once."""
        out = [image.copy() for image in images]
        todo = {t: hole for t, hole in enumerate(holes) if hole.any()}
        if not todo:
            return out
        to_next, to_previous = self._flows(images, holes)
        stack = np.stack(images).astype(np.float32)
        visible = [(~hole).astype(np.float32) for hole in holes]
        for _ in range(8):
            unseen = {}
            for t, hole in todo.items():
                past = track(t, hole, to_previous, visible, -1, len(images))
                future = track(t, hole, to_next, visible, 1, len(images))
                colours, missing = _combine(stack, t, past, future)
                ys, xs = np.nonzero(hole)
                out[t][ys[~missing], xs[~missing]] = np.clip(colours[~missing] + 0.5, 0, 255).astype(np.uint8)
                unseen[t] = np.zeros_like(hole)
                unseen[t][ys[missing], xs[missing]] = True
            todo = {t: hole for t, hole in unseen.items() if hole.any()}
            if not todo:
                break
            # What no frame shows is made up once, on the frame missing most, and then propagated from
            # there like real background, so that it stays still.
            key = max(todo, key=lambda t: int(todo[t].sum()))
            out[key] = self._filler.fill(out[key], todo.pop(key))
            stack[key], visible[key] = out[key].astype(np.float32), np.ones_like(visible[key])
        for t, hole in todo.items():  # only if 8 key frames were not enough
            out[t] = self._filler.fill(out[t], hole)
        return out

    def _flows(self, images: list[np.ndarray], holes: list[np.ndarray]
               ) -> tuple[list[np.ndarray | None], list[np.ndarray | None]]:
        """Completed flows to the next and to the previous frame; None across scene cuts."""
        size = images[0].shape[1], images[0].shape[0]
        grays = [self._flow.gray(image, hole) for image, hole in zip(images, holes, strict=True)]
        flow_holes = [dilate(h, 3) for h in holes]
        to_next: list[np.ndarray | None] = [None] * len(images)
        to_previous: list[np.ndarray | None] = [None] * len(images)
        for t in range(len(images) - 1):
            ahead = self._flow.flow(grays[t], grays[t + 1], size)
            back = self._flow.flow(grays[t + 1], grays[t], size)
            if _is_cut(grays[t], grays[t + 1], ahead, size):
                continue
            to_next[t] = complete_flow(ahead, flow_holes[t])
            to_previous[t + 1] = complete_flow(back, flow_holes[t + 1])
        return to_next, to_previous


def _is_cut(gray_a: np.ndarray, gray_b: np.ndarray, flow: np.ndarray, size: tuple[int, int]) -> bool:
    small = cv2.resize(flow, gray_a.shape[::-1]) * np.float32(gray_a.shape[1] / size[0])
    h, w = gray_a.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    warped = cv2.remap(gray_b, xs + small[..., 0], ys + small[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return float(np.abs(warped.astype(np.float32) - gray_a).mean()) > _CUT_ERROR


def _combine(stack: np.ndarray, t: int, past: Sightings, future: Sightings) -> tuple[np.ndarray, np.ndarray]:
    """Colours for the hole pixels of frame ``t`` from their sightings in the past and the future:
    blended by nearness in time where they agree, the nearer one where they do not. Also returns which
    pixels neither direction found."""
    from_past, from_future = sample(stack, past), sample(stack, future)
    has_past, has_future = past.found, future.found
    colours = np.where(has_past[:, None], from_past, from_future)
    both = has_past & has_future
    if both.any():
        d_past = (t - past.frame[both]).astype(np.float32)[:, None]
        d_future = (future.frame[both] - t).astype(np.float32)[:, None]
        blend = (from_past[both] * d_future + from_future[both] * d_past) / (d_past + d_future)
        nearer = np.where(d_past <= d_future, from_past[both], from_future[both])
        agree = np.abs(from_past[both] - from_future[both]).mean(axis=1, keepdims=True) < _DISAGREE
        colours[both] = np.where(agree, blend, nearer)
    return colours, ~(has_past | has_future)
