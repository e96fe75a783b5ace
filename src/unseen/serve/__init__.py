"""``unseen serve``: a local web app to open a photo or video, point at what should go, preview, run and
download, with the public API behind it (see :mod:`unseen.serve.app` for its HTTP API)."""

from __future__ import annotations

import ipaddress
import os
import threading
import webbrowser
from pathlib import Path

from unseen.errors import InputError, warn
from unseen.serve.store import Limits, Workspace

__all__ = ["Limits", "Workspace", "create_app", "default_folder", "serve"]


def default_folder() -> Path:
    """Where uploads and jobs are kept unless told: the user's cache (``$XDG_CACHE_HOME/unseen/serve``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "unseen" / "serve"


def create_app(workspace: Workspace):
    """The Starlette app over ``workspace`` (see :mod:`unseen.serve.app`)."""
    from unseen.serve.app import create_app as build

    return build(workspace)


def serve(host: str = "127.0.0.1", port: int = 7860, open_browser: bool = False,
          folder: str | os.PathLike | None = None, limits: Limits | None = None) -> None:
    """Run the web app until Ctrl-C. It listens on ``host`` (this machine only by default); uploads,
    jobs and results live in ``folder`` (default :func:`default_folder`) for ``limits.keep_hours``."""
    import uvicorn

    if not 0 < port < 65536:
        raise InputError(f"--port must be 1-65535, got {port}")
    if not _is_loopback(host):
        warn(f"listening on {host}: anyone who can reach this machine on port {port} can upload files and "
             "run jobs here (there is no login)")
    app = create_app(Workspace(folder or default_folder(), limits or Limits()))
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    print(f"unseen: serving on {url} (Ctrl-C stops it)", flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
