"""Render segmentation results: overlays, contours, cutouts, mask images, side-by-side collages,
and people on another background.

Plain functions over NumPy arrays: frames are HxWx3 ``uint8`` RGB, label maps HxW integers where ``0`` is
nothing and ``k`` the ``k``-th class, drawn with ``colors[k - 1]``.
"""

from unseen.render.alpha import refine_alpha
from unseen.render.background import Background, composite, parse_background, replace_background
from unseen.render.collage import collage
from unseen.render.cutout import cutout, mask_image
from unseen.render.overlay import contours, overlay
from unseen.render.palette import class_colors, colors_for

__all__ = ["Background", "class_colors", "collage", "colors_for", "composite", "contours", "cutout", "mask_image",
           "overlay", "parse_background", "refine_alpha", "replace_background"]
