"""Masks of prompted objects in every frame of a video, in two passes over it.

The first pass decodes the video once, finds each object's first mask on its prompt's frame and follows
it forwards; frames before the latest prompt are spilled to a temporary file (JPEG), so that objects
prompted on frame N > 0 are then followed backwards from N to 0 without holding the video in memory.
What is kept in memory per frame is its label image, zlib-compressed (a few kB). The second pass decodes
the video again and pairs each frame with its labels, for removal or rendering.
"""

from __future__ import annotations

import dataclasses
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator

import cv2
import numpy as np

from unseen.errors import InputError
from unseen.media import Frame
from unseen.progress import first_pass
from unseen.segment.base import Segmenter
from unseen.track.first import first_mask_for
from unseen.track.follow import Follower
from unseen.track.prompts import Prompt, check_prompts

WORK_SIDE = 960  # frames are followed at most this long a side (masks are scaled back up)
SPILL_QUALITY = 95


@dataclasses.dataclass
class Tracked:
    """Per-frame label images (0 = nothing, k = the k-th prompt's object) and confidences, compressed."""

    size: tuple[int, int]  # (width, height) of the frames
    work: tuple[int, int]  # (width, height) the labels are stored at
    packed: list[bytes] = dataclasses.field(default_factory=list)
    confidence: list[float] = dataclasses.field(default_factory=list)  # the least sure object's, per frame

    def labels(self, index: int) -> np.ndarray:
        """HxW uint8 labels of frame ``index`` at frame size."""
        work = np.frombuffer(zlib.decompress(self.packed[index]), np.uint8).reshape(self.work[1], self.work[0])
        if self.work == self.size:
            return work.copy()
        return cv2.resize(work, self.size, interpolation=cv2.INTER_NEAREST)

    def store(self, index: int, labels: np.ndarray, confidence: float) -> None:
        data = zlib.compress(np.ascontiguousarray(labels).tobytes(), 1)
        while len(self.packed) <= index:
            self.packed.append(b"")
            self.confidence.append(0.0)
        self.packed[index], self.confidence[index] = data, confidence


class _Spill:
    """Frames written to an anonymous temporary file as they go by, read back in any order."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="unseen-track-")  # noqa: SIM115 (closed by close())
        self._spans: list[tuple[int, int]] = []

    def add(self, rgb: np.ndarray) -> None:
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, SPILL_QUALITY])
        self._file.seek(0, 2)
        self._spans.append((self._file.tell(), len(data)))
        self._file.write(data.tobytes())

    def get(self, index: int) -> np.ndarray:
        start, length = self._spans[index]
        self._file.seek(start)
        data = np.frombuffer(self._file.read(length), np.uint8)
        return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._file.close()


def work_scale(size: tuple[int, int]) -> float:
    """Factor from frame pixels to the pixels objects are followed at."""
    return min(1.0, WORK_SIDE / max(size))


def _scaled(prompt: Prompt, scale: float) -> Prompt:
    return dataclasses.replace(prompt, values=tuple(int(v * scale) for v in prompt.values)) if scale < 1 else prompt


def track_objects(frames: Iterable[Frame], prompts: list[Prompt], segmenter: Callable[[], Segmenter | None],
                  models: Callable[[], tuple[str, str]], sequence: bool = True,
                  frame_count: int | None = None,
                  person: Callable[[], Segmenter | None] = lambda: None) -> Tracked:
    """Follow every prompted object through ``frames`` (forwards and backwards from its prompt's frame).

    Parameters
    ----------
    frames
        The clip's frames, in order (iterated once).
    prompts
        Checked prompts (:func:`check_prompts`), in frame pixels.
    segmenter
        Gives the class segmenter (built on first use), or None to cut objects out by colour only.
    models
        Gives the NanoTrack backbone and head files (asked for only when there is a video to follow).
    sequence
        False for photos: each prompt's frame gets its mask, no following across frames.
    frame_count
        How many frames there are, when known (for the progress bar of this pass).
    person
        Gives a segmenter with the same classes that knows people better (built on first use, or None):
        objects that are people follow it (:func:`~unseen.track.first.first_mask_for`).
    """
    tracked: Tracked | None = None
    forward: dict[int, Follower] = {}
    # prompt -> (first mask, its classes, the segmenter that follows it)
    starts: dict[int, tuple[np.ndarray, list[int], Segmenter | None]] = {}
    last = max(p.frame for p in prompts)
    spill = _Spill() if sequence and last > 0 else None
    count = 0
    try:
        for count, frame in enumerate(first_pass(frames, frame_count, "following"), 1):
            index = count - 1
            if tracked is None:
                tracked = Tracked(frame.size, _work_size(frame.size))
            rgb = _work_image(frame.image, tracked.work)
            if spill is not None and index <= last:
                spill.add(rgb)
            masks, confidence = [], 1.0
            for k, prompt in enumerate(prompts):
                if prompt.frame == index:
                    try:
                        mask, classes, follows = first_mask_for(
                            rgb, _scaled(prompt, tracked.work[0] / frame.size[0]), segmenter(), person)
                    except InputError as error:  # said of the prompt as the user gave it, not as scaled
                        raise InputError(f"{prompt}: {error}") from None
                    if not mask.any():
                        raise InputError(f"{prompt}: found no object there to follow; draw the box around it")
                    starts[k] = (mask, classes, follows)
                    if sequence:
                        forward[k] = Follower(rgb, mask, models(), follows, classes)
                    masks.append((k, mask))
                elif k in forward:
                    mask, sure = forward[k].step(rgb)
                    masks.append((k, mask))
                    confidence = min(confidence, sure)
            tracked.store(index, _labels(masks, tracked.work), confidence)
        if tracked is None:
            raise InputError("the input has no frames")
        check_prompts(prompts, tracked.size, count)
        if spill is not None:
            _backwards(spill, tracked, prompts, starts, models)
    finally:
        if spill is not None:
            spill.close()
    return tracked


def _backwards(spill: _Spill, tracked: Tracked, prompts: list[Prompt],
               starts: dict[int, tuple[np.ndarray, list[int], Segmenter | None]],
               models: Callable[[], tuple[str, str]]) -> None:
    """Follow objects prompted after frame 0 back to frame 0, merging into the forward pass's labels."""
    # Started on the prompt's frame as spilled (JPEG), like the frames it then steps through.
    backward = {k: Follower(spill.get(p.frame), starts[k][0], models(), starts[k][2], starts[k][1])
                for k, p in enumerate(prompts) if p.frame > 0}
    for index in range(max(p.frame for p in prompts) - 1, -1, -1):
        rgb = spill.get(index)
        work = _stored(tracked, index)
        masks, confidence = [], tracked.confidence[index]
        for k, follower in backward.items():
            if prompts[k].frame > index:
                mask, sure = follower.step(rgb)
                masks.append((k, mask))
                confidence = min(confidence, sure)
        merged = _labels(masks, tracked.work)
        tracked.store(index, np.where(merged > 0, merged, work), confidence)


def _stored(tracked: Tracked, index: int) -> np.ndarray:
    data = zlib.decompress(tracked.packed[index])
    return np.frombuffer(data, np.uint8).reshape(tracked.work[1], tracked.work[0])


def _labels(masks: list[tuple[int, np.ndarray]], work: tuple[int, int]) -> np.ndarray:
    labels = np.zeros((work[1], work[0]), np.uint8)
    for k, mask in masks:
        labels[mask] = k + 1
    return labels


def _work_size(size: tuple[int, int]) -> tuple[int, int]:
    scale = work_scale(size)
    return (max(1, round(size[0] * scale)), max(1, round(size[1] * scale))) if scale < 1 else size


def _work_image(rgb: np.ndarray, work: tuple[int, int]) -> np.ndarray:
    if (rgb.shape[1], rgb.shape[0]) == work:
        return rgb
    return cv2.resize(rgb, work, interpolation=cv2.INTER_AREA)


def paired(frames: Iterable[Frame], tracked: Tracked) -> Iterator[tuple[Frame, np.ndarray]]:
    """Each frame of a second pass over ``frames`` with its HxW uint8 labels."""
    for index, frame in enumerate(frames):
        if index >= len(tracked.packed):
            raise InputError(f"the input gave more frames ({index + 1}) on a second reading than on the first "
                             f"({len(tracked.packed)})")
        yield frame, tracked.labels(index)
