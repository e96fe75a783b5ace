"""Helpers shared by the benchmarks: where ../shared is, its referee script, reading its clips, a markdown table."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from unseen.media import open_clip, read_gray
from unseen.media.frames import list_images

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """``$UNSEEN_SHARED``, else ``../shared`` beside the project; exits with a clear message if missing."""
    path = Path(os.environ.get("UNSEEN_SHARED", ROOT.parent / "shared")).resolve()
    if not path.is_dir():
        raise SystemExit(f"{path} not found: benchmarks need ../shared (or set UNSEEN_SHARED)")
    return path


def load_score_holes():
    """Import the referee script ``data/score_holes.py`` from the shared folder."""
    path = shared_dir() / "data" / "score_holes.py"
    spec = importlib.util.spec_from_file_location("score_holes", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def clip_frames(name: str, every: int = 1) -> list[np.ndarray]:
    """RGB frames of a shared clip (a frames/ folder or its single video file)."""
    folder = shared_dir() / "data" / "clips" / name
    source = folder / "frames" if (folder / "frames").is_dir() else next(folder.glob("*.mp4"))
    return [f.image for f in open_clip(source) if f.index % every == 0]


def clip_masks(name: str, every: int = 1) -> list[np.ndarray]:
    """Bool object masks of a shared clip, in frame order."""
    files = list_images(shared_dir() / "data" / "clips" / name / "masks")
    return [read_gray(p) > 0 for i, p in enumerate(files) if i % every == 0]


def markdown_table(header: list[str], rows: list[list]) -> str:
    """Rows as a markdown table; floats with 3 significant decimals."""
    def cell(value) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
