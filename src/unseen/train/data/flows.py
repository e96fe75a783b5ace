"""Training samples for the flow completer: flows with a hole cut out, and the truth inside.

Self-supervised: the optical flow of real frames (computed as the video engine computes it) is the
truth; a hole of an object's shape or a free-form stroke is cut out of it at random, and the network
is given what the engine would have: the flow around the hole and the frame in grey
(:func:`~unseen.inpaint.learned_flow.completion_inputs`). Frame folders are few, so flows can also be
synthetic (:func:`synthetic_flow`, FlyingChairs-style): a camera's homography with object shapes moving
over it, each its own way, and a picture whose texture changes where the motion does. Everything is
drawn from the sample's seed, so a resumed run sees exactly the same samples.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from unseen.errors import InputError
from unseen.inpaint.flow import FlowEstimator
from unseen.inpaint.learned_flow import completion_inputs, to_net_grid
from unseen.inpaint.video import FlowVideoFiller
from unseen.media.frames import has_images, list_images
from unseen.media.image import read_gray, read_image
from unseen.progress import redraw_interval
from unseen.train.data.pairs import free_form_hole, silhouette_hole

SHAPES_PER_CLIP = 12  # object masks taken from each clip as hole shapes (spread over its frames)
ZOOM = (0.75, 1.3)  # spatial scale of a real flow field (its values scale alike)
SPEED = (0.5, 1.5)  # factor on a real flow's values: slower and faster motion than the clip's


def frame_folders(folders: str | os.PathLike) -> list[Path]:
    """The frame folders under each of the comma-separated ``folders`` (each one a clip, or a folder of clips)."""
    clips: list[Path] = []
    for name in str(folders).split(","):
        root = Path(name)
        if not root.is_dir():
            raise InputError(f"{root}: no such folder of video frames")
        found = [root] if has_images(root) else sorted(p for p in root.iterdir() if p.is_dir() and has_images(p))
        if not found:
            raise InputError(f"{root}: holds no frame folders (a folder of JPEG/PNG frames per clip)")
        clips += found
    return clips


Field = tuple[np.ndarray, np.ndarray]  # a flow (float16, H x W x 2) and its first frame in grey (uint8, H x W)


def clip_flows(clips: Iterable[Path], show_progress: bool = False) -> list[Field]:
    """Flows to the next and to the previous frame of every clip with their first frames, on the network's grid."""
    clips = list(clips)
    # The engine's own estimator: training sees its flows' kind of error, on its grid.
    estimator = FlowEstimator(FlowVideoFiller.flow_preset, FlowVideoFiller.flow_side)
    fields = []
    for clip in tqdm(clips, desc="flows", unit="clip", disable=not show_progress, leave=False,
                     mininterval=redraw_interval()):
        frames = list_images(clip)
        grays = [estimator.gray(read_image(frame)) for frame in frames]
        scale = read_image(frames[0]).shape[1] / grays[0].shape[1]
        no_hole = np.zeros(grays[0].shape, bool)
        for a, b in zip(grays, grays[1:], strict=False):
            if a.shape != b.shape:
                continue
            for first, flow in ((a, estimator.flow(a, b, scale)), (b, estimator.flow(b, a, scale))):
                small, _, gray = to_net_grid(flow, no_hole, first, scale)
                fields.append((small.astype(np.float16), gray))
    return fields


def clip_shapes(clips: Iterable[Path]) -> list[np.ndarray]:
    """Object masks (uint8, 255 = object) from the ``masks/`` folders of clips, a few per clip."""
    shapes = []
    for clip in clips:
        masks = list_images(clip / "masks") if (clip / "masks").is_dir() else []
        for path in masks[::max(1, len(masks) // SHAPES_PER_CLIP)]:
            mask = read_gray(path)
            if (mask > 127).mean() > 0.002:
                shapes.append(mask)
    return shapes


def _texture(size: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth grey noise of a random grain and contrast."""
    grain = int(rng.integers(3, 12))
    small = rng.uniform(0, 255, (size // grain + 1, size // grain + 1)).astype(np.float32)
    picture = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(rng.uniform(60, 190) + rng.uniform(0.2, 0.8) * (picture - 128), 0, 255).astype(np.uint8)


def synthetic_flow(size: int, shapes: list[np.ndarray], rng: np.random.Generator) -> Field:
    """A ``size`` x ``size`` flow (network pixels) and its picture: a camera's homography, with one to three
    shapes moving over it by their own similarity transforms, the later in front, each with a texture of
    its own; the flow smoothed and noisy like DIS's."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    points = np.stack([xs, ys], axis=-1).reshape(-1, 1, 2)
    corners = np.float32([[0, 0], [size, 0], [size, size], [0, size]])
    camera = cv2.getPerspectiveTransform(corners, corners + rng.normal(0, 2.0, (4, 2)).astype(np.float32)
                                         + rng.normal(0, 3.0, 2).astype(np.float32))
    flow = (cv2.perspectiveTransform(points, camera) - points).reshape(size, size, 2)
    picture = _texture(size, rng)
    for _ in range(int(rng.integers(1, 4))):
        region = silhouette_hole(shapes[int(rng.integers(len(shapes)))], size, rng) if shapes \
            else free_form_hole(size, rng)
        cy, cx = (float(v.mean()) for v in np.nonzero(region))
        motion = cv2.getRotationMatrix2D((cx, cy), float(rng.normal(0, 4)), float(rng.uniform(0.94, 1.06)))
        motion[:, 2] += rng.normal(0, 4.0, 2)
        moved = (cv2.transform(points, motion) - points).reshape(size, size, 2)
        flow[region] = moved[region]
        picture[region] = _texture(size, rng)[region]
    flow = cv2.GaussianBlur(flow, (0, 0), 0.8)
    return (flow + rng.normal(0, 0.05, flow.shape)).astype(np.float32), picture


class FlowHoles(Dataset):
    """``(inputs, camera, truth, hole)`` on a ``size`` x ``size`` crop of the network's grid: the six
    input maps, the camera completion and the true flow (2 x size x size, network pixels), the hole (1 x
    size x size). Training items are fetched as ``(index, seed)``; validation items by index (hole and crop
    fixed by it).

    Parameters
    ----------
    fields
        Real flows on the network's grid with their first frames (:func:`clip_flows`).
    shapes
        Object masks whose silhouettes make the holes (and the moving objects of synthetic flows).
    size
        Side of the crops.
    augment
        Zoom, speed and flips of real flows, and synthetic ones (else crops as they are).
    synthetic
        Share of training samples that are synthetic flows.
    free_form
        Share of holes that are strokes and boxes rather than silhouettes.
    """

    def __init__(self, fields: list[Field], shapes: list[np.ndarray], size: int, augment: bool,
                 synthetic: float = 0.0, free_form: float = 0.3) -> None:
        if not fields:
            raise InputError("no flows to learn from: the frame folders need two frames of the same size or more")
        self.fields, self.shapes, self.size, self.augment = fields, shapes, size, augment
        self.synthetic, self.free_form = synthetic if augment else 0.0, free_form if shapes else 1.0

    def __len__(self) -> int:
        return len(self.fields)

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[torch.Tensor, ...]:
        index, seed = item if isinstance(item, tuple) else (item, item)
        rng = np.random.default_rng(seed)
        if rng.random() < self.synthetic:
            field, gray = synthetic_flow(self.size, self.shapes, rng)
        else:
            field, gray = self._real(*self.fields[index], rng)
        # The hole lies in a crop, but the camera's motion is learnt on the whole field, as in the engine.
        y, x = (int(rng.integers(0, n - self.size + 1)) for n in field.shape[:2])
        hole = np.zeros(field.shape[:2], bool)
        hole[y:y + self.size, x:x + self.size] = self._hole(rng)
        maps, camera = completion_inputs(field, hole, gray)
        crop = (slice(y, y + self.size), slice(x, x + self.size))
        return (torch.from_numpy(maps[:, crop[0], crop[1]].copy()),
                torch.from_numpy(camera[crop].transpose(2, 0, 1).copy()),
                torch.from_numpy(field[crop].transpose(2, 0, 1).copy()),
                torch.from_numpy(hole[crop][None].astype(np.float32)))

    def _real(self, field: np.ndarray, gray: np.ndarray, rng: np.random.Generator) -> Field:
        field = field.astype(np.float32)
        if self.augment:
            zoom = rng.uniform(*ZOOM)
            field = cv2.resize(field, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_LINEAR) * np.float32(
                zoom * rng.uniform(*SPEED))
            gray = cv2.resize(gray, field.shape[1::-1], interpolation=cv2.INTER_LINEAR)
            if rng.random() < 0.5:
                field, gray = field[:, ::-1] * np.float32([-1, 1]), gray[:, ::-1]
            if rng.random() < 0.3:
                field, gray = field[::-1] * np.float32([1, -1]), gray[::-1]
        short_y, short_x = max(0, self.size - field.shape[0]), max(0, self.size - field.shape[1])
        if short_y or short_x:
            field = cv2.copyMakeBorder(field, 0, short_y, 0, short_x, cv2.BORDER_REFLECT_101)
            gray = cv2.copyMakeBorder(gray, 0, short_y, 0, short_x, cv2.BORDER_REFLECT_101)
        return np.ascontiguousarray(field, np.float32), np.ascontiguousarray(gray)

    def _hole(self, rng: np.random.Generator) -> np.ndarray:
        if rng.random() < self.free_form:
            return free_form_hole(self.size, rng)
        return silhouette_hole(self.shapes[int(rng.integers(len(self.shapes)))], self.size, rng)
