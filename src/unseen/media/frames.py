"""Folders of frames: one image file per frame, in name order; or of photos, each a picture of its own."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from unseen.errors import InputError
from unseen.media.frame import Frame
from unseen.media.image import IMAGE_SUFFIXES, decode_image, read_image, read_image_and_original
from unseen.media.metadata import read_metadata

# Median mean grey-level change (0-255) between neighbouring thumbnails, at most, of a folder that is one
# video's frames. Measured on 32x32 thumbnails: neighbouring frames of the DAVIS and ProPainter clips in
# ../shared change by 2-16 (19 at most, a BMX rider passing trees), unrelated photos by 35-70.
SEQUENCE_MAX_CHANGE = 25.0
_SAMPLED_PAIRS = 8  # neighbours compared, spread over the folder: enough to tell, cheap on any length
_THUMBNAIL = (32, 32)


def natural_key(path: Path) -> list:
    """Sort key that puts ``frame2`` before ``frame10``, as a file browser does."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def has_images(folder: Path) -> bool:
    """Whether ``folder`` holds an image file (its sub-folders are not looked into)."""
    return any(p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir())


def list_images(folder: str | os.PathLike) -> list[Path]:
    """The image files in ``folder``, sorted by name; ``InputError`` if there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    files = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                    and not p.name.startswith(".")), key=natural_key)
    if not files:
        raise InputError(f"{folder}: holds no images ({', '.join(IMAGE_SUFFIXES)})")
    stems = [p.stem for p in files]
    if len(set(stems)) != len(stems):
        duplicate = next(s for s in stems if stems.count(s) > 1)
        raise InputError(f"{folder}: two images share the name {duplicate!r}; output frames would collide")
    return files


def read_frames(files: list[Path], keep_original: bool = False) -> Iterator[Frame]:
    """Decode image files one at a time as frames named by their stems; with ``keep_original``, frames of
    files with alpha or 16 bits per channel carry those pixels as :attr:`Frame.original`, and every frame its
file's EXIF and colour profile as :attr:`Frame.metadata`."""
    for index, path in enumerate(files):
        if keep_original:
            image, original = read_image_and_original(path)
            yield Frame(image, index, path.stem, original=original, metadata=read_metadata(path))
        else:
            yield Frame(read_image(path), index, path.stem)


def _thumbnail(path: Path) -> np.ndarray:
    # A reduced decode: JPEGs are decoded at an eighth of their size, which is all a thumbnail needs. OpenCV
    # fails on images under 8 pixels a side that way: those are decoded whole (they are tiny anyway).
    try:
        grey = decode_image(path, cv2.IMREAD_REDUCED_GRAYSCALE_8)
    except cv2.error:
        grey = decode_image(path, cv2.IMREAD_GRAYSCALE)
    return cv2.resize(grey, _THUMBNAIL, interpolation=cv2.INTER_AREA).astype(np.float32)


def looks_like_sequence(files: list[Path]) -> bool:
    """Whether images of one size are frames of one video rather than unrelated photos.

    Neighbouring frames of a video look alike; neighbouring photos do not: a few neighbouring pairs, spread
    over the folder, are compared on small thumbnails, and their median change decides (a scene cut or
    two in a video do not sway it).
    """
    if len(files) < 2:
        return True
    starts = np.unique(np.linspace(0, len(files) - 2, min(_SAMPLED_PAIRS, len(files) - 1)).round().astype(int))
    changes = [float(np.abs(_thumbnail(files[i]) - _thumbnail(files[i + 1])).mean()) for i in starts]
    return float(np.median(changes)) <= SEQUENCE_MAX_CHANGE
