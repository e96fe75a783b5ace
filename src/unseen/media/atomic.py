"""Write outputs atomically: everything goes to a temporary sibling first and is renamed on success.

A failed or interrupted job therefore never leaves a half-written file or a half-filled folder behind,
and an existing output is only replaced once the new one is complete. A killed job (SIGKILL, a power cut)
cannot clean up: its temporary output is named after the process that wrote it
(``.NAME.PID.RANDOM.part[.EXT]``), so that :func:`remove_stale_parts` can tell when it is abandoned.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# A part whose writer still runs but that has not changed for this long is abandoned too (the pid was
# reused, or the job hangs): a working job writes its output continuously, frame after frame.
STALE_AFTER_S = 3600.0
# mkstemp and mkdtemp add 8 characters of their own between the prefix and the suffix.
_PART = re.compile(r"\..+\.(\d+)\.[a-z0-9_]{8}\.part(\.[^.]+)?")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same extension) that replaces ``path`` on success."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.{os.getpid()}.", suffix=f".part{path.suffix}", dir=path.parent)
    # mkstemp makes the file private (0600); the output gets the permissions any new file would get.
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success its files are moved into ``path``.

    Files already in ``path`` with other names are kept, so a folder can receive outputs of several runs.
    """
    path = Path(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".part", dir=path.parent))
    try:
        yield tmp
        path.mkdir(exist_ok=True)
        for item in sorted(tmp.iterdir()):
            os.replace(item, path / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _running(pid: int) -> bool:
    if os.name == "nt":  # signal 0 is CTRL_C_EVENT there, no probe: only the age tells
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):  # someone else's process, or not ours to judge
        return True
    return True


def remove_stale_parts(folder: str | os.PathLike, stale_after_s: float = STALE_AFTER_S) -> list[Path]:
    """Delete the temporary outputs in ``folder`` that killed jobs left behind; return them.

    A part is abandoned when the process named in it is gone, or when it has not changed for
    ``stale_after_s`` seconds. Only names of this module's making are looked at.
    """
    folder = Path(folder)
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        found = _PART.fullmatch(entry.name)
        if found is None or int(found.group(1)) == os.getpid():
            continue
        try:
            age = now - entry.lstat().st_mtime
        except OSError:
            continue
        if age > stale_after_s or not _running(int(found.group(1))):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed
