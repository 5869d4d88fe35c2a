"""The request budget: the token bucket, and Retry-After pauses shared through the pause file."""

from __future__ import annotations

from pathlib import Path

from labelsync.engine.shardspec import parse_shard, shard_of
from labelsync.providers import budget
from labelsync.providers.retry import RetryPolicy, Stats


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_token_bucket_holds_the_rate() -> None:
    clock = Clock()
    b = budget.Budget(10.0, clock=clock.time, sleep=clock.sleep)
    for _ in range(40):
        b.before_request()
    # a burst of 10, then one request every 0.1 s
    assert 2.9 <= clock.now - 1_000_000.0 <= 3.1


def test_a_retry_after_seen_by_one_shard_pauses_the_other(tmp_path: Path) -> None:
    clock = Clock()
    pause = tmp_path / ".retry-after"
    one = budget.Budget(None, pause, clock=clock.time, sleep=clock.sleep)
    other = budget.Budget(None, pause, clock=clock.time, sleep=clock.sleep)
    other.before_request()
    assert clock.slept == []
    one.retry_after(5.0)
    clock.now += 1.0  # past the other's poll interval
    other.before_request()
    assert abs(sum(clock.slept) - 4.0) < 0.01
    one.retry_after(1.0)  # never moves the pause back
    assert float(pause.read_text()) >= clock.now


def test_the_retry_policy_reports_retry_after_to_the_installed_budget(tmp_path: Path) -> None:
    pause = tmp_path / ".retry-after"
    budget.install(budget.Budget(None, pause))
    try:
        attempts = RetryPolicy().attempts("GET", "http://x/", "GET /", Stats())
        attempts.begin()
        assert attempts.answered(429, "2") == 2.0
    finally:
        budget.install(None)
    assert pause.is_file() and float(pause.read_text()) > 0


def test_shard_of_is_stable_and_spreads() -> None:
    assert shard_of("images/a.png", 4) == shard_of("images/a.png", 4)
    assert {shard_of(f"f{i}", 4) for i in range(100)} == {1, 2, 3, 4}
    assert shard_of("f1", 7) == 1 + int.from_bytes(__import__("hashlib").sha1(b"f1").digest()[:8], "big") % 7
    assert parse_shard("2/4") == (2, 4)
