"""Replace the background behind people: compositing, and the backgrounds themselves.

The person's soft edge comes from :mod:`unseen.render.alpha`. :func:`parse_background` turns what the
user typed after ``--with`` into a :class:`Background`; :func:`replace_background` ties them together for one frame.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from unseen.errors import InputError
from unseen.media.clip import Clip, media_kind, open_clip
from unseen.media.image import read_image
from unseen.render.alpha import edge_foreground, refine_alpha

COLOURS = {
    "white": (255, 255, 255), "black": (0, 0, 0), "gray": (128, 128, 128), "grey": (128, 128, 128),
    "red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0),
    "cyan": (0, 255, 255), "magenta": (255, 0, 255),
}
ACCEPTED = ("white, black, another colour name (" + ", ".join(c for c in COLOURS if c not in ("white", "black"))
            + "), #RRGGBB or #RGB, blur or blur:STRENGTH (Gaussian sigma in pixels), transparent, "
            "or the path of an image, a video or a folder of frames")

# --------------------------------------------------------------------------------------------------
# Compositing


def composite(rgb: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Alpha-blend ``rgb`` over ``background``: ``alpha * rgb + (1 - alpha) * background``.

    Parameters
    ----------
    rgb : np.ndarray
        HxWx3 foreground, uint8 or float in [0, 255] (an :func:`estimate_foreground` result).
    alpha : np.ndarray
        HxW float in [0, 1].
    background : np.ndarray
        HxWx3 uint8.

    Returns
    -------
    np.ndarray
        HxWx3 uint8, rounded once; pixels with alpha 1 are exactly ``rgb``, with alpha 0 ``background``.
    """
    alpha = alpha.astype(np.float32, copy=False)
    fg = np.asarray(rgb)
    # blendLinear computes w1 * fg + w2 * bg in float and rounds once, in one pass (NumPy takes 4x longer).
    out = cv2.blendLinear(fg if fg.dtype == np.uint8 else cv2.convertScaleAbs(fg), background, alpha, 1 - alpha)
    if fg.dtype != np.uint8:
        # A float foreground is blended unrounded where it shows partly.
        rows, cols = np.nonzero((alpha > 0) & (alpha < 1))
        _blend_at(out, rows, cols, fg[rows, cols], alpha, background)
    return out


def _blend_at(out: np.ndarray, rows: np.ndarray, cols: np.ndarray, colours: np.ndarray, alpha: np.ndarray,
              background: np.ndarray) -> None:
    """Write ``alpha * colours + (1 - alpha) * background`` into ``out`` at the given pixels."""
    a = alpha[rows, cols][:, None]
    bg = background[rows, cols].astype(np.float32)
    out[rows, cols] = np.clip(bg + a * (colours - bg) + 0.5, 0, 255).astype(np.uint8)


def replace_background(rgb: np.ndarray, probability: np.ndarray, background: Background, index: int = 0,
                       decontaminate: bool = True) -> np.ndarray:
    """Put the person of ``rgb`` in front of ``background``.

    Parameters
    ----------
    rgb : np.ndarray
        HxWx3 uint8 frame.
    probability : np.ndarray
        Person probability from a segmenter (see :func:`refine_alpha`).
    background : Background
        From :func:`parse_background`.
    index : int
        Frame number, for video backgrounds.
    decontaminate : bool
        Replace the old background's share of edge pixels with the person's estimated colour
        (:func:`estimate_foreground`).

    Returns
    -------
    np.ndarray
        HxWx3 uint8, or HxWx4 RGBA (straight, not premultiplied alpha) when ``background.transparent``.
    """
    height, width = rgb.shape[:2]
    alpha = refine_alpha(rgb, probability)
    if background.transparent:
        colour = rgb.copy()
        if decontaminate:
            rows, cols, colours = edge_foreground(rgb, alpha)
            colour[rows, cols] = np.clip(colours + 0.5, 0, 255).astype(np.uint8)
        return np.dstack([colour, cv2.convertScaleAbs(alpha, alpha=255)])
    back = background.frame(index, width, height, rgb, alpha)
    out = composite(rgb, alpha, back)
    if decontaminate:
        # Only the edge pixels change, so only they are blended again, with their estimated colours.
        _blend_at(out, *edge_foreground(rgb, alpha), alpha, back)
    return out


# --------------------------------------------------------------------------------------------------
# Backgrounds


class Background:
    """What goes behind the person; one per output, asked for one frame at a time.

    Use as a context manager (or call :meth:`close`) so that a video background's file is closed.
    """

    @property
    def transparent(self) -> bool:
        """True when the output should carry an alpha channel instead of a background."""
        return False

    def frame(self, index: int, width: int, height: int, rgb: np.ndarray | None = None,
              alpha: np.ndarray | None = None) -> np.ndarray:
        """The background for frame ``index`` of the input, ``height x width x 3`` uint8.

        ``rgb`` is the current input frame (blurred backgrounds are made from it); ``alpha``, when
        given, keeps the person's colours out of a blurred background.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release files; the background may not be used afterwards."""

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SolidBackground(Background):
    """One colour everywhere."""

    def __init__(self, colour: tuple[int, int, int]):
        self.colour = tuple(int(c) for c in colour)
        self._cache: np.ndarray | None = None

    def frame(self, index: int, width: int, height: int, rgb: np.ndarray | None = None,
              alpha: np.ndarray | None = None) -> np.ndarray:
        if self._cache is None or self._cache.shape[:2] != (height, width):
            self._cache = np.full((height, width, 3), self.colour, np.uint8)
        return self._cache

    def __repr__(self) -> str:
        return "SolidBackground(#{:02x}{:02x}{:02x})".format(*self.colour)


class TransparentBackground(Background):
    """No background: outputs get an alpha channel. :meth:`frame` is black, for callers that need RGB."""

    @property
    def transparent(self) -> bool:
        return True

    def frame(self, index: int, width: int, height: int, rgb: np.ndarray | None = None,
              alpha: np.ndarray | None = None) -> np.ndarray:
        return np.zeros((height, width, 3), np.uint8)


class BlurBackground(Background):
    """The input frame itself, blurred, as a camera with a shallow depth of field would show it.

    Parameters
    ----------
    sigma : float, optional
        Gaussian sigma in pixels; default 2.5 % of the frame's short side (12 px at 480p).
    """

    def __init__(self, sigma: float | None = None):
        self.sigma = sigma

    def frame(self, index: int, width: int, height: int, rgb: np.ndarray | None = None,
              alpha: np.ndarray | None = None) -> np.ndarray:
        if rgb is None:
            raise ValueError("a blurred background needs the current frame")
        sigma = self.sigma if self.sigma is not None else 0.025 * min(width, height)
        return blur_behind(rgb, alpha, sigma)


def blur_behind(rgb: np.ndarray, alpha: np.ndarray | None, sigma: float) -> np.ndarray:
    """Blur ``rgb`` with the person (``alpha``) left out, so that their colours do not spread.

    A normalised convolution: blur(image x weight) / blur(weight), the weight being zero on and just
    around the person, so every pixel is an average of nearby background only. Large blurs run at
    reduced resolution, where they cost far less and look the same.
    """
    height, width = rgb.shape[:2]
    factor = max(1, int(sigma // 2))
    small = (max(1, round(width / factor)), max(1, round(height / factor)))
    image = (cv2.resize(rgb, small, interpolation=cv2.INTER_AREA) if factor > 1 else rgb).astype(np.float32)
    if alpha is None:
        out = cv2.GaussianBlur(image, (0, 0), sigma / factor)
    else:
        # Edge pixels are part person: grow the excluded region by a couple of pixels and square the
        # weight so that what is left of the person carries little weight.
        weight = np.square(1 - cv2.dilate(alpha.astype(np.float32), np.ones((5, 5), np.uint8)))
        weight = cv2.resize(weight, small, interpolation=cv2.INTER_AREA) if factor > 1 else weight
        out = _normalised_blur(image, weight, sigma / factor)
    if factor > 1:
        out = cv2.resize(out, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.convertScaleAbs(out)  # rounds and saturates; the blur is never negative


def _normalised_blur(image: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    num = cv2.GaussianBlur(image * weight[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(weight, (0, 0), sigma)
    # Far inside a large person there is no background within reach: the plain blur takes over there
    # (it is hidden anyway), with a smooth hand-over rather than a division by almost nothing.
    trust = np.clip(den * 20, 0, 1)[..., None]
    return trust * num / np.maximum(den, 1e-6)[..., None] + (1 - trust) * cv2.GaussianBlur(image, (0, 0), sigma)


def cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale ``image`` to cover ``width x height`` and crop the middle: never stretched, no borders."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    scale = max(width / w, height / h)
    size = (max(width, math.ceil(w * scale - 1e-6)), max(height, math.ceil(h * scale - 1e-6)))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    x0, y0 = (size[0] - width) // 2, (size[1] - height) // 2
    return np.ascontiguousarray(resized[y0:y0 + height, x0:x0 + width])


class ImageBackground(Background):
    """A still picture, scaled to cover the frame."""

    def __init__(self, image: np.ndarray, name: str = "image"):
        self.image, self.name = image, name
        self._cache: tuple[tuple[int, int], np.ndarray] | None = None

    def frame(self, index: int, width: int, height: int, rgb: np.ndarray | None = None,
              alpha: np.ndarray | None = None) -> np.ndarray:
        if self._cache is None or self._cache[0] != (width, height):
            self._cache = ((width, height), cover(self.image, width, height))
        return self._cache[1]

    def __repr__(self) -> str:
        return f"ImageBackground({self.name})"


class VideoBackground(Background):
    """A video or a folder of frames, decoded one frame at a time and started again when it runs out.

    Frame ``i`` of the input gets frame ``i mod n`` of the background (``n`` its length), whatever the
    two frame rates.
    """

    def __init__(self, clip: Clip):
        self.clip = clip
        self._frames: Iterator | None = None
        self._position = -1
        self._current: np.ndarray | None = None
        self._length: int | None = None
        self._cache: tuple[tuple[int, int, int], np.ndarray] | None = None

    def frame(self, index: int, width: int, height: int, rgb: np.ndarray | None = None,
              alpha: np.ndarray | None = None) -> np.ndarray:
        source = self._source_frame(index)
        key = (self._position, width, height)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, cover(source, width, height))
        return self._cache[1]

    def _source_frame(self, index: int) -> np.ndarray:
        if self._length is not None:
            index %= self._length
        if self._frames is None or index < self._position:
            self._restart()
        while self._position < index:
            frame = next(self._frames, None)
            if frame is None:
                if self._position < 0:
                    raise InputError(f"{self.clip.path}: the background video holds no frames")
                # Now the length is known: loop by re-opening, which keeps one frame in memory at most.
                self._length = self._position + 1
                return self._source_frame(index % self._length)
            self._position += 1
            self._current = frame.image
        return self._current

    def _restart(self) -> None:
        self.close()
        self._frames = iter(self.clip)
        self._position, self._current = -1, None

    def close(self) -> None:
        if self._frames is not None and hasattr(self._frames, "close"):
            self._frames.close()
        self._frames = None

    def __repr__(self) -> str:
        return f"VideoBackground({self.clip.path})"


def parse_background(spec: str) -> Background:
    """Turn what the user gave after ``--with`` into a :class:`Background`.

    Accepted: ``white``, ``black`` and a few more colour names (:data:`COLOURS`), ``#RRGGBB`` or
    ``#RGB``, ``blur`` or ``blur:STRENGTH`` (Gaussian sigma in pixels), ``transparent``, or the path of
    an image, a video or a folder of frames. Words win over files of the same name (write ``./white``
    for a file called ``white``).

    Raises
    ------
    InputError
        When ``spec`` is none of these; the message lists what is accepted.
    """
    text = spec.strip()
    word = text.lower()
    if word in COLOURS:
        return SolidBackground(COLOURS[word])
    if word == "transparent":
        return TransparentBackground()
    if word.startswith("#"):
        return SolidBackground(_hex_colour(text))
    if word == "blur" or word.startswith("blur:"):
        return BlurBackground(_blur_strength(text))
    return _media_background(text)


def _hex_colour(text: str) -> tuple[int, int, int]:
    digits = text[1:]
    if not re.fullmatch(r"[0-9a-fA-F]{3}|[0-9a-fA-F]{6}", digits):
        raise InputError(f"background {text!r}: a colour is #RRGGBB or #RGB in hexadecimal digits")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return tuple(int(digits[i:i + 2], 16) for i in (0, 2, 4))


def _blur_strength(text: str) -> float | None:
    if ":" not in text:
        return None
    value = text.split(":", 1)[1]
    try:
        sigma = float(value)
    except ValueError:
        sigma = float("nan")
    if not math.isfinite(sigma) or not 0 < sigma <= 500:
        raise InputError(f"background {text!r}: the blur strength is a Gaussian sigma in pixels, "
                         "a number above 0 and at most 500 (blur:12)")
    return sigma


def _media_background(text: str) -> Background:
    path = Path(os.path.expanduser(text))
    if not text or not path.exists():
        raise InputError(f"background {text!r} is not a file, a folder or a known word; use {ACCEPTED}")
    kind = media_kind(path)
    if kind == "image":
        return ImageBackground(read_image(path), path.name)
    return VideoBackground(open_clip(path))
