"""Errors and warnings that users see.

Every problem with what the user gave us (a path, a file, an option) is an :class:`InputError`: the CLI
prints its message as one line and exits with status 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import warnings


class InputError(ValueError):
    """The input, the mask, the output path or an option cannot be used; the message says why."""


class UnseenWarning(UserWarning):
    """Something was adjusted or skipped that the user should know about (a rescaled mask, an empty one)."""


def warn(message: str) -> None:
    """Emit an :class:`UnseenWarning` attributed to the caller of the public API."""
    warnings.warn(message, UnseenWarning, stacklevel=3)
