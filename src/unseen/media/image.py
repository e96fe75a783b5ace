"""Read and write still images as RGB ``uint8`` arrays (RGBA too, for outputs with transparency), and the
file's own pixels (alpha, 16 bits per channel) for jobs that give them back."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from unseen.errors import InputError
from unseen.media.atomic import atomic_file
from unseen.media.metadata import EXIF_ORIENTATION, PhotoMetadata, embed_metadata

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
# Outputs that keep an alpha channel. The video containers are listed here too (video.py picks their
# codecs) so that images, folders and videos all answer with the same message.
ALPHA_IMAGE_SUFFIXES = (".png", ".webp", ".tif", ".tiff")
ALPHA_VIDEO_SUFFIXES = (".webm", ".mov")
# Outputs that keep 16 bits per channel.
DEEP_IMAGE_SUFFIXES = (".png", ".tif", ".tiff")


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


_quiet_lock = threading.Lock()
_quiet_users = 0
_saved_stderr: int | None = None


@contextlib.contextmanager
def _c_stderr_silenced() -> Iterator[None]:
    """Send what C libraries print on stderr (libpng, libjpeg, libtiff, OpenCV's log) to the null device.

    A bad file is reported by the one-line error raised for it; their lines above it only confuse. Python's
    own stderr is untouched apart from the moment of a decode (a progress bar redrawn then is redrawn
    a second later). Threads decoding at once share one redirection: the first one in makes it, the last
    one out undoes it.
    """
    global _quiet_users, _saved_stderr
    with _quiet_lock:
        if _quiet_users == 0:
            try:
                sys.stderr.flush()
                saved = os.dup(2)
            except (OSError, ValueError, AttributeError):  # no stderr to speak of: nothing to silence
                saved = None
            if saved is not None:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 2)
                os.close(null)
            _saved_stderr = saved
        _quiet_users += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_users -= 1
            if _quiet_users == 0 and _saved_stderr is not None:
                os.dup2(_saved_stderr, 2)
                os.close(_saved_stderr)
                _saved_stderr = None


def _decode(path: Path, flags: int) -> np.ndarray:
    """The array OpenCV decodes from ``path`` with ``flags``, at the file's depth; ``InputError`` if it is
    missing or not an image."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    # np.fromfile + imdecode instead of imread: works with any Unicode path and reports failure cleanly.
    data = np.fromfile(path, dtype=np.uint8)
    with _c_stderr_silenced():
        try:
            array = cv2.imdecode(data, flags) if data.size else None
        except cv2.error as error:  # a declared size over OpenCV's limit, or over the memory there is
            if error.code == cv2.Error.StsNoMem:
                raise InputError(f"{path}: not enough memory to decode the image (its header declares more "
                                 "pixels than fit)") from None
            if "MAX_IMAGE_PIXELS" not in str(error):
                raise
            raise InputError(f"{path}: not a readable image (its header declares more pixels than can be "
                             "decoded)") from None
    if array is None:
        raise InputError(f"{path}: not a readable image (empty, truncated or of an unknown format)")
    return array


def decode_image(path: str | os.PathLike, flags: int) -> np.ndarray:
    """Decode an image file with OpenCV flags as ``uint8``; ``InputError`` if it is missing or not an image."""
    return to_uint8(_decode(Path(path), flags))


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as an ``HxWx3`` RGB ``uint8`` array (EXIF orientation applied)."""
    bgr = decode_image(path, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _header(path: Path) -> tuple[tuple[int, int], bool, int] | None:
    """``(width, height)`` as stored, whether there is an alpha channel, and the EXIF orientation, from the
    file's header; ``None`` where Pillow cannot tell (the decoder then says what is wrong)."""
    try:
        with warnings.catch_warnings():
            # A huge declared size is the decoder's to refuse (or decode): only the header is read here.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
                # Pillow decodes a whole PNG to look for EXIF after the pixels; before them is where it matters.
                exif = image.getexif() if image.format != "PNG" or "exif" in image.info else {}
                return image.size, alpha, int(exif.get(EXIF_ORIENTATION, 1))
    except Exception:  # damaged headers raise all sorts: DecompressionBombError, struct.error, ...
        return None


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(width, height)`` of an image as :func:`read_image` returns it (upright), from its header alone when
    it can be read there."""
    path = Path(path)
    header = _header(path) if path.is_file() else None
    if header is None:
        height, width = read_image(path).shape[:2]
        return width, height
    (width, height), _, orientation = header
    # Orientations 5-8 turn the picture a quarter: its sides swap.
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _upright(array: np.ndarray, orientation: int) -> np.ndarray:
    """``array`` turned the way the EXIF ``orientation`` says (what OpenCV does unless asked for the file as
    it is)."""
    turns = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
             5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, -1)[::-1],
             8: lambda a: np.rot90(a, 1)}
    return np.ascontiguousarray(turns[orientation](array)) if orientation in turns else array


def read_image_and_original(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """An image file as :func:`read_image` gives it, and the file's own pixels where they hold more.

    Returns
    -------
    image : (H, W, 3) uint8 ndarray
        RGB, upright.
    original : (H, W, 3 or 4) uint8 or uint16 ndarray, or None
        RGB or RGBA at the file's depth, upright, when the file has an alpha channel or 16 bits per
        channel; ``None`` otherwise. :func:`restore` puts a processed ``image`` back in this form.
    """
    path = Path(path)
    header = _header(path) if path.suffix.lower() in ALPHA_IMAGE_SUFFIXES else None
    if header is not None and header[1]:
        # Only "unchanged" keeps the alpha channel, and it leaves the EXIF orientation to us.
        stored = _upright(_decode(path, cv2.IMREAD_UNCHANGED), header[2])
        stored = stored[..., None] if stored.ndim == 2 else stored
        conversion = {1: cv2.COLOR_GRAY2RGB, 3: cv2.COLOR_BGR2RGB, 4: cv2.COLOR_BGRA2RGBA}[stored.shape[2]]
    else:
        stored, conversion = _decode(path, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH), cv2.COLOR_BGR2RGB
    stored = cv2.cvtColor(stored if stored.dtype == np.uint16 else to_uint8(stored), conversion)
    image = to_uint8(stored[..., :3])
    return image, stored if stored.shape[2] == 4 or stored.dtype == np.uint16 else None


def restore(image: np.ndarray, original: np.ndarray, alpha: bool = True, depth: bool = True) -> np.ndarray:
    """A processed ``image`` given back the form of the file it was read from.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        The picture after processing (a removal changes some pixels and leaves the others as they were).
    original : (H, W, 3 or 4) uint8 or uint16 ndarray
        The file's own pixels, from :func:`read_image_and_original`.
    alpha
        Put the original's alpha channel back, as it was (what was transparent stays transparent).
    depth
        Give a 16-bit original 16 bits back: pixels the processing left alone keep their exact values,
        changed ones are scaled up.

    Returns
    -------
    (H, W, 3 or 4) uint8 or uint16 ndarray
    """
    if image.shape[:2] != original.shape[:2] or image.ndim != 3 or image.shape[2] != 3:
        return image  # not a picture of the same file any more: nothing to give back
    colour = original[..., :3]
    if depth and original.dtype == np.uint16:
        unchanged = (image == to_uint8(colour)).all(axis=2, keepdims=True)
        image = np.where(unchanged, colour, image.astype(np.uint16) * 257)
    if alpha and original.shape[2] == 4:
        image = np.dstack([image, original[..., 3] if image.dtype == original.dtype else to_uint8(original[..., 3])])
    return image


def read_gray(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as an ``HxW`` ``uint8`` array, taking the brightest channel of colour images.

    The maximum rather than a luma mix keeps every coloured label of a palette mask non-zero.
    """
    array = decode_image(path, cv2.IMREAD_UNCHANGED)
    if array.ndim == 3:
        array = array[..., :3].max(axis=2)
    return array


def _palette_png(indices: np.ndarray, palette: np.ndarray) -> bytes:
    """An index image as a colour-indexed PNG: the values stay the indices, viewers show index k in
    ``palette[k - 1]`` (and 0 in black)."""
    table = np.zeros((256, 3), np.uint8)
    table[1:len(palette) + 1] = np.asarray(palette, np.uint8).reshape(-1, 3)[:255]
    picture = Image.fromarray(np.ascontiguousarray(indices, np.uint8))
    picture.putpalette(table.tobytes())
    data = io.BytesIO()
    picture.save(data, format="PNG")
    return data.getvalue()


def encode_image(image: np.ndarray, suffix: str, quality: int = 95, palette: np.ndarray | None = None) -> bytes:
    """Encode an RGB (``HxWx3``), RGBA (``HxWx4``) or grey (``HxW``) array in the format named by ``suffix``.

    RGBA only where the format keeps alpha (``ALPHA_IMAGE_SUFFIXES``), else ``InputError``; ``uint16``
    keeps its 16 bits in PNG and TIFF and is scaled to 8 bits elsewhere. A grey ``uint8`` index image with
    a ``palette`` (K x 3 RGB, for indices 1..K) becomes a colour-indexed PNG when ``suffix`` is ``.png``.
    """
    if palette is not None and suffix.lower() == ".png" and image.ndim == 2 and image.dtype == np.uint8:
        return _palette_png(image, palette)
    if image.dtype == np.uint16 and suffix.lower() not in DEEP_IMAGE_SUFFIXES:
        image = to_uint8(image)  # OpenCV would clip, not scale
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


def write_image(path: str | os.PathLike, image: np.ndarray, palette: np.ndarray | None = None,
                metadata: PhotoMetadata | None = None) -> None:
    """Write an RGB, RGBA or grey ``uint8`` (or ``uint16``) array to ``path`` atomically, in the format of its
    extension; see :func:`encode_image` for ``palette``. ``metadata`` (EXIF, colour profile) goes in where
    the format holds it (JPEG, PNG, WebP)."""
    path = Path(path)
    if image.ndim == 3 and image.shape[2] == 4:
        check_transparency(path)  # here, to name the file in the message
    data = embed_metadata(encode_image(image, path.suffix, palette=palette), path.suffix, metadata)
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)
