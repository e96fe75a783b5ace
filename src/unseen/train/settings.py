"""What every ``train_*`` function does with its keyword settings: split them into the task's spec and the
loop's :class:`~unseen.train.loop.TrainOptions`, and, when resuming, lay them over the run's own."""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from unseen.errors import InputError, warn
from unseen.train.checkpoint import LAST, load_checkpoint
from unseen.train.loop import TrainOptions


def resolve_settings(spec_type: type, task: str, run: str | os.PathLike, resume: bool, settings: dict[str, Any],
                     inputs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The spec's and the options' fields for a new or resumed run.

    ``settings`` are the caller's keywords (None: the default, or as before when resuming); ``inputs`` the
    data the spec names (``data``, ``backgrounds``...), None where not given. A new run needs every input
    and a fresh folder; a resumed one keeps its own inputs unless new ones are given (with a warning).
    """
    spec_names = {f.name for f in fields(spec_type)}
    option_names = {f.name for f in fields(TrainOptions)}
    unknown = sorted(set(settings) - spec_names - option_names)
    if unknown:
        raise TypeError(f"train_{task}() got unknown settings: {', '.join(unknown)}")
    given = {k: v for k, v in settings.items() if v is not None}
    spec = {k: v for k, v in given.items() if k in spec_names}
    options = {k: v for k, v in given.items() if k in option_names}
    if resume:
        saved = load_checkpoint(run, LAST)
        if "trainer" not in saved or saved.get("task") != task:
            raise InputError(f"{Path(run) / LAST} is not a resumable {task} run")
        spec = {**saved["spec"], **spec}
        options = {**saved["trainer"]["options"], **options}
        for name, value in inputs.items():
            if value is not None and str(value) != str(saved["spec"].get(name)):
                warn(f"resuming on {value} instead of {saved['spec'].get(name)}")
    else:
        _refuse_used_run(Path(run))
    spec.update({name: str(value) for name, value in inputs.items() if value is not None})
    return spec, options


def _refuse_used_run(run: Path) -> None:
    if (run / LAST).exists():
        raise InputError(f"{run} already holds a training run; continue it with --resume {run}, or choose "
                         "another output folder")
    if run.exists() and not run.is_dir():
        raise InputError(f"{run} is a file; the run output must be a folder")
