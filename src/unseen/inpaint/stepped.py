"""``--frame-step N``: run the video engine on every Nth frame only, and fill the frames in between
from their two filled neighbours along the flow (the lecture-video seed lowered the frame rate for
speed; this keeps every frame but spends the engine's work on a fraction of them).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from unseen.inpaint.flow import FlowEstimator, complete_flow, full_size, warp, working_hole
from unseen.inpaint.video import FlowVideoFiller, FramesWithHoles
from unseen.masks.ops import dilate
from unseen.media.frame import Frame


class SteppedFiller:
    """Fills frames ``0, N, 2N, ...`` with ``engine`` and the rest from those, one flow step each."""

    def __init__(self, engine: FlowVideoFiller, step: int):
        if step < 1:
            raise ValueError(f"frame step must be 1 or more, got {step}")
        self.engine, self.step, self.name = engine, step, f"{engine.name}/step{step}"
        self._flow = FlowEstimator(engine.flow_preset, engine.flow_side, engine.flow_scale)

    def fill_frames(self, pairs: FramesWithHoles) -> Iterator[Frame]:
        """Fill the hole of every frame; frames come out in order."""
        if self.step == 1:
            yield from self.engine.fill_frames(pairs)
            return
        waiting: list[tuple[Frame, np.ndarray]] = []

        def key_frames() -> FramesWithHoles:
            for count, (frame, hole) in enumerate(pairs):
                if count % self.step == 0:
                    yield frame, hole
                else:
                    waiting.append((frame, hole))

        previous: Frame | None = None
        self._grays: dict[int, np.ndarray] = {}
        for filled in self.engine.fill_frames(key_frames()):
            between = [pair for pair in waiting if pair[0].index < filled.index]
            del waiting[:len(between)]
            yield from (self._between(frame, hole, previous, filled) for frame, hole in between)
            yield filled
            # Only the last two key frames are ever looked at again.
            self._grays = {i: g for i, g in self._grays.items() if i >= (previous.index if previous else 0)}
            previous = filled
        yield from (self._between(frame, hole, previous, None) for frame, hole in waiting)

    def _between(self, frame: Frame, hole: np.ndarray, before: Frame | None, after: Frame | None) -> Frame:
        """The hole of ``frame`` filled from the filled key frames around it, nearer weighing more."""
        if not hole.any() or (before is None and after is None):
            return frame
        gray = self._flow.gray(frame.image, hole)
        scale = frame.image.shape[1] / gray.shape[1]
        flow_hole = working_hole(dilate(hole, 3), gray.shape)
        total = np.zeros(frame.image.shape, np.float32)
        weight = 0.0
        for key in (before, after):
            if key is None or key.image.shape != frame.image.shape:
                continue
            if key.index not in self._grays:
                self._grays[key.index] = self._flow.gray(key.image)
            flow = complete_flow(self._flow.flow(gray, self._grays[key.index], scale), flow_hole)
            w = 1.0 / (1 + abs(key.index - frame.index))
            total += w * warp(key.image.astype(np.float32), full_size(flow, frame.size))
            weight += w
        if weight == 0:
            return frame
        image = frame.image.copy()
        image[hole] = np.clip(total[hole] / weight + 0.5, 0, 255).astype(np.uint8)
        return frame.with_image(image)
