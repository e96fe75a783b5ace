"""ESPNetv2 semantic segmentation (Mehta et al., CVPR 2019) in plain PyTorch, and inference on RGB frames.

The network loads the authors' published weights (EdgeNets model zoo) with exact key and shape matching;
:func:`load_espnetv2` finds them by name through :mod:`unseen.zoo`. Input: RGB in [0, 1], normalised with
the ImageNet mean and standard deviation, NCHW, sides multiples of 32 (so every level's skip connection
lines up); output: class logits at the input size.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from unseen.errors import InputError
from unseen.segment.base import to_frame
from unseen.segment.classes import CITYSCAPES_CLASSES, PASCAL_CLASSES
from unseen.segment.eesp import ESPNetv2Encoder
from unseen.segment.pyramid import EfficientPyramidPool, GatedProjection, bn_prelu

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SIDE_MULTIPLE = 32
DECODER_CHANNELS = (64, 48, 32)  # decoder widths of every published model (s=1.0 and s=2.0)

# Registry name -> (width scale, classes); the zoo holds the files themselves.
ESPNETV2_MODELS = {
    "espnetv2-pascal": (2.0, PASCAL_CLASSES),
    "espnetv2-pascal-s1": (1.0, PASCAL_CLASSES),
    "espnetv2-city": (2.0, CITYSCAPES_CLASSES),
}


def _upsample_to(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, like.shape[-2:], mode="bilinear", align_corners=True)


class ESPNetv2Segmenter(nn.Module):
    """ESPNetv2 encoder + bottom-up decoder with gated skip connections.

    The decoder starts from level 4 (1/16) with a pyramid-pooling block and, three times, doubles the
    resolution, adds the gated projection of the encoder level at that resolution, normalises (BN+PReLU)
    and runs another pyramid-pooling block; the last one emits ``num_classes`` logits at 1/2 resolution,
    which are up-sampled bilinearly to the input size.
    """

    def __init__(self, scale: float = 2.0, num_classes: int = 21, classes: tuple[str, ...] | None = None,
                 decoder_channels: tuple[int, int, int] = DECODER_CHANNELS,
                 pyramid_channels: int | None = None) -> None:
        super().__init__()
        self.base_net = ESPNetv2Encoder(scale)
        c1, c2, c3, c4 = self.base_net.channels
        d1, d2, d3 = decoder_channels
        proj = pyramid_channels or num_classes // 2  # the published files project to half the class count
        self.bu_dec_l1 = EfficientPyramidPool(c4, proj, d1)
        self.bu_dec_l2 = EfficientPyramidPool(d1, proj, d2)
        self.bu_dec_l3 = EfficientPyramidPool(d2, proj, d3)
        self.bu_dec_l4 = EfficientPyramidPool(d3, proj, num_classes, last=True)
        self.merge_enc_dec_l2 = GatedProjection(c3, d1)
        self.merge_enc_dec_l3 = GatedProjection(c2, d2)
        self.merge_enc_dec_l4 = GatedProjection(c1, d3)
        self.bu_br_l2 = bn_prelu(d1)
        self.bu_br_l3 = bn_prelu(d2)
        self.bu_br_l4 = bn_prelu(d3)
        self.num_classes = num_classes
        if classes is not None and len(classes) != num_classes:
            raise ValueError(f"{len(classes)} class names for {num_classes} classes")
        self.classes = tuple(classes) if classes is not None else tuple(map(str, range(num_classes)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        l1, l2, l3, l4 = self.base_net(x)
        out = self.bu_dec_l1(l4)
        for skip, merge, norm, decode in (
            (l3, self.merge_enc_dec_l2, self.bu_br_l2, self.bu_dec_l2),
            (l2, self.merge_enc_dec_l3, self.bu_br_l3, self.bu_dec_l3),
            (l1, self.merge_enc_dec_l4, self.bu_br_l4, self.bu_dec_l4),
        ):
            out = decode(norm(_upsample_to(out, skip) + merge(skip)))
        return _upsample_to(out, x)


def clean_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip the ``module.`` prefix that ``nn.DataParallel`` checkpoints carry."""
    return {key.removeprefix("module."): value for key, value in state.items()}


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any unpickling failure: the file is unusable
        raise InputError(f"{path} is not a readable PyTorch state dict ({error.__class__.__name__})") from error
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise InputError(f"{path} holds no state dict")
    return clean_state_dict(state)


def _shape_of(state: Mapping[str, torch.Tensor]) -> dict:
    """Constructor arguments read from the state dict, so any file of the ESPNetv2 family loads.

    Width scale from level 2's channels (2 * 32 * scale: 64 at s=1.0, 128 at s=2.0); classes from the last
    layer's bias; decoder and pyramid widths from their convolutions.
    """
    return {
        "scale": state["base_net.level2_0.act.weight"].shape[0] / 64,
        "num_classes": state["bu_dec_l4.merge_layer.3.bias"].shape[0],
        "decoder_channels": tuple(state[f"bu_dec_l{i}.merge_layer.3.weight"].shape[0] for i in (1, 2, 3)),
        "pyramid_channels": state["bu_dec_l1.projection_layer.cbr.0.weight"].shape[0],
    }


def load_espnetv2(name_or_path: str | Path, download: bool = True) -> ESPNetv2Segmenter:
    """An ESPNetv2 segmenter in eval mode, from a registry name (see :mod:`unseen.zoo`) or a ``.pth`` path.

    The architecture's sizes are read from the state dict, and loading is strict: a file that does not
    match this network key for key and shape for shape is refused rather than half loaded.
    ``model.classes`` names the outputs when the registry knows the file (numbers otherwise).

    Raises
    ------
    InputError
        The name is unknown, the file is missing (and cannot be downloaded) or is not a matching state dict.
    """
    from unseen import zoo

    path, key = zoo.resolve(name_or_path, ESPNETV2_MODELS, download=download)
    state = _read_state(path)
    try:
        shape = _shape_of(state)
        classes = ESPNETV2_MODELS[key][1] if key else None
        if classes is not None and len(classes) != shape["num_classes"]:
            classes = None
        model = ESPNetv2Segmenter(classes=classes, **shape)
        model.load_state_dict(state, strict=True)
    except (KeyError, RuntimeError) as error:
        detail = str(error).splitlines()[0]
        raise InputError(f"{path} is not an ESPNetv2 segmentation state dict: {detail}") from error
    return model.eval()


def network_size(width: int, height: int, size: int | tuple[int, int]) -> tuple[int, int]:
    """The (width, height) the network sees: ``size`` as (w, h), or an int for the longer side.

    With an int the aspect ratio is kept; both sides are rounded to multiples of 32, at least 32.
    """
    if isinstance(size, int):
        factor = size / max(width, height)
        w, h = width * factor, height * factor
    else:
        w, h = size
    return (max(SIDE_MULTIPLE, round(w / SIDE_MULTIPLE) * SIDE_MULTIPLE),
            max(SIDE_MULTIPLE, round(h / SIDE_MULTIPLE) * SIDE_MULTIPLE))


def to_tensor(rgb: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """HxWx3 uint8 RGB -> 1x3xhxw float tensor, resized to ``size`` (w, h) and ImageNet-normalised."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InputError(f"expected an HxWx3 uint8 RGB image, got {rgb.dtype} {rgb.shape}")
    if (rgb.shape[1], rgb.shape[0]) != tuple(size):
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if size[0] < rgb.shape[1] else cv2.INTER_LINEAR)
    x = rgb.astype(np.float32) / 255.0
    x = (x - np.asarray(IMAGENET_MEAN, np.float32)) / np.asarray(IMAGENET_STD, np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]


@torch.inference_mode()
def _network_output(model: nn.Module, rgb: np.ndarray, size: int | tuple[int, int], softmax: bool) -> np.ndarray:
    """Logits (or probabilities) as h x w x C float32 at the network's input size, on the model's device.

    The input is channels-last, which runs the many small grouped convolutions ~25 % faster on a CPU
    (measured at 320x288) once the model is channels-last too (:class:`ESPNetv2` makes it so).
    """
    h, w = rgb.shape[:2]
    device = next(model.parameters()).device
    out = model(to_tensor(rgb, network_size(w, h, size)).to(device, memory_format=torch.channels_last))
    if softmax:
        out = torch.softmax(out, 1)
    return np.ascontiguousarray(out[0].permute(1, 2, 0).float().cpu().numpy())


def predict_probs(model: nn.Module, rgb: np.ndarray, size: int | tuple[int, int] = 512) -> np.ndarray:
    """Softmax class probabilities (C x H x W float32) of one HxWx3 uint8 RGB frame at its resolution.

    ``size`` is what the network sees: an int for the longer side (aspect kept), or (width, height);
    sides are rounded to multiples of 32. Probabilities are computed at the network's resolution and
    resized bilinearly, which keeps them summing to one.
    """
    h, w = rgb.shape[:2]
    probs = to_frame(_network_output(model, rgb, size, softmax=True), w, h)
    return np.ascontiguousarray(probs.transpose(2, 0, 1))


def predict_labels(model: nn.Module, rgb: np.ndarray, size: int | tuple[int, int] = 512) -> np.ndarray:
    """Per-pixel class index (H x W uint8) of one HxWx3 uint8 RGB frame: arg-max of the resized logits."""
    h, w = rgb.shape[:2]
    return to_frame(_network_output(model, rgb, size, softmax=False), w, h).argmax(2).astype(np.uint8)


# The network's longer side. bench/segment.py on the shared 854x480 clips: 256 gives car object IoU 0.75
# at ~20 fps and person 0.81 at ~13 fps; 320 gives car 0.71 and person 0.84 at 8-10 fps; 384: slower still.
DEFAULT_SIZE = 256
DEFAULT_THREADS = 1


def _torch_device(name: str) -> torch.device:
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
        self.device = _torch_device(device)
        self.model = load_espnetv2(name).to(self.device, memory_format=torch.channels_last)
        self.classes = self.model.classes

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """Softmax probabilities (h x w x C float32) at the network's resolution."""
        return _network_output(self.model, rgb, self.size, softmax=True)
