"""``OUT/report.json`` and the table the command prints: every item, failures first."""

from __future__ import annotations

import json
from pathlib import Path

from unseen import __version__
from unseen.media.atomic import atomic_file

REPORT_NAME = "report.json"
# Report order: what needs the user's attention first.
_ORDER = {"failed": 0, "not run": 1, "done": 2, "skipped": 3}
# Rows of the printed table beyond the failures; report.json has them all.
_TABLE_ROWS = 30
# Fields of a state line that the report leaves out (they only tell a rerun what changed).
_PRIVATE = ("input_stat", "options_key", "permanent")


def build_report(entries: list[dict], out: Path, engine: str, workers: int | None, threads: int,
                 seconds: float) -> dict:
    """Counts, totals over the items run now, and the items in report order."""
    items = sorted(({k: v for k, v in e.items() if k not in _PRIVATE} for e in entries),
                   key=lambda e: _ORDER.get(e["status"], 9))
    ran = [e for e in items if e["status"] == "done"]
    frames = sum(e.get("frames") or 0 for e in ran)
    count = {status: sum(e["status"] == status for e in items) for status in _ORDER}
    return {"version": __version__, "out": str(out), "path": str(out / REPORT_NAME), "engine": engine,
            "workers": workers, "threads": threads, "total": len(items), "done": count["done"],
            "skipped": count["skipped"], "failed": count["failed"], "not_run": count["not run"],
            "seconds": round(seconds, 3), "frames": frames,
            "items_per_s": round(len(ran) / seconds, 4) if seconds > 0 else None,
            "frames_per_s": round(frames / seconds, 3) if seconds > 0 else None, "items": items}


def write_report(report: dict) -> Path:
    """Write ``report`` to its ``path`` atomically: a reader never sees half of it."""
    path = Path(report["path"])
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return path


def summary_table(report: dict) -> str:
    """Failures (all of them), then other items while the table stays short, then the totals."""
    items = report["items"]
    rest = [e for e in items if e["status"] != "failed"]
    shown = [e for e in items if e["status"] == "failed"] + rest[:_TABLE_ROWS]
    lines = [f"{'status':8} {'item':32} {'frames':>7} {'seconds':>8} {'fps':>7} {'peak MB':>8}  error"]
    for e in shown:
        lines.append(f"{e['status']:8} {_short(_name(e), 32):32} {_cell(e.get('frames')):>7} "
                     f"{_cell(e.get('seconds')):>8} {_cell(e.get('fps')):>7} {_cell(e.get('peak_mb')):>8}  "
                     f"{e.get('error') or ''}")
    if len(rest) > _TABLE_ROWS:
        lines.append(f"... {len(rest) - _TABLE_ROWS} more in {report['path']}")
    parts = [f"{report[key]} {name}" for key, name in (("done", "done"), ("skipped", "skipped (finished before)"),
                                                       ("failed", "failed"), ("not_run", "not run")) if report[key]]
    rate = f" ({report['frames_per_s']:.1f} frames/s)" if report["frames_per_s"] else ""
    lines.append(f"{report['total']} items: {', '.join(parts)}; {report['frames']} frames in "
                 f"{report['seconds']:.1f} s{rate}; report: {report['path']}")
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _name(entry: dict) -> str:
    """The input's name, and the manifest line it came from."""
    name = Path(entry["input"]).name
    return name if entry["where"] == name or entry["where"].startswith("item ") else f"{name} ({entry['where']})"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1):]
