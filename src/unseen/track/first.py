"""The object's mask on the prompt's frame: from a class segmenter where it knows the object, else cut
out of the picture (GrabCut) inside the box; a point grows to the object under it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import cv2
import numpy as np
import torch

from unseen.errors import InputError
from unseen.segment.base import Segmenter, to_frame
from unseen.track.appearance import network_of, unlike_surroundings
from unseen.track.prompts import BOX, Prompt

# A class the segmenter sees over this share of the box (in probability) is part of the object: DAVIS
# objects are often compounds (a rider and a bike), so every such class is taken.
KNOWN_SHARE = 0.12
KNOWN_SPAN = 0.7  # ... or, over a third of that, it spans this share of the box's height or width
# ... and the classes' mask must fill this much of the box (or span it), else the box holds something else.
KNOWN_FILL = 0.3
# Networks see things in texture that is not there (a ball as a tv monitor, p ~0.6); a real person or car
# under a point is ~0.95, and ~0.85 over its whole mask.
KNOWN_SURE = 0.75
# Another class the network sees touching the object, within the box, over this share of the object's size, is
# carried by it (a rider's bike, a horse's rider): the user boxed them together.
CARRIED_SHARE = 0.05
CARRIED_INSIDE = 0.9  # ... when this share of that class's pixels in view lies inside the box
LUKEWARM = 0.6  # mean probability where a class is found, under which it is taken as seen in texture
# Others of the object's class reaching into the box (a crowd behind a dancer) are cut off when the class is
# seen beyond the box by this share of its size, from what fills the box's middle (this share in from each side);
# a cut that keeps under NEIGHBOUR_KEEP of the class mask, or spans the box less than NEIGHBOUR_SPAN as far, is
# not taken (people overlapping in a group: the flood went through the object itself).
NEIGHBOUR_MARGIN = 0.06
NEIGHBOUR_CORE = 0.3
NEIGHBOUR_KEEP = 0.4
NEIGHBOUR_SPAN = 0.95
CONTEXT = 0.25  # the segmenter and GrabCut see the box grown by this share of its size on each side
GRABCUT_SIDE = 256  # GrabCut runs with the crop's longer side at most this (a fraction of a second)
GRABCUT_ITERATIONS = 4
# An object no class names is cut out from where the network sees some object (not "background") in the box, when
# that is this share of the box; a cut that keeps under GRABCUT_KEPT of the box failed (colours alike in and out).
SOME_OBJECT = 0.1
GRABCUT_KEPT = 0.05
POINT_MAX_AREA = 0.25  # a point on a plain area this large (share of the frame) is on no object
POINT_BOXES = (0.15, 0.3, 0.5)  # sides of the boxes tried around a point, as shares of the frame's longer side
POINT_WHOLE = 0.02  # an object found in a box that touches at most this share of its sides is whole
POINT_SIDES = 0.1  # ... and failing that, the one touching the least, if under this share
POINT_BOX_MARGIN = 0.15  # the blob under a point, grown by this share of its size each side, is looked at as a box
POINT_FILLS_BOX = 0.5  # ... and the closer look is refused when it runs along more than this share of the box's sides
POINT_TOLERANCE = 14  # grey levels per channel that a point's region may differ from the point


def first_mask(rgb: np.ndarray, prompt: Prompt, segmenter: Segmenter | None) -> tuple[np.ndarray, list[int]]:
    """HxW bool mask of the prompted object on ``rgb``, and the segmenter channels it belongs to (none:
    an object no class names). ``InputError`` (saying why, without the prompt) when a point is on nothing that
    can be followed."""
    if prompt.kind == BOX:
        return _from_box(rgb, prompt.box, segmenter)
    return _from_point(rgb, prompt, segmenter)


def first_mask_for(rgb: np.ndarray, prompt: Prompt, segmenter: Segmenter | None,
                   person: Callable[[], Segmenter | None]) -> tuple[np.ndarray, list[int], Segmenter | None]:
    """:func:`first_mask`, and the segmenter to follow the object with.

    A person, or an object ``segmenter`` names no class for, is looked at again by ``person()`` (a network with
    the same classes that knows people better: a pushed cart's riders, a dancer's raised arms); where it sees
    a person, its mask and the network are taken, else the class segmenter's.
    """
    mask, classes = first_mask(rgb, prompt, segmenter)
    people = _person_channel(segmenter)
    if people is None or classes not in ([], [people]):
        return mask, classes, segmenter
    specialist = person()
    if specialist is None or _person_channel(specialist) is None:
        return mask, classes, segmenter
    with contextlib.suppress(InputError):  # a point it finds nothing under keeps the class segmenter's answer
        again, its_classes = first_mask(rgb, prompt, specialist)
        if its_classes == [_person_channel(specialist)]:
            return again, its_classes, specialist
    return mask, classes, segmenter


def _person_channel(segmenter: Segmenter | None) -> int | None:
    classes = getattr(segmenter, "classes", ())
    return classes.index("person") if "person" in classes else None


def context_box(box: tuple[int, int, int, int], width: int, height: int, share: float = CONTEXT,
                extra: int = 8) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)``: ``box`` (x, y, w, h) grown by ``share`` of its size plus ``extra`` px, in the frame."""
    x, y, w, h = box
    gx, gy = share * w + extra, share * h + extra
    return (max(0, int(x - gx)), max(0, int(y - gy)), min(width, int(np.ceil(x + w + gx))),
            min(height, int(np.ceil(y + h + gy))))


def class_probs(segmenter: Segmenter, rgb: np.ndarray, crop: tuple[int, int, int, int]) -> np.ndarray:
    """The segmenter's probabilities (h x w x C) over the ``crop`` (x0, y0, x1, y1) of ``rgb``, at crop size."""
    x0, y0, x1, y1 = crop
    patch = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    return to_frame(segmenter.predict(patch), x1 - x0, y1 - y0)


def _from_box(rgb: np.ndarray, box: tuple[int, int, int, int], segmenter: Segmenter | None
              ) -> tuple[np.ndarray, list[int]]:
    height, width = rgb.shape[:2]
    crop = context_box(box, width, height)
    x, y, w, h = box
    inner = (x - crop[0], y - crop[1], w, h)  # the box in crop coordinates
    mask, classes = None, []
    if segmenter is not None:
        probs = class_probs(segmenter, rgb, crop)
        inside = probs[inner[1]:inner[1] + h, inner[0]:inner[0] + w]
        share = inside.mean(axis=(0, 1))
        classes = [c for c in range(1, probs.shape[2])
                   if (share[c] >= KNOWN_SHARE / 2 or _spans(inside[..., c] > 0.5)) and not _lukewarm(inside[..., c])]
        if classes:
            summed = probs[..., classes].sum(axis=2)
            found = _in_box(summed > 0.5, inner)
            if not found.any() or not _sure(summed[found], KNOWN_SURE):
                classes = []
            elif carried := _carried_classes(probs, summed > 0.5, inner, classes):
                classes = classes + carried
                summed = probs[..., classes].sum(axis=2)
                found = _in_box(summed > 0.5, inner)
        if classes and (found.sum() >= KNOWN_FILL * w * h
                        or _spans(found[inner[1]:inner[1] + h, inner[0]:inner[0] + w])):
            mask = _without_neighbours(rgb[crop[1]:crop[3], crop[0]:crop[2]], summed > 0.5, found, inner)
        elif classes:  # a known thing, but the box holds more (a shadow, something carried): cut out from it
            mask = _grabcut(rgb[crop[1]:crop[3], crop[0]:crop[2]], inner, found)
    if mask is None:
        seen = None if segmenter is None else probs[..., 0] < 0.5
        mask = _cut_out(rgb[crop[1]:crop[3], crop[0]:crop[2]], inner, seen, network_of(segmenter))
    full = np.zeros((height, width), bool)
    full[crop[1]:crop[3], crop[0]:crop[2]] = mask
    return full, classes


def _without_neighbours(patch: np.ndarray, seen: np.ndarray, found: np.ndarray,
                        box: tuple[int, int, int, int]) -> np.ndarray:
    """``found`` (the class in the box) without the others of its class that reach into the box from outside
    it (spectators behind a dancer): the class seen well outside the box and the class in the box's middle
    flood the class mask along the picture's edges (watershed), and what the outside reaches is not the
    object. ``found`` unchanged when no others are near or the split would leave little of it."""
    x, y, w, h = box
    margin_x, margin_y = max(4, int(NEIGHBOUR_MARGIN * w)), max(4, int(NEIGHBOUR_MARGIN * h))
    near = np.zeros(seen.shape, bool)
    near[max(0, y - margin_y):y + h + margin_y, max(0, x - margin_x):x + w + margin_x] = True
    others = seen & ~near
    middle = np.zeros(seen.shape, bool)
    cx, cy = int(NEIGHBOUR_CORE * w), int(NEIGHBOUR_CORE * h)
    middle[y + cy:y + h - cy, x + cx:x + w - cx] = True
    core = found & middle
    if others.sum() < 0.02 * w * h or not core.any():  # no others to speak of
        return found
    neighbour, own, nothing = 1, 2, 3  # the watershed's seeds
    markers = np.zeros(seen.shape, np.int32)
    markers[cv2.erode((~seen).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0] = nothing
    markers[others] = neighbour
    markers[core] = own
    cv2.watershed(cv2.cvtColor(patch, cv2.COLOR_RGB2BGR), markers)
    kept = found & (markers == own)
    # The box is drawn around the object: a cut that no longer spans it as far took the object's own parts
    # (people overlapping in a group), not a neighbour's.
    inside = (slice(y, y + h), slice(x, x + w))
    spans = [(m[inside].any(axis=axis).sum()) for m in (kept, found) for axis in (0, 1)]
    whole = spans[0] >= NEIGHBOUR_SPAN * spans[2] and spans[1] >= NEIGHBOUR_SPAN * spans[3]
    return kept if whole and kept.sum() >= NEIGHBOUR_KEEP * found.sum() else found


def _carried_classes(probs: np.ndarray, seen: np.ndarray, box: tuple[int, int, int, int],
                     classes: list[int]) -> list[int]:
    """Other classes the object carries or rides (a bike under its rider, a rider on a horse): each is the
    network's best guess over a part of the crop (``probs``) that touches the object's classes (``seen``), is at
    least ``CARRIED_SHARE`` of their size and lies inside the ``box``: the user boxed them together. A thin bike
    is seen half-heartedly, so its best guess counts, not its confidence."""
    x, y, w, h = box
    near = cv2.dilate(seen.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    in_box = np.zeros(seen.shape, bool)
    in_box[y:y + h, x:x + w] = True
    best = probs.argmax(axis=2)
    carried = []
    for c in range(1, probs.shape[2]):
        part = best == c
        size = int(part.sum())
        if (c not in classes and size >= CARRIED_SHARE * seen.sum() and (part & near).any()
                and (part & in_box).sum() >= CARRIED_INSIDE * size):
            carried.append(c)
    return carried


def _sure(probability: np.ndarray, level: float = KNOWN_SURE) -> bool:
    """Whether the network is sure where it sees the class (hallucinated classes are lukewarm)."""
    found = probability > 0.5
    return bool(found.any()) and float(probability[found].mean()) >= level


def _lukewarm(probability: np.ndarray) -> bool:
    """Whether a class covers a fair part of the box (2 %) only half-heartedly: seen in texture, not there."""
    found = probability > 0.5
    return found.mean() >= 0.02 and float(probability[found].mean()) < LUKEWARM


def _spans(found: np.ndarray) -> bool:
    """Whether ``found`` (in the box) reaches across most of the box's height or width: a thin object (a
    person in a box widened by their shadow) still makes the box."""
    rows, cols = found.any(axis=1), found.any(axis=0)
    return found.mean() >= KNOWN_SHARE / 3 and (rows.mean() >= KNOWN_SPAN or cols.mean() >= KNOWN_SPAN)


def _in_box(mask: np.ndarray, box: tuple[int, int, int, int], slack: float = 0.04) -> np.ndarray:
    """``mask`` cut to ``box`` (grown by ``slack`` of its size: a user's box is rarely tight), keeping
    only the blobs that reach into the box's middle half (not a neighbour's arm at the edge)."""
    x, y, w, h = box
    inside = np.zeros_like(mask)
    gx, gy = int(slack * w) + 1, int(slack * h) + 1
    inside[max(0, y - gy):y + h + gy, max(0, x - gx):x + w + gx] = True
    mask = mask & inside
    count, blobs = cv2.connectedComponents(mask.astype(np.uint8))
    if count <= 2:
        return mask
    core = blobs[y + h // 4:y + h - h // 4 + 1, x + w // 4:x + w - w // 4 + 1]
    keep = np.unique(core[core > 0])
    return np.isin(blobs, keep) if len(keep) else mask


def _cut_out(patch: np.ndarray, box: tuple[int, int, int, int], seen: np.ndarray | None,
             network: torch.nn.Module | None) -> np.ndarray:
    """An object no class names, in ``box`` of ``patch``: GrabCut, from what the segmenter ``seen`` as some
    object in the box (a cart with its driver: the driver is "person", the cart nothing, but not "background"
    either) when it saw enough; when the cut keeps almost nothing, what the ``network``'s features tell from the
    surroundings."""
    x, y, w, h = box
    seed = None if seen is None else _in_box(seen, box)
    mask = _grabcut(patch, box, seed if seed is not None and seed.sum() >= SOME_OBJECT * w * h else None)
    if mask.sum() < GRABCUT_KEPT * w * h and network is not None:
        mask = _in_box(unlike_surroundings(network, patch, box), box)
    return mask


def _grabcut(patch: np.ndarray, box: tuple[int, int, int, int], seed: np.ndarray | None = None) -> np.ndarray:
    """GrabCut of ``patch`` (RGB) inside ``box`` (x, y, w, h), or from a ``seed`` region; bool at patch size."""
    scale = min(1.0, GRABCUT_SIDE / max(patch.shape[:2]))
    small = cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else patch
    sh, sw = small.shape[:2]
    x, y, w, h = (round(v * scale) for v in box)
    x, y = min(max(0, x), sw - 2), min(max(0, y), sh - 2)
    w, h = max(2, min(w, sw - x)), max(2, min(h, sh - y))
    labels = np.full((sh, sw), cv2.GC_BGD, np.uint8)
    labels[y:y + h, x:x + w] = cv2.GC_PR_FGD
    if seed is not None:
        small_seed = cv2.resize(seed.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST) > 0
        labels[y:y + h, x:x + w] = cv2.GC_PR_BGD
        labels[small_seed] = cv2.GC_PR_FGD
        labels[cv2.erode(small_seed.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    cv2.setRNGSeed(0)  # GrabCut starts its colour models with k-means: the same input, the same mask
    with contextlib.suppress(cv2.error):  # one colour everywhere: nothing to tell apart, keep the box
        cv2.grabCut(bgr, labels, None, bgd, fgd, GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_MASK)
    found = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8)
    found = cv2.resize(found, (patch.shape[1], patch.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    return _largest_near(found, (box[0] + box[2] // 2, box[1] + box[3] // 2))


def _largest_near(mask: np.ndarray, point: tuple[int, int]) -> np.ndarray:
    """The blob under ``point``, else the largest blob."""
    count, blobs, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    if count <= 2:
        return mask
    px, py = min(point[0], mask.shape[1] - 1), min(point[1], mask.shape[0] - 1)
    pick = blobs[py, px] or 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return blobs == pick


def _from_point(rgb: np.ndarray, prompt: Prompt, segmenter: Segmenter | None) -> tuple[np.ndarray, list[int]]:
    """The object under the point, looked at again as a box around it would be.

    The first look, over the whole frame (or a GrabCut around the point), finds where the object is but sees it
    small: at the network's 256 px a leg or a neck is a pixel or two, and the mask comes out a blob. The object's
    box, grown by :data:`POINT_BOX_MARGIN` of its size, is the box the user would have drawn; looked at as one, it
    gives the outline (first masks of 16 DAVIS clips and 8 photos, a point at the middle of each: mean IoU 0.49 ->
    0.55). The blob stays when the closer look loses the point or fills the box."""
    mask, classes = _point_blob(rgb, prompt, segmenter)
    x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
    grow_x, grow_y = round(POINT_BOX_MARGIN * w), round(POINT_BOX_MARGIN * h)
    x0, y0 = max(0, x - grow_x), max(0, y - grow_y)
    x1, y1 = min(rgb.shape[1], x + w + grow_x), min(rgb.shape[0], y + h + grow_y)
    closer, closer_classes = _from_box(rgb, (x0, y0, x1 - x0, y1 - y0), segmenter)
    px, py = prompt.values
    # It must hold the point and not fill the box: along most of the box's sides, it is no outline of what was
    # found but a class seen in the box as a whole (a flat blue disc with its surroundings as a "tv monitor": all
    # of the sides; a goat the first look had found too small: a fifth).
    fills = _on_sides(closer, (x0, y0, x1, y1)) > POINT_FILLS_BOX
    return (closer, closer_classes) if closer[py, px] and not fills else (mask, classes)


def _point_blob(rgb: np.ndarray, prompt: Prompt, segmenter: Segmenter | None) -> tuple[np.ndarray, list[int]]:
    """The object under the point from a look at the whole frame: the class the network is sure of there, else
    GrabCut in boxes of growing size around the point, else those boxes looked at as drawn boxes."""
    height, width = rgb.shape[:2]
    px, py = prompt.values
    if segmenter is not None:
        probs = to_frame(segmenter.predict(rgb), width, height)
        label = int(np.argmax(probs[py, px]))
        if label > 0 and probs[py, px, label] > KNOWN_SURE:
            return _largest_near(probs[..., label] > 0.5, (px, py)), [label]
    region = _flat_region(rgb, px, py)
    if region.sum() > POINT_MAX_AREA * width * height:
        raise InputError("no object under the point (it is on a large plain area); point at the object's middle, "
                         "or give a --box around it")
    # Boxes of growing size around the point: the object is what GrabCut finds under the point in the first
    # box that holds it whole (it does not run along the box's sides; a box smaller than the object gets
    # a part of it, which touches the sides a little). Where colours do not tell it from its surroundings (a dog
    # on grass, a giraffe on dirt), each box is looked at as a drawn box is (class, then GrabCut, then features).
    looks = [lambda box: (_grabcut_box(rgb, box), [])]
    if segmenter is not None:  # (without it, a drawn box is GrabCut again)
        looks.append(lambda box: _from_box(rgb, (box[0], box[1], box[2] - box[0], box[3] - box[1]), segmenter))
    for look in looks:
        found = _whole_around(look, (px, py), (width, height))
        if found is not None:
            return found
    raise InputError("no object under the point stands out from what is around it; give a --box around it")


def _whole_around(look: Callable[[tuple[int, int, int, int]], tuple[np.ndarray, list[int]]], point: tuple[int, int],
                  size: tuple[int, int]) -> tuple[np.ndarray, list[int]] | None:
    """What ``look`` finds (mask and classes) under ``point`` in the first of :data:`POINT_BOXES` around it that
    holds it whole; failing that, the one whose object touches the box's sides least, if little; else None.
    ``look`` takes a box (x0, y0, x1, y1)."""
    width, height = size
    found = []
    for share in POINT_BOXES:
        box = context_box((*point, 1, 1), width, height, 0.0, int(share * max(width, height) / 2))
        mask, classes = look(box)
        if mask[point[1], point[0]]:
            found.append((_on_sides(mask, box), mask, classes))
    whole = [(mask, classes) for sides, mask, classes in found if sides <= POINT_WHOLE]
    if whole:
        return whole[0]
    if found and min(sides for sides, _, _ in found) < POINT_SIDES:
        _, mask, classes = min(found, key=lambda item: item[0])
        return mask, classes
    return None


def _grabcut_box(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """GrabCut inside ``box`` (x0, y0, x1, y1) of the frame, seeing some context around it; frame-size mask."""
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = box
    crop = context_box((x0, y0, x1 - x0, y1 - y0), width, height)
    inner = (x0 - crop[0], y0 - crop[1], x1 - x0, y1 - y0)
    mask = np.zeros((height, width), bool)
    mask[crop[1]:crop[3], crop[0]:crop[2]] = _grabcut(rgb[crop[1]:crop[3], crop[0]:crop[2]], inner)
    return mask


def _on_sides(mask: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Share of the sides of ``box`` (x0, y0, x1, y1) that are inside ``mask``, frame borders left out."""
    x0, y0, x1, y1 = box
    height, width = mask.shape
    sides = [mask[y0, x0:x1] if y0 > 0 else None, mask[y1 - 1, x0:x1] if y1 < height else None,
             mask[y0:y1, x0] if x0 > 0 else None, mask[y0:y1, x1 - 1] if x1 < width else None]
    sides = [side for side in sides if side is not None]
    return float(np.mean(np.concatenate(sides))) if sides else 0.0


def _flat_region(rgb: np.ndarray, x: int, y: int) -> np.ndarray:
    """Pixels joined to ``(x, y)`` through colours within :data:`POINT_TOLERANCE` of it (smoothed first)."""
    smooth = cv2.bilateralFilter(rgb, 7, 30, 5)
    filled = np.zeros((rgb.shape[0] + 2, rgb.shape[1] + 2), np.uint8)
    tolerance = (POINT_TOLERANCE,) * 3
    cv2.floodFill(smooth, filled, (int(x), int(y)), 0, tolerance, tolerance,
                  4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (255 << 8))
    region = filled[1:-1, 1:-1] > 0
    return cv2.morphologyEx(region.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)) > 0
