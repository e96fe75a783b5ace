"""Named models: which file each one is, its sha256, where it officially comes from, and where we look for it.

Code that needs weights asks for a model by name (:func:`model_path`). The file is looked up in every
folder of ``UNSEEN_MODELS`` (``os.pathsep``-separated), then in the user cache (``$UNSEEN_CACHE`` or
``~/.cache/unseen/models``); if it is nowhere, it is downloaded from its official URL into the cache when
the network allows. Every file is checked against its sha256 (once per process), so a truncated or
tampered copy is reported instead of producing garbage masks. Offline, the error says in one line which
file to put where.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from unseen.errors import InputError

DOWNLOAD_TIMEOUT_S = 30
# Weights we trained ourselves ship inside the package (how each was made: docs/benchmarks.md).
PACKAGE_WEIGHTS = Path(__file__).resolve().parent / "weights"

_EDGENETS = "https://github.com/sacmehta/EdgeNets/raw/master/model/segmentation/model_zoo/espnetv2/"
_MEDIAPIPE = "https://github.com/google-ai-edge/mediapipe/raw/master/mediapipe/modules/selfie_segmentation/"
_PORTRAIT = "https://github.com/anilsathyan7/Portrait-Segmentation/raw/master/models/prisma_seg/"
_NANOTRACK = "https://github.com/HonglinChu/SiamTrackers/raw/248663fd/NanoTrack/models/nanotrackv2/"


@dataclass(frozen=True)
class ModelInfo:
    """One published weight file.

    Attributes
    ----------
    name : str
        The registry name users type (``unseen models fetch NAME``).
    file : str
        The file name, as published and as looked up in the model folders.
    sha256 : str
        Hex digest of the published file; any other content is refused.
    url : str
        The official download address.
    description : str
        One line: what the model does and its input.
    licence : str
        SPDX identifier of the weights' licence.
    """

    name: str
    file: str
    sha256: str
    url: str
    description: str
    licence: str


_MODELS = (
    ModelInfo("espnetv2-pascal", "espnetv2_s_2.0_pascal_384x384.pth",
              "bc479586b0ba9254e02589020346931a14d99028ad6bac4817198be6d9e719a6",
              _EDGENETS + "espnetv2_s_2.0_pascal_384x384.pth",
              "ESPNetv2 s=2.0 semantic segmentation, 21 PASCAL VOC classes (person 15, car 7), trained at 384x384",
              "MIT"),
    ModelInfo("espnetv2-pascal-s1", "espnetv2_s_1.0_pascal_256x256.pth",
              "276d738e38733c136abf5ee9e8a801f5455b2751078c7c1d52a2b485460264be",
              _EDGENETS + "espnetv2_s_1.0_pascal_256x256.pth",
              "ESPNetv2 s=1.0 (smaller, less accurate), 21 PASCAL VOC classes, trained at 256x256",
              "MIT"),
    ModelInfo("espnetv2-city", "espnetv2_s_2.0_city_1024x512.pth",
              "a72d59699801c7ce8e8b89a53af9097eaaa60dc12180ecde86fd700ba1222fe8",
              _EDGENETS + "espnetv2_s_2.0_city_1024x512.pth",
              "ESPNetv2 s=2.0 street scenes, 19 Cityscapes classes + background last (car 13), trained at 1024x512",
              "MIT"),
    ModelInfo("selfie", "selfie_segmentation.tflite",
              "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
              _MEDIAPIPE + "selfie_segmentation.tflite",
              "MediaPipe Selfie Segmentation (general): person confidence, 256x256 RGB input",
              "Apache-2.0"),
    ModelInfo("selfie-landscape", "selfie_segmentation_landscape.tflite",
              "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
              _MEDIAPIPE + "selfie_segmentation_landscape.tflite",
              "MediaPipe Selfie Segmentation (landscape): person confidence, 256x144 RGB input",
              "Apache-2.0"),
    ModelInfo("prisma", "prisma_nchw.onnx",
              "aeef118740b74a908886f247457c9866b5c002769eda4bb901f049dc7821b1c0",
              _PORTRAIT + "prisma_nchw.onnx",
              "Prisma-Net portrait segmentation (ONNX): person probability, 256x256 RGB/255 NCHW input",
              "MIT"),
    # Published as nanotrack_backbone_sim.onnx and nanotrack_head_sim.onnx; kept under names that say which.
    ModelInfo("nanotrack-v2-backbone", "nanotrack_v2_backbone.onnx",
              "530bdd0cd00f19afab79a863e71ba71e3312395a5dc9151af675082bdaaa2fc4",
              _NANOTRACK + "nanotrack_backbone_sim.onnx",
              "NanoTrack v2 single-object tracker, backbone (with nanotrack-v2-head; --box/--point prompts)",
              "Apache-2.0"),
    ModelInfo("nanotrack-v2-head", "nanotrack_v2_head.onnx",
              "0d8c0637be849f092cc7236cae02e55c8b9455ebe37ba50601d6115db4247cd9",
              _NANOTRACK + "nanotrack_head_sim.onnx",
              "NanoTrack v2 single-object tracker, box and score head (with nanotrack-v2-backbone)",
              "Apache-2.0"),
)
_BY_NAME = {info.name: info for info in _MODELS}
_BY_FILE = {info.file: info for info in _MODELS}
_VERIFIED: dict[Path, str] = {}  # resolved path -> sha256 already checked in this process


def list_models() -> list[ModelInfo]:
    """Every registered model, in registry order."""
    return list(_MODELS)


def model_info(name: str) -> ModelInfo:
    """The registry entry for ``name`` (a registry name, or a registered file name).

    Raises
    ------
    InputError
        The name is unknown; the message lists the known names.
    """
    info = _BY_NAME.get(name) or _BY_FILE.get(name)
    if info is None:
        raise InputError(f"unknown model {name!r}; choose one of: {', '.join(_BY_NAME)}")
    return info


def cache_dir() -> Path:
    """Where downloads go: ``$UNSEEN_CACHE`` or ``~/.cache/unseen/models``."""
    env = os.environ.get("UNSEEN_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "unseen" / "models"


def lookup_dirs() -> list[Path]:
    """Folders searched in order: each entry of ``UNSEEN_MODELS``, then :func:`cache_dir`."""
    dirs = [Path(entry).expanduser() for entry in os.environ.get("UNSEEN_MODELS", "").split(os.pathsep) if entry]
    return [*dirs, cache_dir()]


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(path: Path, info: ModelInfo) -> Path:
    key = path.resolve()
    stat = key.stat()
    stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
    if _VERIFIED.get(key) != stamp:
        actual = file_sha256(key)
        if actual != info.sha256:
            raise InputError(f"model file {path} is corrupt (sha256 {actual}, expected {info.sha256}): "
                             f"delete it, or replace it with a copy from {info.url}")
        _VERIFIED[key] = stamp
    return path


def find_model(name: str) -> Path | None:
    """The first copy of the model's file in :func:`lookup_dirs`, checked against its sha256; None if none.

    Raises
    ------
    InputError
        The name is unknown, or the first copy found has the wrong content (the message names the file and
        the expected hash).
    """
    info = model_info(name)
    for folder in lookup_dirs():
        path = folder / info.file
        if path.is_file():
            return _verify(path, info)
    return None


def _missing_message(info: ModelInfo, reason: str) -> str:
    return (f"model {info.name!r} is not available ({reason}): put {info.file} in {cache_dir()} "
            f"or in a folder listed in UNSEEN_MODELS; official source: {info.url}")


def fetch_model(name: str) -> Path:
    """Download the model into :func:`cache_dir` and return its path (atomic, sha256-checked).

    The file is written to a temporary name beside its destination and renamed only once complete and
    verified, so an interrupted download never leaves a half file under the real name.

    Raises
    ------
    InputError
        The download failed (one line: the model, the file, where to put it and the official URL), or
        what was downloaded does not match the expected sha256.
    """
    info = model_info(name)
    target = cache_dir() / info.file
    tmp: Path | None = None
    try:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with urllib.request.urlopen(info.url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                fd, tmp_name = tempfile.mkstemp(prefix=f".{info.file}.", suffix=".part", dir=target.parent)
                tmp = Path(tmp_name)
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(response, out, 1 << 20)
        except (OSError, urllib.error.URLError, ValueError) as error:  # refused, offline, timeout, disk full
            reason = str(getattr(error, "reason", None) or error).replace("\n", " ")
            raise InputError(_missing_message(info, f"download failed: {reason}")) from error
        actual = file_sha256(tmp)
        if actual != info.sha256:
            raise InputError(f"downloaded {info.file} from {info.url} has sha256 {actual}, expected {info.sha256}")
        os.replace(tmp, target)
        tmp = None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return _verify(target, info)


def model_path(name: str, download: bool = True) -> Path:
    """The verified local file of a model: found in :func:`lookup_dirs`, else downloaded if ``download``.

    Raises
    ------
    InputError
        Unknown name, corrupt copy, or the file is missing and cannot (or may not) be downloaded; the
        message is one line that says which file to put where and its official URL.
    """
    found = find_model(name)
    if found is not None:
        return found
    if not download:
        raise InputError(_missing_message(model_info(name), "not found and downloads are off"))
    return fetch_model(name)


def resolve(name_or_path: str | os.PathLike, names: Iterable[str], download: bool = True) -> tuple[Path, str | None]:
    """The file behind a registry name (one of ``names``) or a path, and the registry name if it is one.

    A bare published file name that is not in the working folder means the registry's copy, so
    ``espnetv2_s_2.0_pascal_384x384.pth`` works like ``espnetv2-pascal``.

    Raises
    ------
    InputError
        The path does not exist, or the registry's file is missing and cannot be fetched.
    """
    names = tuple(names)
    name, path = str(name_or_path), Path(name_or_path)
    by_file = {model_info(key).file: key for key in names}
    key = name if name in names else by_file.get(name) if not path.is_file() else None
    if key is not None:
        return model_path(key, download=download), key
    if not path.is_file():
        raise InputError(f"{path}: no such model file")
    return path, by_file.get(path.name)
