"""Segmentation networks' inference through onnxruntime on the CPU: 1.5-2x as fast as PyTorch's.

ESPNetv2 (our segmenters' and the follower's network) is hundreds of small grouped convolutions: PyTorch's
eager mode pays a kernel call and its overhead for each (and each batch norm and PReLU after it);
onnxruntime fuses them and plans its memory once. Measured with one thread (ESPNetv2 PASCAL s=2.0,
2026-12-02): 160x256 encoder and decoder 95 -> 46 ms, the encoder alone 50 -> 25 ms; 256x448 214 -> 128 ms;
the outputs agree within 2e-5. The architectures `unseen train segmenter` makes gain 1.5-1.7x at 448x256
(U-Net 79 -> 53 ms, DeepLabV3+ 162 -> 106, FCN 126 -> 75). Not the flow completer: on the video engine's holes,
a crop of another size every call, removing tennis took 5-10 % longer with it.

A network is exported once per set of weights (~5 s) into the model cache (:func:`unseen.zoo.cache_dir`),
named by a hash of its structure and weights, and read from there afterwards; its session is kept with the
network, whose weights are taken as fixed from then on (inference only: training runs in PyTorch).
``UNSEEN_RUNTIME=torch`` runs PyTorch instead (to compare, or should onnxruntime misbehave); a network on a GPU
always runs in PyTorch, and one the exporter cannot trace too (with a warning).
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
import weakref
from pathlib import Path

import torch
from torch import nn

from unseen.media.atomic import atomic_file

OPSET = 17
INTRA_THREADS = 2
_sessions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# One export or session build at a time: the exporter keeps global state, and two networks first used side by
# side (the two of a confirmed segmenter, on two threads) made one export fail and fall back to PyTorch.
_BUILDING = threading.Lock()


class _Pass(nn.Module):
    """ESPNetv2's encoder levels 3 and 4, and its logits when ``logits``: what the follower's look needs."""

    def __init__(self, network: nn.Module, logits: bool) -> None:
        super().__init__()
        self.network, self.logits = network, logits

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        levels = self.network.base_net(x)
        features = (levels[2], levels[3])
        return (*features, self.network.decode(levels, x)) if self.logits else features


def run_network(network: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``network(x)`` for a network of one N x C x H x W input and one output (a segmenter's class logits):
    through onnxruntime when the network is on the CPU."""
    return _run(network, "forward", network, x)[0]


def espnetv2_pass(network: nn.Module, x: torch.Tensor,
                  logits: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """ESPNetv2's encoder levels 3 and 4 for the N x 3 x H x W batch ``x``, and its class logits (at ``x``'s
    size) when ``logits`` (else None): through onnxruntime when the network is on the CPU."""
    outputs = _run(network, "levels+logits" if logits else "levels", _Pass(network, logits), x)
    return outputs[0], outputs[1], outputs[2] if logits else None


def _run(network: nn.Module, kind: str, graph: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``graph`` (``network`` or a view of it) on ``x``, by the session kept for ``network`` and ``kind``."""
    session = _session(network, kind, graph, x.shape[1])
    if session is None:
        with torch.inference_mode():
            outputs = graph(x)
        return outputs if isinstance(outputs, tuple) else (outputs,)
    image = x.detach().float().contiguous().numpy()
    return tuple(torch.from_numpy(out) for out in session.run(None, {"image": image}))


def _session(network: nn.Module, kind: str, graph: nn.Module, channels: int):
    """The onnxruntime session for ``network``'s ``kind`` of pass on ``channels`` input maps (built once), or
    None where PyTorch runs it."""
    if os.environ.get("UNSEEN_RUNTIME", "onnx") == "torch" or next(network.parameters()).device.type != "cpu":
        return None
    with _BUILDING:
        return _built_session(network, kind, graph, channels)


def _built_session(network: nn.Module, kind: str, graph: nn.Module, channels: int):
    kept = _sessions.setdefault(network, {})
    if kind not in kept:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # Two threads that sleep when idle, or the caller's budget (torch's) if larger: at 256x192 a pass took
        # 45-57 ms against 72-74 with one thread on a quiet 2-core machine, and 67 against 80-104 with both cores
        # busy with other work, where threads that spin while waiting (onnxruntime's default) took 118-129.
        options.intra_op_num_threads = max(torch.get_num_threads(), min(INTRA_THREADS, os.cpu_count() or 1))
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # its notes on unused initialisers are not the user's concern
        try:
            path = _exported(network, kind, graph, channels)
        except Exception as error:  # whatever the exporter cannot trace still runs, in PyTorch
            warnings.warn(f"{type(network).__name__} runs in PyTorch: its ONNX export failed ({error})", stacklevel=4)
            kept[kind] = None
            return None
        kept[kind] = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return kept[kind]


def _exported(network: nn.Module, kind: str, graph: nn.Module, channels: int) -> Path:
    """``graph``'s ONNX file in the model cache, exported now if it is not there yet."""
    from unseen.zoo import cache_dir

    # Named by everything that makes the graph: the pass, the network's structure and its weights.
    digest = hashlib.sha256(f"{OPSET}:{kind}:{channels}:{network!r}".encode())
    for name, tensor in sorted(network.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    path = cache_dir() / "exported" / f"{type(network).__name__.lower()}-{kind}-{digest.hexdigest()[:16]}.onnx"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    side = getattr(network, "side_multiple", 32)
    with atomic_file(path) as tmp:
        write_onnx(graph.eval(), torch.zeros(1, channels, 3 * side, 4 * side), tmp)
    return path


def write_onnx(graph: nn.Module, sample: torch.Tensor, path: Path, outputs: list[str] | None = None) -> None:
    """``graph`` traced on ``sample`` into the ONNX file ``path``, its input ``image`` (and ``outputs``) free in
    batch, height and width: what ``unseen export`` writes and what this module runs."""
    free = {0: "batch", 2: "height", 3: "width"}
    # Tracing cannot run under a caller's inference mode, nor on a tensor made in it: hence the copy.
    with warnings.catch_warnings(), torch.inference_mode(False):
        warnings.simplefilter("ignore")  # the exporter's notes on the legacy path are not for users
        torch.onnx.export(graph, (sample.clone(),), str(path), dynamo=False, opset_version=OPSET, input_names=["image"],
                          output_names=outputs, dynamic_axes={name: free for name in ["image", *(outputs or [])]})
