"""Folders of frames: one image file per frame, in name order."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from unseen.errors import InputError
from unseen.media.frame import Frame
from unseen.media.image import IMAGE_SUFFIXES, read_image


def natural_key(path: Path) -> list:
    """Sort key that puts ``frame2`` before ``frame10``, as a file browser does."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


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


def read_frames(files: list[Path]) -> Iterator[Frame]:
    """Decode image files one at a time as frames named by their stems."""
    for index, path in enumerate(files):
        yield Frame(read_image(path), index, path.stem)
