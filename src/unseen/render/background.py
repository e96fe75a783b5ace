"""Replace the background behind people: soft edges from a coarse probability map, and the backgrounds.

A segmenter runs at a few hundred pixels, so its person probability, scaled to the frame, is blurry and
blocky at the edges and may sit a few pixels off the real outline. :func:`refine_alpha` snaps it to the
image with a guided filter (computed at reduced resolution, applied at full resolution) and then
steepens it, which gives a narrow, anti-aliased edge: no band of old background around the person, no
staircase. :func:`parse_background` turns what the user typed after ``--with`` into a
:class:`Background`; :func:`replace_background` ties them together for one frame.
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

COLOURS = {
    "white": (255, 255, 255), "black": (0, 0, 0), "gray": (128, 128, 128), "grey": (128, 128, 128),
    "red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0),
    "cyan": (0, 255, 255), "magenta": (255, 0, 255),
}
ACCEPTED = ("white, black, another colour name (" + ", ".join(c for c in COLOURS if c not in ("white", "black"))
            + "), #RRGGBB or #RGB, blur or blur:STRENGTH (Gaussian sigma in pixels), transparent, "
            "or the path of an image, a video or a folder of frames")

# Chosen by measuring alpha error near the outline on parkour frames against ground truth, for masks
# degraded as a network would and for real ESPNetv2 and MediaPipe outputs (tests/test_background.py
# keeps a check). Filter statistics on a copy about 160 px on its short side cost a ninth of full
# resolution at 480p and measure within a few tenths of a percent of it. A radius of 1/160 of the short
# side (3 px at 480p) is best on degraded masks; twice that does slightly better on real network
# outlines but drags shadows and railings into the person. The filter may only decide where the network
# is unsure (probability between _SURE and 1 - _SURE): elsewhere its verdict stands, which keeps a white
# shoe on a white wall whole and keeps specks of similar colour away.
_GUIDE_SHORT_SIDE = 160
_RADIUS_FRACTION = 1 / 160
_SURE = 0.05
DEFAULT_EPS = 1e-3
# Against binary ground truth any partial alpha counts as error, so 0.1 scores 0.2 points better; 0.2
# looks the same on sharp edges and keeps some anti-aliasing on soft (moving, out-of-focus) ones.
DEFAULT_SOFTNESS = 0.2


# --------------------------------------------------------------------------------------------------
# Alpha


def default_radius(width: int, height: int) -> int:
    """The guided filter radius :func:`refine_alpha` uses for a frame of this size, in pixels."""
    return max(2, round(min(width, height) * _RADIUS_FRACTION))


def refine_alpha(rgb: np.ndarray, probability: np.ndarray, radius: int | None = None, eps: float = DEFAULT_EPS,
                 softness: float = DEFAULT_SOFTNESS) -> np.ndarray:
    """Turn a coarse person probability into an alpha matte whose edges follow the image.

    Parameters
    ----------
    rgb : np.ndarray
        HxWx3 uint8 frame, the guide.
    probability : np.ndarray
        Person probability in [0, 1] (float; uint8 is read as 0-255). Any size: it is scaled to the
        frame bilinearly, as segmenters produce it at their own resolution.
    radius : int, optional
        Guided filter radius in frame pixels: how far an edge may move to meet an edge of the image.
        Default :func:`default_radius` (3 px at 480p, 7 px at 1080p).
    eps : float
        Guided filter regularisation (guide in [0, 1]); larger values follow weaker image edges less.
    softness : float
        Width of the filtered probability range (centred on 0.5) that becomes partial alpha: 0 is a
        hard cut-out, 1 keeps the filter's own soft ramp.

    Returns
    -------
    np.ndarray
        HxW float32 alpha in [0, 1].
    """
    height, width = rgb.shape[:2]
    p = _as_probability(probability, width, height)
    radius = default_radius(width, height) if radius is None else max(1, int(radius))
    # Only where the network is unsure may the filter decide (see _SURE); elsewhere alpha is 0 or 1, so
    # the full-resolution work is limited to those pixels, usually a few percent of the frame.
    alpha = cv2.threshold(p, 1 - _SURE, 1, cv2.THRESH_BINARY)[1]
    rows, cols = np.nonzero((p > _SURE) & (p <= 1 - _SURE))
    if rows.size:
        # The filter's ramp around 0.5 is steepened to (q - 0.5) / softness + 0.5, linear in q, so the
        # filter computes it directly.
        gain = 1 / max(softness, 1e-6)
        q = _fast_guided_filter(rgb, p, rows, cols, radius, eps, gain, 0.5 - 0.5 * gain)
        alpha[rows, cols] = np.clip(q, 0, 1)
    return alpha


def _fast_guided_filter(rgb: np.ndarray, p: np.ndarray, rows: np.ndarray, cols: np.ndarray, radius: int,
                        eps: float, gain: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """``gain * q + offset`` at the given pixels, ``q`` the colour guided filter of ``p`` guided by ``rgb``.

    He & Sun's fast guided filter: the filter's linear coefficients come from a copy about
    _GUIDE_SHORT_SIDE pixels high, then apply to the full-resolution guide, so the outline keeps full
    detail while the statistics cost 1/scale^2.
    """
    height, width = p.shape
    scale = max(1, min(width, height) // _GUIDE_SHORT_SIDE)
    small_rgb, small_p = _shrink(rgb, scale), _shrink(p, scale)
    ar, ag, ab, b = _guided_coefficients(_unit(small_rgb), small_p, max(1, round(radius / scale)), eps)
    # gain, offset and the guide's 1/255 are folded into the small coefficients, where they cost nothing.
    k = np.float32(gain / 255)
    coefficients = cv2.merge([ar * k, ag * k, ab * k, b * np.float32(gain) + np.float32(offset)])
    a_b = _sample(coefficients, rows, cols, scale)
    return np.einsum("ij,ij->i", a_b[:, :3], rgb[rows, cols].astype(np.float32)) + a_b[:, 3]


def _shrink(image: np.ndarray, scale: int) -> np.ndarray:
    """Area-average ``scale x scale`` blocks; the last ``size % scale`` rows and columns are dropped,
    which keeps OpenCV on its fast integer-ratio path (several times faster)."""
    if scale == 1:
        return image
    height, width = image.shape[0] // scale, image.shape[1] // scale
    return cv2.resize(image[:height * scale, :width * scale], (max(1, width), max(1, height)),
                      interpolation=cv2.INTER_AREA)


def _sample(small: np.ndarray, rows: np.ndarray, cols: np.ndarray, scale: int) -> np.ndarray:
    """Bilinear samples (N x C) of a :func:`_shrink` result at full-resolution pixels."""
    count = len(rows)
    # remap takes maps of any shape below 32767 a side: lay the points out in rows of 4096.
    width = min(count, 4096)
    padded = -(-count // width) * width
    map_x = np.zeros(padded, np.float32)
    map_y = np.zeros(padded, np.float32)
    map_x[:count] = (cols + 0.5) / scale - 0.5
    map_y[:count] = (rows + 0.5) / scale - 0.5
    samples = cv2.remap(small, map_x.reshape(-1, width), map_y.reshape(-1, width), cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)
    return samples.reshape(padded, -1)[:count]


def _as_probability(probability: np.ndarray, width: int, height: int) -> np.ndarray:
    p = np.asarray(probability)
    if p.ndim == 3 and p.shape[2] == 1:
        p = p[..., 0]
    if p.ndim != 2:
        raise ValueError(f"a probability map must be HxW, got shape {p.shape}")
    p = p.astype(np.float32) / 255 if p.dtype == np.uint8 else p.astype(np.float32, copy=False)
    if p.shape != (height, width):
        p = cv2.resize(p, (width, height), interpolation=cv2.INTER_LINEAR)
    return p


def _unit(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) * np.float32(1 / 255)


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def _guided_coefficients(guide: np.ndarray, p: np.ndarray, radius: int,
                         eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean linear coefficients ``a_r, a_g, a_b, b`` (HxW each) of the colour guided filter, whose output
    is ``q = a . guide + b`` (He, Sun & Tang, 2013)."""
    r, g, bl = cv2.split(guide)
    # Single-channel box filters on separate planes: faster than one on a merged stack, then split.
    mr, mg, mb, mp = (_box(x, radius) for x in (r, g, bl, p))
    cr, cg, cb = (_box(x * p, radius) - m * mp for x, m in ((r, mr), (g, mg), (bl, mb)))
    rr, gg, bb = (_box(x * x, radius) - m * m + eps for x, m in ((r, mr), (g, mg), (bl, mb)))
    rg, rb, gb = _box(r * g, radius) - mr * mg, _box(r * bl, radius) - mr * mb, _box(g * bl, radius) - mg * mb
    # Closed-form inverse of the symmetric 3x3 colour covariance (adjugate over determinant).
    irr, irg, irb = gg * bb - gb * gb, gb * rb - rg * bb, rg * gb - gg * rb
    igg, igb, ibb = rr * bb - rb * rb, rb * rg - rr * gb, rr * gg - rg * rg
    inv_det = 1 / (rr * irr + rg * irg + rb * irb)
    ar = (irr * cr + irg * cg + irb * cb) * inv_det
    ag = (irg * cr + igg * cg + igb * cb) * inv_det
    ab = (irb * cr + igb * cg + ibb * cb) * inv_det
    b = mp - ar * mr - ag * mg - ab * mb
    return _box(ar, radius), _box(ag, radius), _box(ab, radius), _box(b, radius)


def estimate_foreground(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The person's own colour where the edge mixes it with the old background (0 < alpha < 1).

    Blur-fusion foreground estimation (Forte & Pitie, 2021), twice: each mixed pixel's colour minus its
    share of the nearby background colour, added to the nearby person colour. Pixels with alpha 0 or 1
    keep their values, so compositing the result changes the edge band only.

    Returns
    -------
    np.ndarray
        HxWx3 float32 RGB in [0, 255].
    """
    rows, cols, colours = _edge_foreground(rgb, alpha)
    out = rgb.astype(np.float32)
    out[rows, cols] = colours
    return out


def _edge_foreground(rgb: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and estimated foreground colours (N x 3 float32) of the pixels with 0 < alpha < 1."""
    height, width = alpha.shape
    rows, cols = np.nonzero((alpha > 0) & (alpha < 1))
    if not rows.size:
        return rows, cols, np.zeros((0, 3), np.float32)
    # The local means are smooth, so they are computed on a small copy (the guided filter's size);
    # only the last, per-pixel step runs at full resolution, on the edge pixels alone.
    scale = max(1, min(width, height) // _GUIDE_SHORT_SIDE)
    image_s, alpha_s = _shrink(rgb, scale).astype(np.float32), _shrink(alpha, scale)
    fg_mean, bg_mean = _local_means(image_s, image_s, alpha_s, max(2, min(alpha_s.shape) // 8))
    fg_mean, bg_mean = _local_means(_fuse(image_s, fg_mean, bg_mean, alpha_s), bg_mean, alpha_s, 1)
    fg, bg = _sample(fg_mean, rows, cols, scale), _sample(bg_mean, rows, cols, scale)
    return rows, cols, _fuse(rgb[rows, cols].astype(np.float32), fg, bg, alpha[rows, cols])


def _local_means(foreground: np.ndarray, background: np.ndarray, alpha: np.ndarray,
                 radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Alpha-weighted local means of the foreground and (1 - alpha)-weighted ones of the background."""
    a3 = alpha[..., None]
    weight = _box(alpha, radius)[..., None]
    fg = _box(foreground * a3, radius) / (weight + 1e-5)
    bg = _box(background * (1 - a3), radius) / (1 - weight + 1e-5)
    return fg, bg


def _fuse(image: np.ndarray, fg_mean: np.ndarray, bg_mean: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha[..., None]
    return np.clip(fg_mean + a * (image - a * fg_mean - (1 - a) * bg_mean), 0, 255)


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
            rows, cols, colours = _edge_foreground(rgb, alpha)
            colour[rows, cols] = np.clip(colours + 0.5, 0, 255).astype(np.uint8)
        return np.dstack([colour, cv2.convertScaleAbs(alpha, alpha=255)])
    back = background.frame(index, width, height, rgb, alpha)
    out = composite(rgb, alpha, back)
    if decontaminate:
        # Only the edge pixels change, so only they are blended again, with their estimated colours.
        _blend_at(out, *_edge_foreground(rgb, alpha), alpha, back)
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
