"""The shipped segmenters, registered by name (imported lazily by :mod:`unseen.segment.base`)."""

from __future__ import annotations

from unseen import zoo
from unseen.segment.base import Segmenter, cpu_only, register_segmenter


def _espnetv2(name: str, device: str) -> Segmenter:
    from unseen.segment.espnetv2 import ESPNetv2

    return ESPNetv2(name, device=device)


def _tflite(name: str, device: str) -> Segmenter:
    from unseen.segment.tflite import load_tflite

    return cpu_only(load_tflite(name), device)


def _prisma(device: str) -> Segmenter:
    from unseen.segment.onnx import PRISMA_CONFIG, load_onnx

    return cpu_only(load_onnx("prisma", PRISMA_CONFIG), device)


def register_all() -> None:
    for name in ("espnetv2-pascal", "espnetv2-pascal-s1", "espnetv2-city"):
        register_segmenter(name, lambda device, name=name: _espnetv2(name, device), zoo.model_info(name).description)
    for name in ("selfie", "selfie-landscape"):
        register_segmenter(name, lambda device, name=name: _tflite(name, device), zoo.model_info(name).description)
    register_segmenter("prisma", _prisma, zoo.model_info("prisma").description)
