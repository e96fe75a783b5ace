"""``unseen export``: a trained checkpoint as an ONNX file (any input size) plus the JSON that describes it.

The JSON sidecar (``model.json`` beside ``model.onnx``) is the one :mod:`unseen.segment.onnx` reads, so
the exported file works as ``--model model.onnx`` too, in unseen or in any ONNX runtime. Export checks
itself: onnxruntime must give the PyTorch model's output within a small tolerance, or nothing is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from unseen.errors import InputError
from unseen.media.atomic import atomic_file
from unseen.nets import build_network
from unseen.nets.runtime import write_onnx
from unseen.train.checkpoint import load_checkpoint

# Largest difference in logits allowed between PyTorch and onnxruntime (float32 kernels differ a little).
TOLERANCE = 1e-3


def export_onnx(checkpoint: str | os.PathLike, output: str | os.PathLike) -> Path:
    """Write ``checkpoint`` (a ``.pt`` file or run folder) as ONNX with free height and width.

    Returns
    -------
    The ONNX path; its sidecar JSON is written beside it with the same stem.

    Raises
    ------
    InputError
        The checkpoint is unusable, the output is not ``.onnx``, or the exported graph does not agree
        with the PyTorch model.
    """
    output = Path(output)
    if output.suffix.lower() != ".onnx":
        raise InputError(f"{output}: the export must be an .onnx file")
    if not output.parent.is_dir():
        raise InputError(f"{output.parent} is not a folder; create it first")
    card = load_checkpoint(checkpoint)
    if card.get("task") != "segmenter":
        raise InputError(f"{checkpoint}: only segmenters export to ONNX so far (this is a {card.get('task')})")
    network = build_network(**card["network"])
    network.load_state_dict(card["model"])
    network.eval()
    side = network.side_multiple
    sample = torch.randn(1, 3, 3 * side, 4 * side)
    with atomic_file(output) as tmp:
        write_onnx(network, sample, tmp, ["logits"])
        _check_parity(network, tmp, side)
        sidecar = output.with_suffix(".json")
        with atomic_file(sidecar) as tmp_json:
            tmp_json.write_text(json.dumps(sidecar_config(card, side), indent=2) + "\n")
    return output


def sidecar_config(card: dict, side_multiple: int) -> dict:
    """The :mod:`unseen.segment.onnx` description of an exported checkpoint."""
    return {"classes": list(card["classes"]), "size": int(card["size"]), "multiple": side_multiple,
            "layout": "nchw", "scale": 1 / 255, "mean": list(card["mean"]), "std": list(card["std"]),
            "output": "logits"}


def _check_parity(network: torch.nn.Module, path: Path, side: int) -> None:
    """onnxruntime's logits against PyTorch's on an input of another size than the one traced."""
    import onnxruntime

    x = torch.randn(1, 3, 5 * side, 7 * side)
    with torch.inference_mode():
        expected = network(x).numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"image": x.numpy()})[0]
    error = float(np.abs(got - expected).max())
    if got.shape != expected.shape or error > TOLERANCE:
        raise InputError(f"the ONNX export disagrees with the PyTorch model (max difference {error:.2g}); "
                         "nothing written")
