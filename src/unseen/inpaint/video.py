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
from collections.abc import Iterable, Iterator, Sequence

import cv2
import numpy as np

from unseen.inpaint.base import Filler, get_filler
from unseen.inpaint.flow import FlowEstimator, complete_flow
from unseen.inpaint.propagate import Sightings, sample, track
from unseen.inpaint.smooth import membrane_fill
from unseen.masks.ops import dilate
from unseen.media.frame import Frame

# Mean grey-level error of a flow-warped neighbour above which two frames are not one shot.
_CUT_ERROR = 28.0
# Two candidate colours further apart than this (mean over RGB) are not blended: the nearer one wins.
_DISAGREE = 24.0
_LOW_PASS = 2.0


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
    hits
        Sightings averaged per hole pixel in each direction (past, future).
    keyframe_filler
        Photo filler for what no frame shows.
    flow_preset, flow_side
        DIS preset and the width/height flow is computed at (larger frames are scaled down for it).
    """

    window: int = 40
    lookahead: int = 10
    context: int = 6
    hits: int = 4
    keyframe_filler: str = "patch"
    flow_preset: str = "fast"
    flow_side: int = 480
    flow_scale: int | None = None
    flow_rounds: int = 0
    smoothing: float = 0.7
    doubt: float = 10.0
    seam: int = 3
    borrow_margin: int = 8
    name: str = "flow"

    def __post_init__(self) -> None:
        self._filler: Filler = get_filler(self.keyframe_filler)
        self._flow = FlowEstimator(self.flow_preset, self.flow_side, self.flow_scale)

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
        coarse = np.stack([_low_pass(image) for image in stack])
        visible = [(~hole).astype(np.float32) for hole in holes]
        for _ in range(8):
            unseen = {}
            for t, hole in todo.items():
                colours, missing = self._from_other_frames(t, hole, stack, coarse, visible, to_next, to_previous)
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
            coarse[key] = _low_pass(stack[key])
        for t, hole in todo.items():  # only if 8 key frames were not enough
            out[t] = self._filler.fill(out[t], hole)
        return self._steady(out, holes, to_next, to_previous)

    def _from_other_frames(self, t: int, hole: np.ndarray, stack: np.ndarray, coarse: np.ndarray,
                           visible: list[np.ndarray], to_next: list[np.ndarray | None], to_previous: list[np.ndarray | None]
                           ) -> tuple[np.ndarray, np.ndarray]:
        """Colours for the hole pixels of frame ``t`` (``np.nonzero`` order) from the frames that show
        them, and which pixels no frame shows.

        A thin ring around the hole is traced too: how its propagated colours differ from its real ones
        (exposure changes, drift) is spread smoothly over the hole and corrected, so no seam shows.
        """
        ring = dilate(hole, self.seam) & ~hole
        traced = hole | ring
        sightings = (track(t, traced, to_previous, visible, -1, self.hits)
                     + track(t, traced, to_next, visible, 1, self.hits))
        colours, missing, _ = _combine(stack, t, sightings)
        # Disagreement is judged on blurred frames: a fine texture seen a fraction of a pixel apart
        # differs a lot but is fine; different content (something moving) differs even when blurred.
        _, _, spread = _combine(coarse, t, sightings)
        in_hole = hole[traced]
        if self.doubt > 0:
            # Views that disagree (something moves there) are pulled towards a smooth guess.
            smooth = membrane_fill(stack[t], hole, sweeps=20)[traced]
            trust = np.exp(-((spread / self.doubt) ** 2))[:, None]
            colours = np.where(in_hole[:, None], trust * colours + (1 - trust) * smooth, colours)
        if self.seam > 0:
            reference = ring & ~_scatter(missing, traced)
            correction = _seam_correction(stack[t] - _scatter(colours, traced), reference, hole)
            colours[in_hole] += correction[hole]
        return colours[in_hole], missing[in_hole]

    def _steady(self, out: list[np.ndarray], holes: list[np.ndarray], to_next: list[np.ndarray | None],
                to_previous: list[np.ndarray | None]) -> list[np.ndarray]:
        """Smooth the fills along the flow over time (a forward and a backward exponential filter), so
        that what is left of the propagation's noise does not flicker."""
        if self.smoothing <= 0:
            return out
        frames = [image.astype(np.float32) for image in out]
        for order, flows in ((range(1, len(out)), to_previous), (range(len(out) - 2, -1, -1), to_next)):
            for t in order:
                hole = holes[t]
                if not hole.any() or flows[t] is None:
                    continue
                neighbour = t - 1 if flows is to_previous else t + 1
                warped = _warp_image(frames[neighbour], flows[t])
                frames[t][hole] = (1 - self.smoothing) * frames[t][hole] + self.smoothing * warped[hole]
        return [np.where(h[..., None], np.clip(f + 0.5, 0, 255).astype(np.uint8), o)
                for f, h, o in zip(frames, holes, out, strict=True)]

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
        for _ in range(self.flow_rounds):
            to_next, to_previous = self._borrow_flows(to_next, to_previous, flow_holes)
        return to_next, to_previous

    def _borrow_flows(self, to_next: list[np.ndarray | None], to_previous: list[np.ndarray | None],
                      holes: list[np.ndarray]) -> tuple[list[np.ndarray | None], list[np.ndarray | None]]:
        """Replace the flow inside each hole by the flow the same scene point has in the nearest frames
        that show it: motion changes slowly over time, so that is a far better guess than a smooth fill
        from the hole's border, which blends the motions of everything around the hole."""
        # Flow right at a hole's border is dragged by the moving hole; sightings must be well clear of it.
        visible = [(~dilate(h, self.borrow_margin)).astype(np.float32) for h in holes]
        new_next, new_previous = list(to_next), list(to_previous)
        for t, hole in enumerate(holes):
            if not hole.any():
                continue
            sightings = (track(t, hole, to_previous, visible, -1, self.hits)
                         + track(t, hole, to_next, visible, 1, self.hits))
            for flows, new in ((to_next, new_next), (to_previous, new_previous)):
                if flows[t] is None:
                    continue
                borrowed, missing, _ = _combine(flows, t, sightings)
                ys, xs = np.nonzero(hole)
                updated = flows[t].copy()
                updated[ys[~missing], xs[~missing]] = borrowed[~missing]
                new[t] = updated
        return new_next, new_previous


def _seam_correction(difference: np.ndarray, reference: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The smoothest field over ``hole`` that matches ``difference`` on the ``reference`` pixels."""
    correction = np.zeros_like(difference)
    if not reference.any():
        return correction
    ys, xs = np.nonzero(hole | reference)
    rows = slice(max(ys.min() - 2, 0), ys.max() + 3)
    cols = slice(max(xs.min() - 2, 0), xs.max() + 3)
    known = reference[rows, cols]
    field = np.where(known[..., None], difference[rows, cols], 0).astype(np.float32)
    correction[rows, cols] = membrane_fill(field, ~known, sweeps=20)
    return correction


def _low_pass(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), _LOW_PASS)


def _scatter(values: np.ndarray, where: np.ndarray) -> np.ndarray:
    """An image shaped like ``where`` holding ``values`` at its True pixels (``np.nonzero`` order)."""
    image = np.zeros(where.shape + values.shape[1:], values.dtype)
    image[where] = values
    return image


def _warp_image(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """The picture that ``image`` (a neighbour) shows at ``position + flow`` of each pixel."""
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(image, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _is_cut(gray_a: np.ndarray, gray_b: np.ndarray, flow: np.ndarray, size: tuple[int, int]) -> bool:
    small = cv2.resize(flow, gray_a.shape[::-1]) * np.float32(gray_a.shape[1] / size[0])
    h, w = gray_a.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    warped = cv2.remap(gray_b, xs + small[..., 0], ys + small[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return float(np.abs(warped.astype(np.float32) - gray_a).mean()) > _CUT_ERROR


def _combine(fields: Sequence[np.ndarray | None], t: int, sightings: list[Sightings]
             ) -> tuple[np.ndarray, np.ndarray]:
    """Values for the hole pixels of frame ``t``: the mean of a per-frame field (the frames themselves,
    or their flows) over the pixels' sightings in other frames, nearer frames weighing more. Averaging
    several views cancels much of the drift of long flow chains and keeps the fill steady from frame to
    frame. Also returns the pixels no frame showed."""
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
    missing = weight[:, 0] == 0
    mean = total / np.maximum(weight, 1e-6)
    spread = np.sqrt(np.maximum(squares / np.maximum(weight, 1e-6) - mean * mean, 0).mean(axis=1))
    return mean, missing, spread
