"""COCO instances JSON: one file split at random, or train and val files; labels drawn from the shapes."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from unseen.errors import InputError
from unseen.train.data.classes import _read_json, _subset
from unseen.train.data.samples import IGNORE, Sample, SegmentationData
from unseen.train.data.splits import random_split


@dataclass(frozen=True)
class _CocoShapes:
    """Labels drawn from COCO annotations: the union of each class's instances, crowd regions ignored."""

    where: str
    height: int
    width: int
    shapes: tuple[tuple[int, Any, bool], ...]  # (label, segmentation, iscrowd)

    def read(self) -> np.ndarray:
        labels = np.zeros((self.height, self.width), np.uint8)
        # Crowd regions first: the outlined instances inside them are certain and win.
        for label, segmentation, crowd in sorted(self.shapes, key=lambda shape: not shape[2]):
            labels[_coco_mask(segmentation, self.height, self.width) > 0] = IGNORE if crowd else label
        return labels


def _coco_mask(segmentation: Any, height: int, width: int) -> np.ndarray:
    """One annotation's mask, as pycocotools' ``COCO.annToMask`` makes it (polygons, RLE, compressed RLE)."""
    if isinstance(segmentation, list):
        if not segmentation:
            return np.zeros((height, width), np.uint8)
        rle = coco_mask.merge(coco_mask.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation["counts"], list):
        rle = coco_mask.frPyObjects(segmentation, height, width)
    else:
        rle = segmentation
    with warnings.catch_warnings():
        # pycocotools' NumPy 2 deprecation notice, once per mask: noise in every training log.
        warnings.simplefilter("ignore", DeprecationWarning)
        return coco_mask.decode(rle)


# ---------------------------------------------------------------------------------------------- opening


def _load_coco(path: Path) -> dict:
    document = _read_json(path)
    if not isinstance(document, dict) or not all(isinstance(document.get(k), list)
                                                 for k in ("images", "annotations", "categories")):
        raise InputError(f"{path}: not a COCO instances file (it needs images, annotations and categories lists)")
    return document


def _coco_files(path: Path) -> list[Path]:
    """The COCO JSON files ``path`` names or holds (annotations/instances_*.json first), maybe none."""
    if path.is_file():
        return [path]
    folder = path / "annotations"
    candidates = sorted(folder.glob("instances_*.json")) or sorted(folder.glob("*.json")) if folder.is_dir() else []
    return candidates or [p for p in sorted(path.glob("*.json")) if p.name != "classes.json"]


def _coco_splits(files: list[Path], where: Path) -> dict[str, Path]:
    """Split name -> JSON: one file (split at random), or files named after train and val."""
    if len(files) == 1:
        return {"all": files[0]}
    named = {split: [f for f in files if split in f.stem.lower()] for split in ("train", "val")}
    if all(len(found) == 1 for found in named.values()):
        return {split: found[0] for split, found in named.items()}
    raise InputError(f"{where}: several annotation files ({', '.join(f.name for f in files)}); open the one to "
                     "train on, or name them *train*.json and *val*.json")


def _coco_categories(document: dict, path: Path, wanted: Sequence[str] | None) -> dict[int, tuple[int, str]]:
    """Category id -> (label, name) for the chosen categories, labels from 1 in the order asked for."""
    by_name = {c.get("name"): c.get("id") for c in document["categories"]}
    names = list(dict.fromkeys(wanted)) if wanted else list(by_name)
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise InputError(f"{path}: no category {unknown[0]!r}; it has {', '.join(map(str, by_name))}")
    return {by_name[name]: (label, name) for label, name in enumerate(names, 1)}


_IMAGE_FIELDS = {"file_name": str, "height": int, "width": int}


def _coco_segmentation(path: Path, annotation: dict, height: int, width: int) -> Any:
    """An annotation's segmentation, checked for shape (degenerate polygons dropped); ``InputError`` if unusable."""
    segmentation = annotation.get("segmentation")
    if isinstance(segmentation, list) and segmentation and all(isinstance(p, list) for p in segmentation):
        return [p for p in segmentation if len(p) >= 6]  # fewer than 3 points cover no pixel
    if isinstance(segmentation, dict) and "counts" in segmentation:
        if list(segmentation.get("size", ())) != [height, width]:
            raise InputError(f"{path}: annotation {annotation.get('id')} has an RLE of size "
                             f"{segmentation.get('size')} on an image of {height}x{width} (height, width)")
        return segmentation
    raise InputError(f"{path}: annotation {annotation.get('id')} has no polygons or RLE mask; segmentation "
                     "training needs a \"segmentation\" in every annotation")


def _coco_image_root(path: Path, root: Path, file_name: str) -> Path:
    split = path.stem.split("_")[-1]  # instances_train2017.json -> train2017/
    bases = [root, root / "images", root / split, root / "images" / split, path.parent, path.parent / "images"]
    bases = list(dict.fromkeys(bases))
    for base in bases:
        if (base / file_name).is_file():
            return base
    raise InputError(f"{path}: image {file_name} not found in {', '.join(map(str, bases))}; put the images in "
                     "images/ beside the annotations")


def _coco_samples(path: Path, document: dict, root: Path, categories: dict[int, tuple[int, str]],
                  notes: list[str]) -> list[Sample]:
    images = {image.get("id"): image for image in document["images"]}
    shapes: dict[Any, list] = {}
    for annotation in document["annotations"]:
        if annotation.get("category_id") not in categories:
            continue
        image = images.get(annotation.get("image_id"))
        if image is None or not all(isinstance(image.get(k), t) for k, t in _IMAGE_FIELDS.items()):
            raise InputError(f"{path}: annotation {annotation.get('id')} is on image {annotation.get('image_id')}, "
                             "which is not listed with its file_name, height and width")
        segmentation = _coco_segmentation(path, annotation, image["height"], image["width"])
        label = categories[annotation["category_id"]][0]
        shapes.setdefault(image["id"], []).append((label, segmentation, bool(annotation.get("iscrowd"))))
    kept = [i for i in images if any(not crowd for _, _, crowd in shapes.get(i, ()))]
    if len(kept) < len(images):
        notes.append(f"{path.name}: {len(images) - len(kept)} of {len(images)} images hold none of the chosen "
                     "categories (crowds aside), skipped")
    if not kept:
        raise InputError(f"{path}: no image holds the chosen categories")
    base = _coco_image_root(path, root, images[kept[0]]["file_name"])
    return [_coco_sample(path, base, images[i], shapes[i]) for i in kept]


def _coco_sample(path: Path, base: Path, image: dict, shapes: list) -> Sample:
    file = base / image["file_name"]
    if not file.is_file():
        raise InputError(f"{path}: image {image['file_name']} is listed but {file} is missing")
    target = _CocoShapes(f"{path} (image {image['file_name']})", image["height"], image["width"], tuple(shapes))
    return Sample(str(Path(image["file_name"]).with_suffix("")), file, target)


def _open_coco(path: Path, files: list[Path], categories: Sequence[str] | None, classes: Sequence[str] | None,
               val_ratio: float, seed: int) -> SegmentationData:
    root = path if path.is_dir() else path.parent.parent if path.parent.name == "annotations" else path.parent
    splits = _coco_splits(files, path)
    documents = {split: _load_coco(file) for split, file in splits.items()}
    first = next(iter(splits.values()))
    chosen = _coco_categories(next(iter(documents.values())), first, categories)
    notes: list[str] = []
    samples = {split: _coco_samples(splits[split], document, root, chosen, notes)
               for split, document in documents.items()}
    if "all" in samples:
        by_name = {s.name: s for s in samples.pop("all")}
        train, val = random_split(list(by_name), val_ratio, seed, first)
        samples = {"train": [by_name[n] for n in train], "val": [by_name[n] for n in val]}
        how = f"random split, seed {seed}"
    else:
        how = "train/val files"
    names = ("background", *(name for _, name in chosen.values()))
    data = SegmentationData(classes=names, train=samples["train"], val=samples["val"], notes=notes)
    if classes:
        data.classes, relabel = _subset(names, classes, first)
        data.train, data.val = ([_relabelled(s, relabel) for s in split] for split in (data.train, data.val))
    data.format = (f"COCO {', '.join(f.name for f in splits.values())}, {len(names) - 1} categories (crowds "
                   f"ignored), {len(data.classes)} classes, {how} ({len(data.train)} train, {len(data.val)} val)")
    return data


def _relabelled(sample: Sample, relabel: tuple[int, ...]) -> Sample:
    return Sample(sample.name, sample.image, sample.target, relabel)
