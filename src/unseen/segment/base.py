"""The segmenter interface and the registry that finds segmenters by name.

A segmenter turns one RGB frame into class probabilities. Everything downstream (temporal smoothing,
masks for removal, overlays, background replacement) works on those probabilities, so a new model only
has to implement :meth:`Segmenter.predict` and register a factory.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from unseen.errors import InputError, warn
from unseen.segment.classes import match_classes

BACKGROUND = "background"


@runtime_checkable
class Segmenter(Protocol):
    """Per-pixel class probabilities for one frame.

    Attributes
    ----------
    name : str
        What the user typed to get it (a registry name or a file path).
    classes : tuple of str
        The name of each output channel, in order. Models that score one class (selfie, portrait models)
        report ``("background", CLASS)`` and return ``1 - p`` as the background channel.

    A segmenter may also offer ``predict_wanted(rgb, indices)``: h x w x (1 + K), "anything else" then the
    channels ``indices``, cheaper than all of them (:func:`unseen.segment.focus.predict_wanted` uses it).
    """

    name: str
    classes: tuple[str, ...]

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """HxWx3 uint8 RGB -> h x w x C float32 probabilities (summing to one over C).

        ``h x w`` is the model's own working resolution (any size; the aspect ratio need not be the
        frame's): callers resize to the frame with :func:`to_frame`, after picking the channels they need,
        which is far cheaper than resizing every class.
        """
        ...


def check_rgb(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` if it is an HxWx3 uint8 image, else an :class:`InputError` saying what it is."""
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        described = f"{rgb.dtype} {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise InputError(f"expected an HxWx3 uint8 RGB image, got {described}")
    return rgb


def two_class(probability: np.ndarray) -> np.ndarray:
    """h x w (or h x w x 1) probability of one class -> h x w x 2 float32 ``[1 - p, p]``."""
    p = np.clip(probability.reshape(probability.shape[:2]).astype(np.float32), 0.0, 1.0)
    return np.stack([1.0 - p, p], axis=2)


def stretch(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """``rgb`` resized to exactly (width, height), aspect ratio not kept, bilinearly, for a fixed-size model.

    Bilinear, not area averaging, even when shrinking: MediaPipe feeds its models bilinear samples, and on
    the parkour clip area averaging dropped selfie's person IoU from 0.63 to 0.50 (prisma: no change).
    """
    if rgb.shape[:2] == (height, width):
        return rgb
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)


def to_frame(maps: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of an h x w (x C) float map to the frame's size, keeping its channel axis."""
    if maps.shape[:2] == (height, width):
        return maps
    resized = cv2.resize(maps, (width, height), interpolation=cv2.INTER_LINEAR)
    return resized.reshape((height, width) + maps.shape[2:])


def class_indices(segmenter: Segmenter, wanted: list[str] | tuple[str, ...]) -> list[int]:
    """Channel index of each wanted class name, or of a class the model names otherwise (``person`` is a street
    model's ``pedestrian``: :data:`unseen.segment.classes.CLASS_ALIASES`); an :class:`InputError` lists the
    model's classes when it has neither."""
    indices = []
    for name in wanted:
        match = match_classes(segmenter.classes, [name])  # (the same name first, an alias then)
        if not match:
            known = ", ".join(c for c in segmenter.classes if c != BACKGROUND)
            raise InputError(f"model {segmenter.name!r} has no class {name!r}; its classes: {known}")
        indices.append(match[0])
    return indices


_FACTORIES: dict[str, Callable[[str], Segmenter]] = {}
_DESCRIPTIONS: dict[str, str] = {}


def register_segmenter(name: str, factory: Callable[[str], Segmenter], description: str = "") -> None:
    """Make ``get_segmenter(name, device)`` build a segmenter with ``factory(device)`` (once per request)."""
    _FACTORIES[name] = factory
    _DESCRIPTIONS[name] = description


def list_segmenters() -> dict[str, str]:
    """Registered segmenter names and their one-line descriptions."""
    _register_builtins()
    return dict(sorted(_DESCRIPTIONS.items()))


def get_segmenter(name: str, device: str = "cpu") -> Segmenter:
    """A segmenter by registry name, or from a model file path (``.onnx``, ``.tflite``; ``.pth`` for ESPNetv2;
    ``.pt`` or a run folder for a model trained with ``unseen train segmenter``).

    ``device`` (``cpu``, ``cuda``, ``cuda:1``) is where PyTorch models run; the LiteRT and ONNX models run
    on the CPU and say so when asked for another device.

    Raises
    ------
    InputError
        Unknown name, or the model's file is missing or unusable.
    """
    _register_builtins()
    if name in _FACTORIES:
        return _FACTORIES[name](device)
    path = Path(name)
    if path.suffix.lower() == ".onnx":
        from unseen.segment.onnx import load_onnx

        return cpu_only(load_onnx(path), device)
    if path.suffix.lower() == ".tflite":
        from unseen.segment.tflite import load_tflite

        return cpu_only(load_tflite(name), device)
    if path.suffix.lower() == ".pth":
        from unseen.segment.espnetv2 import ESPNetv2

        return ESPNetv2(name, device=device)
    if path.suffix.lower() == ".pt" or (path / "best.pt").is_file():
        from unseen.segment.trained import TrainedSegmenter

        return TrainedSegmenter(name, device=device)
    known = ", ".join(sorted(_FACTORIES))
    raise InputError(f"unknown model {name!r}; choose one of {known}, a run folder or .pt of `unseen train`, "
                     "or a .onnx or .tflite file")


def cpu_only(segmenter: Segmenter, device: str) -> Segmenter:
    """``segmenter`` (whose runtime here runs on the CPU), with a warning if another device was asked for."""
    if device != "cpu":
        warn(f"model {segmenter.name!r} runs on the CPU (its runtime has no {device} support here)")
    return segmenter


_BUILTINS_REGISTERED = False


def _register_builtins() -> None:
    """Register the shipped models lazily, so importing this module does not import torch or runtimes."""
    global _BUILTINS_REGISTERED
    if _BUILTINS_REGISTERED:
        return
    _BUILTINS_REGISTERED = True
    from unseen.segment import builtins

    builtins.register_all()


# Each class's best shipped model, by bench/segment.py --wide (docs/benchmarks.md). People alone:
# unseen-person-full, ESPNetv2-PASCAL's people (it calls no animal a person, where the selfie model erased camels and
# cows) completed by our fine-tune where PASCAL sees part of the person: mean recall 0.470 -> 0.510, parkour frames
# missing more than 10 % of the runner 12 % -> 2 %, no false area on the animal clips; cars alone: unseen-car, the
# small ESPNetv2-PASCAL confirmed by our street model (mean IoU 0.709 vs 0.582, worst-frame false positives
# 1.8 % vs 6.7 % of the image, car-roundabout 0.811 vs 0.801, 12.5 fps at 854x480).
BEST_FOR = {"person": "unseen-person-full", "car": "unseen-car"}
# Replacing the background behind people (webcams, streams) wants speed above all, and a person near the
# camera: the selfie model MediaPipe made for it, with the zoomed second look (43 fps at 854x480 against 11;
# parkour IoU 0.81 against 0.79).
BACKGROUND_MODEL = "selfie-landscape"
# Several classes together: the first model that knows them all (PASCAL's s=2.0 model is the better
# all-rounder: parkour person 0.81 vs 0.74 for s=1.0); Cityscapes adds the street classes PASCAL lacks.
DEFAULT_ORDER = ("espnetv2-pascal", "espnetv2-city")


def _classes_of(name: str) -> tuple[str, ...]:
    from unseen.segment.classes import CITYSCAPES_CLASSES, PASCAL_CLASSES

    return {"espnetv2-pascal": PASCAL_CLASSES, "espnetv2-city": CITYSCAPES_CLASSES}[name]


def default_segmenter(classes: list[str] | tuple[str, ...], background: bool = False) -> str:
    """The shipped model for these classes: :data:`BEST_FOR` a single class (:data:`BACKGROUND_MODEL` for
    people when the ``background`` behind them is to be replaced), else the first model of
    :data:`DEFAULT_ORDER` that knows every wanted class."""
    single = classes[0] if len(set(classes)) == 1 else None
    best = BACKGROUND_MODEL if background and single == "person" else BEST_FOR.get(single)
    if best and (not best.startswith("selfie") or importlib.util.find_spec("ai_edge_litert")):
        return best  # (LiteRT has no wheel for some platforms: people then get the all-rounder)
    for name in DEFAULT_ORDER:
        if all(c in _classes_of(name) for c in classes):
            return name
    known = sorted({c for name in DEFAULT_ORDER for c in _classes_of(name)} - {BACKGROUND})
    missing = [c for c in classes if c not in known]
    if missing:
        raise InputError(f"no shipped model knows {', '.join(missing)}; classes: {', '.join(known)}")
    raise InputError(f"no shipped model segments {', '.join(classes)} together; use one model's classes "
                     "(see `unseen segment --help`)")
