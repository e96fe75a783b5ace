"""Checking the options a user passes to an architecture or an encoder, before building anything."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from unseen.errors import InputError


def accepted_options(factory: Callable[..., Any]) -> list[str] | None:
    """The keyword options ``factory`` takes, or None when it takes any (``**kwargs``)."""
    params = inspect.signature(factory).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def check_options(what: str, factory: Callable[..., Any], options: Mapping[str, Any],
                  reserved: tuple[str, ...] = ()) -> None:
    """Refuse, in one line naming the valid ones, an option ``factory`` does not take.

    ``reserved`` names parameters the caller fills itself (``num_classes``), which are not options.
    """
    accepted = accepted_options(factory)
    if accepted is None:
        return
    choices = [name for name in accepted if name not in reserved]
    for name in options:
        if name not in choices:
            raise InputError(f"{what} has no option {name!r}; its options: {', '.join(choices) or 'none'}")
