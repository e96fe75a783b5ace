"""ESPNetv2 semantic segmentation (Mehta et al., CVPR 2019) in plain PyTorch, and its published weights.

The network loads the authors' published weights (EdgeNets model zoo) with exact key and shape matching;
:func:`load_espnetv2` finds them by name through :mod:`unseen.zoo`. Input: RGB in [0, 1], normalised with
the ImageNet mean and standard deviation, NCHW, sides multiples of 32 (so every level's skip connection
lines up); output: class logits at the input size.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from unseen.errors import InputError
from unseen.nets.base import SegmentationNet, check_input
from unseen.nets.eesp import ESPNetv2Encoder
from unseen.nets.pyramid import EfficientPyramidPool, GatedProjection, bn_prelu
from unseen.segment.classes import CITYSCAPES_CLASSES, PASCAL_CLASSES

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SIDE_MULTIPLE = 32
DECODER_CHANNELS = (64, 48, 32)  # decoder widths of every published model (s=1.0 and s=2.0)
# Both published decoders project to 10 channels (half their 20 or 21 classes). The architecture keeps 10
# for any class count, so that every decoder weight but the class layer's loads from a published file.
PYRAMID_CHANNELS = 10
SCALES = (1.0, 1.5, 2.0)  # widths this encoder builds (at 0.5 level 2 would be no wider than level 1)

# Registry name -> (width scale, classes); the zoo holds the files themselves.
ESPNETV2_MODELS = {
    "espnetv2-pascal": (2.0, PASCAL_CLASSES),
    "espnetv2-pascal-s1": (1.0, PASCAL_CLASSES),
    "espnetv2-city": (2.0, CITYSCAPES_CLASSES),
}
HEAD_KEYS = ("bu_dec_l4.merge_layer.3.weight", "bu_dec_l4.merge_layer.3.bias")


def _upsample_to(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, like.shape[-2:], mode="bilinear", align_corners=True)


def check_scale(scale: float) -> float:
    """``scale`` as a float if it is one of :data:`SCALES`, else an :class:`InputError`."""
    if float(scale) not in SCALES:
        raise InputError(f"ESPNetv2 scale {scale}: choose one of {', '.join(map(str, SCALES))}")
    return float(scale)


class ESPNetv2Segmenter(SegmentationNet):
    """ESPNetv2 encoder + bottom-up decoder with gated skip connections.

    The decoder starts from level 4 (1/16) with a pyramid-pooling block and, three times, doubles the
    resolution, adds the gated projection of the encoder level at that resolution, normalises (BN+PReLU)
    and runs another pyramid-pooling block; the last one emits ``num_classes`` logits at 1/2 resolution,
    which are up-sampled bilinearly to the input size. Attribute names are the published files' keys.
    """

    head_keys = HEAD_KEYS

    def __init__(self, scale: float = 2.0, num_classes: int = 21, classes: tuple[str, ...] | None = None,
                 decoder_channels: tuple[int, int, int] = DECODER_CHANNELS,
                 pyramid_channels: int | None = None) -> None:
        proj = pyramid_channels or max(num_classes // 2, PYRAMID_CHANNELS)
        config = {"arch": "espnetv2", "num_classes": num_classes, "scale": check_scale(scale),
                  "decoder_channels": [int(c) for c in decoder_channels], "pyramid_channels": int(proj)}
        super().__init__(config, SIDE_MULTIPLE)
        self.base_net = ESPNetv2Encoder(scale)
        c1, c2, c3, c4 = self.base_net.channels
        d1, d2, d3 = decoder_channels
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
        check_input(x, self.side_multiple)
        return self.decode(self.base_net(x), x)

    def decode(self, levels: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Class logits at ``x``'s size from the encoder's four ``levels`` of ``x`` (so that a caller that
        wants the encoder's features too runs it once)."""
        l1, l2, l3, l4 = levels
        out = self.bu_dec_l1(l4)
        for skip, merge, norm, decode in (
            (l3, self.merge_enc_dec_l2, self.bu_br_l2, self.bu_dec_l2),
            (l2, self.merge_enc_dec_l3, self.bu_br_l3, self.bu_dec_l3),
            (l1, self.merge_enc_dec_l4, self.bu_br_l4, self.bu_dec_l4),
        ):
            out = decode(norm(_upsample_to(out, skip) + merge(skip)))
        return _upsample_to(out, x)


def espnetv2_network(num_classes: int, scale: float = 2.0, decoder_channels: tuple[int, int, int] = DECODER_CHANNELS,
                     pyramid_channels: int = PYRAMID_CHANNELS) -> ESPNetv2Segmenter:
    """The ``espnetv2`` architecture of :func:`unseen.nets.build_network` (class names are not an option)."""
    return ESPNetv2Segmenter(scale, num_classes, None, tuple(decoder_channels), pyramid_channels)


def clean_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip the ``module.`` prefix that ``nn.DataParallel`` checkpoints carry."""
    return {key.removeprefix("module."): value for key, value in state.items()}


def read_torch_file(path: Path) -> Any:
    """What ``torch.load`` finds in ``path`` (tensors and plain containers only, never code), on the CPU.

    Raises
    ------
    InputError
        The file is missing or cannot be unpickled as weights.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any unpickling failure: the file is unusable
        raise InputError(f"{path} is not a readable PyTorch state dict ({error.__class__.__name__})") from error


def as_state_dict(data: Any, path: Path) -> dict[str, torch.Tensor]:
    """The state dict in what a ``.pth`` file held: itself, or its ``state_dict`` entry, without ``module.``."""
    if isinstance(data, Mapping) and "state_dict" in data and isinstance(data["state_dict"], Mapping):
        data = data["state_dict"]
    if not isinstance(data, Mapping):
        raise InputError(f"{path} holds no state dict")
    return clean_state_dict(data)


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    return as_state_dict(read_torch_file(path), path)


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
    except (KeyError, RuntimeError, InputError) as error:
        detail = str(error).splitlines()[0]
        raise InputError(f"{path} is not an ESPNetv2 segmentation state dict: {detail}") from error
    return model.eval()
