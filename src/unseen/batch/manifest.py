"""The items of a batch: from a CSV or JSONL manifest, a folder of media files, or Python dicts.

Each item is one input file (or frame folder), a job (``remove``, ``segment``, ``background``) and that
job's options exactly as the single-file command takes them. They are checked here with the command's
own parser, so a mistake in line 9000 is found before item 1 runs and an option means what it means on
the command line.

Fields of a line (CSV columns or JSON keys): ``input`` (required), ``job``, ``output`` (a name inside
OUT; default: the input's name), ``options`` (a command line: ``--mask m.png --dilate 4``, or a JSON list),
and any option by name (``mask``, ``target``, ``classes``, ``render``, ``with``, ``frame-step`` or
``frame_step``...): ``true`` is a bare flag, ``false`` or an empty cell leaves it out, a JSON list is
joined with commas. Relative paths are read from the manifest's folder.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path

from unseen.errors import InputError
from unseen.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES

JOBS = ("remove", "segment", "background")
# Fields that are not options of the job.
_FIELDS = ("input", "job", "output", "options")


@dataclasses.dataclass(frozen=True)
class Item:
    """One file through one job. Paths are absolute; ``options`` are read from ``cwd``."""

    input: Path
    job: str
    options: tuple[str, ...]
    output: Path
    cwd: Path
    where: str  # what messages call it: "jobs.csv:12" or the input's name


def read_items(source: str | os.PathLike | Iterable[Mapping | str], out: str | os.PathLike, job: str | None = None,
               options: Iterable[str] = ()) -> list[Item]:
    """The checked items of ``source`` writing into ``out``.

    ``source`` is a manifest (``.csv``, ``.jsonl``), a folder (every image and video file in it, through
    ``job``) or an iterable of dicts (manifest fields) or input paths. ``job`` and ``options`` (a
    command line's tokens) apply to every item that names no job of its own; a line's options are added
    after them. Any mistake (an unknown job or option, a missing input, two items writing one output, an
    output that is an input) is an :class:`InputError` naming the line.
    """
    out = Path(os.path.abspath(out))
    options = tuple(options)
    if job is not None and job not in JOBS:
        raise InputError(f"unknown job {job!r}; choose one of: {', '.join(JOBS)}")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            if job is None:
                raise InputError(f"{path}: a folder of inputs needs a job after it, e.g. "
                                 f"`unseen batch {path} -o OUT remove --mask mask.png`")
            lines = [({"input": str(p)}, p.name) for p in _media_files(path)]
            if not lines:
                raise InputError(f"{path}: no image or video files in this folder")
            base = Path.cwd()
        elif path.is_file():
            lines, base = _read_manifest(path), path.parent.absolute()
        else:
            raise InputError(f"{path}: no such manifest or folder")
    else:
        lines = [(entry if isinstance(entry, Mapping) else {"input": os.fspath(entry)}, f"item {n}")
                 for n, entry in enumerate(source, 1)]
        base = Path.cwd()
    items = [_item(fields, where, base, out, job, options) for fields, where in lines]
    if not items:
        raise InputError("the batch has no items")
    _check_outputs(items)
    return items


def _media_files(folder: Path) -> list[Path]:
    suffixes = set(IMAGE_SUFFIXES) | set(VIDEO_SUFFIXES)
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes
                  and not p.name.startswith("."))


def _read_manifest(path: Path) -> list[tuple[dict, str]]:
    """(fields, "file:line") for every non-empty line of a CSV (with a header) or JSONL manifest."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read the manifest ({error})") from None
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        lines = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                fields = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(f"{path.name}:{number}: not a JSON object ({error.msg})") from None
            if not isinstance(fields, dict):
                raise InputError(f"{path.name}:{number}: expected a JSON object, got {line.strip()[:60]}")
            lines.append((fields, f"{path.name}:{number}"))
        return lines
    if path.suffix.lower() != ".csv":
        raise InputError(f"{path}: a manifest is a .csv (with a header line) or a .jsonl file")
    rows = csv.DictReader(text.splitlines())
    if not rows.fieldnames or "input" not in [name.strip() for name in rows.fieldnames]:
        raise InputError(f"{path.name}:1: the CSV header must name an 'input' column (and may name job, output, "
                         f"options and options by name), got {','.join(rows.fieldnames or [])!r}")
    lines = []
    for row in rows:
        if None in row:
            raise InputError(f"{path.name}:{rows.line_num}: more cells than the header has columns")
        fields = {name.strip(): (value or "").strip() for name, value in row.items()}
        if any(fields.values()):
            lines.append((fields, f"{path.name}:{rows.line_num}"))
    return lines


def _item(fields: Mapping, where: str, base: Path, out: Path, job: str | None, options: tuple[str, ...]) -> Item:
    given = fields.get("input")
    if not given:
        raise InputError(f"{where}: no input")
    source = Path(os.path.abspath(base / os.fspath(given)))
    if not source.exists():
        raise InputError(f"{where}: {given}: no such file or folder")
    own_job = fields.get("job") or None
    if own_job is not None and own_job not in JOBS:
        raise InputError(f"{where}: unknown job {own_job!r}; choose one of: {', '.join(JOBS)}")
    if own_job is None and job is None:
        raise InputError(f"{where}: no job: give a 'job' field ({', '.join(JOBS)}) or one after the manifest")
    tokens = (options if own_job is None or own_job == job else ()) + _option_tokens(fields, where)
    if any(token in ("-o", "--output") or token.startswith("--output=") for token in tokens):
        raise InputError(f"{where}: the output is given by the 'output' field (a name inside OUT), not -o")
    name = fields.get("output") or source.name
    output = Path(os.path.abspath(out / os.fspath(name)))  # abspath: "../x" is outside
    if out not in output.parents:
        raise InputError(f"{where}: output {name!r} is not inside {out}")
    item = Item(source, own_job or job, tokens, output, base, where)
    check(item)
    return item


def _option_tokens(fields: Mapping, where: str) -> tuple[str, ...]:
    tokens: list[str] = []
    given = fields.get("options")
    if isinstance(given, str):
        try:
            tokens += shlex.split(given)
        except ValueError as error:
            raise InputError(f"{where}: options: {error}: {given}") from None
    elif isinstance(given, list):
        tokens += [str(token) for token in given]
    elif given is not None:
        raise InputError(f"{where}: options must be a command line or a list, got {given!r}")
    for key, value in fields.items():
        if key in _FIELDS:
            continue
        flag = key if key.startswith("-") else "--" + key.replace("_", "-")
        if value is True or (isinstance(value, str) and value.lower() == "true"):
            tokens.append(flag)
        elif value is None or value is False or (isinstance(value, str) and value.lower() in ("", "false")):
            continue
        elif isinstance(value, list):
            tokens += [flag, ",".join(map(str, value))]
        else:
            tokens += [flag, str(value)]
    return tuple(tokens)


def check(item: Item) -> None:
    """Parse the item's options with the single-file command's parser: an :class:`InputError` naming the
    line for anything it would refuse."""
    from unseen import cli  # the command's parser; cli imports the API, which imports this package lazily

    try:
        cli.parse_job(item.job, str(item.input), str(item.output), list(item.options))
    except InputError as error:
        raise InputError(f"{item.where}: {error}") from None


def _check_outputs(items: list[Item]) -> None:
    inputs = {item.input: item for item in items}
    seen: dict[Path, Item] = {}
    for item in items:
        if item.output in seen:
            raise InputError(f"{item.where}: writes {item.output.name}, as {seen[item.output].where} does; "
                             "give one of them another 'output'")
        if item.output in inputs or item.output == item.input:
            raise InputError(f"{item.where}: its output {item.output} is an input of the batch; "
                             "OUT must not overwrite inputs")
        seen[item.output] = item
