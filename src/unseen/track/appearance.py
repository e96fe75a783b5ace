"""What the object looks like to a network: nearest neighbours among deep features (as FEELVOS matches).

The class segmenter's encoder (ESPNetv2, trained on ImageNet and PASCAL VOC) describes each 8x8 patch of
a crop by a vector; patches of one object resemble each other across frames far more than their colours
do (a rider's dark clothes against dark trees, a dancer against a crowd in the same colours). The object's
patches on its prompt's frame, and their surroundings, are kept; on a later frame each patch is scored by
how much closer its nearest neighbour among the object's patches is than among the surroundings'.

Measured before building it (the first frame's true mask, every 3rd frame of 8 tuning clips, patches
around the object): this score tells object from surroundings with an AUC of 0.93-0.996 per clip, where
the follower's colour histograms reach 0.57-0.99 (motocross-jump 0.93 against 0.57).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch import nn

from unseen.nets.runtime import espnetv2_pass
from unseen.segment.base import Segmenter, to_frame
from unseen.segment.espnetv2 import DEFAULT_SIZE, network_input

# The crop's longer side as the network sees it: the class segmenter's own, so that one pass serves both; and
# as the crop is the object's box plus a margin, its patches keep their size across frames.
SIDE = DEFAULT_SIZE
MEMORY = 1024  # at most this many patches kept of the object and of its surroundings each
SURE_OBJECT, SURE_AROUND = 0.7, 0.1  # a patch's share of mask to count as the object / its surroundings
# The nearest-neighbour similarity gap (cosine, typically within +-0.3) that counts as one log-odds.
GAP_SCALE = 0.05
ODDS_LIMIT = 3.0


def network_of(segmenter: Segmenter | None) -> nn.Module | None:
    """The ESPNetv2 network inside ``segmenter`` (its encoder gives the features), or None for a segmenter
    that has none to lend."""
    model = getattr(segmenter, "model", None)
    usable = isinstance(getattr(model, "base_net", None), nn.Module) and callable(getattr(model, "decode", None))
    return model if usable else None


@torch.inference_mode()
def look_at(network: nn.Module, rgb: np.ndarray,
            classes: Sequence[int] = ()) -> tuple[torch.Tensor, np.ndarray | None]:
    """h x w x C unit vectors (a CPU tensor), one per 8x8 patch of ``rgb`` seen at :data:`SIDE` px (encoder
    levels 3 and 4), and, when ``classes`` are given, the network's probability that each pixel is of one of
    them (H x W, ``rgb``'s size), from the same pass."""
    height, width = rgb.shape[:2]
    x = network_input(network, rgb, SIDE)
    level3, level4, logits = espnetv2_pass(network, x, logits=bool(classes))
    level4 = nn.functional.interpolate(level4, size=level3.shape[2:], mode="bilinear", align_corners=False)
    features = nn.functional.normalize(torch.cat([level3, level4], 1), dim=1)[0].permute(1, 2, 0).float().cpu()
    if logits is None:
        return features, None
    # The softmax over each channel's plane, summed over the classes, before resizing one map instead of 21:
    # a third of the time of a softmax over the channels and a resize of them all.
    exp = torch.exp(logits[0] - logits[0].amax(0))
    probability = (exp[list(classes)].sum(0) / exp.sum(0)).float().cpu().numpy()
    return features, to_frame(probability, width, height)


def _share(mask: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Each patch's share of ``mask`` on a grid of (h, w) patches."""
    return cv2.resize(mask.astype(np.float32), grid[::-1], interpolation=cv2.INTER_AREA)


def _some(rows: torch.Tensor, count: int, rng: np.random.Generator) -> torch.Tensor:
    return rows if len(rows) <= count else rows[torch.from_numpy(rng.choice(len(rows), count, replace=False))]


class Appearance:
    """The object's patches and its surroundings' on one frame, to score the patches of later frames.

    Parameters
    ----------
    network
        From :func:`network_of`.
    rgb, mask
        A crop around the object (the object and some of its surroundings) and its mask there.
    """

    def __init__(self, network: nn.Module, rgb: np.ndarray, mask: np.ndarray) -> None:
        self.network = network
        features, _ = look_at(network, rgb)
        share = torch.from_numpy(_share(mask, tuple(features.shape[:2])))
        rng = np.random.default_rng(0)
        self._object = _some(features[share >= SURE_OBJECT], MEMORY, rng)
        self._around = _some(features[share <= SURE_AROUND], MEMORY, rng)

    @property
    def usable(self) -> bool:
        """Whether both the object and its surroundings gave patches (a tiny object gives none)."""
        return len(self._object) > 0 and len(self._around) > 0

    @torch.inference_mode()
    def odds(self, features: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
        """Log-odds (float32, within +-:data:`ODDS_LIMIT`, at ``size`` = (w, h) of the crop) that each pixel
        of a crop is the object, by its patch's nearest neighbours; ``features`` of the crop from
        :func:`look_at`."""
        # In torch, which runs on the threads the segmenter was given (numpy's BLAS would spin its own).
        flat = features.reshape(-1, features.shape[2])
        gap = (flat @ self._object.T).amax(dim=1) - (flat @ self._around.T).amax(dim=1)
        odds = (gap / GAP_SCALE).clamp(-ODDS_LIMIT, ODDS_LIMIT).reshape(features.shape[:2]).numpy()
        return cv2.resize(odds.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)


@torch.inference_mode()
def unlike_surroundings(network: nn.Module, rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Bool mask (``rgb``'s size) of what in ``box`` (x, y, w, h) looks unlike everything around the box: each
    patch's distance to its nearest neighbour among the patches outside the box, split in two by Otsu's
    threshold over the box. Colours cannot tell a giraffe from the dirt and grass it stands on (GrabCut keeps
    nothing); the network's features can. ``rgb`` must show some of the surroundings around the box."""
    height, width = rgb.shape[:2]
    x, y, w, h = box
    in_box = np.zeros((height, width), bool)
    in_box[y:y + h, x:x + w] = True
    features, _ = look_at(network, rgb)
    around = features[torch.from_numpy(_share(in_box, tuple(features.shape[:2]))) <= SURE_AROUND]
    if not len(around):
        return in_box
    flat = features.reshape(-1, features.shape[2])
    nearest = (flat @ around.T).amax(dim=1).reshape(features.shape[:2]).numpy()
    distance = cv2.resize((1 - nearest).astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    scaled = np.clip(distance * (255 / max(float(distance[in_box].max()), 1e-6)), 0, 255).astype(np.uint8)
    level, _ = cv2.threshold(scaled[in_box], 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return in_box & (scaled > level)
