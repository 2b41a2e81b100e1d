"""Per-key limits hold across gunicorn workers (SQLite) and across instances sharing Redis; so do
per-key options."""
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import start_gunicorn
from tests.conftest import stop_gunicorn
from ztoapi.limits import LEASE_SECONDS

ALICE = {"Authorization": "Bearer sk-alice-0123456789"}
BOB = {"Authorization": "Bearer sk-bob-9876543210"}   # think=strip


def servers(fake, count, **env):
    started = [start_gunicorn({"UPSTREAM_URL": f"{fake.url}/api/chat/completions", "WEB_CONCURRENCY": "2",
                               "API_KEYS": "alice:sk-alice-0123456789:rpm=10:streams=3,"
                                           "bob:sk-bob-9876543210:think=strip", **env})
               for _ in range(count)]
    return [process for process, _ in started], [base for _, base in started]


def statuses(calls):
    with ThreadPoolExecutor(max_workers=16) as pool:
        return sorted(pool.map(lambda call: call(), calls))


def models(base):
    return lambda: requests.get(f"{base}/v1/models", headers=ALICE, timeout=10).status_code


def slow_stream(base):
    script = json.dumps({"answer": "one two three four", "chunk": 1, "delay_ms": 300})
    body = {"model": "GLM-4.5", "stream": True, "messages": [{"role": "user", "content": f"[[fake {script}]]"}]}

    def call():
        response = requests.post(f"{base}/v1/chat/completions", headers=ALICE, json=body, timeout=30)
        return response.status_code
    return call


@pytest.fixture
def two_workers(fake, tmp_path):
    processes, bases = servers(fake, 1, DATA_DIR=str(tmp_path))
    yield bases[0]
    stop_gunicorn(processes[0])


@pytest.fixture
def two_instances(fake, redis_url):
    import redis
    redis.Redis.from_url(redis_url).flushdb()
    processes, bases = servers(fake, 2, REDIS_URL=redis_url)
    yield bases
    for process in processes:
        stop_gunicorn(process)


def test_requests_per_minute_across_workers(two_workers):
    results = statuses([models(two_workers)] * 30)
    assert results.count(200) == 10 and results.count(429) == 20


def reasoned_stream(base, headers):
    """(reasoning_content, content) of a slow streamed completion that reasons first."""
    script = json.dumps({"reasoning": "one two three four", "answer": "five six seven eight", "chunk": 1,
                         "delay_ms": 50})
    body = {"model": "GLM-4.5", "stream": True, "messages": [{"role": "user", "content": f"[[fake {script}]]"}]}
    response = requests.post(f"{base}/v1/chat/completions", headers=headers, json=body, timeout=30)
    chunks = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: {")]
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks if chunk["choices"]]
    return ("".join(d.get("reasoning_content") or "" for d in deltas),
            "".join(d.get("content") or "" for d in deltas))


def test_each_key_keeps_its_think_mode_in_concurrent_streams(two_workers):
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda headers: reasoned_stream(two_workers, headers), [ALICE, BOB] * 3))
    assert results[0::2] == [("one two three four", "five six seven eight")] * 3
    assert results[1::2] == [("", "five six seven eight")] * 3


def test_requests_per_minute_across_instances(two_instances):
    first, second = two_instances
    results = statuses([models(first), models(second)] * 15)
    assert results.count(200) == 10 and results.count(429) == 20


def test_concurrent_streams_across_instances(two_instances):
    first, second = two_instances
    results = statuses([slow_stream(first), slow_stream(second)] * 4)
    assert results.count(200) == 3 and results.count(429) == 5


def test_shared_statistics_across_instances(two_instances, redis_url):
    first, second = two_instances
    for call in [models(first), models(second)] * 3:   # one after another: alice may run 3 at once
        assert call() == 200
    from ztoapi.store.redis import RedisStore
    store = RedisStore(redis_url)
    deadline = time.monotonic() + 5   # records are written in batches, a moment after each request
    while store.totals()["by_key"].get("alice", {}).get("requests") != 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.totals()["by_key"]["alice"]["requests"] == 6
    alice = [rec for rec in store.recent(100) if rec["key"] == "alice"]   # not the start-up probes
    assert len(alice) == 6 and {rec["status"] for rec in alice} == {200}


def test_a_stream_longer_than_the_lease_keeps_its_slot(two_instances):
    """A slot is a lease its worker renews: a stream outliving LEASE_SECONDS still holds it."""
    first, second = two_instances
    words = " ".join(["word"] * int(LEASE_SECONDS * 5 + 15))   # 200 ms a word: 3 s past the lease
    script = json.dumps({"answer": words, "chunk": 1, "delay_ms": 200})
    body = {"model": "GLM-4.5", "stream": True,
            "messages": [{"role": "user", "content": f"[[fake {script}]]"}]}
    streams = [requests.post(f"{first}/v1/chat/completions", headers=ALICE, json=body, stream=True,
                             timeout=30) for _ in range(3)]
    assert [stream.status_code for stream in streams] == [200, 200, 200]
    time.sleep(LEASE_SECONDS + 1.5)
    assert slow_stream(second)() == 429
    for stream in streams:
        stream.close()
