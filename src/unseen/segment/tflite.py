"""MediaPipe Selfie Segmentation (TensorFlow Lite) run with LiteRT (``ai-edge-litert``).

Both published variants take float32 RGB in [0, 1], NHWC, and return one person confidence per pixel:
``selfie`` at 256x256, ``selfie-landscape`` at 256x144 (width x height). The frame is stretched to the
model's input as a whole, aspect ratio not kept, as MediaPipe's own graph does
(``selfie_segmentation_cpu.pbtxt``: ``keep_aspect_ratio: false``, range [0, 1], no output activation).
The probabilities come back at the model's resolution; callers resize them with
:func:`unseen.segment.base.to_frame`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from unseen import zoo
from unseen.errors import InputError
from unseen.segment.base import BACKGROUND, check_rgb, stretch, two_class

TFLITE_MODELS = ("selfie", "selfie-landscape")
PERSON = "person"


class TfliteSegmenter:
    """A one-class (person) TensorFlow Lite segmenter with an NHWC float input in [0, 1].

    Not thread-safe: one interpreter owns one set of tensors, so give each thread its own segmenter.

    Attributes
    ----------
    name : str
        The registry name or path it was loaded from.
    classes : tuple of str
        ``("background", "person")``.
    size : tuple of int
        The model's input (width, height), read from the interpreter.
    """

    def __init__(self, name: str, interpreter: Any) -> None:
        self.name = name
        self.classes = (BACKGROUND, PERSON)
        self._interpreter = interpreter
        self._input = interpreter.get_input_details()[0]
        self._output = interpreter.get_output_details()[0]
        _, height, width, _ = (int(n) for n in self._input["shape"])
        self.size = (width, height)

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """HxWx3 uint8 RGB -> h x w x 2 float32 ``[background, person]`` at the model's resolution."""
        width, height = self.size
        x = stretch(check_rgb(rgb), width, height).astype(np.float32) * np.float32(1 / 255)
        self._interpreter.set_tensor(self._input["index"], x[None])
        self._interpreter.invoke()
        return two_class(self._interpreter.get_tensor(self._output["index"])[0])


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Mute what native code writes to file descriptor 2 (LiteRT's "INFO: Created TensorFlow Lite XNNPACK
    delegate" line on every load), which Python's ``sys.stderr`` cannot catch."""
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr: nothing to mute
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _interpreter_class() -> type:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as error:  # an optional runtime in spirit: say how to get it instead of a traceback
        raise InputError("TensorFlow Lite models need LiteRT: pip install ai-edge-litert") from error
    return Interpreter


def _check_io(path: Path, interpreter: Any) -> None:
    """Refuse models this class cannot drive: it feeds one float NHWC RGB image and reads one map."""
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise InputError(f"{path}: expected one input and one output, found {len(inputs)} and {len(outputs)}")
    shape, dtype = [int(n) for n in inputs[0]["shape"]], inputs[0]["dtype"]
    if len(shape) != 4 or shape[0] != 1 or shape[3] != 3 or dtype != np.float32:
        raise InputError(f"{path}: expected a float32 [1,h,w,3] input, found {np.dtype(dtype).name} {shape}")
    out = [int(n) for n in outputs[0]["shape"]]
    if len(out) != 4 or out[0] != 1 or out[3] != 1:
        raise InputError(f"{path}: expected a one-channel [1,h,w,1] output, found {out}")


def load_tflite(name_or_path: str | Path, threads: int | None = 1) -> TfliteSegmenter:
    """A person segmenter from a registry name (``selfie``, ``selfie-landscape``) or a ``.tflite`` path.

    Parameters
    ----------
    name_or_path : str or Path
        A name from :mod:`unseen.zoo` (found in ``UNSEEN_MODELS`` or the cache, else downloaded) or a file.
    threads : int or None
        CPU threads for the interpreter. One by default: these models take a few milliseconds a frame,
        and the video pipeline decodes, smooths and encodes on the other cores meanwhile, so extra
        threads buy little and contend on small machines. None lets LiteRT choose.

    Raises
    ------
    InputError
        LiteRT is not installed, the name is unknown, or the file is missing or not a one-class NHWC model.
    """
    if threads is not None and threads < 1:
        raise InputError(f"threads must be at least 1 (or None for LiteRT's choice), got {threads}")
    interpreter_class = _interpreter_class()
    path, _ = zoo.resolve(name_or_path, TFLITE_MODELS)
    try:
        interpreter = interpreter_class(model_path=str(path), num_threads=threads)
        with _native_stderr_silenced():
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else error.__class__.__name__
        raise InputError(f"{path} is not a usable TensorFlow Lite model: {detail}") from error
    _check_io(path, interpreter)
    return TfliteSegmenter(str(name_or_path), interpreter)
