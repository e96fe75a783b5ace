"""Read and write still images as RGB ``uint8`` arrays (RGBA too, for outputs with transparency)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from unseen.errors import InputError
from unseen.media.atomic import atomic_file

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
# Outputs that keep an alpha channel. The video containers are listed here too (video.py picks their
# codecs) so that images, folders and videos all answer with the same message.
ALPHA_IMAGE_SUFFIXES = (".png", ".webp", ".tif", ".tiff")
ALPHA_VIDEO_SUFFIXES = (".webm", ".mov")


def check_transparency(path: str | os.PathLike) -> None:
    """``InputError`` unless a file named ``path`` (or a frame folder of that format) can hold an alpha channel."""
    suffix = Path(path).suffix.lower()
    if suffix not in ALPHA_IMAGE_SUFFIXES + ALPHA_VIDEO_SUFFIXES:
        raise InputError(f"{path}: {suffix or 'this output'} cannot hold transparency; write "
                         f"{', '.join(ALPHA_IMAGE_SUFFIXES)} images or frames, or a "
                         f"{' or '.join(ALPHA_VIDEO_SUFFIXES)} video")


def to_uint8(array: np.ndarray) -> np.ndarray:
    """Scale 16-bit or float images to ``uint8``; leave ``uint8`` untouched."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return (array // 257).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        return np.clip(array * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    return np.clip(array, 0, 255).astype(np.uint8)


def decode_image(path: str | os.PathLike, flags: int) -> np.ndarray:
    """Decode an image file with OpenCV flags; ``InputError`` if it is missing or not an image."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    # np.fromfile + imdecode instead of imread: works with any Unicode path and reports failure cleanly.
    data = np.fromfile(path, dtype=np.uint8)
    array = cv2.imdecode(data, flags) if data.size else None
    if array is None:
        raise InputError(f"{path}: not a readable image (empty, truncated or of an unknown format)")
    return to_uint8(array)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as an ``HxWx3`` RGB ``uint8`` array (EXIF orientation applied)."""
    bgr = decode_image(path, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_gray(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as an ``HxW`` ``uint8`` array, taking the brightest channel of colour images.

    The maximum rather than a luma mix keeps every coloured label of a palette mask non-zero.
    """
    array = decode_image(path, cv2.IMREAD_UNCHANGED)
    if array.ndim == 3:
        array = array[..., :3].max(axis=2)
    return array


def encode_image(image: np.ndarray, suffix: str, quality: int = 95) -> bytes:
    """Encode an RGB (``HxWx3``), RGBA (``HxWx4``) or grey (``HxW``) ``uint8`` array in the format named by
    ``suffix``; RGBA only where the format keeps alpha (``ALPHA_IMAGE_SUFFIXES``), else ``InputError``."""
    if image.ndim == 3 and image.shape[2] == 4:
        check_transparency(f"image{suffix}")
        array = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    else:
        array = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    params = {".jpg": [cv2.IMWRITE_JPEG_QUALITY, quality], ".jpeg": [cv2.IMWRITE_JPEG_QUALITY, quality],
              ".webp": [cv2.IMWRITE_WEBP_QUALITY, quality]}.get(suffix.lower(), [])
    ok, data = cv2.imencode(suffix, np.ascontiguousarray(array), params)
    if not ok:
        raise InputError(f"cannot encode an image as {suffix}")
    return data.tobytes()


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an RGB, RGBA or grey ``uint8`` array to ``path`` atomically, in the format of its extension."""
    path = Path(path)
    if image.ndim == 3 and image.shape[2] == 4:
        check_transparency(path)  # here, to name the file in the message
    data = encode_image(image, path.suffix)
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)
