"""The model registry: real files from ../shared/models, and the offline and corrupt-file paths (no network)."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import threading
from pathlib import Path

import pytest

from unseen import zoo
from unseen.errors import InputError

from conftest import shared_path

UNREACHABLE = "http://127.0.0.1:9/x"  # the discard port: connections are refused at once


@pytest.fixture
def empty_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """UNSEEN_MODELS and the cache at two empty folders."""
    models, cache = tmp_path / "models", tmp_path / "cache"
    models.mkdir()
    monkeypatch.setenv("UNSEEN_MODELS", str(models))
    monkeypatch.setenv("UNSEEN_CACHE", str(cache))
    return models, cache


def point_url(monkeypatch: pytest.MonkeyPatch, name: str, url: str) -> zoo.ModelInfo:
    info = dataclasses.replace(zoo.model_info(name), url=url)
    monkeypatch.setitem(zoo._BY_NAME, name, info)
    return info


# Files kept under another name than the published one (../shared/models/README.md).
RENAMED = {"nanotrack_v2_backbone.onnx": "nanotrack_backbone_sim.onnx",
           "nanotrack_v2_head.onnx": "nanotrack_head_sim.onnx"}


def test_registry_knows_the_eight_published_files() -> None:
    models = zoo.list_models()
    assert {m.file for m in models} == {
        "espnetv2_s_2.0_pascal_384x384.pth", "espnetv2_s_1.0_pascal_256x256.pth",
        "espnetv2_s_2.0_city_1024x512.pth", "selfie_segmentation.tflite",
        "selfie_segmentation_landscape.tflite", "prisma_nchw.onnx", *RENAMED}
    for m in models:
        assert len(m.sha256) == 64 and int(m.sha256, 16) >= 0
        assert m.url.startswith("https://github.com/") and m.url.endswith("/" + RENAMED.get(m.file, m.file))
        assert m.description and m.licence in {"MIT", "Apache-2.0"}
        assert zoo.model_info(m.name) is m and zoo.model_info(m.file) is m


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(InputError, match="espnetv2-pascal.*selfie"):
        zoo.model_info("no-such-model")


def test_lookup_dirs_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("UNSEEN_MODELS", f"{tmp_path / 'a'}{zoo.os.pathsep}{tmp_path / 'b'}")
    monkeypatch.setenv("UNSEEN_CACHE", str(tmp_path / "c"))
    assert zoo.lookup_dirs() == [tmp_path / "a", tmp_path / "b", tmp_path / "c"]
    monkeypatch.delenv("UNSEEN_MODELS")
    monkeypatch.delenv("UNSEEN_CACHE")
    assert zoo.lookup_dirs() == [Path.home() / ".cache" / "unseen" / "models"]


def test_every_registered_model_is_found_in_shared_and_verifies(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    shared = shared_path("models")
    monkeypatch.setenv("UNSEEN_MODELS", f"{tmp_path / 'empty'}{zoo.os.pathsep}{shared}")
    monkeypatch.setenv("UNSEEN_CACHE", str(tmp_path / "cache"))
    for info in zoo.list_models():
        point_url(monkeypatch, info.name, UNREACHABLE)  # finding must not need the network
        path = zoo.model_path(info.name)
        assert path == shared / info.file
        assert zoo.file_sha256(path) == info.sha256


def test_hash_is_checked_once_per_process_unless_the_file_changes(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    source = shared_path("models", "selfie_segmentation.tflite")
    copy = tmp_path / source.name
    copy.write_bytes(source.read_bytes())
    monkeypatch.setenv("UNSEEN_MODELS", str(tmp_path))
    calls = []
    real = zoo.file_sha256
    monkeypatch.setattr(zoo, "file_sha256", lambda p: calls.append(p) or real(p))
    assert zoo.find_model("selfie") == copy
    assert zoo.find_model("selfie") == copy
    assert len(calls) == 1
    copy.write_bytes(b"x" + source.read_bytes()[1:])  # same size, new content and mtime
    with pytest.raises(InputError, match="corrupt"):
        zoo.find_model("selfie")


def test_offline_missing_model_says_what_to_put_where(empty_dirs: tuple[Path, Path],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _, cache = empty_dirs
    point_url(monkeypatch, "espnetv2-pascal", UNREACHABLE)
    assert zoo.find_model("espnetv2-pascal") is None
    with pytest.raises(InputError) as caught:
        zoo.model_path("espnetv2-pascal")
    message = str(caught.value)
    assert "\n" not in message
    assert "espnetv2_s_2.0_pascal_384x384.pth" in message and str(cache) in message
    assert "UNSEEN_MODELS" in message and UNREACHABLE in message
    assert not any(cache.iterdir())  # no half-written file left behind


def test_no_download_when_not_allowed(empty_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zoo.urllib.request, "urlopen", lambda *a, **k: pytest.fail("tried to download"))
    with pytest.raises(InputError, match="prisma_nchw.onnx"):
        zoo.model_path("prisma", download=False)


def test_corrupt_copy_is_refused_with_the_expected_hash(empty_dirs: tuple[Path, Path]) -> None:
    models, _ = empty_dirs
    bad = models / "espnetv2_s_2.0_city_1024x512.pth"
    bad.write_bytes(b"not a model")
    with pytest.raises(InputError) as caught:
        zoo.model_path("espnetv2-city", download=False)
    message = str(caught.value)
    assert str(bad) in message and "corrupt" in message and zoo.model_info("espnetv2-city").sha256 in message


@pytest.fixture
def local_server(tmp_path: Path):
    """A plain HTTP server on 127.0.0.1 serving tmp_path/www: exercises the download code without a network."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_fetch_downloads_atomically_and_verifies(empty_dirs: tuple[Path, Path], local_server,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _, cache = empty_dirs
    root, base = local_server
    source = shared_path("models", "selfie_segmentation_landscape.tflite")
    (root / source.name).write_bytes(source.read_bytes())
    point_url(monkeypatch, "selfie-landscape", base + source.name)
    path = zoo.model_path("selfie-landscape")
    assert path == cache / source.name and path.read_bytes() == source.read_bytes()
    assert [p.name for p in cache.iterdir()] == [source.name]

    (root / "wrong.tflite").write_bytes(b"truncated")
    point_url(monkeypatch, "selfie", base + "wrong.tflite")
    with pytest.raises(InputError, match="expected " + zoo.model_info("selfie").sha256):
        zoo.fetch_model("selfie")
    assert [p.name for p in cache.iterdir()] == [source.name]  # the bad download was not kept
