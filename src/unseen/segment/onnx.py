"""ONNX segmentation models run with onnxruntime: the shipped ``prisma`` and any model a user brings.

A user's model is described by a JSON sidecar: for ``model.onnx`` either ``model.json`` or
``model.onnx.json`` beside it (both at once is refused as ambiguous). Every field is optional:

``classes``
    Output channel names, in order. A single name means a one-probability model, reported as
    ``("background", NAME)``. Default: ``class0``, ``class1``, ...
``size``
    ``[width, height]`` the model takes. Default: read from the graph's input shape when static. For a
    graph whose height and width are free, one number: the longer side, the aspect ratio kept.
``multiple``
    With a longer-side ``size``: both sides are rounded to a multiple of this (the network's stride,
    e.g. 32). Default: 1.
``layout``
    ``"nchw"`` or ``"nhwc"``. Default: whichever axis of the input shape has 3 channels.
``scale``, ``mean``, ``std``
    RGB is fed as ``(pixel * scale - mean) / std``, ``mean`` and ``std`` per channel (or one number).
    Defaults: ``1/255``, ``0``, ``1``.
``output``
    ``"probs"`` (already probabilities), ``"logits"`` (softmax over channels is applied) or ``"sigmoid"``
    (one channel of logits). Default: guessed per frame from the values, a single channel in [0, 1] (or
    channels in [0, 1] summing to one) being taken as probabilities, anything else as logits.

The output's channel axis follows the input layout unless only the other axis matches the class count.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from unseen import zoo
from unseen.errors import InputError
from unseen.segment.base import BACKGROUND, check_rgb, stretch, two_class

LAYOUTS = ("nchw", "nhwc")
OUTPUTS = ("probs", "logits", "sigmoid")
_INPUT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


@dataclass(frozen=True)
class OnnxConfig:
    """How to feed an ONNX segmentation model and read its output; ``None`` means inferred from the graph.

    Attributes
    ----------
    classes : tuple of str or None
        Output channel names; one name for a single-probability model.
    size : tuple of int, int or None
        Input (width, height), or the longer side for a graph of free size.
    multiple : int
        With a longer-side size, both sides are rounded to a multiple of this.
    layout : str or None
        ``"nchw"`` or ``"nhwc"``.
    mean, std : tuple of float
        Per-channel normalisation, applied after ``scale``.
    scale : float
        Multiplies the 0-255 RGB values first.
    output : str or None
        ``"probs"``, ``"logits"`` or ``"sigmoid"``; None guesses from the values of each frame.
    """

    classes: tuple[str, ...] | None = None
    size: tuple[int, int] | int | None = None
    layout: str | None = None
    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    scale: float = 1 / 255
    output: str | None = None
    multiple: int = 1


# Prisma-Net (anilsathyan7/Portrait-Segmentation): [N,3,256,256] RGB/255 in, [N,1,256,256] sigmoid out.
PRISMA_CONFIG = OnnxConfig(classes=("person",), size=(256, 256), layout="nchw", output="probs")
ZOO_CONFIGS = {"prisma": PRISMA_CONFIG}


def _bad(source: str, key: str, wanted: str, value: Any) -> InputError:
    return InputError(f"{source}: field {key!r} must be {wanted}, got {value!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _classes(value: Any, source: str) -> tuple[str, ...]:
    names = tuple(value) if isinstance(value, list | tuple) else ()
    if not names or not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise _bad(source, "classes", "a non-empty list of distinct names", value)
    if names == (BACKGROUND,):
        raise _bad(source, "classes", f"the foreground's name (a single {BACKGROUND!r} scores nothing)", value)
    return names


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _size(value: Any, source: str) -> tuple[int, int] | int:
    if _whole(value):
        return int(value)
    if not (isinstance(value, list | tuple) and len(value) == 2 and all(_whole(n) for n in value)):
        raise _bad(source, "size", "[width, height] or a longer side, in positive whole pixels", value)
    return int(value[0]), int(value[1])


def _multiple(value: Any, source: str) -> int:
    if not _whole(value):
        raise _bad(source, "multiple", "a positive whole number of pixels", value)
    return int(value)


def _per_channel(value: Any, source: str, key: str, nonzero: bool = False) -> tuple[float, ...]:
    values = list(value) if isinstance(value, list | tuple) else [value]
    if len(values) not in (1, 3) or not all(_is_number(v) and (v != 0 or not nonzero) for v in values):
        wanted = "one number or three (R, G, B)" + (", none zero" if nonzero else "")
        raise _bad(source, key, wanted, value)
    return tuple(float(v) for v in values) * (3 // len(values))


def _choice(value: Any, source: str, key: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise _bad(source, key, " or ".join(repr(c) for c in choices), value)
    return value


def _scale(value: Any, source: str) -> float:
    if not _is_number(value) or value <= 0:
        raise _bad(source, "scale", "a positive number", value)
    return float(value)


def parse_config(data: dict, source: str) -> OnnxConfig:
    """An :class:`OnnxConfig` from a dict (a parsed sidecar), every field checked.

    Raises
    ------
    InputError
        An unknown field or a bad value; one line starting with ``source`` (the file it came from).
    """
    known = [f.name for f in fields(OnnxConfig)]
    unknown = sorted(set(data) - set(known))
    if unknown:  # most likely a typo, which would otherwise be silently ignored
        raise InputError(f"{source}: unknown field {unknown[0]!r}; known fields: {', '.join(known)}")
    parsers = {
        "classes": lambda v: _classes(v, source),
        "size": lambda v: _size(v, source),
        "layout": lambda v: _choice(v, source, "layout", LAYOUTS),
        "mean": lambda v: _per_channel(v, source, "mean"),
        "std": lambda v: _per_channel(v, source, "std", nonzero=True),
        "scale": lambda v: _scale(v, source),
        "output": lambda v: _choice(v, source, "output", OUTPUTS),
        "multiple": lambda v: _multiple(v, source),
    }
    return OnnxConfig(**{key: parsers[key](value) for key, value in data.items() if value is not None})


def sidecar_path(model: Path) -> Path | None:
    """The JSON that describes ``model``: ``model.json`` or ``model.onnx.json``; None if there is none.

    Raises
    ------
    InputError
        Both exist, so which one applies would be a guess.
    """
    found = [p for p in (model.with_suffix(".json"), model.with_name(model.name + ".json")) if p.is_file()]
    if len(found) == 2:
        raise InputError(f"{model}: both {found[0].name} and {found[1].name} describe it; keep one")
    return found[0] if found else None


def read_sidecar(path: Path) -> OnnxConfig:
    """The :class:`OnnxConfig` in a JSON sidecar file (see the module documentation for its fields)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot be read ({error.__class__.__name__})") from error
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object of fields, got {type(data).__name__}")
    return parse_config(data, str(path))


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text or error.__class__.__name__


def _session(path: Path, threads: int | None) -> Any:
    """An onnxruntime CPU session; any file onnxruntime cannot load becomes an :class:`InputError`."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 0 if threads is None else threads  # 0: onnxruntime's default, one per core
    options.inter_op_num_threads = 1
    # Idle pool threads otherwise spin for a while after every frame, stealing the core that decodes video.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: graph-optimiser warnings mean nothing to users
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own pybind classes (InvalidProtobuf, Fail, ...)
        raise InputError(f"{path} is not a usable ONNX model: {_one_line(error)}") from error


def _input_layout(shape: list, config: OnnxConfig, path: Path) -> str:
    """The configured layout, checked against the input shape, or the one whose channel axis holds 3."""
    first, last = shape[1] == 3, shape[3] == 3
    if config.layout is not None:
        axis = 1 if config.layout == "nchw" else 3
        if isinstance(shape[axis], int) and shape[axis] != 3:
            raise InputError(f"{path}: layout {config.layout!r} puts {shape[axis]} channels on the input, not 3")
        return config.layout
    if first == last:
        raise InputError(f"{path}: cannot tell the layout of input {shape}; give \"layout\" in its JSON")
    return "nchw" if first else "nhwc"


def _input_size(shape: list, layout: str, config: OnnxConfig, path: Path) -> tuple[int, int] | int:
    """The input (width, height): the graph's static one, else the configured one; they must agree.

    A longer side (an int) is for graphs of free size only.
    """
    height, width = shape[2:4] if layout == "nchw" else shape[1:3]
    static = (width, height) if isinstance(width, int) and isinstance(height, int) else None
    if isinstance(config.size, int):
        if static is not None:
            raise InputError(f"{path}: the graph's input is fixed at {shape}; \"size\" cannot be a longer side")
        return config.size
    if config.size is not None and static is not None and config.size != static:
        raise InputError(f"{path}: size {list(config.size)} disagrees with the graph's input {shape}")
    if config.size is None and static is None:
        raise InputError(f"{path}: the input size is not fixed in the graph; give \"size\": [width, height]")
    return config.size or static


class OnnxSegmenter:
    """An ONNX model that maps one RGB image to per-pixel class scores (its first output is read).

    Attributes
    ----------
    name : str
        The registry name or path it was loaded from.
    classes : tuple of str
        Output channel names; ``("background", NAME)`` for a single-probability model.
    size : tuple of int or int
        The input (width, height), or the longer side (graphs of free size; aspect ratio kept).
    config : OnnxConfig
        The settings in use, with size and layout filled in.
    """

    def __init__(self, name: str, path: Path, session: Any, config: OnnxConfig) -> None:
        self.name, self._path, self._session = name, path, session
        node = session.get_inputs()[0]
        self._input_name, self._dtype = node.name, _INPUT_TYPES[node.type]
        layout = _input_layout(node.shape, config, path)
        self.size = _input_size(node.shape, layout, config, path)
        self.config = replace(config, size=self.size, layout=layout)
        self._mean, self._std = np.asarray(config.mean, np.float32), np.asarray(config.std, np.float32)
        self._output_name = session.get_outputs()[0].name
        # One run on grey learns the output's shape, so a mismatch is reported at load, not on the first frame.
        shape = self._run(np.full((64, 64, 3), 128, np.uint8)).shape
        self._channel_axis = self._find_channel_axis(shape)
        self.classes = self._class_names(1 if self._channel_axis is None else shape[self._channel_axis])

    def _find_channel_axis(self, shape: tuple[int, ...]) -> int | None:
        """Channel axis of the raw output: the input layout's, unless only the other fits ``classes``.

        None for a ``[1, h, w]`` output (one map, no channel axis).
        """
        if len(shape) == 3 and shape[0] == 1:
            return None
        if len(shape) != 4 or shape[0] != 1:
            raise InputError(f"{self._path}: expected a [1,C,h,w] or [1,h,w,C] output, got {list(shape)}")
        preferred, other = (1, 3) if self.config.layout == "nchw" else (3, 1)
        wanted = None if self.config.classes is None else len(self.config.classes)
        if wanted is not None and shape[preferred] != wanted and shape[other] == wanted:
            return other
        return preferred

    def _class_names(self, channels: int) -> tuple[str, ...]:
        names, output = self.config.classes, self.config.output
        if output == "sigmoid" and channels != 1:
            raise InputError(f"{self._path}: output 'sigmoid' needs one channel, the model has {channels}")
        if output == "logits" and channels == 1:
            raise InputError(f"{self._path}: output 'logits' needs 2+ channels; use 'sigmoid' for one")
        if names is None:
            names = tuple(f"class{i}" for i in range(channels))
        if len(names) != channels:
            raise InputError(f"{self._path}: {len(names)} class names for {channels} output channels")
        return (BACKGROUND, names[0]) if channels == 1 else names

    def _prepare(self, rgb: np.ndarray) -> np.ndarray:
        width, height = self._input_shape(rgb)
        x = stretch(check_rgb(rgb), width, height).astype(np.float32) * np.float32(self.config.scale)
        x = (x - self._mean) / self._std
        if self.config.layout == "nchw":
            x = x.transpose(2, 0, 1)
        return np.ascontiguousarray(x[None], dtype=self._dtype)

    def _input_shape(self, rgb: np.ndarray) -> tuple[int, int]:
        """(width, height) the network sees for this frame."""
        if not isinstance(self.size, int):
            return self.size
        height, width = rgb.shape[:2]
        factor, step = self.size / max(width, height), self.config.multiple
        return (max(step, round(width * factor / step) * step), max(step, round(height * factor / step) * step))

    def _run(self, rgb: np.ndarray) -> np.ndarray:
        return self._session.run([self._output_name], {self._input_name: self._prepare(rgb)})[0]

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """HxWx3 uint8 RGB -> h x w x C float32 probabilities at the model's output resolution."""
        scores = self._run(rgb)[0]
        maps = scores[..., None] if self._channel_axis is None else np.moveaxis(scores, self._channel_axis - 1, -1)
        return _probabilities(maps.astype(np.float32, copy=False), self.config.output)


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=2, keepdims=True))
    return e / e.sum(axis=2, keepdims=True)


def _looks_like_probabilities(maps: np.ndarray) -> bool:
    if maps.min() < 0 or maps.max() > 1:
        return False
    return maps.shape[2] == 1 or bool(np.allclose(maps.sum(axis=2), 1, atol=1e-3))


def _probabilities(maps: np.ndarray, output: str | None) -> np.ndarray:
    """h x w x C raw output -> h x w x C' probabilities (C' = 2 for a one-channel model)."""
    if output is None:
        output = "probs" if _looks_like_probabilities(maps) else "sigmoid" if maps.shape[2] == 1 else "logits"
    if output == "sigmoid":
        return two_class(1 / (1 + np.exp(-maps)))
    if maps.shape[2] == 1:
        return two_class(maps)
    return _softmax(maps) if output == "logits" else np.ascontiguousarray(maps)


def _config_for(path: Path, key: str | None, config: OnnxConfig | dict | None) -> OnnxConfig:
    """The caller's config, else the registry's for a registry model, else the sidecar's, else defaults."""
    if isinstance(config, dict):
        return parse_config(config, f"{path} config")
    if config is not None:
        return config
    if key in ZOO_CONFIGS:
        return ZOO_CONFIGS[key]
    sidecar = sidecar_path(path)
    return read_sidecar(sidecar) if sidecar else OnnxConfig()


def _check_graph(path: Path, session: Any) -> None:
    inputs = session.get_inputs()
    if len(inputs) != 1 or len(inputs[0].shape) != 4 or inputs[0].type not in _INPUT_TYPES:
        found = ", ".join(f"{i.type} {i.shape}" for i in inputs)
        raise InputError(f"{path}: expected one float image input of rank 4, found {found or 'none'}")
    batch = inputs[0].shape[0]
    if isinstance(batch, int) and batch != 1:
        raise InputError(f"{path}: the input batch is fixed at {batch}; only 1 (or a free batch) is supported")
    output = session.get_outputs()[0]
    if output.type not in (*_INPUT_TYPES, "tensor(double)"):  # class indices (arg-max) carry no probabilities
        raise InputError(f"{path}: expected float scores out, found {output.type} {output.shape}")


def load_onnx(name_or_path: str | Path, config: OnnxConfig | dict | None = None,
              threads: int | None = 1) -> OnnxSegmenter:
    """A segmenter from a registry name (``prisma``) or an ``.onnx`` path, run with onnxruntime on the CPU.

    Parameters
    ----------
    name_or_path : str or Path
        A name from :mod:`unseen.zoo` (found in ``UNSEEN_MODELS`` or the cache, else downloaded) or a file.
    config : OnnxConfig or dict or None
        How to feed the model (a dict has the sidecar's fields). None: the registry's settings for a
        registry name, else the JSON sidecar beside the file, else what the graph tells.
    threads : int or None
        Intra-op CPU threads. One by default: on small machines a second thread contends with video
        decoding and encoding and was measured slower, not faster. None lets onnxruntime use every core.

    Raises
    ------
    InputError
        The name is unknown; the file is missing, not ONNX, or not a one-image-in, one-map-out model; or
        its configuration is bad. The message is one line naming the file.
    """
    if threads is not None and threads < 1:
        raise InputError(f"threads must be at least 1 (or None for onnxruntime's choice), got {threads}")
    onnx_models = [info.name for info in zoo.list_models() if info.file.endswith(".onnx")]
    path, key = zoo.resolve(name_or_path, onnx_models)
    settings = _config_for(path, key, config)
    session = _session(path, threads)
    _check_graph(path, session)
    return OnnxSegmenter(str(name_or_path), path, session, settings)
