"""What the user points at: a box ``X,Y,W,H`` or a point ``X,Y``, on a frame (``@FRAME``, default 0).

Prompts are parsed and checked here, so that every bad one (a box outside the frame, a frame past the
end, a malformed number) is one :class:`InputError` line before any work starts.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence

from unseen.errors import InputError

BOX, POINT = "box", "point"
_SYNTAX = {BOX: "X,Y,W,H[@FRAME]", POINT: "X,Y[@FRAME]"}
_NUMBER = r"\s*(-?\d+(?:\.\d+)?)\s*"
MIN_BOX_SIDE = 4  # pixels inside the frame; less cannot be told from noise


@dataclasses.dataclass(frozen=True)
class Prompt:
    """One object to follow: where it is (``values``: x, y, w, h for a box; x, y for a point) on ``frame``."""

    kind: str
    values: tuple[int, ...]
    frame: int = 0

    def __str__(self) -> str:
        return f"--{self.kind} {','.join(map(str, self.values))}@{self.frame}"

    @property
    def box(self) -> tuple[int, int, int, int]:
        """``(x, y, w, h)``; a point's box is the point itself (one pixel)."""
        if self.kind == BOX:
            return self.values  # type: ignore[return-value]
        return (*self.values, 1, 1)  # type: ignore[return-value]


def parse_prompt(kind: str, text: str | Sequence[float], frame: int = 0) -> Prompt:
    """A :class:`Prompt` from ``"X,Y,W,H@FRAME"`` (or ``"X,Y@FRAME"``), or from a tuple of numbers on ``frame``."""
    if kind not in _SYNTAX:
        raise InputError(f"unknown prompt kind {kind!r}; use box or point")
    size = 4 if kind == BOX else 2
    if isinstance(text, str):
        match = re.fullmatch(",".join([_NUMBER] * size) + r"(?:@\s*(-?\d+)\s*)?", text)
        if match is None:
            raise InputError(f"--{kind} {text!r}: expected {_SYNTAX[kind]}, e.g. "
                             f"{'120,80,60,40@12' if kind == BOX else '140,95@12'}")
        numbers = [float(v) for v in match.groups()[:size]]
        frame = int(match.group(size + 1)) if match.group(size + 1) is not None else frame
    else:
        numbers = [float(v) for v in text]
        if len(numbers) != size:
            raise InputError(f"{kind} needs {size} numbers ({_SYNTAX[kind].split('[')[0]}), got {len(numbers)}")
    if frame < 0:
        raise InputError(f"--{kind} {text}: the frame index must be 0 or more, got {frame}")
    if kind == BOX and (numbers[2] <= 0 or numbers[3] <= 0):
        raise InputError(f"--box {text}: width and height must be positive")
    return Prompt(kind, tuple(round(v) for v in numbers), int(frame))


def parse_prompts(boxes: object = None, points: object = None, frame: int = 0) -> list[Prompt]:
    """Every prompt from the API's or the command's ``box`` and ``point``: each one prompt or several.

    One prompt is a string (``"X,Y,W,H@F"``) or a tuple of numbers; several are a list of them.
    ``frame`` is where prompts that do not say ``@FRAME`` are.
    """
    return [parse_prompt(kind, one, frame) for kind, given in ((BOX, boxes), (POINT, points))
            for one in _several(given)]


def _several(given: object) -> list:
    if given is None:
        return []
    if isinstance(given, str) or (isinstance(given, Sequence) and given and not isinstance(given[0], (str, Sequence))):
        return [given]
    if isinstance(given, Iterable):
        return list(given)
    raise InputError(f"expected a prompt such as '120,80,60,40@12' or (120, 80, 60, 40), got {given!r}")


def check_prompts(prompts: Iterable[Prompt], size: tuple[int, int], frame_count: int | None) -> list[Prompt]:
    """``prompts`` fitted to frames of ``size`` (w, h): boxes cut to the frame; ``InputError`` for a prompt
    outside it or on a frame past ``frame_count`` (when known)."""
    width, height = size
    fitted = []
    for prompt in prompts:
        if frame_count is not None and prompt.frame >= frame_count:
            raise InputError(f"{prompt}: frame {prompt.frame} is past the end; the input has {frame_count} "
                             f"frame{'s' if frame_count != 1 else ''} (0 to {frame_count - 1})")
        fitted.append(fit_prompt(prompt, width, height))
    return fitted


def fit_prompt(prompt: Prompt, width: int, height: int) -> Prompt:
    """``prompt`` inside a ``width`` x ``height`` frame: a box is cut to it; ``InputError`` when outside."""
    x, y, w, h = prompt.box
    x0, y0, x1, y1 = max(0, x), max(0, y), min(width, x + w), min(height, y + h)
    if prompt.kind == POINT and not (0 <= x < width and 0 <= y < height):
        raise InputError(f"{prompt}: the point lies outside the {width}x{height} frame")
    if prompt.kind == BOX and (x1 - x0 < MIN_BOX_SIDE or y1 - y0 < MIN_BOX_SIDE):
        raise InputError(f"{prompt}: the box lies outside the {width}x{height} frame "
                         f"(or keeps less than {MIN_BOX_SIDE} px of it)")
    if prompt.kind == POINT:
        return prompt
    return dataclasses.replace(prompt, values=(x0, y0, x1 - x0, y1 - y0))
