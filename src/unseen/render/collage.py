"""Side-by-side panels ("frame | mask | result") for comparing what a step did."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from unseen.errors import InputError
from unseen.media.image import to_uint8


def _checkerboard(height: int, width: int) -> np.ndarray:
    """Mid greys, so that both light and dark cut-out content stands out."""
    square = max(8, min(height, width) // 24)
    y, x = np.indices((height, width))
    board = np.where(((y // square) + (x // square)) % 2 == 0, 150, 100).astype(np.float32)
    return np.repeat(board[..., None], 3, axis=2)


def _as_rgb(panel: np.ndarray) -> np.ndarray:
    """Any panel as HxWx3 uint8: masks (bool, float, uint8) in grey, RGBA over a checkerboard."""
    panel = to_uint8(np.asarray(panel))
    if panel.ndim == 2:
        return np.repeat(panel[..., None], 3, axis=2)
    if panel.ndim == 3 and panel.shape[2] == 4:
        alpha = panel[..., 3:].astype(np.float32) / 255.0
        back = _checkerboard(*panel.shape[:2])
        return (panel[..., :3] * alpha + back * (1.0 - alpha) + 0.5).astype(np.uint8)
    if panel.ndim == 3 and panel.shape[2] == 3:
        return panel
    raise InputError(f"a collage panel must be HxW, HxWx3 or HxWx4, got {panel.shape}")


def _resized(panel: np.ndarray, height: int) -> np.ndarray:
    h, w = panel.shape[:2]
    if h == height:
        return panel
    width = max(1, round(w * height / h))
    # Area averaging when shrinking avoids aliasing on thin mask edges; bilinear is fine when growing.
    interpolation = cv2.INTER_AREA if height < h else cv2.INTER_LINEAR
    return cv2.resize(panel, (width, height), interpolation=interpolation)


def _caption(panel: np.ndarray, text: str) -> None:
    """Write ``text`` in the top-left corner, white on a dark outline so that it reads on any content."""
    scale = max(0.45, panel.shape[0] / 560)
    thickness = max(1, round(scale * 1.5))
    (_, text_height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    origin = (round(text_height * 0.6), round(text_height * 1.6))
    for color, width in (((0, 0, 0), thickness + max(2, thickness)), ((255, 255, 255), thickness)):
        cv2.putText(panel, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, color, width, cv2.LINE_AA)


def collage(panels: Sequence[np.ndarray], labels: Sequence[str] | None = None, height: int | None = None,
            gap: int = 0) -> np.ndarray:
    """Put panels side by side at one height, with optional captions.

    Parameters
    ----------
    panels : sequence of ndarray
        RGB frames (HxWx3), masks (HxW bool, float in [0, 1] or uint8; shown in grey) or RGBA cutouts
        (HxWx4; shown over a checkerboard). Their sizes may differ; each keeps its aspect ratio.
    labels : sequence of str, optional
        A caption per panel, written in its top-left corner; ``None`` or ``""`` for none.
    height : int, optional
        Panel height in pixels; default: the first panel's.
    gap : int
        Black pixels between panels.

    Returns
    -------
    (H, W, 3) uint8 ndarray
        Width and height are even (a black row or column is added if needed), as 4:2:0 video encoders
        require.
    """
    if not panels:
        raise InputError("a collage needs at least one panel")
    if labels is not None and len(labels) != len(panels):
        raise InputError(f"{len(labels)} captions for {len(panels)} panels")
    rgb = [_as_rgb(p) for p in panels]
    height = height or rgb[0].shape[0]
    row = []
    for i, panel in enumerate(rgb):
        panel = _resized(panel, height).copy()
        if labels is not None and labels[i]:
            _caption(panel, labels[i])
        if row and gap:
            row.append(np.zeros((height, gap, 3), np.uint8))
        row.append(panel)
    out = np.concatenate(row, axis=1)
    return np.pad(out, ((0, out.shape[0] % 2), (0, out.shape[1] % 2), (0, 0)))
