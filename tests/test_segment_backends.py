"""The LiteRT (selfie) and onnxruntime (prisma, user models) segmenters on real frames, and their errors."""

from __future__ import annotations

import json
import shutil
import sys
import urllib.error
from pathlib import Path

import cv2
import numpy as np
import pytest

from unseen import zoo
from unseen.errors import InputError
from unseen.segment.base import Segmenter, get_segmenter, to_frame
from unseen.segment.onnx import OnnxConfig, load_onnx
from unseen.segment.tflite import load_tflite

from conftest import shared_path

MODELS = ("selfie", "selfie-landscape", "prisma")
# Person IoU measured on parkour frames 10, 30 and 60: selfie 0.76/0.80/0.85, landscape 0.70/0.57/0.88,
# prisma 0.60/0.50/0.72 (means 0.80, 0.72, 0.61); over every 10th frame: 0.63, 0.65, 0.57.
IOU_FLOOR = 0.5


@pytest.fixture(scope="module")
def segmenters() -> dict[str, Segmenter]:
    """The shipped models from ../shared/models (never downloaded)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UNSEEN_MODELS", str(shared_path("models")))
        patch.setenv("UNSEEN_CACHE", "/nonexistent/unseen-cache")
        return {name: get_segmenter(name) for name in MODELS}


@pytest.fixture(scope="module")
def parkour() -> list[tuple[np.ndarray, np.ndarray]]:
    """Three parkour frames (854x480 RGB) with their ground-truth person masks."""
    frames = []
    for index in (10, 30, 60):
        image = cv2.imread(str(shared_path("data", "clips", "parkour", "frames", f"{index:05d}.jpg")))
        mask = cv2.imread(str(shared_path("data", "clips", "parkour", "masks", f"{index:05d}.png")), 0)
        frames.append((cv2.cvtColor(image, cv2.COLOR_BGR2RGB), mask > 127))
    return frames


def person_map(segmenter: Segmenter, rgb: np.ndarray) -> np.ndarray:
    probs = segmenter.predict(rgb)
    person = np.ascontiguousarray(probs[..., segmenter.classes.index("person")])
    return to_frame(person, rgb.shape[1], rgb.shape[0])


@pytest.mark.parametrize("name", MODELS)
def test_probabilities_at_model_resolution(segmenters: dict[str, Segmenter], parkour: list, name: str) -> None:
    segmenter = segmenters[name]
    probs = segmenter.predict(parkour[0][0])
    width, height = segmenter.size
    assert segmenter.name == name and segmenter.classes == ("background", "person")
    assert probs.shape == (height, width, 2) and probs.dtype == np.float32
    assert np.allclose(probs.sum(axis=2), 1, atol=1e-5) and probs.min() >= 0
    with pytest.raises(InputError, match="HxWx3 uint8"):
        segmenter.predict(parkour[0][0].astype(np.float32))


@pytest.mark.parametrize("name", MODELS)
def test_person_found_on_real_frames(segmenters: dict[str, Segmenter], parkour: list, name: str) -> None:
    ious = []
    for rgb, truth in parkour:
        person = person_map(segmenters[name], rgb)
        far = cv2.distanceTransform((~truth).astype(np.uint8), cv2.DIST_L2, 5) > 50
        assert person[truth].mean() > 0.5 and person[far].mean() < 0.1
        predicted = person > 0.5
        ious.append((predicted & truth).sum() / (predicted | truth).sum())
    assert np.mean(ious) > IOU_FLOOR, ious


def test_threads_option(parkour: list, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNSEEN_MODELS", str(shared_path("models")))
    rgb = parkour[0][0]
    one = load_tflite("selfie", threads=1).predict(rgb)
    assert np.allclose(load_tflite("selfie", threads=None).predict(rgb), one, atol=1e-4)
    assert np.allclose(load_tflite(shared_path("models", "selfie_segmentation.tflite"), threads=2).predict(rgb),
                       one, atol=1e-4)
    with pytest.raises(InputError, match="threads must be at least 1"):
        load_onnx("prisma", threads=0)


def test_missing_litert_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)  # None in sys.modules makes the import fail
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(InputError, match="pip install ai-edge-litert"):
        load_tflite("selfie")


def copy_prisma(folder: Path, sidecar: dict | str | None = None, name: str = "portrait.json") -> Path:
    model = folder / "portrait.onnx"
    shutil.copyfile(shared_path("models", "prisma_nchw.onnx"), model)
    if sidecar is not None:
        (folder / name).write_text(sidecar if isinstance(sidecar, str) else json.dumps(sidecar))
    return model


@pytest.mark.parametrize("sidecar", ["portrait.json", "portrait.onnx.json"])
def test_user_onnx_with_sidecar(segmenters: dict, parkour: list, tmp_path: Path, sidecar: str) -> None:
    model = copy_prisma(tmp_path, {"classes": ["person"], "output": "probs"}, sidecar)
    segmenter = get_segmenter(str(model))
    assert segmenter.classes == ("background", "person") and segmenter.name == str(model)
    rgb = parkour[1][0]
    assert np.allclose(segmenter.predict(rgb), segmenters["prisma"].predict(rgb), atol=1e-5)


def test_user_onnx_without_sidecar_infers(segmenters: dict, parkour: list, tmp_path: Path) -> None:
    segmenter = load_onnx(copy_prisma(tmp_path), threads=2)
    assert segmenter.classes == ("background", "class0") and segmenter.config.layout == "nchw"
    assert segmenter.size == (256, 256)
    rgb = parkour[1][0]
    assert np.allclose(segmenter.predict(rgb), segmenters["prisma"].predict(rgb), atol=1e-5)


@pytest.mark.parametrize(("sidecar", "complaint"), [
    ({"size": [256]}, "'size'"),
    ({"classes": "person"}, "'classes'"),
    ({"layout": "chw"}, "'layout'"),
    ({"std": [0.2, 0, 0.2]}, "'std'"),
    ({"output": "softmax"}, "'output'"),
    ({"clases": ["person"]}, "unknown field 'clases'"),
    ({"classes": ["person", "background", "sky"]}, "3 class names for 1 output channels"),
    ({"size": [128, 128]}, "disagrees"),
    ({"output": "logits"}, "'logits' needs 2"),
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
])
def test_bad_sidecar_names_the_file(tmp_path: Path, sidecar: dict | str, complaint: str) -> None:
    model = copy_prisma(tmp_path, sidecar)
    with pytest.raises(InputError, match="portrait") as error:
        load_onnx(model)
    assert complaint in str(error.value) and "\n" not in str(error.value)


def test_two_sidecars_are_ambiguous(tmp_path: Path) -> None:
    model = copy_prisma(tmp_path, {"classes": ["person"]})
    (tmp_path / "portrait.onnx.json").write_text("{}")
    with pytest.raises(InputError, match="portrait.json and portrait.onnx.json"):
        load_onnx(model)


def test_bad_config_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNSEEN_MODELS", str(shared_path("models")))
    with pytest.raises(InputError, match="prisma_nchw.onnx config: field 'scale'"):
        load_onnx("prisma", {"scale": -1})
    assert load_onnx("prisma", OnnxConfig(classes=("face",))).classes == ("background", "face")


def test_files_that_are_not_models(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"definitely not a protobuf" * 10)
    for load in (load_onnx, get_segmenter):
        with pytest.raises(InputError, match="junk.onnx is not a usable ONNX model") as error:
            load(str(junk))
        assert "\n" not in str(error.value)
    with pytest.raises(InputError, match="junk.onnx is not a usable TensorFlow Lite model"):
        load_tflite(junk)
    with pytest.raises(InputError, match="prisma_nchw.onnx is not a usable TensorFlow Lite"):
        load_tflite(shared_path("models", "prisma_nchw.onnx"))
    with pytest.raises(InputError, match="nothing.onnx: no such model file"):
        load_onnx(tmp_path / "nothing.onnx")


@pytest.mark.parametrize(("name", "file"), [("prisma", "prisma_nchw.onnx"), ("selfie", "selfie_segmentation.tflite")])
def test_missing_registry_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
                                           file: str) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setenv("UNSEEN_MODELS", "")
    monkeypatch.setenv("UNSEEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(zoo.urllib.request, "urlopen", offline)  # fail at once, without touching the network
    with pytest.raises(InputError, match=f"{name!r} is not available.*put {file} in") as error:
        get_segmenter(name)
    assert "\n" not in str(error.value)


# A hand-encoded ONNX graph (the onnx package is not a dependency): x [1,h,w,3] (free h, w) MatMul W [3,3],
# NHWC class logits out. It covers what prisma does not: NHWC, free sizes, several classes, softmax.
def _varint(n: int) -> bytes:
    out = b""
    while n > 0x7F:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def _field(number: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _tensor_type(name: str, dims: list[int | str]) -> bytes:
    shape = b"".join(_field(1, _field(1, d) if isinstance(d, int) else _field(2, d)) for d in dims)
    return _field(1, name) + _field(2, _field(1, _field(1, 1) + _field(2, shape)))  # elem_type 1: float


def linear_nhwc_model(path: Path, weights: np.ndarray) -> Path:
    """Logits = RGB (as fed) @ ``weights`` (3 x 3), per pixel, in an NHWC graph with free height and width."""
    initializer = (_field(1, 3) + _field(1, 3) + _field(2, 1) + _field(8, "W")
                   + _field(9, weights.astype("<f4").tobytes()))
    node = _field(1, "x") + _field(1, "W") + _field(2, "y") + _field(4, "MatMul")
    graph = (_field(1, node) + _field(2, "g") + _field(5, initializer)
             + _field(11, _tensor_type("x", [1, "h", "w", 3])) + _field(12, _tensor_type("y", [1, "h", "w", 3])))
    path.write_bytes(_field(1, 7) + _field(8, _field(2, 13)) + _field(7, graph))
    return path


def test_nhwc_logits_model(tmp_path: Path) -> None:
    model = linear_nhwc_model(tmp_path / "colours.onnx", np.diag([0.0, 8.0, 8.0]).astype(np.float32))
    with pytest.raises(InputError, match="colours.onnx: the input size is not fixed"):
        load_onnx(model)
    sidecar = {"classes": ["other", "green", "blue"], "size": [48, 32], "output": "logits"}
    (tmp_path / "colours.json").write_text(json.dumps(sidecar))
    segmenter = load_onnx(model)
    assert segmenter.classes == ("other", "green", "blue") and segmenter.config.layout == "nhwc"
    image = np.zeros((60, 90, 3), np.uint8)
    image[:, :45, 1] = 255  # green left half, blue right half
    image[:, 45:, 2] = 255
    probs = segmenter.predict(image)
    assert probs.shape == (32, 48, 3) and np.allclose(probs.sum(axis=2), 1, atol=1e-5)
    assert (probs[:, :20].argmax(2) == 1).all() and (probs[:, 28:].argmax(2) == 2).all()
    assert probs[0, 0, 1] == pytest.approx(np.exp(8) / (np.exp(8) + 2), rel=1e-4)
    guessed = load_onnx(model, {"size": [48, 32]})  # no output kind: logits are recognised from the values
    assert guessed.classes == ("class0", "class1", "class2") and np.allclose(guessed.predict(image), probs)
