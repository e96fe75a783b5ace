"""The video removal engine: flow-guided propagation with one-time hallucination, streamed in windows.

For each window of frames: optical flow both ways, completed inside the holes; every hole pixel is
traced along the flow to the frames (past and future) where the background is seen, and its colour is
the average of those views. What no frame of the window shows is filled once, on a key frame, by the
photo filler, and that fill is propagated to the other frames like real background, so it stays put.
Seams are corrected by a smooth membrane; what is left of the noise is smoothed along the flow.
Windows overlap (the last outputs are context for the next window; the last frames wait for their
future), so memory depends on the window, not on the length of the video.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator

import cv2
import numpy as np

from unseen.inpaint.base import Filler, get_filler
from unseen.inpaint.flow import (
    FlowEstimator,
    complete_flow,
    continue_border_flow,
    full_size,
    is_scene_cut,
    warp,
    working_hole,
)
from unseen.inpaint.propagate import average, track
from unseen.inpaint.smooth import membrane_fill
from unseen.masks.ops import dilate
from unseen.media.frame import Frame
from unseen.progress import report_ahead

FramesWithHoles = Iterable[tuple[Frame, np.ndarray]]
Flows = list[np.ndarray | None]
# Key frames hallucinated per window at most; more are never needed in practice (measured: 1 or 2).
_MAX_KEY_FRAMES = 8
# Ways to complete the flow inside a hole. The camera's motion is right for the background; the border's
# motion carried inside is right where something that moves unlike the camera (a person, a near wall)
# passes behind the hole. Following both and weighing each by how well its views agree gained 0.23 dB
# and lowered flicker by 2-20 % on the four 432x240 hole cases.
ROUTES = {"camera": complete_flow, "border": continue_border_flow}
# Doubtful views give way to a blur of this sigma (px) of the propagated colours, more so the further
# they are inside the hole (1 - 1/e at this depth, px); see _doubt_fill.
_DOUBT_BLUR = 3.0
_DOUBT_DEPTH = 10.0
# Shares of a window's time (measured at 432x240 and 854x480): flows, then propagation; smoothing the rest.
_FLOW_WORK, _PROPAGATION_WORK = 0.3, 0.6
# Largest colour difference (mean over RGB) along the hole's border that the seam correction trusts.
_SEAM_MAX = 16.0


class PerFrameFiller:
    """A photo filler applied to each frame on its own (fast, but it flickers: for comparison)."""

    def __init__(self, filler: str):
        self._filler = get_filler(filler)
        self.name = filler

    def fill_frames(self, pairs: FramesWithHoles) -> Iterator[Frame]:
        """Fill the hole of every frame; frames whose hole is empty pass through."""
        for frame, hole in pairs:
            yield frame.with_image(self._filler.fill(frame.image, hole)) if hole.any() else frame


@dataclasses.dataclass
class _Route:
    """Flows to the next and to the previous frame, completed inside the holes in one way; on the flow
    estimator's working grid, in full-size pixels; None across scene cuts and at the window's ends."""

    to_next: Flows
    to_previous: Flows


@dataclasses.dataclass
class _Window:
    """The frames of one window and what is derived from them once."""

    frames: np.ndarray  # T x H x W x 3 uint8 (a quarter of float32's memory); key frames hold their fill
    blurred: np.ndarray  # the same, low-passed: for judging whether views disagree
    holes: list[np.ndarray]
    visible: list[np.ndarray]  # float32 1 where a frame shows the background (or a key frame's fill)
    routes: list[_Route]  # one per name in FlowVideoFiller.routes
    scale: float  # full width / flow grid width
    # Per frame, each route's share (routes x hole pixels) in the colours it propagated: the fill is
    # smoothed along the flow it came from.
    shares: dict[int, np.ndarray] = dataclasses.field(default_factory=dict)
    # Per frame, how far each hole pixel's views are trusted (0-1): doubted ones are smoothed less.
    trust: dict[int, np.ndarray] = dataclasses.field(default_factory=dict)


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
    flow_preset, flow_side, flow_scale
        DIS preset, the size flow is computed at (larger frames are scaled down for it), and DIS's
        finest scale (None: the preset's). ``medium`` rather than ``fast``: on a plain pan over a brick
        wall ``fast`` is 0.13 px/frame short, which misplaces the joints carried along many frames.
    flow_margin
        Pixels around each hole whose flow is redone too: DIS drags the hole's motion (or the still
        fill's lack of it) over its border, by ~15 % of the motion 3-6 px out. 8 rather than 3: +0.07 dB
        and 1-3 % less flicker on the hole cases.
    smoothing
        Weight of the flow-warped neighbour in the temporal smoothing of the fill (0: off).
    doubt_smoothing
        The same weight where views are wholly doubted (see ``doubt``), interpolated by trust in between:
        lower, since the flow that smoothing follows is what is in doubt there.
    doubt
        Disagreement (grey levels, on blurred frames) at which views are trusted only 37 %, the rest
        going to a smooth fill: something that moves behind the hole cannot be copied.
    motion_doubt
        Pixels per frame by which the routes' flows differ where views are trusted only 37 % too: where
        the border moves unlike the camera, something moves behind the hole (0: off).
    routes
        How the flow inside the holes is guessed (names in :data:`ROUTES`); hole pixels are followed
        along each; the fill is smoothed along the route its colour came from.
    agreement
        Each route's colour weighs ``exp(-(spread / agreement)**2)``, by how well its views agree.
    seam
        Width of the ring around the hole whose colours anchor the seam correction (0: off).
    """

    window: int = 40
    lookahead: int = 10
    context: int = 6
    hits: int = 4
    keyframe_filler: str = "patch"
    flow_preset: str = "medium"
    flow_side: int = 480
    flow_scale: int | None = None
    flow_margin: int = 8
    smoothing: float = 0.7
    doubt_smoothing: float = 0.5
    doubt: float = 10.0
    motion_doubt: float = 2.0
    routes: tuple[str, ...] = ("camera", "border")
    agreement: float = 15.0
    seam: int = 3
    name: str = "flow"

    def __post_init__(self) -> None:
        self._filler: Filler = get_filler(self.keyframe_filler)
        self._flow = FlowEstimator(self.flow_preset, self.flow_side, self.flow_scale)
        unknown = [name for name in self.routes if name not in ROUTES]
        if unknown or not self.routes:
            raise ValueError(f"routes must name some of {', '.join(ROUTES)}; got {', '.join(self.routes) or 'none'}")

    def fill_frames(self, pairs: FramesWithHoles) -> Iterator[Frame]:
        """Fill the hole of every frame; frames come out in order, a window behind the input."""
        pending: list[tuple[Frame, np.ndarray]] = []
        context: list[np.ndarray] = []
        for frame, hole in pairs:
            if pending and frame.image.shape != pending[-1][0].image.shape:
                yield from self._flush(pending, context, final=True)
                context.clear()
            pending.append((frame, hole))
            if len(pending) >= self.window + self.lookahead:
                yield from self._flush(pending, context, final=False)
        yield from self._flush(pending, context, final=True)

    def _flush(self, pending: list[tuple[Frame, np.ndarray]], context: list[np.ndarray], final: bool
               ) -> Iterator[Frame]:
        """Fill the pending frames after the context; emit all of them (final) or all but the lookahead."""
        if not pending:
            return
        no_hole = np.zeros(pending[0][1].shape, bool)
        count = len(pending) if final else len(pending) - self.lookahead
        filled = self.fill_window(context + [frame.image for frame, _ in pending],
                                  [no_hole] * len(context) + [hole for _, hole in pending],
                                  on_progress=lambda share: report_ahead(share * count))
        outputs = filled[len(context):len(context) + count]
        for (frame, _), image in zip(pending[:count], outputs, strict=True):
            yield frame.with_image(image)
        context[:] = (context + outputs)[-self.context:] if self.context else []
        del pending[:count]

    def fill_window(self, images: list[np.ndarray], holes: list[np.ndarray],
                    on_progress: Callable[[float], None] | None = None) -> list[np.ndarray]:
        """Fill the holes of a short run of same-sized frames (RGB uint8, bool holes) all at once;
        ``on_progress`` hears the share of the work done (0-1) as it goes."""
        report = on_progress or (lambda share: None)
        out = [image.copy() for image in images]
        todo = {t: hole for t, hole in enumerate(holes) if hole.any()}
        if not todo:
            return out
        window = self._prepare(images, holes, lambda share: report(_FLOW_WORK * share))
        for key_round in range(_MAX_KEY_FRAMES):
            unseen = {}
            for done, (t, hole) in enumerate(todo.items(), 1):
                if key_round == 0:  # later rounds (after key frames) are short
                    report(_FLOW_WORK + _PROPAGATION_WORK * done / len(todo))
                colours, missing, shares, trust = self._from_other_frames(window, t, hole)
                window.shares.setdefault(t, shares)
                window.trust.setdefault(t, trust)
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
            window.frames[key] = out[key]
            window.blurred[key] = _low_pass(window.frames[key])
            window.visible[key][:] = 1
        for t, hole in todo.items():
            out[t] = self._filler.fill(out[t], hole)
        out = self._steady(out, window)
        report(1.0)
        return out

    def _prepare(self, images: list[np.ndarray], holes: list[np.ndarray], report: Callable[[float], None]
                 ) -> _Window:
        frames = np.stack(images)
        grays = [self._flow.gray(image, hole) for image, hole in zip(images, holes, strict=True)]
        scale = images[0].shape[1] / grays[0].shape[1]
        return _Window(frames, np.stack([_low_pass(f) for f in frames]), holes,
                       [(~hole).astype(np.float32) for hole in holes], self._flows(grays, holes, scale, report),
                       scale)

    def _flows(self, grays: list[np.ndarray], holes: list[np.ndarray], scale: float,
               report: Callable[[float], None]) -> list[_Route]:
        """Flows to the next and to the previous frame, completed each route's way; None across scene cuts;
        ``report`` hears the share done."""
        # DIS spreads the motion of a hole's border a few pixels inwards and out: widen what is redone.
        flow_holes = [working_hole(dilate(h, self.flow_margin), grays[0].shape) for h in holes]
        routes = [_Route([None] * len(grays), [None] * len(grays)) for _ in self.routes]
        completions = [ROUTES[name] for name in self.routes]
        for t in range(len(grays) - 1):
            report(t / (len(grays) - 1))
            ahead = self._flow.flow(grays[t], grays[t + 1], scale)
            if is_scene_cut(grays[t], grays[t + 1], ahead, scale):
                continue
            back = self._flow.flow(grays[t + 1], grays[t], scale)
            for route, complete in zip(routes, completions, strict=True):
                route.to_next[t] = complete(ahead, flow_holes[t])
                route.to_previous[t + 1] = complete(back, flow_holes[t + 1])
        return routes

    def _from_other_frames(self, window: _Window, t: int, hole: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Colours for the hole pixels of frame ``t`` (``np.nonzero`` order) from the frames that show
        them, which pixels no frame shows, each route's share in each colour (routes x pixels), and how
        far the views are trusted (0-1).

        A thin ring around the hole is traced too: how its propagated colours differ from its real ones
        (exposure changes, drift) is spread smoothly over the hole and corrected, so no seam shows.
        """
        ring = dilate(hole, self.seam) & ~hole
        traced = hole | ring
        colours, missing, spread, shares = _agree([self._views(window, route, t, traced)
                                                   for route in window.routes], self.agreement)
        in_hole = hole[traced]
        trust = np.ones(len(spread), np.float32)
        if self.doubt > 0:
            trust = np.exp(-((spread / self.doubt) ** 2))
            if self.motion_doubt > 0:
                trust *= np.exp(-((_route_gap(window, t, traced) / self.motion_doubt) ** 2))
            smooth = _doubt_fill(window.frames[t], hole, traced, colours, missing)
            colours = np.where(in_hole[:, None], trust[:, None] * colours + (1 - trust[:, None]) * smooth, colours)
        if self.seam > 0:
            difference = window.frames[t].astype(np.float32) - _scatter(colours, traced)
            # A seam is a small, smooth colour shift (exposure, drift); a large difference means the ring
            # was propagated from the wrong content, and correcting by it would paint that in.
            reference = ring & ~_scatter(missing, traced) & (np.abs(difference).mean(axis=2) < _SEAM_MAX)
            correction = _seam_correction(difference, reference, hole)
            colours[in_hole] += correction[hole]
        return colours[in_hole], missing[in_hole], shares[:, in_hole], trust[in_hole]

    def _views(self, window: _Window, route: _Route, t: int, traced: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The mean colour of the ``traced`` pixels' views along one route, which pixels no frame shows,
        and how much the views disagree."""
        sightings = (track(t, traced, route.to_previous, window.visible, -1, self.hits, window.scale)
                     + track(t, traced, route.to_next, window.visible, 1, self.hits, window.scale))
        # Judged on blurred frames: a fine texture seen a fraction of a pixel apart differs a lot but is
        # fine; different content (something moving) differs even when blurred.
        return average(window.frames, t, sightings, judge=window.blurred)

    def _steady(self, out: list[np.ndarray], window: _Window) -> list[np.ndarray]:
        """Smooth the fills along the flow over time (a forward, then a backward exponential filter), so
        that what is left of the propagation's noise does not flicker."""
        if self.smoothing <= 0:
            return out
        # Only hole pixels change: keep their float values, not whole float frames (memory).
        values = {t: out[t][hole].astype(np.float32) for t, hole in enumerate(window.holes) if hole.any()}
        weights = {t: self._smoothing_weight(window.trust[t]) for t in values}
        for order, step in ((range(1, len(out)), -1), (range(len(out) - 2, -1, -1), 1)):
            for t in order:
                hole = window.holes[t]
                flow = _smoothing_flow(window, t, step) if t in values else None
                if flow is not None:
                    neighbour = out[t + step].astype(np.float32)
                    if t + step in values:
                        neighbour[window.holes[t + step]] = values[t + step]
                    warped = warp(neighbour, flow)[hole]
                    values[t] = (1 - weights[t]) * values[t] + weights[t] * warped
        for t, filled in values.items():
            out[t][window.holes[t]] = np.clip(filled + 0.5, 0, 255).astype(np.uint8)
        return out


    def _smoothing_weight(self, trust: np.ndarray) -> np.ndarray:
        """Per hole pixel (N x 1, from its trust): ``smoothing`` where views are trusted, down to
        ``doubt_smoothing`` where they are not. Measured (0.5 rather than 0.7): +0.07 dB over the twelve
        432x240 hole cases of bench/video.py, and less flicker on 8 of its 13 cases."""
        return (self.doubt_smoothing + (self.smoothing - self.doubt_smoothing) * trust)[:, None]


def _smoothing_flow(window: _Window, t: int, step: int) -> np.ndarray | None:
    """Full-size flow from frame ``t`` to ``t + step`` (±1) that its fill is smoothed along: inside the
    hole, the routes' flows mixed by their shares in the colours."""
    flows = [route.to_next[t] if step > 0 else route.to_previous[t] for route in window.routes]
    if flows[0] is None:
        return None
    hole = window.holes[t]
    size = hole.shape[::-1]
    first = full_size(flows[0], size)
    mixed = first.copy()
    for flow, share in zip(flows[1:], window.shares.get(t, [])[1:], strict=False):
        weight = np.zeros(hole.shape, np.float32)
        weight[hole] = share
        # Softened, so that neighbouring pixels taken from different routes do not tear apart.
        weight = cv2.GaussianBlur(weight, (0, 0), 2.0)
        mixed += weight[..., None] * (full_size(flow, size) - first)
    return mixed


def _route_gap(window: _Window, t: int, traced: np.ndarray) -> np.ndarray:
    """How far apart (pixels per frame) the routes' flows out of frame ``t`` are at the ``traced``
    pixels: large where something near the hole moves unlike the camera."""
    size = traced.shape[::-1]
    gap = np.zeros(int(traced.sum()), np.float32)
    for pick in ("to_next", "to_previous"):
        flows = [getattr(route, pick)[t] for route in window.routes]
        for flow in flows[1:]:
            if flow is not None and flows[0] is not None:
                apart = np.linalg.norm(full_size(flow, size) - full_size(flows[0], size), axis=2)[traced]
                gap = np.maximum(gap, apart)
    return gap


def _doubt_fill(frame: np.ndarray, hole: np.ndarray, traced: np.ndarray, colours: np.ndarray,
                missing: np.ndarray) -> np.ndarray:
    """What doubtful views give way to, at the ``traced`` pixels: the membrane fill near the hole's
    border, where it is a good guess, and deeper inside a blur of the propagated colours themselves
    (``missing`` ones left out), which keeps their local mean but not their misplaced detail; the
    membrane drifts far from it there. With ``motion_doubt``, measured on 12 hole cases: +0.13 dB and
    less flicker than the membrane alone."""
    image = frame.astype(np.float32)
    membrane = membrane_fill(image, hole, sweeps=20)[traced]
    image[traced] = colours
    known = np.ones(hole.shape, np.float32)
    known[traced] = ~missing
    image *= known[..., None]
    # Normalised: what no frame showed (no colour yet) must not darken its neighbours' blur.
    weight = cv2.GaussianBlur(known, (0, 0), _DOUBT_BLUR)[traced][:, None]
    blurred = cv2.GaussianBlur(image, (0, 0), _DOUBT_BLUR)[traced] / np.maximum(weight, 1e-3)
    blurred = np.where(weight > 1e-3, blurred, membrane)
    depth = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)[traced]
    deep = (1 - np.exp(-depth / _DOUBT_DEPTH))[:, None]
    return deep * blurred + (1 - deep) * membrane


def _agree(views: list[tuple[np.ndarray, np.ndarray, np.ndarray]], agreement: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Colours, missing pixels and spreads of several routes' views merged, and each route's share in
    each colour (routes x pixels): per pixel, each route weighs by how well its views agree; a route
    that saw nothing weighs nothing."""
    if len(views) == 1:
        return (*views[0], np.ones((1, len(views[0][1])), np.float32))
    # The floor splits the weight evenly where every route disagrees badly.
    weights = np.stack([np.where(missing, 0.0, np.exp(-((spread / agreement) ** 2)) + 1e-3)
                        for _, missing, spread in views]).astype(np.float32)
    weights /= np.maximum(weights.sum(axis=0), 1e-6)
    colours = sum(w[:, None] * c for w, (c, _, _) in zip(weights, views, strict=True))  # missing weighs 0
    spread = sum(w * s for w, (_, _, s) in zip(weights, views, strict=True))
    missing = np.logical_and.reduce([missing for _, missing, _ in views])
    return colours.astype(np.float32), missing, spread.astype(np.float32), weights


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
    return cv2.GaussianBlur(image, (0, 0), 2.0)


def _scatter(values: np.ndarray, where: np.ndarray) -> np.ndarray:
    """An image shaped like ``where`` holding ``values`` at its True pixels (``np.nonzero`` order)."""
    image = np.zeros(where.shape + values.shape[1:], values.dtype)
    image[where] = values
    return image
