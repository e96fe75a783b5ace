"""The shipped segmenters, registered by name (imported lazily by :mod:`unseen.segment.base`)."""

from __future__ import annotations

from typing import NamedTuple

from unseen import zoo
from unseen.segment.base import Segmenter, cpu_only, register_segmenter
from unseen.segment.confirmed import ADD_MISSED, CONFIRM, EXTEND

# Segmenters we trained ourselves (``unseen train segmenter``), in :data:`unseen.zoo.PACKAGE_WEIGHTS`: they
# need no ../shared/models.
OURS = {
    "unseen-street-car": ("street_car.pt", "car in street and dashcam footage: ESPNetv2 s=1.0 from PASCAL, "
                                           "fine-tuned by unseen on CamVid with negative scenes; no shadowed road "
                                           "as car, finds small distant cars, misses parts of close shiny ones"),
    "unseen-street-person": ("street_person.pt", "pedestrians in street and dashcam footage: ESPNetv2 s=1.0 from "
                                                 "PASCAL, fine-tuned by unseen on CamVid with negative scenes; finds "
                                                 "small distant people, not close ones whole"),
    "unseen-person-tuned": ("person_tuned.pt", "PASCAL's 21 classes: ESPNetv2-PASCAL s=2.0 fine-tuned by unseen on "
                                               "person photos and CamVid; finds legs, heads and riders PASCAL drops, "
                                               "but takes some animals for people"),
}


def _espnetv2(name: str, device: str) -> Segmenter:
    from unseen.segment.espnetv2 import ESPNetv2

    return ESPNetv2(name, device=device)


def _tflite(name: str, device: str) -> Segmenter:
    from unseen.segment.tflite import load_tflite

    return cpu_only(load_tflite(name), device)


def _prisma(device: str) -> Segmenter:
    from unseen.segment.onnx import PRISMA_CONFIG, load_onnx

    return cpu_only(load_onnx("prisma", PRISMA_CONFIG), device)


def _ours(name: str, device: str) -> Segmenter:
    from unseen.segment.trained import TrainedSegmenter

    segmenter = TrainedSegmenter(zoo.PACKAGE_WEIGHTS / OURS[name][0], device=device)
    segmenter.name = name
    return segmenter


class Pair(NamedTuple):
    """Two segmenters of one class, each making up for the other's weakness (:mod:`unseen.segment.confirmed`)."""

    class_name: str
    proposer: str
    confirmer: str
    description: str
    mode: str = CONFIRM  # how the two are put together: one of unseen.segment.confirmed.MODES


CONFIRMED = {
    "unseen-car": Pair("car", "espnetv2-pascal-s1", "unseen-street-car",
                       "car: the cars unseen-street-car finds, with ESPNetv2-PASCAL s=1.0's outline where it sees "
                       "them too: close cars whole, small distant ones found, no shadowed road; both networks run"),
    "unseen-person": Pair("person", "espnetv2-pascal", "unseen-street-person",
                          "person: ESPNetv2-PASCAL's people, and the small, distant pedestrians "
                          "unseen-street-person finds where it sees nobody; both networks run", ADD_MISSED),
    "unseen-person-full": Pair("person", "espnetv2-pascal", "unseen-person-tuned",
                               "person: ESPNetv2-PASCAL's people, completed by unseen-person-tuned's where PASCAL sees "
                               "part of them (legs, heads, riders), not its animals; both networks run", EXTEND),
}


def _confirmed(name: str, device: str) -> Segmenter:
    from unseen.segment.base import get_segmenter
    from unseen.segment.confirmed import ConfirmedSegmenter

    pair = CONFIRMED[name]
    return ConfirmedSegmenter(name, pair.class_name, get_segmenter(pair.proposer, device),
                              get_segmenter(pair.confirmer, device), pair.mode)


def register_all() -> None:
    for name in ("espnetv2-pascal", "espnetv2-pascal-s1", "espnetv2-city"):
        register_segmenter(name, lambda device, name=name: _espnetv2(name, device), zoo.model_info(name).description)
    for name in ("selfie", "selfie-landscape"):
        register_segmenter(name, lambda device, name=name: _tflite(name, device), zoo.model_info(name).description)
    register_segmenter("prisma", _prisma, zoo.model_info("prisma").description)
    for name, (_, description) in OURS.items():
        register_segmenter(name, lambda device, name=name: _ours(name, device), description)
    for name, pair in CONFIRMED.items():
        register_segmenter(name, lambda device, name=name: _confirmed(name, device), pair.description)
