"""The public aggregates cache: one computation at a time, stale values served meanwhile."""

from __future__ import annotations

import threading
import time

import pytest

from civicpulse.infra.aggregate_cache import AggregateCache


def test_concurrent_first_visitors_share_one_computation() -> None:
    cache = AggregateCache(seconds=60)
    calls: list[int] = []
    gate = threading.Event()

    def slow() -> str:
        calls.append(1)
        gate.wait(5)
        return "table"

    answers: list[str] = []
    threads = [
        threading.Thread(target=lambda: answers.append(cache.get("league", slow)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(5)
    assert answers == ["table"] * 8 and len(calls) == 1


def test_an_expired_value_is_served_while_one_thread_refreshes_it() -> None:
    cache = AggregateCache(seconds=0.05)
    assert cache.get("k", lambda: "old") == "old"
    time.sleep(0.1)
    started, release = threading.Event(), threading.Event()
    refreshes: list[int] = []

    def refresh() -> str:
        refreshes.append(1)
        started.set()
        release.wait(5)
        return "new"

    assert cache.get("k", refresh) == "old"  # at once, not after the refresh
    assert started.wait(5)
    assert cache.get("k", refresh) == "old"  # the refresh is running: no second one
    release.set()
    for _ in range(100):
        if cache.get("k", refresh) == "new":
            break
        time.sleep(0.01)
    assert cache.get("k", refresh) == "new" and len(refreshes) == 1


def test_a_failed_first_computation_is_raised_and_tried_again() -> None:
    cache = AggregateCache(seconds=60)

    def broken() -> str:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        cache.get("k", broken)
    assert cache.get("k", lambda: "back") == "back"


def test_a_failed_refresh_keeps_the_old_value() -> None:
    cache = AggregateCache(seconds=0.05)
    cache.get("k", lambda: "old")
    time.sleep(0.1)

    def broken() -> str:
        raise RuntimeError("database gone")

    assert cache.get("k", broken) == "old"
    time.sleep(0.1)
    assert cache.get("k", lambda: "new") in ("old", "new")  # still answers
