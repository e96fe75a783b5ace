"""The progress bar: silent for quick jobs, alive while a slow job has not produced its first frame."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest

import unseen.progress
from unseen.progress import first_pass, progress, report_ahead, say


@pytest.fixture(autouse=True)
def on_a_terminal(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see stderr as a terminal would (captured, it is not one), except those about logs."""
    if "in_a_log" not in request.node.name:
        monkeypatch.setattr(unseen.progress, "redraw_interval", lambda: 0.1)


def test_in_a_log_the_bar_is_not_redrawn_line_after_line(capsys: pytest.CaptureFixture[str]) -> None:
    def slow(count: int) -> Iterator[int]:
        for i in range(count):
            time.sleep(0.05)
            yield i

    assert list(progress(slow(60), 60, "cutout", enabled=True)) == list(range(60))
    drawn = [line for line in capsys.readouterr().err.replace("\r", "\n").splitlines() if line.strip()]
    # 3 s of work: the first draw and the final one, not one per item or per second.
    assert 1 <= len(drawn) <= 3 and "60/60" in drawn[-1], drawn


def frames_after(seconds: float, count: int = 3) -> Iterator[int]:
    """``count`` items, the first one only after ``seconds`` (as the video engine's first window)."""
    time.sleep(seconds)
    yield from range(count)


def test_a_slow_first_frame_still_shows_the_bar_counting_time(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(progress(frames_after(2.5), 3, "remove", enabled=True)) == [0, 1, 2]
    drawn = capsys.readouterr().err.replace("\r", "\n")
    # Redrawn each second while nothing arrives: the elapsed time moves although the count does not.
    assert "0/3 [00:01<?" in drawn and "0/3 [00:02<?" in drawn, drawn


def test_in_a_log_what_follows_the_bar_starts_a_line_of_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    # The bar is drawn by the ticker and at the end, never by tqdm's own timed prints (every 30 s in a log).
    assert list(progress(frames_after(1.5), 3, "remove", enabled=True)) == [0, 1, 2]
    print("unseen: wrote out.mp4", file=sys.stderr)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert "remove:" in lines[0] and lines[-1] == "unseen: wrote out.mp4", lines


def test_quick_work_and_disabled_bars_print_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(progress(frames_after(0.0), 3, "remove", enabled=True)) == [0, 1, 2]
    assert list(progress(frames_after(0.0), 3, "remove", enabled=False)) == [0, 1, 2]
    assert capsys.readouterr().err.strip() == ""


def test_a_warning_gets_a_line_of_its_own_whether_or_not_the_bar_is_on_screen(
        capsys: pytest.CaptureFixture[str]) -> None:
    for i in progress(frames_after(1.5), 3, "remove", enabled=True):  # on screen from 1 s on
        if i == 1:
            say("unseen: warning: shown")
    for i in progress(frames_after(0.0), 3, "remove", enabled=True):  # quick: never on screen
        if i == 1:
            say("unseen: warning: quick")
    print("unseen: wrote out.mp4", file=sys.stderr)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert "unseen: warning: shown" in lines, lines  # not glued after the bar's text
    assert lines[-2:] == ["unseen: warning: quick", "unseen: wrote out.mp4"], lines  # nor a bar drawn for it


def batch_reporting_ahead(count: int = 3) -> Iterator[int]:
    """A batch of ``count`` items that takes 2.5 s and says how far it is, as the video engine's windows."""
    time.sleep(1.2)
    report_ahead(1.6)  # whole items only are shown
    time.sleep(1.3)
    report_ahead(count)
    yield from range(count)


def test_work_inside_a_batch_moves_the_bar_before_the_batch_comes_out(
        capsys: pytest.CaptureFixture[str]) -> None:
    # A batch of 3 out of 6 items: the bar shows 1, then 3, before any item is out, and stays at 3 when
    # those items come out (they are not counted twice).
    assert list(progress(batch_reporting_ahead(3), 6, "remove", enabled=True)) == [0, 1, 2]
    drawn = capsys.readouterr().err.replace("\r", "\n")
    assert "1/6 [" in drawn and "3/6 [" in drawn, drawn
    assert not any(f"{n}/6" in drawn for n in (4, 5, 6)), drawn
    report_ahead(2)  # no bar: nothing happens
    assert capsys.readouterr().err == ""


def test_a_first_pass_inside_shown_work_has_a_bar_of_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    def work() -> Iterator[int]:
        # As `remove --box`: the whole video is read once (following the object) before the first frame.
        assert list(first_pass(frames_after(1.5), 3, "following")) == [0, 1, 2]
        yield from range(3)

    assert list(progress(work(), 3, "remove", enabled=True)) == [0, 1, 2]
    drawn = capsys.readouterr().err.replace("\r", "\n")
    assert "following: " in drawn and "remove: " in drawn, drawn
    assert list(progress(work(), 3, "remove", enabled=False)) == [0, 1, 2]
    assert list(first_pass(frames_after(1.5), 3, "following")) == [0, 1, 2]  # no work under way
    assert capsys.readouterr().err.strip() == ""
