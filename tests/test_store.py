"""The store contract, run against SQLite and a real Redis (its counting half against the
per-worker memory store too)."""
import threading
import time

import pytest
import redis

from ztoapi.store.memory import MemoryStore
from ztoapi.store.redis import RedisStore
from ztoapi.store.sqlite import SqliteStore


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


def empty_store(request, tmp_path, kind):
    """(store, clock) of `kind`, empty."""
    clock = Clock()
    if kind == "sqlite":
        return SqliteStore(str(tmp_path), clock=clock), clock
    if kind == "memory":
        return MemoryStore(clock=clock), clock
    url = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushdb()
    return RedisStore(url, clock=clock), clock


@pytest.fixture(params=["sqlite", "redis"])
def backend(request, tmp_path):
    """(store, clock) for each backend, empty."""
    return empty_store(request, tmp_path, request.param)


@pytest.fixture(params=["sqlite", "redis", "memory"])
def counters(request, tmp_path):
    """(store, clock) for each store that counts: the two backends and a worker's memory."""
    return empty_store(request, tmp_path, request.param)


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
                              "by_model": {}, "by_key": {}, "by_key_model": {}}
    assert store.tokens("tokens:alice:20261125") == 0
    assert store.credentials() == {}
    store.ping()


def test_totals_by_key_and_model(backend):
    store, clock = backend
    store.record(record(clock.now))
    store.record(record(clock.now, model="GLM-4.6", tokens_out=5))
    store.record(record(clock.now, key="bob"))
    store.record(record(clock.now, key=None, model=None, status=401, error="invalid_api_key"))
    assert store.totals()["by_key_model"] == {
        "alice": {"GLM-4.5": {"requests": 1, "failed": 0, "tokens_in": 10, "tokens_out": 20},
                  "GLM-4.6": {"requests": 1, "failed": 0, "tokens_in": 10, "tokens_out": 5}},
        "bob": {"GLM-4.5": {"requests": 1, "failed": 0, "tokens_in": 10, "tokens_out": 20}}}


def test_recent_of_one_key(backend, monkeypatch):
    store, clock = backend
    monkeypatch.setattr(type(store).__module__ + ".READ_BATCH", 3)
    for second in range(10):
        store.record(record(clock.now + second, key="bob" if second in (1, 5) else "alice"))
    assert [rec["time"] - clock.now for rec in store.recent(5, key="bob")] == [5, 1]
    assert [rec["time"] - clock.now for rec in store.recent(1, key="bob")] == [5]
    assert [rec["time"] - clock.now for rec in store.recent(3, key="alice")] == [9, 8, 7]
    assert store.recent(5, key="carol") == []


def test_hit_refuses_past_the_limit_without_counting(counters):
    store, _ = counters
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


def test_peek_reads_a_window_without_counting(counters):
    store, _ = counters
    assert store.peek("authfail:203.0.113.9") == (0, 0.0)
    store.hit("authfail:203.0.113.9", 5, 60)
    store.hit("authfail:203.0.113.9", 5, 60)
    count, reset_after = store.peek("authfail:203.0.113.9")
    assert count == 2 and 0 < reset_after <= 60
    assert store.peek("authfail:203.0.113.9")[0] == 2


def test_concurrent_hits_never_exceed_the_limit(counters):
    store, _ = counters
    results = []
    threads = [threading.Thread(target=lambda: results.append(store.hit("rpm:race", 25, 60).allowed))
               for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 25


def test_slots_are_limited_and_released(counters):
    store, _ = counters
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


def test_renewed_slots_outlive_their_ttl_and_the_others_lapse(counters):
    store, clock = counters
    ttl = 0.4   # Redis counts lease time on its own clock: this test waits for real
    kept = store.acquire("streams:alice", 2, ttl)
    dropped = store.acquire("streams:alice", 2, ttl)
    assert store.acquire("streams:alice", 2, ttl) is None
    for _ in range(3):
        clock.now += 0.25
        if isinstance(store, RedisStore):
            time.sleep(0.25)
        store.renew([("streams:alice", kept)], ttl)
    assert store.acquire("streams:alice", 2, ttl) is not None   # `dropped` lapsed, `kept` did not
    assert store.acquire("streams:alice", 2, ttl) is None
    store.renew([("streams:alice", dropped)], 60)   # a lapsed lease is not brought back
    store.release("streams:alice", kept)
    assert store.acquire("streams:alice", 2, ttl) is not None


def test_revoked_until_the_ttl(counters):
    store, clock = counters
    assert not store.revoked("session-1")
    store.revoke("session-1", 60)
    assert store.revoked("session-1") and not store.revoked("session-2")
    if not isinstance(store, RedisStore):
        clock.now += 61
        assert not store.revoked("session-1")


def test_tokens_add_up(counters):
    store, _ = counters
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


def test_record_many_is_the_same_as_one_record_after_another(backend):
    store, clock = backend
    store.record_many([record(clock.now, model="GLM-4.5"), record(clock.now + 1, model="GLM-4.6", status=502)])
    store.record(record(clock.now + 2, model="GLM-4.5"))
    assert [rec["model"] for rec in store.recent(10)] == ["GLM-4.5", "GLM-4.6", "GLM-4.5"]
    totals = store.totals()
    assert totals["requests"] == 3 and totals["failed"] == 1
    assert totals["by_model"]["GLM-4.5"]["requests"] == 2


def test_documents_are_kept_until_their_ttl_and_forgotten_on_request(backend):
    store, clock = backend
    assert store.document("resp_1") is None
    store.keep_document("resp_1", b'{"id": "resp_1"}', 60)
    store.keep_document("resp_2", b"second", 0.5)
    assert store.document("resp_1") == b'{"id": "resp_1"}'
    assert store.forget_document("resp_1") is True
    assert store.forget_document("resp_1") is False
    assert store.document("resp_1") is None
    if isinstance(store, RedisStore):   # Redis keeps its own time
        time.sleep(0.6)
    else:
        clock.now += 1
    assert store.document("resp_2") is None


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
