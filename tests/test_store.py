"""The store contract, run against SQLite and a real Redis."""
import threading

import pytest
import redis

from ztoapi.store.redis import RedisStore
from ztoapi.store.sqlite import SqliteStore


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture(params=["sqlite", "redis"])
def backend(request, tmp_path):
    """(store, clock) for each backend, empty."""
    clock = Clock()
    if request.param == "sqlite":
        return SqliteStore(str(tmp_path), clock=clock), clock
    url = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushdb()
    return RedisStore(url, clock=clock), clock


def record(time, **fields):
    return {"time": time, "request_id": f"req_{time}", "method": "POST", "path": "/v1/chat/completions",
            "api": "openai", "key": "alice", "model": "GLM-4.5", "stream": True, "status": 200,
            "duration_ms": 12.5, "ttft_ms": 3.0, "tokens_in": 10, "tokens_out": 20, "client": "curl/8",
            "error": None, "retries": 0, **fields}


def test_recent_is_newest_first(backend):
    store, clock = backend
    for second in range(5):
        store.record(record(clock.now + second))
    assert [rec["time"] for rec in store.recent(3)] == [clock.now + 4, clock.now + 3, clock.now + 2]
    assert store.recent(1)[0] == record(clock.now + 4)


def test_since_keeps_the_window_oldest_first(backend):
    store, clock = backend
    for age in (400, 200, 100, 10):
        store.record(record(clock.now - age))
    assert [clock.now - rec["time"] for rec in store.since(300)] == [200, 100, 10]


def test_totals_add_up_by_model_and_key(backend):
    store, clock = backend
    store.record(record(clock.now))
    store.record(record(clock.now, model="GLM-4.6", key="bob", status=502, error="upstream_error",
                        tokens_in=0, tokens_out=0))
    store.record(record(clock.now, model="GLM-4.6", status=200, error="upstream_stream_cut",
                        tokens_out=5))
    totals = store.totals()
    assert (totals["requests"], totals["failed"], totals["tokens_in"], totals["tokens_out"]) == (3, 2, 20, 25)
    assert totals["by_model"] == {
        "GLM-4.5": {"requests": 1, "failed": 0, "tokens_in": 10, "tokens_out": 20},
        "GLM-4.6": {"requests": 2, "failed": 2, "tokens_in": 10, "tokens_out": 5}}
    assert totals["by_key"]["bob"] == {"requests": 1, "failed": 1, "tokens_in": 0, "tokens_out": 0}
    assert totals["by_key"]["alice"]["requests"] == 2


def test_empty_store(backend):
    store, _ = backend
    assert store.recent(10) == []
    assert store.since(60) == []
    assert store.totals() == {"requests": 0, "failed": 0, "tokens_in": 0, "tokens_out": 0,
                              "by_model": {}, "by_key": {}}
    assert store.tokens("tokens:alice:20261125") == 0
    assert store.credentials() == {}
    store.ping()


def test_hit_refuses_past_the_limit_without_counting(backend):
    store, _ = backend
    verdicts = [store.hit("rpm:alice", 3, 60) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0, 0]
    assert 0 < verdicts[-1].reset_after <= 60
    assert store.hit("rpm:bob", 3, 60).allowed


def test_sqlite_hit_window_starts_again(tmp_path):
    clock = Clock()
    store = SqliteStore(str(tmp_path), clock=clock)
    assert store.hit("rpm:alice", 1, 60).allowed
    assert not store.hit("rpm:alice", 1, 60).allowed
    clock.now += 61
    assert store.hit("rpm:alice", 1, 60).allowed


def test_concurrent_hits_never_exceed_the_limit(backend):
    store, _ = backend
    results = []
    threads = [threading.Thread(target=lambda: results.append(store.hit("rpm:race", 25, 60).allowed))
               for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 25


def test_slots_are_limited_and_released(backend):
    store, _ = backend
    first = store.acquire("streams:alice", 2, 60)
    second = store.acquire("streams:alice", 2, 60)
    assert first and second and first != second
    assert store.acquire("streams:alice", 2, 60) is None
    store.release("streams:alice", first)
    assert store.acquire("streams:alice", 2, 60) is not None


def test_sqlite_slot_lapses_after_its_ttl(tmp_path):
    clock = Clock()
    store = SqliteStore(str(tmp_path), clock=clock)
    assert store.acquire("streams:alice", 1, 60)
    assert store.acquire("streams:alice", 1, 60) is None
    clock.now += 61
    assert store.acquire("streams:alice", 1, 60)


def test_tokens_add_up(backend):
    store, _ = backend
    store.add_tokens("tokens:alice:20261125", 30, 86400)
    store.add_tokens("tokens:alice:20261125", 12, 86400)
    assert store.tokens("tokens:alice:20261125") == 42
    assert store.tokens("tokens:bob:20261125") == 0


def test_credentials_of_workers_heard_from_lately(backend):
    store, clock = backend
    states = [{"token": "...abc123", "guest": False, "state": "ok", "uses": 3}]
    store.publish_credentials("host:1", states)
    clock.now += 30
    store.publish_credentials("host:2", [])
    assert store.credentials() == {"host:1": states, "host:2": []}
    clock.now += 40
    assert store.credentials() == {"host:2": []}


def test_unreachable_redis_raises_quickly():
    store = RedisStore("redis://127.0.0.1:1/0")
    with pytest.raises(redis.ConnectionError):
        store.ping()


def test_breaker_rests_a_failed_store():
    from ztoapi.store import Breaker
    from ztoapi.store import StoreDown
    clock = Clock()
    calls = []

    class Flaky:
        def ping(self):
            calls.append(clock.now)
            raise OSError("down")

    store = Breaker(Flaky(), clock=clock)
    with pytest.raises(OSError):
        store.ping()
    with pytest.raises(StoreDown):
        store.ping()
    clock.now += 6
    with pytest.raises(OSError):
        store.ping()
    assert len(calls) == 2
