"""The training data of ``unseen train segmenter``: image/mask folders, COCO JSON, frame folders of videos.

:func:`open_segmentation_data` tells the format from what the folder holds, names the classes, splits
train from val and checks that the files are there and that the first pair of each split is consistent, so
that a problem with the data is reported when it is opened and not in the middle of an epoch;
:meth:`SegmentationData.check` reads every pair before the first one. Samples hold paths and small
tables, never arrays: they pickle cheaply into DataLoader workers.
"""

from __future__ import annotations

import json
import os
import random
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image, ImageColor
from pycocotools import mask as coco_mask

from unseen.errors import InputError
from unseen.media.frames import list_images, natural_key
from unseen.media.image import IMAGE_SUFFIXES, read_image
from unseen.nets.espnetv2 import IMAGENET_MEAN, IMAGENET_STD

IGNORE = 255
# What binary masks call their object when --classes does not name it.
OBJECT = "object"
# Masks read at open time to tell binary, index and colour-coded masks apart (spread over the whole set).
SURVEY_SIZE = 32
LOSSY_SUFFIXES = (".jpg", ".jpeg")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_PALETTE = 3
EXIF_ORIENTATION = 0x0112


# ---------------------------------------------------------------------------------------------- reading


def _png_colour_type(data: np.ndarray) -> int | None:
    """The IHDR colour type of PNG bytes (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA), else None."""
    if data.size < 26 or data[:8].tobytes() != PNG_SIGNATURE:
        return None
    return int(data[25])


def _mask_to_uint8(path: Path, mask: np.ndarray) -> np.ndarray:
    """Masks as ``uint8``; 16-bit ones only where no value is lost (values up to 255, or 0/65535)."""
    if mask.dtype == np.uint8:
        return mask
    if mask.dtype == np.uint16:
        if mask.max() <= 255:
            return mask.astype(np.uint8)
        if np.isin(mask, (0, 65535)).all():
            return (mask // 257).astype(np.uint8)
    raise InputError(f"{path}: a {mask.dtype} mask with values above 255; save masks as 8-bit PNGs "
                     "(a class index or 0/255 per pixel)")


def _read_mask_file(path: Path) -> tuple[np.ndarray, str]:
    """A mask as ``HxW`` (grey, palette index or R=G=B) or ``HxWx3`` RGB ``uint8``, and how it was stored."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    data = np.fromfile(path, dtype=np.uint8)
    if _png_colour_type(data) == PNG_PALETTE:
        # OpenCV expands palettes to colours; the indices are the labels (VOC-style masks).
        with Image.open(path) as image:
            return np.asarray(image, dtype=np.uint8), "palette"
    mask = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if mask is None:
        raise InputError(f"{path}: not a readable image (empty, truncated or of an unknown format)")
    mask = _mask_to_uint8(path, mask)
    if mask.ndim == 2:
        return mask, "grey"
    bgr = mask[..., :3]  # an alpha channel carries no label
    if (bgr[..., 0] == bgr[..., 1]).all() and (bgr[..., 1] == bgr[..., 2]).all():
        return np.ascontiguousarray(bgr[..., 0]), "rgb-grey"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), "rgb"


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) of an image as :func:`unseen.media.image.read_image` returns it, from its header only."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError) as error:
        raise InputError(f"{path}: not a readable image ({error})") from None
    # read_image turns photos upright; orientations 5-8 swap the sides.
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _pack(rgb: np.ndarray) -> np.ndarray:
    """RGB triples (``...x3``) as one integer ``0xRRGGBB`` each."""
    rgb = rgb.astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _unpack(colour: int) -> tuple[int, int, int]:
    return (colour >> 16) & 255, (colour >> 8) & 255, colour & 255


# ---------------------------------------------------------------------------------------------- codings


@dataclass(frozen=True)
class _ValueCoding:
    """Grey, palette or R=G=B masks: each pixel value is looked up in a 256-entry table (-1: not a class)."""

    table: tuple[int, ...]
    hint: str  # what the valid values are, for messages

    def labels(self, path: Path) -> np.ndarray:
        mask, stored = _read_mask_file(path)
        if stored == "rgb":
            raise InputError(f"{path}: a colour-coded mask (R, G and B differ) among grey index masks; "
                             "save every mask with the same coding")
        labels = np.asarray(self.table, dtype=np.int16)[mask]
        if (labels < 0).any():
            value = int(mask[labels < 0][0])
            raise InputError(f"{path}: pixel value {value} is not a class ({self.hint})")
        return labels.astype(np.uint8)


@dataclass(frozen=True)
class _ColourCoding:
    """Colour-coded masks: each pixel's RGB colour (packed, sorted) maps to a label."""

    colours: tuple[int, ...]
    labels_of: tuple[int, ...]
    hint: str

    def labels(self, path: Path) -> np.ndarray:
        mask, _ = _read_mask_file(path)
        packed = mask.astype(np.int32) * 0x010101 if mask.ndim == 2 else _pack(mask)
        keys = np.asarray(self.colours, dtype=np.int32)
        where = np.searchsorted(keys, packed).clip(0, len(keys) - 1)
        unknown = keys[where] != packed
        if unknown.any():
            colour = _unpack(int(packed[unknown][0]))
            raise InputError(f"{path}: colour {colour} is not a class colour ({self.hint})")
        return np.asarray(self.labels_of, dtype=np.uint8)[where]


@dataclass(frozen=True)
class _MaskFile:
    """Labels from a mask file."""

    path: Path
    coding: _ValueCoding | _ColourCoding

    @property
    def where(self) -> str:
        return str(self.path)

    def read(self) -> np.ndarray:
        return self.coding.labels(self.path)


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


# ---------------------------------------------------------------------------------------------- samples


@dataclass(frozen=True)
class Sample:
    """One training pair: an image file and where its labels come from (a mask file or COCO shapes).

    ``relabel`` (256 entries) maps the data's labels to the kept classes when ``classes=`` chose some.
    """

    name: str
    image: Path
    target: _MaskFile | _CocoShapes
    relabel: tuple[int, ...] | None = None

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """The image (``HxWx3`` RGB ``uint8``) and its labels (``HxW`` ``uint8``: class index, 255 ignore)."""
        rgb = read_image(self.image)
        labels = self._labels()
        self._check_size(rgb.shape[1], rgb.shape[0], labels)
        return rgb, labels

    def check(self) -> None:
        """Read the labels and the image's header; ``InputError`` on anything that :meth:`load` would hit."""
        labels = self._labels()
        self._check_size(*image_size(self.image), labels)

    def _labels(self) -> np.ndarray:
        labels = self.target.read()
        return labels if self.relabel is None else np.asarray(self.relabel, np.uint8)[labels]

    def _check_size(self, width: int, height: int, labels: np.ndarray) -> None:
        if labels.shape != (height, width):
            raise InputError(f"{self.target.where}: labels are {labels.shape[1]}x{labels.shape[0]} but the image "
                             f"{self.image} is {width}x{height}; masks must match their images pixel for pixel")


@dataclass(kw_only=True)
class SegmentationData:
    """Training data, opened and checked: class names, the splits, and what was found (for the log)."""

    classes: tuple[str, ...]
    ignore_index: int = IGNORE
    train: list[Sample]
    val: list[Sample]
    test: list[Sample] = field(default_factory=list)
    format: str = ""
    notes: list[str] = field(default_factory=list)

    def check(self, limit: int | None = None) -> None:
        """Read every train and val pair (masks fully, images' headers); ``InputError`` on the first bad one.

        Parameters
        ----------
        limit
            Check at most this many pairs (all when None).
        """
        for sample in (self.train + self.val)[:limit]:
            sample.check()


class SegmentationDataset(torch.utils.data.Dataset):
    """Samples as ``(3xHxW float32 ImageNet-normalised image, HxW int64 labels)`` after ``transform``.

    Parameters
    ----------
    samples
        The pairs to serve (``SegmentationData.train`` or ``.val``).
    transform
        An albumentations transform called as ``transform(image=rgb, mask=labels)`` (see
        :mod:`unseen.train.augment`), or None to serve the pairs as they are.
    """

    def __init__(self, samples: Sequence[Sample], transform: Callable[..., dict] | None = None) -> None:
        self.samples = list(samples)
        self.transform = transform
        self._mean = np.asarray(IMAGENET_MEAN, np.float32) * 255
        self._std = np.asarray(IMAGENET_STD, np.float32) * 255

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rgb, labels = self.samples[index].load()
        if self.transform is not None:
            out = self.transform(image=rgb, mask=labels)
            rgb, labels = out["image"], out["mask"]
        x = (rgb.astype(np.float32) - self._mean) / self._std
        return (torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))),
                torch.from_numpy(labels.astype(np.int64)))


# ---------------------------------------------------------------------------------------------- classes.json


@dataclass
class _ClassSpec:
    """What a ``classes.json`` says: class names with their mask values and colours, and what is ignored."""

    source: Path
    names: list[str]
    values: list[int]
    colours: list[tuple[int, int, int] | None]
    ignore_values: set[int]
    ignore_colours: list[tuple[int, int, int]]


def _parse_colour(source: Path, name: str, colour: Any) -> tuple[int, int, int] | None:
    if colour is None:
        return None
    try:
        if isinstance(colour, str):
            return ImageColor.getrgb(colour)[:3]
        if len(colour) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in colour):
            return tuple(colour)
    except (TypeError, ValueError):
        pass
    raise InputError(f'{source}: class {name!r} has colour {colour!r}; give "color_rgb": [r, g, b] (0-255)')


def _class_entry(source: Path, index: int, entry: Any, seed_colours: list) -> tuple[str, int, Any]:
    """(name, value, colour) of the ``index``-th entry: a name, or an object with name, value and colour."""
    colour = seed_colours[index] if index < len(seed_colours) else None
    if isinstance(entry, str):
        name, value = entry, index
    elif isinstance(entry, dict):
        name, value = entry.get("name"), entry.get("value", index)
        colour = entry.get("color_rgb", entry.get("color", colour))
    else:
        name = value = None
    if not isinstance(name, str) or not name or not isinstance(value, int) or not 0 <= value <= 255:
        raise InputError(f'{source}: class {index} is {entry!r}; give a name, or {{"value": 0-255, "name": '
                         '"...", "color_rgb": [r, g, b]}')
    return name, value, _parse_colour(source, name, colour)


def _read_class_spec(path: Path) -> _ClassSpec | None:
    """The ``classes.json`` at ``path`` (formats of seg-street, seg-multiclass and a plain name list)."""
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: not readable JSON ({error})") from None
    entries = document.get("classes") if isinstance(document, dict) else document
    if not isinstance(entries, list) or not entries:
        raise InputError(f'{path}: needs a "classes" list of names, or of {{"value", "name", "color_rgb"}}')
    options = document if isinstance(document, dict) else {}
    ignore = options.get("ignore_value", options.get("ignore_index"))
    ignore_values = set(ignore if isinstance(ignore, list) else [] if ignore is None else [ignore])
    spec = _ClassSpec(path, [], [], [], ignore_values, [])
    for index, entry in enumerate(entries):
        name, value, colour = _class_entry(path, index, entry, options.get("seed_colors") or [])
        if value in ignore_values:
            spec.ignore_colours += [colour] if colour else []
            continue
        if name in spec.names or value in spec.values:
            raise InputError(f"{path}: class {name!r} (value {value}) is listed twice")
        spec.names.append(name)
        spec.values.append(value)
        spec.colours.append(colour)
    if ignore is None and IGNORE not in spec.values:
        spec.ignore_values.add(IGNORE)  # the usual void value, unless it names a class
    return spec


# ---------------------------------------------------------------------------------------------- mask survey


@dataclass
class _Survey:
    """What a spread of masks holds: per file, its grey values or colours, and how masks are stored."""

    grey: dict[Path, np.ndarray] = field(default_factory=dict)  # value -> pixel count (256 entries)
    colour: dict[Path, set[int]] = field(default_factory=dict)  # packed colours of colour-coded masks
    stored: set[str] = field(default_factory=set)

    def grey_counts(self) -> np.ndarray:
        return sum(self.grey.values(), np.zeros(256, np.int64))

    def keys(self) -> dict[Path, set[int]]:
        """Every surveyed file's pixels as packed colours (grey v as (v, v, v))."""
        keys = {path: {v * 0x010101 for v in np.flatnonzero(counts)} for path, counts in self.grey.items()}
        return keys | self.colour


def _survey(masks: Sequence[Path]) -> _Survey:
    picks = np.unique(np.linspace(0, len(masks) - 1, min(SURVEY_SIZE, len(masks))).round().astype(int))
    survey = _Survey()
    for index in picks:
        mask, stored = _read_mask_file(masks[index])
        survey.stored.add(stored)
        if mask.ndim == 2:
            survey.grey[masks[index]] = np.bincount(mask.ravel(), minlength=256)
        else:
            survey.colour[masks[index]] = set(np.unique(_pack(mask)).tolist())
    return survey


@dataclass
class _Coding:
    """How masks turn into labels: the coding, the class names, and words for the log."""

    coding: _ValueCoding | _ColourCoding
    classes: tuple[str, ...]
    kind: str
    notes: list[str] = field(default_factory=list)
    binary: bool = False


def _first_unknown(keys: dict[Path, set[int]], known: set[int]) -> tuple[Path, int] | None:
    for path, found in keys.items():
        extra = sorted(found - known)
        if extra:
            return path, extra[0]
    return None


def _grey_kind(survey: _Survey) -> str:
    if "palette" in survey.stored:
        return "palette PNGs"
    return "RGB index masks (R=G=B)" if "rgb-grey" in survey.stored else "index PNGs"


def _value_coding(spec: _ClassSpec, survey: _Survey) -> _Coding:
    table = [-1] * 256
    for label, value in enumerate(spec.values):
        table[value] = label
    for value in spec.ignore_values:
        table[value] = IGNORE
    hint = (f"{spec.source.name} gives values {_ranges(spec.values)}, ignore {_ranges(sorted(spec.ignore_values))}; "
            "fix the mask or add the value to classes.json")
    grey = {path: set(np.flatnonzero(counts).tolist()) for path, counts in survey.grey.items()}
    unknown = _first_unknown(grey, {v for v in range(256) if table[v] >= 0})
    if unknown:
        raise InputError(f"{unknown[0]}: pixel value {unknown[1]} is not a class ({hint})")
    return _Coding(_ValueCoding(tuple(table), hint), tuple(spec.names), _grey_kind(survey))


def _colour_coding(spec: _ClassSpec, survey: _Survey) -> _Coding:
    missing = [name for name, colour in zip(spec.names, spec.colours, strict=True) if colour is None]
    if missing:
        where = next(iter(survey.colour), spec.source)
        raise InputError(f"{where}: colour-coded masks, but {spec.source.name} gives no colour for class "
                         f"{missing[0]!r}; add \"color_rgb\": [r, g, b] to every class")
    table = {_pack(np.asarray(c)).item(): label for label, c in enumerate(spec.colours)}
    table |= {_pack(np.asarray(c)).item(): IGNORE for c in spec.ignore_colours}
    hint = f"{spec.source.name} gives {len(table)} colours; fix the mask or add the colour to classes.json"
    unknown = _first_unknown(survey.keys(), set(table))
    if unknown:
        raise InputError(f"{unknown[0]}: colour {_unpack(unknown[1])} is not a class colour ({hint})")
    colours = sorted(table)
    coding = _ColourCoding(tuple(colours), tuple(table[c] for c in colours), hint)
    return _Coding(coding, tuple(spec.names), "colour-coded masks")


def _coding_from_spec(spec: _ClassSpec, survey: _Survey) -> _Coding:
    if survey.colour:
        return _colour_coding(spec, survey)
    known = set(spec.values) | spec.ignore_values
    seen = set(np.flatnonzero(survey.grey_counts()).tolist())
    colours = {_pack(np.asarray(c)).item() for c in spec.colours + spec.ignore_colours if c is not None}
    # Grey masks are index masks, unless only the colours explain them (a colour-coded set whose colours
    # happen to be grey, e.g. CamVid's sky (128, 128, 128) and void (0, 0, 0)).
    if not seen <= known and all(c is not None for c in spec.colours) and {v * 0x010101 for v in seen} <= colours:
        return _colour_coding(spec, survey)
    return _value_coding(spec, survey)


def _binary_coding(value: int, name: str, soft: bool) -> _Coding:
    table = [-1] * 256
    table[0] = 0
    table[value] = 1
    if soft:
        table = [int(v >= 128) for v in range(256)]
    hint = f"binary masks hold 0 and {value} only; fix the mask, or add a classes.json naming every value"
    kind = "soft binary masks (thresholded at 128)" if soft else f"binary masks (0/{value})"
    return _Coding(_ValueCoding(tuple(table), hint), ("background", name), kind, binary=True)


def _is_soft(counts: np.ndarray) -> bool:
    """Anti-aliased 0/255 masks: mostly 0 and 255, with many rare values in between along the edges."""
    between = counts[1:255]
    return bool(counts[0] and counts[255] and np.count_nonzero(between) > 16
                and between.sum() < 0.1 * counts.sum())


def _coding_without_spec(survey: _Survey, classes: Sequence[str] | None, where: Path) -> _Coding:
    if survey.colour:
        found = set().union(*survey.keys().values()) - {0}
        if len(found) != 1:
            raise InputError(f"{next(iter(survey.colour))}: colour-coded masks ({len(found) + 1} colours) need a "
                             f"classes.json in {where} giving each class's \"color_rgb\"")
        colour = found.pop()
        hint = f"binary masks hold black and {_unpack(colour)} only; fix the mask, or add a classes.json"
        coding = _ColourCoding((0, colour), (0, 1), hint)
        kind = f"binary masks (black/{_unpack(colour)})"
        return _Coding(coding, ("background", _object_name(classes, where)), kind, binary=True)
    counts = survey.grey_counts()
    values = np.flatnonzero(counts[1:]) + 1
    if len(values) <= 1:
        return _binary_coding(int(values[0]) if len(values) else 255, _object_name(classes, where), False)
    if _is_soft(counts):
        return _binary_coding(255, _object_name(classes, where), True)
    return _index_without_names(values, survey, where)


def _index_without_names(values: np.ndarray, survey: _Survey, where: Path) -> _Coding:
    top = int(values[values != IGNORE].max())
    table = [v if v <= top else -1 for v in range(256)]
    table[IGNORE] = IGNORE
    names = tuple(f"class_{v}" for v in range(top + 1))
    note = f"no classes.json in {where}: classes named class_0..class_{top}, 255 ignored; add one to name them"
    hint = f"the masks read at opening hold values 0-{top} and 255 (ignore); add a classes.json naming every value"
    return _Coding(_ValueCoding(tuple(table), hint), names, _grey_kind(survey), [note])


def _ranges(values: Sequence[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2, 5"``."""
    parts: list[str] = []
    for value in values:
        if parts and value == int(parts[-1].split("-")[-1]) + 1:
            parts[-1] = f"{parts[-1].split('-')[0]}-{value}"
        else:
            parts.append(str(value))
    return ", ".join(parts) or "none"


# ---------------------------------------------------------------------------------------------- class subset


def _object_name(classes: Sequence[str] | None, where: Path) -> str:
    names = [c for c in classes or () if c != "background"]
    if len(names) > 1:
        raise InputError(f"{where}: binary masks hold one class, but {len(names)} were asked for ({', '.join(names)}); "
                         "give one name")
    return names[0] if names else OBJECT


def _subset(names: tuple[str, ...], wanted: Sequence[str], source: Path) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The kept classes (background first) and the table from the data's labels to theirs."""
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise InputError(f"{source}: has no class {unknown[0]!r}; its classes are {', '.join(names)}")
    kept = tuple(dict.fromkeys(name for name in wanted if name != "background"))
    table = [0] * 256  # labelled pixels of the other classes become background
    table[IGNORE] = IGNORE
    for label, name in enumerate(names):
        if name in kept:
            table[label] = kept.index(name) + 1
    return ("background", *kept), tuple(table)


# ---------------------------------------------------------------------------------------------- splits


def _check_ratio(val_ratio: float) -> None:
    if not 0 < val_ratio < 1:
        raise InputError(f"val_ratio must be between 0 and 1 (the share of the data held out), got {val_ratio}")


def _held_out(count: int, val_ratio: float, where: Path, what: str) -> int:
    if count < 2:
        raise InputError(f"{where}: only {count} {what}; at least 2 are needed to train on one and validate "
                         "on another")
    return min(count - 1, max(1, round(count * val_ratio)))


def _random_split(names: list[str], val_ratio: float, seed: int, where: Path) -> tuple[list[str], list[str]]:
    """A seeded split of ``names`` (kept in their order), the same for the same names, ratio and seed."""
    order = sorted(names)
    random.Random(seed).shuffle(order)
    val = set(order[:_held_out(len(names), val_ratio, where, "image")])
    return [n for n in names if n not in val], [n for n in names if n in val]


def _read_split(path: Path, stems: set[str], required: bool = True) -> list[str]:
    """The stems listed in a split file (one a line; an extension or folder before them is allowed)."""
    if not path.is_file():
        if required:
            raise InputError(f"{path}: missing; splits/ needs train.txt and val.txt (or remove splits/ to "
                             "split at random)")
        return []
    names = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        name = Path(entry).name
        stem = Path(name).stem if Path(name).suffix.lower() in IMAGE_SUFFIXES else name
        if stem not in stems:
            raise InputError(f"{path}: line {number} names {entry!r}, which is not in images/")
        names.append(stem)
    if required and not names:
        raise InputError(f"{path}: lists no images; put one image name a line")
    return list(dict.fromkeys(names))


def _file_splits(root: Path, stems: list[str]) -> tuple[list[str], list[str], list[str]]:
    known = set(stems)
    train, val = (_read_split(root / "splits" / f"{name}.txt", known) for name in ("train", "val"))
    test = _read_split(root / "splits" / "test.txt", known, required=False)
    both = set(train) & set(val)
    if both:
        raise InputError(f"{root / 'splits' / 'val.txt'}: {sorted(both)[0]!r} is also in train.txt; an image "
                         "trained on cannot measure the training")
    return train, val, test


# ---------------------------------------------------------------------------------------------- folders


def _masks_by_stem(folder: Path) -> dict[str, Path]:
    masks: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES or path.name.startswith("."):
            continue
        if path.stem in masks:
            raise InputError(f"{path}: two masks are named {path.stem!r} ({masks[path.stem].name}); keep one")
        masks[path.stem] = path
    return masks


def _mask_of(image: Path, masks: dict[str, Path]) -> Path | None:
    mask = masks.get(image.stem)
    if mask is not None and mask.suffix.lower() in LOSSY_SUFFIXES:
        raise InputError(f"{mask}: JPEG masks lose their exact values; save masks as PNG")
    return mask


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


def _mask_samples(named: list[tuple[str, Path, Path]], spec: _ClassSpec | None, classes: Sequence[str] | None,
                  where: Path) -> tuple[dict[str, Sample], tuple[str, ...], _Coding]:
    """Samples by name from (name, image, mask) triples: the coding told from a survey of the masks."""
    survey = _survey([mask for _, _, mask in named])
    coding = _coding_without_spec(survey, classes, where) if spec is None else _coding_from_spec(spec, survey)
    names, relabel = coding.classes, None
    if classes and not coding.binary:
        names, relabel = _subset(coding.classes, classes, spec.source if spec else where)
        coding.kind += f" ({len(names) - 1} of {len(coding.classes)} classes kept, the rest background)"
    samples = {name: Sample(name, image, _MaskFile(mask, coding.coding), relabel) for name, image, mask in named}
    return samples, names, coding


def _open_folder(path: Path, classes: Sequence[str] | None, val_ratio: float, seed: int) -> SegmentationData:
    pairs = _pairs(path / "images", path / "masks")
    samples, names, coding = _mask_samples([(i.stem, i, m) for i, m in pairs],
                                           _read_class_spec(path / "classes.json"), classes, path)
    stems = [image.stem for image, _ in pairs]
    if (path / "splits").is_dir():
        train, val, test = _file_splits(path, stems)
        how = "splits/"
    else:
        (train, val), test = _random_split(stems, val_ratio, seed, path), []
        how = f"random split, seed {seed}"
    data = SegmentationData(classes=names, train=[samples[s] for s in train], val=[samples[s] for s in val],
                            test=[samples[s] for s in test], notes=coding.notes)
    data.format = (f"image/mask folder, {coding.kind}, {len(names)} classes, {how} ({len(train)} train, "
                   f"{len(val)} val{f', {len(test)} test' if test else ''})")
    return data


# ---------------------------------------------------------------------------------------------- video clips


def _has_images(folder: Path) -> bool:
    return any(p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir())


def _clip_pairs(clip: Path, notes: list[str]) -> list[tuple[str, Path, Path]]:
    """A clip's (name, frame, mask) triples; frames without a mask are skipped (sparse annotation is usual)."""
    if not (clip / "masks").is_dir():
        notes.append(f"{clip.name}: no masks/ folder, skipped")
        return []
    masks = _masks_by_stem(clip / "masks")
    frames = list_images(clip)
    triples = [(f"{clip.name}/{f.stem}", f, m) for f in frames if (m := _mask_of(f, masks))]
    if len(triples) < len(frames):
        notes.append(f"{clip.name}: {len(frames) - len(triples)} of {len(frames)} frames have no mask, skipped")
    return triples


def _clip_split(clips: dict[str, list[str]], val_ratio: float, seed: int,
                where: Path) -> tuple[list[str], list[str], str]:
    """Whole clips to val (seeded) until they hold ``val_ratio`` of the frames; one clip: its last frames."""
    if len(clips) == 1:
        frames = next(iter(clips.values()))
        held = _held_out(len(frames), val_ratio, where, "annotated frame")
        return frames[:-held], frames[-held:], f"last {held} frames to val"
    order = sorted(clips)
    random.Random(seed).shuffle(order)
    total = sum(len(frames) for frames in clips.values())
    val_clips: list[str] = []
    for name in order[:-1]:  # at least one clip stays for training
        if sum(len(clips[c]) for c in val_clips) >= val_ratio * total:
            break
        val_clips.append(name)
    train = [f for name, frames in clips.items() if name not in val_clips for f in frames]
    val = [f for name, frames in clips.items() if name in val_clips for f in frames]
    return train, val, f"split by clip, seed {seed}: {len(clips) - len(val_clips)} train, {len(val_clips)} val clips"


def _open_clips(path: Path, classes: Sequence[str] | None, val_ratio: float, seed: int) -> SegmentationData:
    single = _has_images(path)
    folders = [path] if single else sorted((p for p in path.iterdir() if p.is_dir() and _has_images(p)),
                                           key=natural_key)
    notes: list[str] = []
    clips = {folder.name: triples for folder in folders if (triples := _clip_pairs(folder, notes))}
    if not clips:
        raise InputError(f"{path}: no frames with masks; a clip is a folder of frames with masks/ inside it "
                         "holding a PNG of the same name per frame")
    named = [triple for triples in clips.values() for triple in triples]
    samples, names, coding = _mask_samples(named, _read_class_spec(path / "classes.json"), classes, path)
    frames = {clip: [name for name, _, _ in triples] for clip, triples in clips.items()}
    train, val, how = _clip_split(frames, val_ratio, seed, path)
    data = SegmentationData(classes=names, train=[samples[n] for n in train], val=[samples[n] for n in val],
                            notes=notes + coding.notes)
    data.format = (f"frame folders, {len(clips)} clip{'s' * (len(clips) > 1)}, {coding.kind}, {len(names)} "
                   f"classes, {how} ({len(train)} train, {len(val)} val frames)")
    return data


# ---------------------------------------------------------------------------------------------- COCO


def _load_coco(path: Path) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: not readable JSON ({error})") from None
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
        train, val = _random_split(list(by_name), val_ratio, seed, first)
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


# ---------------------------------------------------------------------------------------------- entry point


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
    if _has_images(path) or any(p.is_dir() and _has_images(p) for p in path.iterdir()):
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
