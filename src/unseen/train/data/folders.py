"""Image/mask folders: ``images/`` and ``masks/`` (same names), maybe ``classes.json`` and ``splits/``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from unseen.errors import InputError
from unseen.media.frames import list_images
from unseen.train.data.classes import _read_class_spec
from unseen.train.data.coding import _mask_samples
from unseen.train.data.masks import _mask_of, _masks_by_stem
from unseen.train.data.samples import SegmentationData
from unseen.train.data.splits import _file_splits, random_split


def _pairs(images_dir: Path, masks_dir: Path) -> list[tuple[Path, Path]]:
    """(image, mask) pairs matched by name; ``InputError`` for an image without its mask."""
    masks = _masks_by_stem(masks_dir)
    pairs = []
    for image in list_images(images_dir):
        mask = _mask_of(image, masks)
        if mask is None:
            raise InputError(f"{image}: no mask {masks_dir / image.stem}.png; every image needs a mask of the "
                             "same name")
        pairs.append((image, mask))
    return pairs


def _open_folder(path: Path, classes: Sequence[str] | None, val_ratio: float, seed: int) -> SegmentationData:
    pairs = _pairs(path / "images", path / "masks")
    samples, names, coding = _mask_samples([(i.stem, i, m) for i, m in pairs],
                                           _read_class_spec(path / "classes.json"), classes, path)
    stems = [image.stem for image, _ in pairs]
    if (path / "splits").is_dir():
        train, val, test = _file_splits(path, stems)
        how = "splits/"
    else:
        (train, val), test = random_split(stems, val_ratio, seed, path), []
        how = f"random split, seed {seed}"
    data = SegmentationData(classes=names, train=[samples[s] for s in train], val=[samples[s] for s in val],
                            test=[samples[s] for s in test], notes=coding.notes)
    data.format = (f"image/mask folder, {coding.kind}, {len(names)} classes, {how} ({len(train)} train, "
                   f"{len(val)} val{f', {len(test)} test' if test else ''})")
    return data
