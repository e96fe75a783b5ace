"""Draw class label maps over frames: translucent fills with a solid edge, or coloured contours; and the
legend that names the colours."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from unseen.errors import InputError
from unseen.render.palette import class_colors


def _checked(rgb: np.ndarray, labels: np.ndarray, colors: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Validate the arguments; return the labels as an integer map and a colour table indexed by label."""
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        described = f"{rgb.dtype} {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise InputError(f"expected an HxWx3 uint8 RGB image, got {described}")
    labels = np.asarray(labels)
    if labels.shape != rgb.shape[:2] or not (labels.dtype == bool or np.issubdtype(labels.dtype, np.integer)):
        raise InputError(f"labels must be an integer {rgb.shape[0]}x{rgb.shape[1]} map like the frame, "
                         f"got {labels.dtype} {labels.shape}")
    # uint16: the widest integer type OpenCV's morphology takes, and room for any realistic class count.
    labels = labels.astype(np.uint16) if labels.dtype != np.uint16 else labels
    top = int(labels.max(initial=0))
    colors = class_colors(top) if colors is None else np.asarray(colors, dtype=np.uint8).reshape(-1, 3)
    if top > len(colors):
        raise InputError(f"label {top} has no colour: {len(colors)} colours given")
    return labels, np.vstack([np.zeros((1, 3), np.uint8), colors])


def _scaled(width: float, shape: tuple[int, ...]) -> int:
    """A line width given for a 480-pixel frame, grown in proportion to a bigger frame's shorter side.

    Smaller frames keep the width: thinner antialiased lines fade, and small frames are viewed enlarged.
    """
    return max(1, round(width * max(1.0, min(shape[:2]) / 480)))


def _inner_edge(labels: np.ndarray, width: int) -> np.ndarray:
    """Labelled pixels within ``width`` pixels of a pixel with another label (the frame border excluded)."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    changes = (cv2.erode(labels, kernel) != labels) | (cv2.dilate(labels, kernel) != labels)
    return changes & (labels > 0)


def overlay(rgb: np.ndarray, labels: np.ndarray, colors: np.ndarray | None = None,
            opacity: float = 0.5) -> np.ndarray:
    """Tint each labelled region with its class colour, and outline it with a thin solid edge.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray
        The frame.
    labels : (H, W) int or bool ndarray
        ``0`` where there is nothing, ``k`` where class ``k`` is (``True`` counts as ``1``).
    colors : (N, 3) uint8 array_like, optional
        RGB colour of each class: label ``k`` uses ``colors[k - 1]``. Default: :func:`class_colors`.
    opacity : float
        How much of the colour replaces the frame inside regions, 0 (none) to 1 (solid).

    Returns
    -------
    (H, W, 3) uint8 ndarray
        A new image; pixels with label 0 are the frame's, unchanged.
    """
    labels, table = _checked(rgb, labels, colors)
    out = rgb.copy()
    inside = labels > 0
    blend = rgb[inside] * (1.0 - opacity) + table[labels[inside]] * float(opacity)
    out[inside] = np.clip(blend + 0.5, 0, 255).astype(np.uint8)
    # A solid edge inside each region: a translucent fill alone fades into similar-coloured surroundings.
    edge = _inner_edge(labels, _scaled(1.5, rgb.shape))
    out[edge] = table[labels[edge]]
    return out


def contours(rgb: np.ndarray, labels: np.ndarray, colors: np.ndarray | None = None, darken: float = 0.5,
             thickness: float = 2) -> np.ndarray:
    """Darken the frame and draw each class's region outlines (holes included) in its own colour.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray
        The frame.
    labels : (H, W) int or bool ndarray
        ``0`` where there is nothing, ``k`` where class ``k`` is.
    colors : (N, 3) uint8 array_like, optional
        RGB colour of each class: label ``k`` uses ``colors[k - 1]``. Default: :func:`class_colors`.
    darken : float
        Fraction of the frame's brightness taken away everywhere, 0 (none) to 1 (black).
    thickness : float
        Line width in pixels on frames up to 480 pixels high; on bigger ones it grows with the frame's
        shorter side, so that outlines look alike on a 480p and a 4K frame.

    Returns
    -------
    (H, W, 3) uint8 ndarray
        The darkened frame with antialiased outlines centred on the regions' boundaries.
    """
    labels, table = _checked(rgb, labels, colors)
    out = np.clip(rgb * (1.0 - darken) + 0.5, 0, 255).astype(np.uint8)
    width = _scaled(thickness, rgb.shape)
    for k in np.unique(labels[labels > 0]):
        found, _ = cv2.findContours((labels == k).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, found, -1, tuple(int(c) for c in table[k]), width, cv2.LINE_AA)
    return out


def legend(rgb: np.ndarray, names: Sequence[str], colors: np.ndarray, opacity: float = 0.6) -> np.ndarray:
    """Name each class in its colour, beside a swatch of it, on a dark panel in the top-left corner.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray
        The rendered frame.
    names : sequence of str
        The class names, label order.
    colors : (N, 3) uint8 array_like
        Their colours, in the same order.
    opacity : float
        How dark the panel is, 0 (not at all) to 1 (black): enough for any colour to read on any frame.

    Returns
    -------
    (H, W, 3) uint8 ndarray
        A new image; the text is sized to the frame (like a caption) and what does not fit is left out.
    """
    out = rgb.copy()
    scale = max(0.35, min(rgb.shape[:2]) / 1200)
    thickness = max(1, round(scale * 1.6))
    (_, text_height), baseline = cv2.getTextSize("Ag", cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    row, pad = text_height + baseline + max(2, text_height // 2), max(3, text_height // 2)
    width = pad * 3 + text_height + max(cv2.getTextSize(n, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)[0][0]
                                        for n in names)
    height = min(rgb.shape[0], pad * 2 + row * len(names))
    panel = out[:height, :min(width, rgb.shape[1])]
    panel[:] = (panel * (1.0 - opacity) + 0.5).astype(np.uint8)
    for i, (name, color) in enumerate(zip(names, np.asarray(colors, np.uint8).reshape(-1, 3), strict=True)):
        color = tuple(int(c) for c in color)
        top = pad + i * row
        cv2.rectangle(out, (pad, top), (pad + text_height, top + text_height), color, cv2.FILLED)
        cv2.putText(out, name, (pad * 2 + text_height, top + text_height), cv2.FONT_HERSHEY_SIMPLEX, scale, color,
                    thickness, cv2.LINE_AA)
    return out
