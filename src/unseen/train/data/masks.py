"""Mask files: found beside their images, read whatever way they were saved, turned into labels by a coding.

A coding (:class:`_ValueCoding` for grey, palette and R=G=B masks, :class:`_ColourCoding` for colour-coded
ones) is chosen once when the data is opened (:mod:`.coding`) and applied to every mask as it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from unseen.errors import InputError
from unseen.media.image import IMAGE_SUFFIXES

LOSSY_SUFFIXES = (".jpg", ".jpeg")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_PALETTE = 3


# ---------------------------------------------------------------------------------------------- finding


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
