"""Augmentation for segmentation training (albumentations): each random draw moves image and mask alike.

Masks are resized with nearest-neighbour interpolation (labels never blend), and every pixel that padding
or rotation brings in is labelled 255, the ignore index, so the loss never learns from made-up borders.
"""

from __future__ import annotations

from typing import Any

import albumentations as A
import cv2
import numpy as np

from unseen.errors import InputError
from unseen.segment.espnetv2 import network_size
from unseen.train.data.samples import IGNORE

STRENGTHS = ("none", "default", "heavy")
NEAREST = cv2.INTER_NEAREST
CONSTANT = cv2.BORDER_CONSTANT


def _check_size(size: int) -> None:
    if not isinstance(size, int) or size < 32 or size % 32:
        raise InputError(f"size must be a multiple of 32 of at least 32 (the networks halve it 5 times), got {size}")


def _scale_and_crop(size: int, crop: int) -> list[A.BasicTransform]:
    """Longer side to ``size`` times 0.75-1.5, then a random ``crop`` x ``crop`` window (padded where smaller).

    Scale 1 is what inference sees. Below 0.75 most of a square crop of a 4:3 frame would be padding:
    compute spent on nothing.
    """
    return [
        A.LongestMaxSize(max_size=size, area_for_downscale="image", mask_interpolation=NEAREST),
        A.RandomScale(scale_limit=(-0.25, 0.5), area_for_downscale="image", mask_interpolation=NEAREST, p=1.0),
        A.PadIfNeeded(min_height=crop, min_width=crop, position="random", border_mode=CONSTANT, fill=0,
                      fill_mask=IGNORE),
        A.RandomCrop(height=crop, width=crop),
    ]


def _geometry(heavy: bool) -> list[A.BasicTransform]:
    # Heavy: any angle, for people upside down (dancers, gymnasts) and cameras held at odd angles.
    angle = 180 if heavy else 10
    return [
        A.HorizontalFlip(p=0.5),
        A.Affine(rotate=(-angle, angle), border_mode=CONSTANT, fill=0, fill_mask=IGNORE,
                 mask_interpolation=NEAREST, p=0.7 if heavy else 0.5),
    ]


def _colour() -> list[A.BasicTransform]:
    return [
        A.OneOf([
            A.ColorJitter(brightness=(0.7, 1.3), contrast=(0.7, 1.3), saturation=(0.7, 1.3), hue=(-0.05, 0.05)),
            A.RGBShift(r_shift_limit=(-20, 20), g_shift_limit=(-20, 20), b_shift_limit=(-20, 20)),
        ], p=0.6),
        A.OneOf([A.GaussianBlur(blur_limit=(3, 5)), A.MotionBlur(blur_limit=(3, 7))], p=0.2),
    ]


def _weather(size: int, heavy: bool) -> list[A.BasicTransform]:
    """Shadows, fog, sun flare and rain (as the seeds used), rarely: they change the picture a lot."""
    steps: list[A.BasicTransform] = [A.OneOf([
        A.RandomShadow(shadow_roi=(0, 0.5, 1, 1), num_shadows_limit=(1, 2), shadow_intensity_range=(0.3, 0.6)),
        A.RandomFog(fog_coef_range=(0.1, 0.3), alpha_coef=0.08),
        A.RandomSunFlare(flare_roi=(0, 0, 1, 0.5), src_radius=max(8, size // 4), num_flare_circles_range=(3, 6)),
        A.RandomRain(slant_range=(-10, 10), drop_length=max(2, size // 40), blur_value=3,
                     brightness_coefficient=0.8, rain_type="drizzle"),
    ], p=0.25 if heavy else 0.1)]
    if heavy:
        steps.append(A.RandomShadow(shadow_roi=(0, 0, 1, 1), num_shadows_limit=(1, 3),
                                    shadow_intensity_range=(0.4, 0.8), p=0.3))
    return steps


def train_transform(size: int, strength: str = "default", crop: int | None = None) -> A.Compose:
    """The training augmentation: a random square window of a randomly scaled image, and more.

    Parameters
    ----------
    size
        The longer side the network sees in use, a multiple of 32: images are scaled to about ``size``
        times 0.75-1.5 first.
    crop
        Side of the square crops, a multiple of 32 (None: ``size``).
    strength
        ``"none"``: scale and crop only; ``"default"``: also flips, small rotations, colour jitter or RGB
        shift, blur and, rarely, shadows, fog, sun flare or rain; ``"heavy"``: rotations to any angle and
        more and stronger shadows on top.

    Returns
    -------
    albumentations.Compose
        Called as ``transform(image=rgb, mask=labels)``; the mask's new pixels are 255 (ignore).
    """
    crop = size if crop is None else crop
    _check_size(size)
    _check_size(crop)
    if strength not in STRENGTHS:
        raise InputError(f"augmentation strength {strength!r} is not one of {', '.join(STRENGTHS)}")
    steps = _scale_and_crop(size, crop)
    if strength != "none":
        heavy = strength == "heavy"
        steps += _geometry(heavy) + _colour() + _weather(crop, heavy)
    return A.Compose(steps)


class NetworkResize(A.DualTransform):
    """Resize to the size the segmenters run at: longer side ``size``, each side a multiple of 32.

    The same rounding as :func:`unseen.segment.espnetv2.network_size`, so that validation sees frames as
    inference does; the mask is resized with nearest-neighbour interpolation.
    """

    def __init__(self, size: int, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.size = size

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        height, width = params["shape"][:2]
        return {"target": network_size(width, height, self.size)}

    def apply(self, img: np.ndarray, target: tuple[int, int], **params: Any) -> np.ndarray:
        shrink = target[0] < img.shape[1]
        return cv2.resize(img, target, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)

    def apply_to_mask(self, mask: np.ndarray, target: tuple[int, int], **params: Any) -> np.ndarray:
        return cv2.resize(mask, target, interpolation=NEAREST)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("size",)


def eval_transform(size: int) -> A.Compose:
    """The validation transform: resize only, to what inference feeds the network (see :class:`NetworkResize`).

    Parameters
    ----------
    size
        Longer side, before each side is rounded to a multiple of 32; the aspect ratio is otherwise kept, so
        images of different shapes give tensors of different sizes.

    Returns
    -------
    albumentations.Compose
        Called as ``transform(image=rgb, mask=labels)``.
    """
    _check_size(size)
    return A.Compose([NetworkResize(size)])
