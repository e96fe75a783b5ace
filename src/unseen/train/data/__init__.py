"""The training data of ``unseen train segmenter``: image/mask folders, COCO JSON, frame folders of videos.

:func:`open_segmentation_data` tells the format from what the folder holds, names the classes, splits
train from val and checks that the files are there and that the first pair of each split is consistent, so
that a problem with the data is reported when it is opened and not in the middle of an epoch;
:meth:`SegmentationData.check` reads every pair before the first one. Samples hold paths and small
tables, never arrays: they pickle cheaply into DataLoader workers.

Where each part lives: :mod:`.samples` (what training reads), :mod:`.folders`, :mod:`.clips` and
:mod:`.coco` (the formats), :mod:`.masks` (reading mask files), :mod:`.classes` (``classes.json`` and
class subsets), :mod:`.coding` (telling how masks code their classes), :mod:`.splits` (train/val).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from unseen.errors import InputError
from unseen.media.frames import has_images
from unseen.train.data.classes import OBJECT
from unseen.train.data.clips import _open_clips
from unseen.train.data.coco import _coco_files, _open_coco
from unseen.train.data.folders import _open_folder
from unseen.train.data.samples import IGNORE, Sample, SegmentationData, SegmentationDataset, image_size
from unseen.train.data.splits import _check_ratio

__all__ = ["IGNORE", "OBJECT", "Sample", "SegmentationData", "SegmentationDataset", "image_size",
           "open_segmentation_data"]


def _kind(path: Path) -> str:
    if path.is_file():
        return "coco" if path.suffix.lower() == ".json" else "unknown"
    if (path / "images").is_dir() and (path / "masks").is_dir():
        return "folder"
    if _coco_files(path):
        return "coco"
    if (path / "images").is_dir():
        raise InputError(f"{path}: images/ but no masks/ beside it; put a mask PNG per image in masks/ (same "
                         "names), or a COCO JSON in annotations/")
    if has_images(path) or any(p.is_dir() and has_images(p) for p in path.iterdir()):
        return "clips"
    return "unknown"


def _check_first(data: SegmentationData) -> None:
    """Read the first pair of each split fully: a wrong layout shows now, not in the first epoch."""
    for split in (data.train, data.val, data.test):
        if split:
            split[0].load()


def open_segmentation_data(path: str | os.PathLike, *, classes: Sequence[str] | None = None,
                           coco_categories: Sequence[str] | None = None, val_ratio: float = 0.15,
                           seed: int = 0) -> SegmentationData:
    """Open training data for a segmenter, telling its format from what ``path`` holds.

    Parameters
    ----------
    path
        A folder with ``images/`` and ``masks/`` (binary, index, R=G=B or colour-coded masks with a
        ``classes.json``; optional ``splits/train.txt``, ``val.txt``, ``test.txt``); a COCO instances JSON
        or a folder holding one with its images; or a frame folder with ``masks/`` inside, or a folder of
        such clips.
    classes
        Keep only these classes (the others become ``background``, label 0); for binary masks, the name of
        the object class.
    coco_categories
        COCO category names to train on (all when None).
    val_ratio
        Share held out for validation where the data gives no split (whole clips for several clips).
    seed
        Seed of that split: the same data, ratio and seed give the same split.

    Returns
    -------
    SegmentationData
        Classes, train/val/test samples, a one-line description and notes on what was skipped.

    Raises
    ------
    InputError
        A missing or unreadable file, an image without its mask, sizes that differ, a value or colour
        that is no class, an empty split, or a folder that holds none of these formats.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    _check_ratio(val_ratio)
    kind = _kind(path)
    if coco_categories and kind != "coco":
        raise InputError(f"{path}: coco_categories applies to COCO JSON data; choose classes with classes=")
    if kind == "folder":
        data = _open_folder(path, classes, val_ratio, seed)
    elif kind == "coco":
        data = _open_coco(path, _coco_files(path), coco_categories, classes, val_ratio, seed)
    elif kind == "clips":
        data = _open_clips(path, classes, val_ratio, seed)
    else:
        raise InputError(f"{path}: no training data found; give a folder with images/ and masks/, a COCO JSON "
                         "(or its folder), or frame folders with masks/ inside")
    _check_first(data)
    return data
