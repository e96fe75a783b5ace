"""ESPNetv2 inference on RGB frames: resizing and normalising them, and the :class:`ESPNetv2` segmenter.

The network itself and the loading of its published weights live in :mod:`unseen.nets.espnetv2`.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch import nn

from unseen.errors import InputError
from unseen.nets.espnetv2 import IMAGENET_MEAN, IMAGENET_STD, SIDE_MULTIPLE, load_espnetv2
from unseen.nets.runtime import run_network
from unseen.segment.base import to_frame


def network_size(width: int, height: int, size: int | tuple[int, int],
                 multiple: int = SIDE_MULTIPLE) -> tuple[int, int]:
    """The (width, height) the network sees: ``size`` as (w, h), or an int for the longer side.

    With an int the aspect ratio is kept; both sides are rounded to multiples of ``multiple`` (the
    network's ``side_multiple``; 32 for ESPNetv2), at least one multiple.
    """
    if isinstance(size, int):
        factor = size / max(width, height)
        w, h = width * factor, height * factor
    else:
        w, h = size
    return (max(multiple, round(w / multiple) * multiple), max(multiple, round(h / multiple) * multiple))


def to_tensor(rgb: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """HxWx3 uint8 RGB -> 1x3xhxw float tensor, resized to ``size`` (w, h) and ImageNet-normalised."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InputError(f"expected an HxWx3 uint8 RGB image, got {rgb.dtype} {rgb.shape}")
    if (rgb.shape[1], rgb.shape[0]) != tuple(size):
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if size[0] < rgb.shape[1] else cv2.INTER_LINEAR)
    x = rgb.astype(np.float32) / 255.0
    x = (x - np.asarray(IMAGENET_MEAN, np.float32)) / np.asarray(IMAGENET_STD, np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]


def network_input(model: nn.Module, rgb: np.ndarray, size: int | tuple[int, int]) -> torch.Tensor:
    """``rgb`` as ``model`` takes it: resized to ``size`` (:func:`network_size`), normalised, on the model's
    device, channels-last."""
    h, w = rgb.shape[:2]
    device = next(model.parameters()).device
    return to_tensor(rgb, network_size(w, h, size)).to(device, memory_format=torch.channels_last)


@torch.inference_mode()
def _logits(model: nn.Module, rgb: np.ndarray, size: int | tuple[int, int]) -> torch.Tensor:
    """C x h x w class logits at the network's input size.

    On the CPU onnxruntime runs the network (:mod:`unseen.nets.runtime`); on a GPU PyTorch does, with a
    channels-last input, which also ran the many small grouped convolutions ~25 % faster on a CPU (measured
    at 320x288) once the model is channels-last too (:class:`ESPNetv2` makes it so).
    """
    return run_network(model, network_input(model, rgb, size))[0]


@torch.inference_mode()
def softmax_probs(logits: torch.Tensor, wanted: Sequence[int] | None = None) -> np.ndarray:
    """C x h x w logits -> h x w x C float32 softmax probabilities; with ``wanted`` channel indices,
    h x w x (1 + K): "anything else" (1 minus their sum), then each wanted class.

    The wanted classes alone are computed over the channel planes (each class's exp over the planes' sum), not
    every class over the last axis after a transpose: at 256x160 with 21 classes, 3 ms against 5-9.
    """
    if wanted is None:  # over the last, contiguous axis: twice as fast as over the channel axis
        return np.ascontiguousarray(torch.softmax(logits.permute(1, 2, 0).contiguous(), -1).float().cpu().numpy())
    probs = torch.exp(logits[list(wanted)] - torch.logsumexp(logits, 0))
    rest = (1 - probs.sum(0, keepdim=True)).clamp(0, 1)
    return np.ascontiguousarray(torch.cat([rest, probs]).permute(1, 2, 0).float().cpu().numpy())


def predict_probs(model: nn.Module, rgb: np.ndarray, size: int | tuple[int, int] = 512) -> np.ndarray:
    """Softmax class probabilities (C x H x W float32) of one HxWx3 uint8 RGB frame at its resolution.

    ``size`` is what the network sees: an int for the longer side (aspect kept), or (width, height);
    sides are rounded to multiples of 32. Probabilities are computed at the network's resolution and
    resized bilinearly, which keeps them summing to one.
    """
    h, w = rgb.shape[:2]
    probs = to_frame(softmax_probs(_logits(model, rgb, size)), w, h)
    return np.ascontiguousarray(probs.transpose(2, 0, 1))


def predict_labels(model: nn.Module, rgb: np.ndarray, size: int | tuple[int, int] = 512) -> np.ndarray:
    """Per-pixel class index (H x W uint8) of one HxWx3 uint8 RGB frame: arg-max of the resized logits."""
    h, w = rgb.shape[:2]
    logits = _logits(model, rgb, size).permute(1, 2, 0).contiguous().float().cpu().numpy()
    return to_frame(logits, w, h).argmax(2).astype(np.uint8)


# The network's longer side. bench/segment.py on the shared 854x480 clips: 256 gives car object IoU 0.75
# at ~20 fps and person 0.81 at ~13 fps; 320 gives car 0.71 and person 0.84 at 8-10 fps; 384: slower still.
DEFAULT_SIZE = 256
DEFAULT_THREADS = 1


def torch_device(name: str) -> torch.device:
    """``name`` as a torch device, refused in one line if it is not one or not available here."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"unknown device {name!r}; use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {name!r}: PyTorch sees no CUDA GPU on this machine; use --device cpu")
    if device.type not in ("cpu", "cuda"):
        raise InputError(f"device {name!r} is not supported; use cpu, cuda or cuda:N")
    return device


class ESPNetv2:
    """An ESPNetv2 model as a :class:`~unseen.segment.base.Segmenter`.

    Parameters
    ----------
    name : str
        Registry name (``espnetv2-pascal``, ``espnetv2-pascal-s1``, ``espnetv2-city``) or a ``.pth`` path.
    size : int
        Longer side the network sees (rounded to a multiple of 32); see :data:`DEFAULT_SIZE`.
    device : str
        ``cpu`` or ``cuda``.
    threads : int or None
        CPU threads for torch (process-wide). One by default: on a busy 2-core machine two OpenMP threads
        made a pass 40x slower, while on an idle one they gain only ~20 %. None leaves torch's setting.
    """

    def __init__(self, name: str, size: int = DEFAULT_SIZE, device: str = "cpu",
                 threads: int | None = DEFAULT_THREADS) -> None:
        if threads is not None:
            torch.set_num_threads(threads)
        self.name = name
        self.size = size
        self.device = torch_device(device)
        self.model = load_espnetv2(name).to(self.device, memory_format=torch.channels_last)
        self.classes = self.model.classes

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """Softmax probabilities (h x w x C float32) at the network's resolution."""
        return softmax_probs(_logits(self.model, rgb, self.size))

    def predict_wanted(self, rgb: np.ndarray, wanted: Sequence[int]) -> np.ndarray:
        """The ``wanted`` channels' probabilities, "anything else" first (h x w x (1 + K)): see
        :func:`softmax_probs`."""
        return softmax_probs(_logits(self.model, rgb, self.size), wanted)
