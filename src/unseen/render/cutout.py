"""What ``--render cutout`` and ``--render mask`` write: RGBA cutouts and mask images."""

from __future__ import annotations

import numpy as np

from unseen.errors import InputError


def _alpha_uint8(alpha: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    alpha = np.asarray(alpha)
    if alpha.ndim == 3 and alpha.shape[2] == 1:
        alpha = alpha[..., 0]
    if alpha.shape != shape:
        raise InputError(f"alpha must be {shape[0]}x{shape[1]} like the frame, got {alpha.shape}")
    if alpha.dtype == bool:
        return alpha.astype(np.uint8) * 255
    if alpha.dtype == np.uint8:
        return alpha
    if np.issubdtype(alpha.dtype, np.floating):
        return (np.clip(alpha, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise InputError(f"alpha must be float in [0, 1], uint8 or bool, got {alpha.dtype}")


def cutout(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The frame with ``alpha`` as its transparency: what is kept is opaque, the rest see-through.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray
        The frame.
    alpha : (H, W) float, uint8 or bool ndarray
        Opacity: float in ``[0, 1]`` (soft edges), ``uint8`` 0-255, or ``bool``.

    Returns
    -------
    (H, W, 4) uint8 ndarray
        RGBA with straight (not premultiplied) alpha, as PNG, WebP and video codecs expect. The colour
        under transparent pixels is kept rather than blacked out, so that an editor that scales the
        cutout does not pull a dark fringe into its soft edges.
    """
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        described = f"{rgb.dtype} {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise InputError(f"expected an HxWx3 uint8 RGB image, got {described}")
    return np.dstack([rgb, _alpha_uint8(alpha, rgb.shape[:2])])


def mask_image(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """The image ``--render mask`` writes for a label map.

    Parameters
    ----------
    labels : (H, W) int or bool ndarray
        ``0`` for nothing, ``k`` (1 to ``n_classes``) for the ``k``-th chosen class.
    n_classes : int
        How many classes were chosen.

    Returns
    -------
    (H, W) uint8 ndarray
        With one class, a black-and-white mask: 255 on the class, 0 elsewhere (the form ``--mask`` and
        image editors take). With several, the index image: each pixel holds its label ``0..n_classes``
        (it looks almost black in a viewer; ``labels == k`` picks class ``k`` back out).
    """
    labels = np.asarray(labels)
    if not 1 <= n_classes <= 255:
        raise InputError(f"a mask image holds 1 to 255 classes, not {n_classes}")
    if labels.size and (labels.min() < 0 or labels.max() > n_classes):
        raise InputError(f"labels must lie in 0..{n_classes}, got {labels.min()}..{labels.max()}")
    if n_classes == 1:
        return (labels > 0).astype(np.uint8) * 255
    return labels.astype(np.uint8)
