"""Masks from a segmenter, per video rather than per frame.

A network looks at each frame alone, so its masks flicker: a hand appears and vanishes, an edge
shimmers. Probabilities are averaged over neighbouring frames (a small centred window, streamed: memory
holds ``2 * smoothing + 1`` probability maps whatever the video's length); a part of the object that the
network is only fairly sure of stays in the mask where the last frame had it and it still joins what this
frame is sure of (hysteresis over time: a leg in motion blur is not dropped for a frame); then each frame's
label image is tidied (specks removed, small holes filled, optionally only the largest object kept).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable, Iterator, Sequence

import cv2
import numpy as np

from unseen.errors import warn
from unseen.masks.clean import clean_labels
from unseen.masks.ops import dilate
from unseen.media.frame import Frame
from unseen.segment.focus import Focus

DEFAULT_SMOOTHING = 1  # frames on each side
MIN_AREA_FRACTION = 0.0005  # specks under 0.05 % of the frame (~200 px at 854x480) are noise
MAX_HOLE_FRACTION = 0.002
# A mask over most of the frame where the video's typical frame holds far less is a model mistaking the
# scene (snow, road, sky) for the class, not an object that came close (a webcam's person fills most
# frames: its median is high).
FLOOD_SHARE = 0.4
FLOOD_JUMP = 3.0  # times the median share over the whole video
# Hysteresis over time: where the last frame's mask was (grown by HOLD_REACH of the frame's longer side),
# a pixel stays in the mask down to this probability, if it joins this frame's own mask. Measured with
# bench/segment.py --wide (default models): person recall up on all 10 video cases (mean over its 15 person
# cases 0.50 -> 0.53; parkour's frames missing > 10 % of the person 40 % -> 18 %), car-roundabout recall 0.935 -> 0.967
# (frames missing > 10 % of the car 13 % -> 5 %); IoU within -0.013..+0.03; what the person model wrongly
# finds on animals grows with it (mean 6.1 % -> 6.7 % of the frame). A reach of 1 % gave 0.006 more
# recall but the car's IoU fell under 0.80.
HOLD_PROBABILITY = 0.35
HOLD_REACH = 0.005


@dataclasses.dataclass(frozen=True)
class Segmentation:
    """What a segmenter found in one frame.

    Attributes
    ----------
    labels : ndarray
        HxW uint8: 0 = none of the wanted classes, k = the k-th wanted class.
    foreground : ndarray
        HxW float32 in [0, 1]: probability that the pixel belongs to any wanted class, agreeing with
        ``labels`` wherever tidying changed a pixel (soft edges for compositing).
    """

    labels: np.ndarray
    foreground: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        """HxW bool: any wanted class."""
        return self.labels > 0


def _weights(radius: int) -> np.ndarray:
    """Weights over ``2 * radius + 1`` frames: the frame itself carries two thirds of the total.

    So a pixel the frame is sure of is never overruled by its neighbours (a fast leg is not smeared over
    where it was); they decide only where the frame is unsure, which is where masks flicker.
    """
    weights = np.ones(2 * radius + 1, np.float32)
    weights[radius] = 4 * radius if radius else 1
    return weights


def smooth_in_time(maps: Iterable[np.ndarray], radius: int) -> Iterator[np.ndarray]:
    """Each map averaged with up to ``radius`` neighbours on each side (fewer at the ends), in order."""
    weights = _weights(radius)
    window: deque[np.ndarray] = deque()
    centre = 0  # index in ``window`` of the next map to emit
    for current in maps:
        window.append(current)
        if len(window) > 2 * radius + 1:
            window.popleft()
            centre -= 1
        if len(window) - 1 - centre == radius:
            yield _average(window, centre, weights, radius)
            centre += 1
    while centre < len(window):
        yield _average(window, centre, weights, radius)
        centre += 1


def _average(window: deque[np.ndarray], centre: int, weights: np.ndarray, radius: int) -> np.ndarray:
    total = np.zeros_like(window[centre])
    weight_sum = 0.0
    for i, current in enumerate(window):
        offset = i - centre
        if abs(offset) <= radius:
            total += weights[offset + radius] * current
            weight_sum += weights[offset + radius]
    return total / weight_sum


def held_over(probs: np.ndarray, labels: np.ndarray, previous: np.ndarray, reach: int) -> np.ndarray:
    """``labels`` (0 = none, k = the k-th class of ``probs``' channels 1..K) grown by the pixels that are
    at least :data:`HOLD_PROBABILITY` any class, lie within ``reach`` px of the ``previous`` frame's mask,
    and join this frame's own mask; each takes its likeliest class."""
    found = labels > 0
    if not (found.any() and previous.any()):
        return labels
    # Worked on the box of both masks grown by the reach: nothing beyond it can be added (a third of the time of
    # the whole frame for a person in an 854x480 frame).
    x, y, w, h = cv2.boundingRect((found | previous).astype(np.uint8))
    box = (slice(max(y - reach, 0), y + h + reach), slice(max(x - reach, 0), x + w + reach))
    found, near = found[box], probs[box]
    weak = ~found & (1 - near[..., 0] >= HOLD_PROBABILITY) & dilate(previous[box], reach)
    if not weak.any():
        return labels
    count, blobs = cv2.connectedComponents((found | weak).astype(np.uint8))
    joined = np.zeros(count, bool)
    joined[blobs[found]] = True
    added = weak & joined[blobs]
    grown = labels.copy()
    grown[box][added] = 1 + near[..., 1:][added].argmax(axis=1)
    return grown


def likeliest(probs: np.ndarray) -> np.ndarray:
    """Each pixel's likeliest channel of H x W x (1 + K) probabilities (uint8; 0 = none, ties to the lower)."""
    if probs.shape[2] == 2:  # one class: a comparison, several times as fast as argmax over the last axis
        return (probs[..., 1] > probs[..., 0]).astype(np.uint8)
    return probs.argmax(axis=2).astype(np.uint8)


def tidy(probs: np.ndarray, min_area: int, max_hole: int, largest: bool = False,
         previous: np.ndarray | None = None) -> Segmentation:
    """A :class:`Segmentation` from H x W x (1 + K) probabilities (channel 0 = none); with the ``previous``
    frame's mask, what it held is kept down to :data:`HOLD_PROBABILITY` (:func:`held_over`)."""
    raw = likeliest(probs)
    found = raw
    if previous is not None:
        found = held_over(probs, raw, previous, max(1, round(HOLD_REACH * max(raw.shape))))
    labels = clean_labels(found, min_area, max_hole, largest)
    foreground = 1.0 - probs[..., 0]
    changed = (labels > 0) != (raw > 0)
    foreground[changed] = (labels[changed] > 0).astype(np.float32)
    return Segmentation(labels, np.clip(foreground, 0.0, 1.0))


def segment_frames(frames: Iterable[Frame], focus: Focus, smoothing: int = DEFAULT_SMOOTHING,
                   largest: bool = False) -> Iterator[tuple[Frame, Segmentation]]:
    """Each frame with its :class:`Segmentation`, streamed (``smoothing`` frames of delay).

    Parameters
    ----------
    frames : iterable of Frame
        The clip, in order.
    focus : Focus
        The segmenter and the wanted classes.
    smoothing : int
        Frames on each side whose probabilities are averaged in; 0 = every frame alone (no hysteresis
        over time either).
    largest : bool
        Keep only the largest object of each class.
    """
    held: deque[Frame] = deque()

    def probabilities() -> Iterator[np.ndarray]:
        for frame in frames:
            held.append(frame)
            yield focus.probs(frame.image)

    # The last frame's mask, for the hysteresis: only where frames are smoothed together, which already
    # needs them all of one size.
    previous: np.ndarray | None = None
    for probs in smooth_in_time(probabilities(), smoothing):
        frame = held.popleft()
        area = frame.image.shape[0] * frame.image.shape[1]
        found = tidy(probs, round(MIN_AREA_FRACTION * area), round(MAX_HOLE_FRACTION * area), largest, previous)
        previous = found.mask if smoothing > 0 else None
        yield frame, found


def warn_floods(found: Iterable[tuple[Frame, Segmentation]],
                classes: Sequence[str]) -> Iterator[tuple[Frame, Segmentation]]:
    """``found`` unchanged; at the end, a warning if the mask flooded some frames (:data:`FLOOD_SHARE`)."""
    names, shares = [], []
    for frame, segmentation in found:
        names.append(frame.name)
        shares.append(float(segmentation.mask.mean()))
        yield frame, segmentation
    if len(shares) < 2:
        return
    typical = float(np.median(shares))
    flooded = [i for i, share in enumerate(shares) if share > max(FLOOD_SHARE, FLOOD_JUMP * typical)]
    if flooded:
        warn(f"the {', '.join(classes)} mask covers up to {max(shares):.0%} of the frame in {len(flooded)} of "
             f"{len(shares)} frames (first: frame {names[flooded[0]]}), where the typical frame has {typical:.0%}: the "
             "model probably takes part of the scene for the class there; check with `unseen segment --render "
             "overlay`, or try another --model")
