"""The shipped segmenters, registered by name (imported lazily by :mod:`unseen.segment.base`)."""

from __future__ import annotations

from unseen import zoo
from unseen.segment.base import Segmenter, register_segmenter


def _espnetv2(name: str) -> Segmenter:
    from unseen.segment.espnetv2 import ESPNetv2

    return ESPNetv2(name)


def _tflite(name: str) -> Segmenter:
    from unseen.segment.tflite import load_tflite

    return load_tflite(name)


def _prisma() -> Segmenter:
    from unseen.segment.onnx import PRISMA_CONFIG, load_onnx

    return load_onnx("prisma", PRISMA_CONFIG)


def register_all() -> None:
    for name in ("espnetv2-pascal", "espnetv2-pascal-s1", "espnetv2-city"):
        register_segmenter(name, lambda name=name: _espnetv2(name), zoo.model_info(name).description)
    for name in ("selfie", "selfie-landscape"):
        register_segmenter(name, lambda name=name: _tflite(name), zoo.model_info(name).description)
    register_segmenter("prisma", _prisma, zoo.model_info("prisma").description)
