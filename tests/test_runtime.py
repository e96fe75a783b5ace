"""Networks run through onnxruntime give what PyTorch gives, at any input size, exported once per weights."""

from __future__ import annotations

import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from unseen.nets import build_network
from unseen.nets.espnetv2 import load_espnetv2
from unseen.nets.runtime import espnetv2_pass, run_network
from unseen.segment.espnetv2 import network_input

from conftest import ARCHS, TINY, shared_path

SIZES = ((160, 256), (96, 352))  # neither is the size the graph is traced at (96x128)


@pytest.fixture(autouse=True)
def one_thread_and_a_fresh_cache(tmp_path, monkeypatch):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setenv("UNSEEN_CACHE", str(tmp_path / "cache"))
    yield
    torch.set_num_threads(threads)


def _both(monkeypatch, run):
    """``run()`` through onnxruntime, then through PyTorch."""
    monkeypatch.setenv("UNSEEN_RUNTIME", "onnx")
    fast = run()
    monkeypatch.setenv("UNSEEN_RUNTIME", "torch")
    return fast, run()


def test_the_published_network_gives_the_same_classes_and_features_through_onnxruntime(monkeypatch, tmp_path):
    monkeypatch.setenv("UNSEEN_MODELS", str(shared_path("models")))
    network = load_espnetv2("espnetv2-pascal", download=False).eval()
    frame = (np.random.default_rng(0).random((300, 480, 3)) * 255).astype(np.uint8)
    for height, width in SIZES:
        x = network_input(network, frame, (width, height))
        fast, slow = _both(monkeypatch, lambda x=x: espnetv2_pass(network, x))
        for got, expected in zip(fast, slow, strict=True):
            assert got.shape == expected.shape
            assert float((got - expected).abs().max()) < 1e-3
        fast, slow = _both(monkeypatch, lambda x=x: run_network(network, x))
        assert float((fast - slow).abs().max()) < 1e-3
    exported = sorted(path.name for path in (tmp_path / "cache" / "exported").iterdir())
    assert len(exported) == 2 and all(name.endswith(".onnx") for name in exported)  # one per kind of pass, once


@pytest.mark.parametrize("arch", ARCHS)
def test_every_architecture_gives_the_same_logits_through_onnxruntime(arch: str, monkeypatch) -> None:
    network = build_network(arch, 3, **TINY[arch]).eval()
    m = network.side_multiple
    for height, width in ((2 * m, 3 * m), (4 * m, 2 * m)):
        x = torch.randn(1, 3, height, width)
        fast, slow = _both(monkeypatch, lambda x=x: run_network(network, x))
        assert fast.shape == slow.shape == (1, 3, height, width)
        assert float((fast - slow).abs().max()) < 1e-3


def test_an_unwritable_cache_falls_back_to_pytorch_with_a_warning(monkeypatch, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("UNSEEN_CACHE", str(blocker / "cache"))
    network = build_network("unet", 3, **TINY["unet"]).eval()
    x = torch.randn(1, 3, 2 * network.side_multiple, 2 * network.side_multiple)
    with pytest.warns(UserWarning, match="runs in PyTorch"):
        got = run_network(network, x)
    with torch.inference_mode():
        assert torch.allclose(got, network(x))



def test_two_networks_first_used_on_two_threads_both_run_through_onnxruntime(tmp_path) -> None:
    # As a confirmed segmenter's two networks are on their first frame: the exporter's global state once made
    # one of the two exports fail and that network fall back to PyTorch.
    networks = [build_network(arch, 3, **TINY[arch]).eval() for arch in ("unet", "fcn")]
    start = threading.Barrier(len(networks))

    def first_use(network):
        x = torch.randn(1, 3, 2 * network.side_multiple, 2 * network.side_multiple)
        start.wait()
        return run_network(network, x)

    with warnings.catch_warnings(record=True) as caught, ThreadPoolExecutor(len(networks)) as pool:
        warnings.simplefilter("always")
        list(pool.map(first_use, networks))
    assert not [w for w in caught if "runs in PyTorch" in str(w.message)]
    assert len(list((tmp_path / "cache" / "exported").glob("*.onnx"))) == len(networks)
