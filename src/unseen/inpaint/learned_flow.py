"""Learned flow completion: a trained network guesses the flow inside the holes (``unseen train
flow-completer``); the video engine follows it as the route ``learned`` (:data:`unseen.inpaint.video.ROUTES`).

The network works on a grid :data:`NET_SCALE` times coarser than the engine's flows (at most 240 px
wide: flow is smooth, ProPainter completes it at 1/8), in pixels of that grid. It sees the flow outside the
hole and the border's flow carried inside, both relative to the camera's motion, and the frame around the
hole in grey (:func:`completion_inputs`),
and answers with the flow inside relative to the camera's motion too. Training (:mod:`unseen.train.data.flows`)
builds its inputs with the same function, from flows computed on real frames whose hole is cut at random.
"""

from __future__ import annotations

import os
from functools import cache

import cv2
import numpy as np
import torch

from unseen.errors import InputError
from unseen.inpaint.flow import complete_flow, continue_border_flow
from unseen.nets.flow_completion import build_flow_completer
from unseen.train.checkpoint import load_checkpoint
from unseen.zoo import PACKAGE_WEIGHTS

NET_SCALE = 2
# Pixels (of the network's grid) that input and output flows are divided by: the residual motions it
# learns are of a few pixels, so its values stay near 1.
FLOW_UNIT = 4.0
# The margin around a hole that the camera's motion is learnt outside of, on the network's grid (the
# engine's 16 px at full grid).
CAMERA_MARGIN = 8
# A camera completion faster than this many times the fastest flow around the hole is not believed.
MAX_CAMERA = 2.0
# Flow inputs are clipped to this many FLOW_UNITs (80 px of the network's grid is more than any real motion).
MAX_INPUT = 20.0
# Least context (network px) around a hole's box that the network sees each way.
CONTEXT = 24
# Range of the network's log expected error (flow units), in training too: its exponential stays finite.
LOG_ERROR_RANGE = (-6.0, 4.0)
# The completer that ships with unseen (see docs/benchmarks.md for how it was trained).
DEFAULT_WEIGHTS = PACKAGE_WEIGHTS / "flow_completer.pt"


def to_net_grid(flow: np.ndarray, hole: np.ndarray, gray: np.ndarray, scale: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A flow of the engine's grid (in full-size pixels, ``scale`` = full width / grid width), its hole and
    its first frame in grey (uint8), on the network's grid and in its pixels; a network pixel is in the
    hole if any of its pixels is."""
    h, w = hole.shape
    size = (max(1, round(w / NET_SCALE)), max(1, round(h / NET_SCALE)))
    small = cv2.resize(flow, size, interpolation=cv2.INTER_AREA) / np.float32(scale * NET_SCALE)
    small_hole = cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
    return small.astype(np.float32), small_hole, cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def completion_inputs(flow: np.ndarray, hole: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The network's six input maps (6 x H x W) for a flow, its hole and its first frame in grey on the
    network's grid, and the camera completion (H x W x 2) that its output is added to."""
    camera = complete_flow(flow, hole, CAMERA_MARGIN)
    border = continue_border_flow(flow, hole, CAMERA_MARGIN)
    fastest = float(np.abs(flow[~hole]).max()) if not hole.all() else 0.0
    if not np.isfinite(camera).all() or np.abs(camera).max() > MAX_CAMERA * (fastest + 1):
        # A homography fitted around the hole can run away inside it (tens of thousands of pixels, found
        # when one training sample blew up a run); the border's flow is the sane guess then.
        camera = border
    outside = ~hole[..., None]
    known = np.clip((flow - camera) * outside / FLOW_UNIT, -MAX_INPUT, MAX_INPUT)
    guess = np.clip((border - camera) * ~outside / FLOW_UNIT, -MAX_INPUT, MAX_INPUT)
    # The hole's own pixels are the object being removed (or a smooth fill of it): not shown.
    picture = (gray.astype(np.float32)[..., None] / 255 - 0.5) * outside
    maps = np.concatenate([known, guess, hole[..., None], picture], axis=2).transpose(2, 0, 1)
    return np.ascontiguousarray(maps, np.float32), camera


class LearnedFlowCompletion:
    """A trained flow completer as a completion route: ``completion(flow, hole, scale, gray)`` gives
    ``flow`` with the hole's pixels replaced (the engine's grid and units in, and out; ``gray`` is the
    flow's first frame as the flow estimator saw it).

    Parameters
    ----------
    checkpoint
        A ``.pt`` checkpoint of ``unseen train flow-completer``, or its run folder (``best.pt``).
    device
        Where the network runs.
    """

    def __init__(self, checkpoint: str | os.PathLike, device: str = "cpu") -> None:
        card = load_checkpoint(checkpoint)
        if card.get("task") != "flow-completer":
            raise InputError(f"{checkpoint} holds a {card.get('task')} model, not a flow completer")
        self.network = build_flow_completer(**card["network"])
        self.network.load_state_dict({key: value.float() for key, value in card["model"].items()})
        self.device = torch.device(device)
        # Channels-last runs this network twice as fast on the CPU (5.9 against 11.5 ms on a 128x96 box).
        self.network.eval().to(self.device, memory_format=torch.channels_last)

    def __call__(self, flow: np.ndarray, hole: np.ndarray, scale: float, gray: np.ndarray) -> np.ndarray:
        return self.guess(flow, hole, scale, gray)[0]

    def guess(self, flow: np.ndarray, hole: np.ndarray, scale: float, gray: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray | None]:
        """The completed flow (as a call gives it) and, from a network with ``confidence``, the end-point
        error it expects of it (H x W, the engine's grid, full-size px; 0 outside the hole); else None."""
        if not hole.any():
            return flow, None
        small, small_hole, small_gray = to_net_grid(flow, hole, gray, scale)
        completed, error = self.complete(small, small_hole, small_gray)
        unit = np.float32(scale * NET_SCALE)
        out = flow.copy()
        out[hole] = cv2.resize(completed * unit, hole.shape[::-1], interpolation=cv2.INTER_LINEAR)[hole]
        if error is None:
            return out, None
        expected = np.zeros(hole.shape, np.float32)
        expected[hole] = cv2.resize(error * unit, hole.shape[::-1], interpolation=cv2.INTER_LINEAR)[hole]
        return out, expected

    @torch.inference_mode()
    def complete(self, flow: np.ndarray, hole: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The completed flow on the network's grid (its units), the hole's pixels replaced, and the error
        expected of it (network px, 0 outside the hole), or None from a network without confidence."""
        maps, camera = completion_inputs(flow, hole, gray)
        # The network runs on a box around the hole (as it learned on crops around holes), not the frame.
        rows, cols = _context_box(hole)
        maps = maps[:, rows, cols]
        multiple = self.network.side_multiple
        h, w = maps.shape[1:]
        pad = ((0, 0), (0, -h % multiple), (0, -w % multiple))
        x = torch.from_numpy(np.pad(maps, pad, mode="reflect" if min(h, w) > multiple else "edge"))[None]
        x = x.to(self.device, memory_format=torch.channels_last)
        output = self.network(x)[0, :, :h, :w].permute(1, 2, 0).cpu().numpy()
        out = flow.copy()
        inside = hole[rows, cols]
        out[rows, cols][inside] = camera[rows, cols][inside] + FLOW_UNIT * output[..., :2][inside]
        if output.shape[2] < 3:
            return out, None
        error = np.zeros(hole.shape, np.float32)
        log_error = np.clip(output[..., 2], *LOG_ERROR_RANGE)
        error[rows, cols][inside] = FLOW_UNIT * np.exp(log_error[inside])
        return out, error


def _context_box(hole: np.ndarray) -> tuple[slice, slice]:
    """The hole's bounding box grown by as much context as training crops held (the hole's size, at least
    :data:`CONTEXT` px) each way, within the frame."""
    ys, xs = np.nonzero(hole)
    h, w = hole.shape
    grow_y = max(CONTEXT, int(ys.max() - ys.min() + 1))
    grow_x = max(CONTEXT, int(xs.max() - xs.min() + 1))
    return (slice(max(int(ys.min()) - grow_y, 0), min(int(ys.max()) + grow_y + 1, h)),
            slice(max(int(xs.min()) - grow_x, 0), min(int(xs.max()) + grow_x + 1, w)))


@cache
def default_completion() -> LearnedFlowCompletion:
    """The flow completer that ships with unseen, loaded once."""
    return LearnedFlowCompletion(DEFAULT_WEIGHTS)
