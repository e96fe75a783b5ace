"""Training pairs for the inpainter, made on the fly: a clean background (the truth) and a hole in it.

Seed 000 pasted car cut-outs on street photos and asked for the street back. Here the hole is what the
generator must fill, so what counts of a cut-out is its shape: holes are cut-out silhouettes (alpha,
grown by a few pixels as ``remove`` grows masks) at random places and scales, or, so the model is not
only a car eraser, free-form strokes and boxes (LaMa's training masks). Backgrounds get the seed's
augmentations (albumentations: rain, sun flare, fog, shadow, RGB shift, blur, crop and resize), drawn from
the sample's seed alone, so a resumed run sees exactly the same pairs.
"""

from __future__ import annotations

import os
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from unseen.errors import InputError
from unseen.media.frames import list_images
from unseen.media.image import read_image

HOLE_GROWTH = 3  # pixels a silhouette is grown by (remove's default dilation for masks is of this order)
OBJECT_SIDE = (0.2, 0.6)  # a pasted silhouette's longer side, as a share of the crop
MIN_HOLE, MAX_HOLE = 0.02, 0.35  # hole area, as a share of the crop, that a free-form mask aims at


def list_pictures(folder: str | os.PathLike, what: str) -> list[Path]:
    """The images of a folder (and its sub-folders), sorted; ``InputError`` when there are none."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: no such folder of {what}")
    files = sorted(p for sub in [root, *sorted(p for p in root.rglob("*") if p.is_dir())] for p in list_images(sub))
    if not files:
        raise InputError(f"{root}: holds no images ({what})")
    return files


def split_names(files: list[Path], val_ratio: float, seed: int) -> tuple[list[Path], list[Path]]:
    """A seeded split of ``files``: (train, val), at least one of each."""
    if len(files) < 2:
        raise InputError(f"{files[0].parent}: one image is too few to train and validate on")
    order = np.random.default_rng(seed).permutation(len(files))
    held = min(max(1, round(val_ratio * len(files))), len(files) - 1)
    return [files[i] for i in sorted(order[held:])], [files[i] for i in sorted(order[:held])]


def background_transform(size: int, augment: bool) -> A.Compose:
    """A ``size`` x ``size`` crop of a background, with the seed's weather and colour changes in training."""
    if not augment:
        return A.Compose([A.SmallestMaxSize(max_size=size), A.CenterCrop(size, size)])
    return A.Compose([
        A.SmallestMaxSize(max_size=size),
        A.RandomResizedCrop(size=(size, size), scale=(0.35, 1.0), ratio=(0.75, 1.33)),
        A.HorizontalFlip(),
        A.OneOf([A.RandomRain(), A.RandomSunFlare(src_radius=max(8, size // 6)), A.RandomFog(), A.RandomShadow()],
                p=0.3),
        A.RGBShift(r_shift_limit=15, g_shift_limit=15, b_shift_limit=15, p=0.3),
        A.Blur(blur_limit=3, p=0.1),
    ])


def silhouette_hole(alpha: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A cut-out's shape (its alpha) scaled and placed at random in a ``size`` x ``size`` hole map."""
    ys, xs = np.nonzero(alpha > 127)
    if not len(ys):
        return free_form_hole(size, rng)
    shape = alpha[ys.min():ys.max() + 1, xs.min():xs.max() + 1] > 127
    side = rng.uniform(*OBJECT_SIDE) * size
    scale = side / max(shape.shape)
    h, w = max(1, round(shape.shape[0] * scale)), max(1, round(shape.shape[1] * scale))
    shape = cv2.resize(shape.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    if rng.random() < 0.5:
        shape = shape[:, ::-1]
    hole = np.zeros((size, size), np.uint8)
    y, x = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
    hole[y:y + h, x:x + w] = shape
    grow = 2 * HOLE_GROWTH + 1
    return cv2.dilate(hole, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow))) > 0


def free_form_hole(size: int, rng: np.random.Generator) -> np.ndarray:
    """Random thick strokes and boxes covering about 2-35 % of a ``size`` x ``size`` map (LaMa-style)."""
    hole = np.zeros((size, size), np.uint8)
    target = rng.uniform(MIN_HOLE, MAX_HOLE)
    for _ in range(40):
        if hole.mean() >= target:
            break
        if rng.random() < 0.3:  # a box
            h, w = (int(v) for v in rng.integers(size // 10, size // 3, 2))
            y, x = rng.integers(0, size - h), rng.integers(0, size - w)
            hole[y:y + h, x:x + w] = 1
            continue
        x, y = rng.integers(0, size, 2)
        width = int(rng.integers(size // 40 + 2, size // 10 + 3))
        for _ in range(int(rng.integers(2, 6))):  # a stroke of a few segments
            angle, length = rng.uniform(0, 2 * np.pi), rng.integers(size // 10, size // 3)
            x2 = int(np.clip(x + length * np.cos(angle), 0, size - 1))
            y2 = int(np.clip(y + length * np.sin(angle), 0, size - 1))
            cv2.line(hole, (int(x), int(y)), (x2, y2), 1, width)
            x, y = x2, y2
    return hole > 0


class InpaintPairs(Dataset):
    """``(image, hole)``: the background as N x 3 x size x size in [-1, 1] and the hole as 1 x size x size
    (1 = to fill). Training items are fetched as ``(index, seed)``; validation items by index (their hole
    and crop fixed by the index, so every validation sees the same pairs).

    Parameters
    ----------
    backgrounds, objects
        Image files; objects are RGBA cut-outs (their alpha is the silhouette).
    size
        Side of the square crops.
    augment
        Training augmentations (else a centre crop).
    free_form
        Share of holes that are strokes and boxes rather than silhouettes (all of them without objects).
    """

    def __init__(self, backgrounds: list[Path], objects: list[Path], size: int, augment: bool,
                 free_form: float = 0.5) -> None:
        self.backgrounds, self.objects, self.size = backgrounds, objects, size
        self.free_form = free_form if objects else 1.0
        self.transform = background_transform(size, augment)

    def __len__(self) -> int:
        return len(self.backgrounds)

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = item if isinstance(item, tuple) else (item, item)
        rng = np.random.default_rng(seed)
        self.transform.set_random_seed(int(seed))
        image = self.transform(image=read_image(self.backgrounds[index]))["image"]
        if rng.random() < self.free_form:
            hole = free_form_hole(self.size, rng)
        else:
            cut = cv2.imread(str(self.objects[int(rng.integers(len(self.objects)))]), cv2.IMREAD_UNCHANGED)
            alpha = cut[..., 3] if cut is not None and cut.ndim == 3 and cut.shape[2] == 4 else None
            hole = silhouette_hole(alpha, self.size, rng) if alpha is not None else free_form_hole(self.size, rng)
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 127.5 - 1
        return tensor, torch.from_numpy(hole).float()[None]
