"""Client keys and their limits, through the app (SQLite store in a fresh directory)."""
import json
import logging
import shlex
import time

import pytest

from config.settings import Settings
from config.settings import SettingsError
from tests.conftest import AUTH
from tests.conftest import settings_for
from ztoapi import create_app
from ztoapi import limits
from ztoapi.keys import KeyRing
from ztoapi.limits import duration

ALICE = {"Authorization": "Bearer sk-alice-0123456789"}
BOB = {"x-api-key": "sk-bob-9876543210"}
USER = [{"role": "user", "content": "Hello"}]


def app_with(fake, tmp_path, **overrides):
    return create_app(settings_for(fake, data_dir=str(tmp_path), **overrides))


def chat(client, headers, stream=False):
    return client.post("/v1/chat/completions", headers=headers,
                       json={"model": "GLM-4.5", "messages": USER, "stream": stream})


def test_named_keys_with_limits_parse():
    ring = KeyRing.from_settings(Settings.from_env(
        {}, api_keys="alice:sk-alice-0123456789:rpm=60:streams=2:tpd=1000, bob:sk-bob-9876543210",
        rate_limit_rpm=5))
    alice, bob = ring.find("sk-alice-0123456789"), ring.find("sk-bob-9876543210")
    assert (alice.name, alice.rpm, alice.streams, alice.tokens_per_day) == ("alice", 60, 2, 1000)
    assert (bob.name, bob.rpm, bob.streams, bob.tokens_per_day) == ("bob", 5, 0, 0)
    assert ring.find("sk-your-key").name == "default"
    assert ring.find("sk-nobody") is None
    assert alice.prefix == "sk-ali…" and "0123456789" not in repr(alice)


def test_dashboard_role_in_a_key_entry():
    ring = KeyRing.from_settings(Settings.from_env(
        {}, api_keys="alice:sk-alice-0123456789:rpm=6:dashboard, bob:sk-bob-9876543210"))
    alice, bob = ring.find("sk-alice-0123456789"), ring.find("sk-bob-9876543210")
    assert (alice.rpm, alice.dashboard, bob.dashboard) == (6, True, False)
    assert ring.find("sk-your-key").dashboard   # DEFAULT_KEY is the operator's
    assert ring.named("alice") == [alice]


def test_keys_file(tmp_path):
    path = tmp_path / "keys.txt"
    path.write_text("# team keys\ncarol:sk-carol-1111:rpm=3  # the CI bot\n\ndave:sk-dave-2222\n")
    ring = KeyRing.from_settings(Settings.from_env({}, api_keys_file=str(path)))
    assert ring.find("sk-carol-1111").rpm == 3
    assert ring.find("sk-dave-2222").name == "dave"


@pytest.mark.parametrize("entry", ["alice", "alice:", ":sk-x", "alice:sk-x:rpm=many", "alice:sk-x:burst=3",
                                   "alice:sk-x:dashboard=1"])
def test_bad_key_entries_are_setting_errors(entry):
    with pytest.raises(SettingsError):
        KeyRing.from_settings(Settings.from_env({}, api_keys=entry))


def test_a_key_given_twice_is_a_setting_error():
    with pytest.raises(SettingsError):
        KeyRing.from_settings(Settings.from_env({}, api_keys="a:sk-same-key,b:sk-same-key"))


def test_named_key_works_and_is_logged_by_name(fake, tmp_path, caplog):
    app = app_with(fake, tmp_path, api_keys="alice:sk-alice-0123456789")
    with caplog.at_level(logging.INFO, logger="ztoapi.access"):
        assert chat(app.test_client(), ALICE).status_code == 200
    assert "key=alice" in caplog.text and "sk-alice" not in caplog.text
    assert app.extensions["store"].recent(1)[0]["key"] == "alice"


def test_requests_per_minute(fake, tmp_path):
    client = app_with(fake, tmp_path, api_keys="alice:sk-alice-0123456789:rpm=2").test_client()
    first, second, third = (client.get("/v1/models", headers=ALICE) for _ in range(3))
    assert [first.status_code, second.status_code, third.status_code] == [200, 200, 429]
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert second.headers["x-ratelimit-remaining-requests"] == "0"
    assert third.headers["x-ratelimit-remaining-requests"] == "0"
    assert 1 <= int(third.headers["Retry-After"]) <= 60
    error = third.get_json()["error"]
    assert error["type"] == "rate_limit_error" and error["code"] == "rate_limit_exceeded"
    assert "requests per minute" in error["message"] and "alice" in error["message"]
    assert client.get("/v1/models", headers=AUTH).status_code == 200   # other keys unaffected


def test_concurrent_streams(fake, tmp_path):
    client = app_with(fake, tmp_path, api_keys="alice:sk-alice-0123456789:streams=1").test_client()
    open_stream = chat(client, ALICE, stream=True)   # not read yet: the stream is still open
    refused = chat(client, ALICE)
    assert open_stream.status_code == 200 and refused.status_code == 429
    assert "concurrent" in refused.get_json()["error"]["message"]
    open_stream.get_data()
    open_stream.close()
    assert chat(client, ALICE).status_code == 200


def test_tokens_per_day(fake, tmp_path):
    client = app_with(fake, tmp_path, api_keys="alice:sk-alice-0123456789:tpd=10").test_client()
    first = chat(client, ALICE)   # the fake counts 1 prompt + 10 completion tokens
    assert first.status_code == 200 and first.headers["x-ratelimit-remaining-tokens"] == "10"
    refused = chat(client, ALICE)
    assert refused.status_code == 429
    assert refused.headers["x-ratelimit-remaining-tokens"] == "0"
    assert "tokens per day" in refused.get_json()["error"]["message"]
    assert int(refused.headers["Retry-After"]) <= 86400


def test_store_down_limits_per_worker_from_memory(fake, tmp_path, caplog):
    keys = "alice:sk-alice-0123456789:rpm=2,bob:sk-bob-9876543210:streams=1,carol:sk-carol-55555555:tpd=10"
    app = create_app(settings_for(fake, data_dir=str(tmp_path), redis_url="redis://127.0.0.1:1/0",
                                  api_keys=keys))
    client = app.test_client()
    carol = {"Authorization": "Bearer sk-carol-55555555"}
    with caplog.at_level(logging.WARNING):
        per_minute = [chat(client, ALICE).status_code for _ in range(3)]
        open_stream = chat(client, BOB, stream=True)   # not read yet: its slot is taken
        second_stream = chat(client, BOB, stream=True)
        open_stream.get_data()
        open_stream.close()
        after_close = chat(client, BOB)
        first_of_the_day, over_the_day = chat(client, carol), chat(client, carol)
    assert per_minute == [200, 200, 429]
    assert (open_stream.status_code, second_stream.status_code, after_close.status_code) == (200, 429, 200)
    assert (first_of_the_day.status_code, over_the_day.status_code) == (200, 429)
    assert "tokens per day" in over_the_day.get_json()["error"]["message"]
    assert caplog.text.count("rate limits counted in this worker's memory") == 1   # once, not per request


def test_a_store_failing_mid_admission_lets_its_slot_lapse(fake, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "LEASE_SECONDS", 0.3)
    app = app_with(fake, tmp_path, api_keys="alice:sk-alice-0123456789:rpm=5:streams=1")
    store = app.extensions["store"].backend

    def failing_hit(*args):
        raise OSError("the store went away")
    store.hit = failing_hit   # the slot is taken in the store, then counting the request fails
    assert chat(app.test_client(), ALICE).status_code == 200   # counted in memory instead
    assert app.extensions["limiter"].leases.held() == []   # the store's slot is not renewed
    time.sleep(0.5)
    assert store.acquire("streams:alice", 1, 60) is not None


def test_held_slots_are_renewed_while_held_and_no_longer(tmp_path):
    from ztoapi.limits import LeaseKeeper

    class Recording:
        def __init__(self):
            self.renewed = []

        def renew(self, leases, ttl):
            self.renewed.append((sorted(leases), ttl))

    store = Recording()
    keeper = LeaseKeeper(store, ttl=3, every=0.05)
    keeper.hold("streams:alice", "lease-1")
    keeper.hold("streams:bob", "lease-2")
    time.sleep(0.2)
    keeper.drop("lease-1")
    time.sleep(0.2)
    keeper.drop("lease-2")
    time.sleep(0.2)
    renewals = len(store.renewed)
    time.sleep(0.2)
    assert store.renewed[0] == ([("streams:alice", "lease-1"), ("streams:bob", "lease-2")], 3)
    assert store.renewed[-1] == ([("streams:bob", "lease-2")], 3)
    assert len(store.renewed) == renewals   # nothing held: the renewing thread has stopped
    keeper.hold("streams:alice", "lease-3")   # and starts again with the next slot
    time.sleep(0.2)
    assert store.renewed[-1] == ([("streams:alice", "lease-3")], 3)


def test_a_slot_nobody_renews_lapses_within_the_lease(fake, tmp_path, monkeypatch):
    """What a worker killed with a stream in flight leaves: a slot no thread renews any more."""
    monkeypatch.setattr(limits, "LEASE_SECONDS", 0.5)
    monkeypatch.setattr(limits, "RENEW_SECONDS", 0.1)
    app = app_with(fake, tmp_path, api_keys="alice:sk-alice-0123456789:streams=1")
    limiter = app.extensions["limiter"]
    held = limiter.admit(app.extensions["keys"].find("sk-alice-0123456789"))
    client = app.test_client()
    assert chat(client, ALICE).status_code == 429
    time.sleep(1.0)
    assert chat(client, ALICE).status_code == 429   # its worker is alive: renewed, still taken
    limiter.leases.drop(held.slot[2])   # the worker dies: nobody renews it
    time.sleep(0.7)
    assert chat(client, ALICE).status_code == 200


def test_durations_in_openai_format():
    assert [duration(0.2), duration(59), duration(60), duration(3723)] == ["1s", "59s", "1m0s", "1h2m3s"]


def test_client_chosen_values_cannot_forge_fields_in_text_logs(fake, tmp_path, caplog):
    app = app_with(fake, tmp_path, api_keys="alice:sk-alice-0123456789")
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="ztoapi.access"):
        client.get("/v1/models", headers={**ALICE, "User-Agent": 'x" key=admin'})
        client.get("/v1/models", headers={**ALICE, "User-Agent": "x\\ \x1b[31m\x85\u2028 error=none"})
        client.get('/v1/models/GLM-4.5 key=admin"', headers=ALICE)
        client.get("/v1/models/a%0Akey=admin", headers=ALICE)
    lines = [record.getMessage() for record in caplog.records if record.name == "ztoapi.access"]
    assert len(lines) == 4
    assert lines[0].endswith(' key=alice agent="x\\" key=admin"')
    assert lines[1].endswith(' agent="x\\\\ \\x1b[31m\\x85\\u2028 error=none"')
    assert ' "/v1/models/GLM-4.5 key=admin\\"" 404 ' in lines[2]
    assert ' "/v1/models/a\\nkey=admin" 404 ' in lines[3]
    for line in lines:   # read as a log parser would: fields split at spaces, quotes respected
        fields = shlex.split(line)
        assert [field for field in fields if field.startswith("key=")] in (["key=alice"], [])
        assert fields[-1].startswith("agent=") and "key=admin" not in fields
        assert line.isprintable()


def test_json_logs_carry_the_record(fake, tmp_path, capsys):
    app = app_with(fake, tmp_path, log_format="json", api_keys="alice:sk-alice-0123456789")
    response = chat(app.test_client(), ALICE, stream=True)
    assert response.get_data()
    response.close()   # a stream's record is written when it closes
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    entry = [line for line in lines if line["logger"] == "ztoapi.access"][-1]
    assert (entry["key"], entry["model"], entry["status"], entry["stream"]) == ("alice", "GLM-4.5", 200, True)
    assert (entry["tokens_in"], entry["tokens_out"], entry["retries"], entry["error"]) == (1, 10, 0, None)
    assert entry["request_id"].startswith("req_") and entry["duration_ms"] >= entry["ttft_ms"] > 0
    assert "sk-alice" not in json.dumps(lines)


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "checks": {"credentials": "ok", "store": "ok"},
                                "upstream": {"web": {"ready": True, "reason": "ok", "dialect": "2025",
                                                     "dialect_source": "/api/config answered 404"}}}


def test_readyz_without_a_usable_credential(fake, tmp_path):
    app = app_with(fake, tmp_path, zai_token="bad.token.one", anon_token_enabled=False)
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    assert chat(client, AUTH).status_code == 502   # the fake rejects the token: it is now invalid
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["credentials"] == "no usable upstream credential"


def test_readyz_with_the_store_down(fake):
    client = create_app(settings_for(fake, redis_url="redis://127.0.0.1:1/0")).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"] == {"credentials": "ok", "store": "store unreachable"}
