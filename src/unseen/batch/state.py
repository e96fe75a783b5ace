"""What earlier runs into OUT finished: a state file of one JSON line per finished or failed item.

An item is finished when its output exists and the state has a ``done`` line for that output with the
same options key and the same input content. The content is a sha256 of the input's bytes (the worker
computes it while the file is read anyway); to skip without re-reading thousands of videos, a rerun
trusts the hash when the file's size and modification time are unchanged, and hashes it again otherwise.

Lines are only appended, each in one write, so a batch killed at any moment leaves a state that reads
up to its last whole line.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from unseen.batch.manifest import Item

STATE_NAME = ".unseen-batch.jsonl"
_CHUNK = 1 << 20


def _files(path: Path) -> list[Path]:
    """The file itself, or a folder's files (a folder of frames), in name order."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    return [path]


def content_hash(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, or of a folder's file names and bytes."""
    path = Path(path)
    digest = hashlib.sha256()
    for file in _files(path):
        if file != path:
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with open(file, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def stat_signature(path: str | os.PathLike) -> list:
    """Size and modification time of a file, or of each file of a folder: what tells it changed, cheaply."""
    path = Path(path)
    try:
        return [[str(f.relative_to(path)) if f != path else "", f.stat().st_size, f.stat().st_mtime_ns]
                for f in _files(path)]
    except OSError:
        return []


def options_key(item: Item) -> str:
    """The job, its options, and the signature of any file or folder an option names (a mask): an item
    whose mask was redrawn is done again."""
    named = []
    for token in item.options:
        path = item.cwd / token
        if not token.startswith("-") and path.exists():
            named.append([token, stat_signature(path)])
    text = json.dumps([item.job, list(item.options), named, item.output.name])
    return hashlib.sha256(text.encode()).hexdigest()


class State:
    """The state file of OUT: the latest line per output, and appending new ones."""

    def __init__(self, out: Path):
        self.path = out / STATE_NAME
        self.latest: dict[str, dict] = {}
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # the last line of a killed run may be cut short
                continue
            if isinstance(entry, dict) and "output" in entry:
                self.latest[entry["output"]] = entry

    def finished(self, item: Item, key: str) -> dict | None:
        """The ``done`` line that makes ``item`` (with options key ``key``) finished, or None."""
        entry = self.latest.get(str(item.output))
        if entry is None or entry.get("status") != "done" or entry.get("options_key") != key:
            return None
        if not item.output.exists():
            return None
        if entry.get("input_stat") == stat_signature(item.input):
            return entry
        if entry.get("input_hash") == content_hash(item.input):  # touched, not changed: note its new time
            entry = {**entry, "input_stat": stat_signature(item.input)}
            self.record([entry])
            return entry
        return None

    def record(self, entries: Iterable[dict]) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            for entry in entries:
                handle.write(json.dumps(entry) + "\n")
                self.latest[entry["output"]] = entry
            handle.flush()
            os.fsync(handle.fileno())
