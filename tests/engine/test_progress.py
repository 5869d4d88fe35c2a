"""engine.progress: plain CI lines (literal, with an injected clock), threads, the rich bar."""

from __future__ import annotations

import io
import threading

import pytest

from labelsync.engine.events import ApplyEvents, NullEvents
from labelsync.engine.progress import PlainProgress, RichProgress, format_eta, make_progress

MIB = 1024 * 1024


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_plain_lines_every_ten_percent_and_every_interval() -> None:
    out = io.StringIO()
    clock = FakeClock()
    events = make_progress(out, ci=True, clock=clock, interval=5.0)
    events.phase("city", "files")
    events.files_planned(20, 20 * MIB)
    for i in range(20):
        clock.now += 0.5
        events.file_done(f"f{i}", MIB, uploaded=True)
        if i == 4:
            events.message("policy renewed")
    events.phase("city", "commit")
    events.done()
    assert out.getvalue().splitlines() == [
        "city: files",
        "20 files to register, 20.0 MiB to send",
        "2/20 files done, 2.0 MiB/20.0 MiB sent, 2.0 MiB/s, ETA 9s",
        "4/20 files done, 4.0 MiB/20.0 MiB sent, 2.0 MiB/s, ETA 8s",
        "policy renewed",
        "6/20 files done, 6.0 MiB/20.0 MiB sent, 2.0 MiB/s, ETA 7s",
        "8/20 files done, 8.0 MiB/20.0 MiB sent, 2.0 MiB/s, ETA 6s",
        "10/20 files done, 10.0 MiB/20.0 MiB sent, 2.0 MiB/s, ETA 5s",
        "12/20 files done, 12.0 MiB/20.0 MiB sent, 2.0 MiB/s, ETA 4s",
        "14/20 files done, 14.0 MiB/20.0 MiB sent, 2.0 MiB/s, ETA 3s",
        "16/20 files done, 16.0 MiB/20.0 MiB sent, 2.0 MiB/s, ETA 2s",
        "18/20 files done, 18.0 MiB/20.0 MiB sent, 2.0 MiB/s, ETA 1s",
        "20/20 files done, 20.0 MiB/20.0 MiB sent, 2.0 MiB/s",
        "city: commit",
    ]


def test_plain_throttles_many_files_by_time() -> None:
    out = io.StringIO()
    clock = FakeClock()
    events = make_progress(out, ci=True, clock=clock, interval=5.0)
    events.files_planned(5000, 5000 * 65536)
    for i in range(1200):
        clock.now += 0.01  # 12 s for the 1,200 files: two interval lines, no decile yet (10% = 500)
        events.file_done(f"f{i}", 65536, uploaded=True)
    lines = out.getvalue().splitlines()
    assert lines == [
        "5,000 files to register, 312.5 MiB to send",
        "500/5,000 files done, 31.2 MiB/312.5 MiB sent, 6.2 MiB/s, ETA 45s",
        "1,000/5,000 files done, 62.5 MiB/312.5 MiB sent, 6.2 MiB/s, ETA 40s",
    ]
    clock.now += 5
    events.bytes_sent(0)
    assert (
        out.getvalue().splitlines()[-1]
        == "1,200/5,000 files done, 75.0 MiB/312.5 MiB sent, 4.4 MiB/s, ETA 54s"
    )


def test_plain_bytes_sent_and_file_sizes_are_not_counted_twice() -> None:
    out = io.StringIO()
    clock = FakeClock()
    events = PlainProgress(out, clock=clock, interval=1.0)
    events.files_planned(2, 4 * MIB)
    clock.now += 1
    events.bytes_sent(MIB)
    events.bytes_sent(MIB)
    events.file_done("a", 2 * MIB, uploaded=True)
    events.file_done("b", 2 * MIB, uploaded=False)
    events.done()
    assert out.getvalue().splitlines() == [
        "2 files to register, 4.0 MiB to send",
        "0/2 files done, 1.0 MiB/4.0 MiB sent, 1.0 MiB/s, ETA 3s",
        "1/2 files done, 2.0 MiB/4.0 MiB sent, 2.0 MiB/s, ETA 1s",
        "2/2 files done, 2.0 MiB/4.0 MiB sent, 2.0 MiB/s",
    ]


def test_plain_label_only_uses_file_rate() -> None:
    out = io.StringIO()
    clock = FakeClock()
    events = PlainProgress(out, clock=clock)
    events.files_planned(4, 0)
    clock.now += 2
    events.file_done("a", 0, uploaded=False)
    assert out.getvalue().splitlines()[-1] == "1/4 files done, 0 B/0 B sent, ETA 6s"


def test_plain_is_thread_safe() -> None:
    out = io.StringIO()
    events = PlainProgress(out, clock=FakeClock())
    events.files_planned(8000, 8000)

    def work() -> None:
        for i in range(1000):
            events.file_done(f"f{i}", 1, uploaded=True)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events.done()
    lines = out.getvalue().splitlines()
    # the clock never moves: one line per 10% only, the last one complete
    assert len(lines) == 11
    assert lines[-1] == "8,000/8,000 files done, 7.8 KiB/7.8 KiB sent"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (19.4, "19s"), (59.6, "1m00s"), (185, "3m05s"), (3720, "1h02m"), (-3, "0s")],
)
def test_format_eta(seconds: float, text: str) -> None:
    assert format_eta(seconds) == text


def test_make_progress_chooses_plain_without_a_terminal_or_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert isinstance(make_progress(io.StringIO()), PlainProgress)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(make_progress(Tty()), RichProgress)
    monkeypatch.setenv("CI", "true")
    assert isinstance(make_progress(Tty()), PlainProgress)


def test_rich_progress_runs_through_an_apply() -> None:
    out = io.StringIO()
    events = make_progress(out, ci=False)
    assert isinstance(events, ApplyEvents)
    events.phase("city", "catalog")
    events.message("resuming draft #3")
    events.files_planned(3, 3 * MIB)
    events.phase("city", "files")
    for name in "abc":
        events.file_done(name, MIB, uploaded=True)
    events.done()
    text = out.getvalue()
    assert "city: catalog" in text
    assert "resuming draft #3" in text
    assert "3/3 files" in text


def test_null_events_satisfy_the_protocol() -> None:
    events: ApplyEvents = NullEvents()
    assert isinstance(events, ApplyEvents)
    events.phase("d", "files")
    events.files_planned(1, 1)
    events.file_done("a", 1, uploaded=True)
    events.bytes_sent(1)
    events.message("m")
    events.done()


def test_files_sent_once_never_count_more_bytes_than_planned() -> None:
    import io

    from labelsync.engine.progress import PlainProgress

    out = io.StringIO()
    events = PlainProgress(out, clock=lambda: 1.0)
    events.files_planned(3, 306)
    events.bytes_sent(256)
    events.bytes_sent(50)
    for name, size in (("a", 256), ("copy", 256), ("b", 50)):  # copy: same content as a, sent once
        events.file_done(name, size, uploaded=True)
    assert out.getvalue().splitlines()[-1].startswith("3/3 files done, 306 B/306 B sent")


def test_plain_progress_does_not_import_rich() -> None:
    import subprocess
    import sys

    code = (
        "import io, sys; from labelsync.engine.progress import make_progress; "
        "make_progress(io.StringIO(), ci=True).message('x'); assert 'rich' not in sys.modules, 'rich imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
