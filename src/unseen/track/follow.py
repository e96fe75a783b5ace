"""Following one object's mask from frame to frame (forwards or backwards alike).

Each step combines, in log-odds over a box around the object:

- the box: NanoTrack v2 (a Siamese tracker, OpenCV's ``TrackerNano``) says where the object went; it is
  robust to fast motion but knows no outline, and its score stays high on whatever it follows once the
  object is gone, so the box only bounds the mask (a penalty beyond it, loosened where the flow carried the
  object on and it looks like itself: the box's size lags) and places its last good shape;
- the previous mask carried along the optical flow (DIS, checked forwards and backwards): the outline;
- colour models of the object and its surroundings (histograms learnt on the first mask, updated on
  confident frames): they pull the outline back to the object's edges;
- every other frame, one pass of the class segmenter's network over the crop: its probabilities where the
  object is of a known class, and how like the object's first-frame patches each patch's features are
  (:mod:`unseen.track.appearance`; any object, known class or not);
- motion, from the same flow: what moves with the camera is not the object, what moves as the object does
  may be (:func:`motion_odds`).

The object is "lost" when its mask shrinks far below its usual size or stops looking like it (it went
behind something, out of the picture, or the shot changed): its mask is then empty, and every frame it
is looked for again: in the tracker's box, by template matching, by its class, by its colours; what is found
must also look like it to the network's features, the more so the longer it has been gone (fully after a cut).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from unseen.inpaint.flow import camera_motion, homography_motion
from unseen.media.cuts import CutWatch
from unseen.segment.base import Segmenter
from unseen.track.appearance import Appearance, look_at, network_of
from unseen.track.first import class_probs, context_box

BINS = 16  # colour histogram bins per channel
COLOUR_WEIGHT = 0.8  # log-odds weight of the colour models against the carried mask
CLASS_WEIGHT = 1.5
CLASS_NO = -2.0  # the least log-odds the class gives a pixel it does not see as the object
SHAPE_WEIGHT = 0.5  # the prior the last good shape placed on the tracker's box gives (0.5: undecided)
BOX_WEIGHT = 4.0  # log-odds taken off per slack beyond the tracker box
LOOK_EVERY = 2  # frames between two looks by the network (its class, and its features' nearest neighbours)
CROP_CONTEXT, CROP_EXTRA = 0.15, 8  # a frame is refined (and looked at) over the object's reach grown by these
EDGE_BAND = 2  # px on each side of the outline left out of the colour models
HISTORY = 0.1  # share of a confident frame's colours blended into the models
FLOW_SIDE = 256  # the flow that carries the mask is computed at most this many pixels a side
FB_TOLERANCE = 0.5  # px (at flow scale) a forward-backward round trip may miss by and still be trusted
UNSURE = 0.5  # the carried mask where the round trip fails: mostly background the object uncovers
PRIOR_BLUR = 2.0  # sigma (px) of the carried mask: its edge is uncertain by about that much
# The most log-odds the carried mask gives where the network's features say "surroundings" (likeness < 0), on the
# frames it looks: a leak onto look-alike background (a camel's mask onto the fence and the camel behind it) was
# carried on from frame to frame by the prior alone. Measured with bench/track.py (this session's machine): mean J
# 0.656 -> 0.659, higher on 15 of 18 clips (camel, dance-twirl, dog, goat +0.006 to +0.009); libby -0.011.
UNLIKE_CARRIED = 2.5
BOX_SLACK = 0.15  # the mask may reach this share of the tracker box's size beyond it
BEYOND_REACH = 0.5  # ... and this share, where the flow carried it and it looks like the object (_beyond)
LOST_AREA = 0.15  # a mask under this share of the object's usual area means it is hidden
LOST_COLOUR = -1.0  # mean colour log-odds over the mask under which it is not the object
LOST_SCORE = 0.25  # NanoTrack's score below which its box is not trusted
FOUND_SCORE = 0.5  # NanoTrack's score of a fully trusted box (confidence scales up to it)
FOUND_AREA = 0.35  # a candidate must show this share of the usual area to be taken back
FOUND_AREA_LEAST = 0.2  # ... a share of it that falls to this over LONG_LOST frames out of sight
LIKENESS_BLOB = 0.5  # likeness (log-odds) of the pixels that make a blob of what looks like the object
MATCH_SCORE = 0.55  # template match (normalised correlation) that counts as the object found again
BLOB_ODDS = 1.5  # colour log-odds of pixels that make a blob of the object's colours
MOTION_WEIGHT = 2.0  # log-odds that moving like the background takes off
MOTION_NO, MOTION_YES = -1.0, 0.25  # the most (in MOTION_WEIGHTs) motion takes off and adds
MOTION_LEAST = 1.0  # px (at flow scale) the object must move against the background for motion to count
LIKENESS_WEIGHT = 1.0  # weight of the features' likeness (:mod:`unseen.track.appearance`) against the carried mask
LIKENESS_NO = -1.0  # the least log-odds the likeness gives (like the class, it says "no" only softly)
# After a cut, or LONG_LOST frames out of sight, the object is taken back only where its likeness reaches this share
# of what it was while surely followed; sooner, a share growing towards it with the frames gone.
RELOCK_LIKENESS = 0.5
LONG_LOST = 15


# One worker for every follower: they step one after another.
_TRACKER_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nanotrack")


def nanotrack(backbone: str, head: str) -> cv2.Tracker:
    """A fresh NanoTrack v2 tracker on the two ONNX files."""
    params = cv2.TrackerNano_Params()
    params.backbone, params.neckhead = str(backbone), str(head)
    # OpenCV's DNN engine says on stderr that it ignores the (default) target: not the user's concern.
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        return cv2.TrackerNano_create(params)
    finally:
        cv2.utils.logging.setLogLevel(level)


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(x, y, w, h)`` around the true pixels; None if there are none."""
    # (on the image itself: listing its points first, as findNonZero does, took 8x as long)
    x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
    return None if w == 0 else (int(x), int(y), int(w), int(h))


class Follower:
    """One object followed through frames given one at a time (:meth:`step`), from its first mask.

    Parameters
    ----------
    rgb, mask
        The prompt's frame and the object's mask on it.
    models
        The NanoTrack backbone and head files.
    segmenter, classes
        The class segmenter and the object's channels in it, for a known-class object (else None, []).
    """

    def __init__(self, rgb: np.ndarray, mask: np.ndarray, models: tuple[str, str],
                 segmenter: Segmenter | None = None, classes: list[int] | None = None) -> None:
        self._models, self._segmenter, self._classes = models, segmenter, list(classes or [])
        self._tracker = nanotrack(*models)
        box = bounding_box(mask)
        self._tracker.init(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), box)
        self._fg, self._bg = _histograms(rgb, mask, box)
        self._mask, self._gray = mask.astype(np.float32), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        self._area, self._shape = float(mask.sum()), mask.copy()
        self._template = _template(rgb, box)
        self._cuts = CutWatch(spikes=True)
        self._cuts.is_cut(self._gray)  # the prompt's frame is the first the next ones are compared with
        self._lost, self._steps = False, 0
        self._usual_likeness: float | None = None  # the mask's mean likeness on sure frames, learnt as it goes
        self._unseen_since_cut = False
        self._lost_for = 0  # frames the object has been out of sight
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._appearance = _first_appearance(rgb, mask, box, network_of(segmenter))

    def step(self, rgb: np.ndarray) -> tuple[np.ndarray, float]:
        """The object's mask on the next frame (bool, empty when hidden) and a confidence in [0, 1]."""
        # NanoTrack runs on the other core while the flow carries the mask: neither needs the other's result.
        tracked = _TRACKER_THREAD.submit(self._tracker.update, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        cut = self._cuts.is_cut(gray)
        self._steps += 1
        searching = self._lost or cut
        self._unseen_since_cut |= cut
        self._lost_for = self._lost_for + 1 if self._lost else 0
        prior, motion = (None, None) if searching else self._carried(gray)
        ok, box = tracked.result()
        score = float(self._tracker.getTrackingScore()) if ok else 0.0
        box = tuple(int(v) for v in box) if score >= LOST_SCORE else None
        if searching:
            prior, box = self._search(rgb, box), None
        elif box is not None:
            # The tracker's box rarely loses the object, while the carried outline can shrink away from it
            # (behind a pole, in motion blur): the last good shape, placed on the box, makes what the carried
            # mask lost "maybe" again, for colour and class to decide; it never weakens what was carried.
            prior = np.maximum(prior, SHAPE_WEIGHT * _placed(self._shape, box))
        self._gray = gray
        if prior is None:
            self._lost, self._mask = True, np.zeros_like(self._mask)
            return np.zeros(gray.shape, bool), 0.0
        mask, seen = self._refined(rgb, prior, box, motion)
        area = float(mask.sum())
        # A mask that does not look like the object (its colours are the surroundings') is a remnant left
        # where the object went out of sight, held there by the carried prior alone.
        likeness = float(self._colour_odds(rgb[mask]).mean()) if area else 0.0
        unlike = likeness < LOST_COLOUR or (area < 0.5 * self._area and likeness < LOST_COLOUR + 1)
        if area < LOST_AREA * self._area or (score < LOST_SCORE and area < 0.5 * self._area) or unlike:
            self._lost, self._mask = True, np.zeros_like(self._mask)
            return np.zeros(gray.shape, bool), 0.0
        confidence = min(1.0, score / FOUND_SCORE) * min(1.0, area / self._area, self._area / max(area, 1.0))
        self._lost, self._mask = False, mask.astype(np.float32)
        if confidence > 0.6:
            self._learn(rgb, mask, area, seen)
        return mask, confidence

    def _carried(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The last mask moved along the optical flow from the last frame to this one (float, in [0, 1]),
        and the log-odds that each pixel is the object by how it moves (:func:`motion_odds`).

        Background the object uncovers has no match in the last frame, and the flow there just continues
        the background's: it would carry the object's mask along behind it as a trail. Pixels whose flow
        does not come back to them (forward-backward check) get 0.5, "unknown", for colour to decide.
        """
        box = bounding_box(self._mask > 0.5)
        height, width = gray.shape
        x0, y0, x1, y1 = context_box(box, width, height, 0.5, 16)
        # The flow is computed at most FLOW_SIDE pixels a side: a mask needs its motion, not its detail
        # (at full size, flow was 80 % of the time on a 854x480 car).
        scale = min(1.0, FLOW_SIDE / max(x1 - x0, y1 - y0))
        size = (max(8, round((x1 - x0) * scale)), max(8, round((y1 - y0) * scale)))
        now, before, last = (cv2.resize(np.ascontiguousarray(image[y0:y1, x0:x1]), size, interpolation=cv2.INTER_AREA)
                             for image in (gray, self._gray, self._mask))
        back, ahead = self._flow.calc(now, before, None), self._flow.calc(before, now, None)
        grid_y, grid_x = np.mgrid[0:size[1], 0:size[0]].astype(np.float32)
        map_x, map_y = grid_x + back[..., 0], grid_y + back[..., 1]
        moved = cv2.remap(last, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        returned = cv2.remap(ahead, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        unsure = _length(back + returned) > FB_TOLERANCE + 0.1 * _length(back)
        motion_small = motion_odds(back, moved, unsure)
        moved[unsure] = np.minimum(moved[unsure], UNSURE)
        carried, motion = np.zeros_like(self._mask), np.zeros_like(self._mask)
        carried[y0:y1, x0:x1] = cv2.resize(moved, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        motion[y0:y1, x0:x1] = cv2.resize(motion_small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        return carried, motion

    def _search(self, rgb: np.ndarray, tracked: tuple[int, int, int, int] | None) -> np.ndarray | None:
        """Where the lost object is again, as a rough mask, or None: in the tracker's box or where its first
        appearance matches well (template matching), if its colours fill its last good shape placed
        there; else a blob of its class or of its colours of about its size; after a cut, or once it has
        been out of sight long, only if it also looks like the object (:meth:`_looks_like_itself`). The
        tracker starts again from there (it follows anything once its object is gone). A candidate that does not
        look like the object gives way to a blob of what the network's features find like it, if that one does."""
        # The longer it has been out of sight, the less its last size says (it may have gone away or come nearer):
        # what a candidate must show of the usual area falls, while the likeness it must show rises (below).
        least = FOUND_AREA * max(FOUND_AREA_LEAST, 1 - self._lost_for / LONG_LOST)
        looks = self._steps % LOOK_EVERY == 0
        found = None
        for box in (tracked, self._match(rgb)):
            if box is None:
                continue
            placed = _placed(self._shape, box)
            # (measured against the shape's size there: the object may have come nearer or gone away)
            if ((self._colour_odds(rgb) > 0) & (placed > 0.5)).sum() >= least * (placed > 0.5).sum() > 0:
                found = placed
                break
        if found is None and self._classes and self._segmenter is not None and looks:
            found = self._class_blob(rgb, least)
        if found is None:
            found = self._colour_blob(rgb, least)
        # Soon after it went out of sight, where it is and its size say much; the longer it has been gone (or after a
        # cut), the more what it looks like must say so too: its likeness must reach a share of the usual that grows
        # from nothing to RELOCK_LIKENESS over LONG_LOST frames. (Counted from when it was last seen at all, not
        # surely: a rider zooming past the camera is unsure for 20 frames, and his follower, gated from then on,
        # lost him: J 0.45 -> 0.25. A step at LONG_LOST rather than a ramp let running_car.mp4's white car, lost
        # 14 frames into the next shot, be taken back on a hut.)
        share = RELOCK_LIKENESS * (1.0 if self._unseen_since_cut else min(1.0, self._lost_for / LONG_LOST))
        if found is not None and not self._looks_like_itself(rgb, found > 0.5, share):
            # The tracker's box and the colours may point at something else by now (NanoTrack's box left on what
            # hid the object): the features get a look of their own, over the whole frame.
            found = self._likeness_blob(rgb, least) if looks and self._appearance is not None else None
            if found is not None and not self._looks_like_itself(rgb, found > 0.5, share):
                found = None
        if found is not None:
            self._unseen_since_cut = False
            self._tracker = nanotrack(*self._models)
            self._tracker.init(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), bounding_box(found > 0.5))
        return found

    def _class_blob(self, rgb: np.ndarray, least: float) -> np.ndarray | None:
        """The segmenter's blob of the object's classes nearest its usual size (and place), if one is close
        (at least ``least`` alike in size, :func:`_blob_like`)."""
        height, width = rgb.shape[:2]
        probs = class_probs(self._segmenter, rgb, (0, 0, width, height))[..., self._classes].sum(axis=2)
        return _blob_like(probs > 0.5, self._area, self._shape, least)

    def _colour_blob(self, rgb: np.ndarray, least: float) -> np.ndarray | None:
        """The blob of clearly object-coloured pixels nearest the object's usual size, if one is close to it."""
        odds = cv2.GaussianBlur(self._colour_odds(rgb), (0, 0), 1.5)
        return _blob_like(_opened(odds > BLOB_ODDS), self._area, self._shape, least)

    def _likeness_blob(self, rgb: np.ndarray, least: float) -> np.ndarray | None:
        """The blob of what the network's features find like the object over the whole frame nearest its usual
        size, if one is close to it."""
        height, width = rgb.shape[:2]
        likeness, _ = self._likeness(rgb, (0, 0, width, height))
        return _blob_like(_opened(likeness > LIKENESS_BLOB), self._area, self._shape, least)

    def _match(self, rgb: np.ndarray) -> tuple[int, int, int, int] | None:
        """The box whose picture best matches the object's first appearance, if it matches well."""
        patch = self._template
        if patch.shape[0] >= rgb.shape[0] or patch.shape[1] >= rgb.shape[1]:
            return None
        scores = cv2.matchTemplate(rgb, patch, cv2.TM_CCOEFF_NORMED)
        _, best, _, (x, y) = cv2.minMaxLoc(scores)
        return (x, y, patch.shape[1], patch.shape[0]) if best >= MATCH_SCORE else None

    def _refined(self, rgb: np.ndarray, prior: np.ndarray, box: tuple[int, int, int, int] | None,
                 motion: np.ndarray | None = None) -> tuple[np.ndarray, float | None]:
        """The carried mask pulled to the object's edges by colour (and class, and motion), kept near the
        tracker's box; and its mean likeness (:mod:`unseen.track.appearance`) when the network looked."""
        height, width = prior.shape
        reach = bounding_box(prior >= 0.5) or box
        if reach is None:
            return np.zeros(prior.shape, bool), None
        if box is not None:
            reach = _union(reach, box)
        x0, y0, x1, y1 = context_box(reach, width, height, CROP_CONTEXT, CROP_EXTRA)
        soft = cv2.GaussianBlur(prior[y0:y1, x0:x1], (0, 0), PRIOR_BLUR)
        carried = _logit(soft)
        odds = carried + COLOUR_WEIGHT * self._colour_odds(rgb[y0:y1, x0:x1])
        if motion is not None:
            odds += motion[y0:y1, x0:x1]
        likeness = None
        if self._steps % LOOK_EVERY == 0:
            looked, likeness = self._looked(rgb, (x0, y0, x1, y1))
            odds += looked
            if likeness is not None:
                odds -= np.where(likeness < 0, np.maximum(carried - UNLIKE_CARRIED, 0.0), 0.0)
        if box is not None:
            odds -= BOX_WEIGHT * _beyond(box, (x0, y0, x1, y1), prior, likeness)
        inside = _tidy(odds > 0, soft > 0.5)
        mask = np.zeros(prior.shape, bool)
        mask[y0:y1, x0:x1] = inside
        return mask, float(likeness[inside].mean()) if likeness is not None and inside.any() else None

    def _looked(self, rgb: np.ndarray, crop: tuple[int, int, int, int]) -> tuple[np.ndarray | float,
                                                                                 np.ndarray | None]:
        """Log-odds over ``crop`` (x0, y0, x1, y1) from one pass of the network: its class, where the object
        is of a known class, and how like the object's first patches each patch is; and that likeness alone
        (None without the network's features)."""
        odds: np.ndarray | float = 0.0
        probs, likeness = None, None
        if self._appearance is not None:
            likeness, probs = self._likeness(rgb, crop, self._classes)
            odds = LIKENESS_WEIGHT * np.maximum(likeness, LIKENESS_NO)
        elif self._classes and self._segmenter is not None:
            probs = class_probs(self._segmenter, rgb, crop)[..., self._classes].sum(axis=2)
        if probs is not None:
            # The class says yes firmly and no only softly: what the user boxed may hold more than the class
            # (a shadow, a carried bag), which the first mask kept and the class alone would cut away.
            odds = odds + CLASS_WEIGHT * np.maximum(_logit(probs), CLASS_NO)
        return odds, likeness

    def _colour_odds(self, rgb: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        """Log-odds that each pixel is the object, by colour alone (clipped to +-3)."""
        index = _bin_index(rgb)
        odds = np.log((self._fg[index] + 1e-4) / (self._bg[index] + 1e-4))
        odds = np.clip(odds, -3.0, 3.0).astype(np.float32)
        return odds if where is None else np.where(where, odds, -3.0)

    def _learn(self, rgb: np.ndarray, mask: np.ndarray, area: float, likeness: float | None) -> None:
        fg, bg = _histograms(rgb, mask, bounding_box(mask))
        self._fg = (1 - HISTORY) * self._fg + HISTORY * fg
        self._bg = (1 - HISTORY) * self._bg + HISTORY * bg
        self._area = (1 - HISTORY) * self._area + HISTORY * area
        self._shape = mask
        # Only from frames that look like the object: a mask sliding onto another car through a dissolve is "sure"
        # by its size and colours, and taught its likeness to the usual (running_car.mp4: 2.4 -> 0.99 in 30
        # frames), after which a hut passed for the white car.
        usual = self._usual_likeness
        if likeness is not None and (usual is None or likeness >= RELOCK_LIKENESS * usual):
            self._usual_likeness = likeness if usual is None else (1 - HISTORY) * usual + HISTORY * likeness

    def _looks_like_itself(self, rgb: np.ndarray, mask: np.ndarray, share: float) -> bool:
        """Whether ``mask`` (a candidate where the lost object may be again) looks to the network's features as
        the object did while it was surely followed: its mean likeness at least ``share`` of the usual. Without
        the features, or before a sure look, every candidate passes.

        Colours, the tracker's box and the class cannot tell the object from another of its kind: in a rally
        video (``running_car.mp4``), a white car's follower, its car gone for good, took a hut, trees and other
        cars in later shots, whose likeness was 0.1-0.4 log-odds against the white car's usual 1.5-2.5."""
        usual = self._usual_likeness
        box = bounding_box(mask)
        if self._appearance is None or usual is None or usual <= 0 or box is None:
            return True
        # Seen over a crop of the size it was last seen in: the network's patches must match the scale its patches
        # were learnt at (a crop around a part of it, zoomed in, looked unlike it: libby, 0.32 -> -0.1 log-odds).
        box = _grown_to(box, bounding_box(self._shape) or box)
        x0, y0, x1, y1 = crop = context_box(box, mask.shape[1], mask.shape[0], CROP_CONTEXT, CROP_EXTRA)
        likeness, _ = self._likeness(rgb, crop)
        return float(likeness[mask[y0:y1, x0:x1]].mean()) >= share * usual

    def _likeness(self, rgb: np.ndarray, crop: tuple[int, int, int, int],
                  classes: list[int] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """One pass of the network over ``crop`` (x0, y0, x1, y1): how like the object's first patches each pixel's
        patch is (log-odds, :mod:`unseen.track.appearance`), and the probability of ``classes`` when given."""
        x0, y0, x1, y1 = crop
        features, probs = look_at(self._appearance.network, np.ascontiguousarray(rgb[y0:y1, x0:x1]),
                                  classes=classes or ())
        return self._appearance.odds(features, (x1 - x0, y1 - y0)), probs


def motion_odds(flow: np.ndarray, carried: np.ndarray, unsure: np.ndarray) -> np.ndarray:
    """Log-odds that each pixel is the object by its motion (``flow``, this frame to the last): the camera's
    motion is a homography fitted away from the ``carried`` mask; a pixel that moves with it loses
    :data:`MOTION_WEIGHT`, one that moves as the object does (its median motion) gains a quarter of that.
    Zero where the flow failed its round trip (``unsure``), and everywhere when the object moves as the
    background does.

    On the 18 clips of ``bench/track.py`` (2026-12-01): mean J 0.608 -> 0.623, coverage 0.835 -> 0.839; half as
    much for "object" as against: J 0.618, coverage 0.843 (a swan's reflection, moving with it, joined it:
    J 0.85 -> 0.65); against only: J 0.628, coverage 0.831."""
    odds = np.zeros(carried.shape, np.float32)
    away = cv2.dilate((carried > 0.2).astype(np.uint8), np.ones((9, 9), np.uint8)) == 0
    core = (carried > 0.8) & ~unsure
    if core.sum() < 20:
        return odds
    matrix = camera_motion(flow, away & ~unsure)
    if matrix is None:
        return odds
    ys, xs = np.indices(carried.shape)
    relative = flow - homography_motion(matrix, xs.ravel(), ys.ravel()).reshape(flow.shape)
    own = np.median(relative[core], axis=0)
    speed = float(np.linalg.norm(own))
    if speed < MOTION_LEAST:
        return odds
    # Closer to the object's motion than to the camera's: the object; the other way round: not. Said only
    # softly for "object": a reflection or a near rock's parallax moves unlike the camera too.
    likeness = _length(relative) - _length(relative - own.astype(np.float32))
    odds = MOTION_WEIGHT * np.clip(likeness / speed, MOTION_NO, MOTION_YES)
    odds[unsure] = 0
    return odds.astype(np.float32)


def _length(vectors: np.ndarray) -> np.ndarray:
    """The length of each 2-vector of an H x W x 2 float32 field (a tenth of ``np.linalg.norm``'s time)."""
    return cv2.magnitude(np.ascontiguousarray(vectors[..., 0]), np.ascontiguousarray(vectors[..., 1]))


def _logit(probability: np.ndarray) -> np.ndarray:
    """Log-odds of a probability map, kept within about +-3.5 (no cue is ever sure)."""
    p = np.clip(probability, 0.03, 0.97)
    return np.log(p / (1 - p))


def _first_appearance(rgb: np.ndarray, mask: np.ndarray, box: tuple[int, int, int, int],
                      network) -> Appearance | None:
    """The object's patches on its first frame, over the crop later frames are looked at with; None without a
    network to lend features, or when the object is too small to give patches."""
    if network is None or LIKENESS_WEIGHT == 0:
        return None
    x0, y0, x1, y1 = context_box(box, mask.shape[1], mask.shape[0], CROP_CONTEXT, CROP_EXTRA)
    appearance = Appearance(network, np.ascontiguousarray(rgb[y0:y1, x0:x1]), mask[y0:y1, x0:x1])
    return appearance if appearance.usable else None


def _opened(mask: np.ndarray) -> np.ndarray:
    """``mask`` without its specks (a 3x3 opening)."""
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0


def _blob_like(mask: np.ndarray, area: float, last: np.ndarray, least: float) -> np.ndarray | None:
    """The blob of ``mask`` most like the object (its usual ``area``; the nearer its ``last`` mask, the
    better), as a float mask; None if none is at least ``least`` alike in size (the smaller of the two areas
    over the larger)."""
    count, labels, stats, centres = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    if count < 2:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    fit = np.minimum(areas / area, area / areas)
    ys, xs = np.nonzero(last)
    if len(xs):
        distance = np.hypot(centres[1:, 0] - xs.mean(), centres[1:, 1] - ys.mean()) / max(mask.shape)
        fit = np.where(fit >= least, fit - distance, fit)
    best = int(np.argmax(fit))
    return (labels == best + 1).astype(np.float32) if fit[best] >= least else None


def _bin_index(rgb: np.ndarray) -> np.ndarray:
    q = (rgb >> 4).astype(np.int32)  # 16 bins per channel
    return (q[..., 0] * BINS + q[..., 1]) * BINS + q[..., 2]


def _histograms(rgb: np.ndarray, mask: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Normalised colour histograms of the object and of a band around it (what it must be told from)."""
    height, width = mask.shape
    x0, y0, x1, y1 = context_box(box, width, height, 0.3, 12)
    index = _bin_index(rgb[y0:y1, x0:x1])
    inside = mask[y0:y1, x0:x1]
    # The outline's pixels are mixtures (and the mask's errors): a band along it teaches neither model.
    band = np.ones((2 * EDGE_BAND + 1,) * 2, np.uint8)
    core = cv2.erode(inside.astype(np.uint8), band) > 0
    around = cv2.dilate(inside.astype(np.uint8), band) == 0
    if core.sum() < 0.3 * inside.sum():
        core, around = inside, ~inside
    fg = np.bincount(index[core], minlength=BINS ** 3).astype(np.float32)
    bg = np.bincount(index[around], minlength=BINS ** 3).astype(np.float32)
    # Neighbouring bins share: a colour seen once is likely near others not seen.
    fg, bg = (_spread(h) for h in (fg, bg))
    return fg / max(fg.sum(), 1.0), bg / max(bg.sum(), 1.0)


def _spread(hist: np.ndarray) -> np.ndarray:
    cube = hist.reshape(BINS, BINS, BINS)
    for axis in range(3):
        cube = 0.5 * cube + 0.25 * (np.roll(cube, 1, axis) + np.roll(cube, -1, axis))
    return cube.reshape(-1)


def _tidy(mask: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """Only the blobs that overlap ``seed`` (where the object was carried to), small holes filled."""
    count, blobs, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    if count > 2:
        keep = np.unique(blobs[seed & mask])
        if len(keep) == 0:  # nothing where it was carried: keep the largest blob
            keep = [1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))]
        mask = np.isin(blobs, keep)
    closed = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    return closed > 0


def _outside(box: tuple[int, int, int, int], crop: tuple[int, int, int, int]) -> np.ndarray:
    """How far (in units of the box's slack) each crop pixel lies beyond the tracker box; 0 within the slack."""
    x, y, w, h = box
    x0, y0, x1, y1 = crop
    slack_x, slack_y = BOX_SLACK * w + 4, BOX_SLACK * h + 4
    xs = np.arange(x0, x1, dtype=np.float32)
    ys = np.arange(y0, y1, dtype=np.float32)
    dx = np.maximum(0, np.maximum(x - slack_x - xs, xs - (x + w + slack_x))) / slack_x
    dy = np.maximum(0, np.maximum(y - slack_y - ys, ys - (y + h + slack_y))) / slack_y
    return np.maximum(dy[:, None], dx[None, :])


def _beyond(box: tuple[int, int, int, int], crop: tuple[int, int, int, int], prior: np.ndarray,
            likeness: np.ndarray | None) -> np.ndarray:
    """How far each pixel of ``crop`` lies beyond the tracker's ``box`` (:func:`_outside`), except what the
    flow carried there (``prior``) and looks like the object (``likeness``, when the network looked), within
    :data:`BEYOND_REACH` of the box's size.

    NanoTrack's box follows a growing object's size slowly (motocross-jump's bike grew 7x in width in 16
    frames, its box 1.6x), and the mask was cut to it. Further out, a mask that kept what the flow carried
    ran away: through running_car.mp4's dissolve it spread over a third of the frame."""
    x0, y0, x1, y1 = crop
    beyond = _outside(box, crop)
    x, y, w, h = box
    reach = (round(x - BEYOND_REACH * w), round(y - BEYOND_REACH * h), round((1 + 2 * BEYOND_REACH) * w),
             round((1 + 2 * BEYOND_REACH) * h))
    kept = (prior[y0:y1, x0:x1] > 0.5) & (_outside(reach, crop) == 0)
    if likeness is not None:
        kept &= likeness >= 0
    return np.where(kept, 0, beyond)


def _union(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return x0, y0, x1 - x0, y1 - y0


def _placed(shape: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The mask ``shape`` scaled into ``box`` (float, frame size)."""
    own = bounding_box(shape)
    out = np.zeros(shape.shape, np.float32)
    x, y, w, h = box
    x0, y0, x1, y1 = max(0, x), max(0, y), min(shape.shape[1], x + w), min(shape.shape[0], y + h)
    if own is None or x1 <= x0 or y1 <= y0:
        return out
    ox, oy, ow, oh = own
    piece = cv2.resize(shape[oy:oy + oh, ox:ox + ow].astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    out[y0:y1, x0:x1] = piece[y0 - y:y1 - y, x0 - x:x1 - x]
    return out


def _grown_to(box: tuple[int, int, int, int], size: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """``box`` grown about its centre to at least the width and height of ``size`` (a box too)."""
    x, y, w, h = box
    width, height = max(w, size[2]), max(h, size[3])
    return x - (width - w) // 2, y - (height - h) // 2, width, height


def _template(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = box
    return np.ascontiguousarray(rgb[y:y + h, x:x + w])

