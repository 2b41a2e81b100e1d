"""Client keys and their limits, through the app (SQLite store in a fresh directory)."""
import json
import logging

import pytest

from config.settings import Settings
from config.settings import SettingsError
from tests.conftest import AUTH
from tests.conftest import settings_for
from ztoapi import create_app
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


def test_keys_file(tmp_path):
    path = tmp_path / "keys.txt"
    path.write_text("# team keys\ncarol:sk-carol-1111:rpm=3  # the CI bot\n\ndave:sk-dave-2222\n")
    ring = KeyRing.from_settings(Settings.from_env({}, api_keys_file=str(path)))
    assert ring.find("sk-carol-1111").rpm == 3
    assert ring.find("sk-dave-2222").name == "dave"


@pytest.mark.parametrize("entry", ["alice", "alice:", ":sk-x", "alice:sk-x:rpm=many", "alice:sk-x:burst=3"])
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


def test_store_down_lets_requests_through(fake, tmp_path, caplog):
    app = create_app(settings_for(fake, redis_url="redis://127.0.0.1:1/0",
                                  api_keys="alice:sk-alice-0123456789:rpm=1:streams=1"))
    client = app.test_client()
    answers = []
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            response = chat(client, ALICE, stream=True)
            answers.append((response.status_code, response.get_data(as_text=True)[-14:]))
            response.close()
    assert answers == [(200, "data: [DONE]\n\n")] * 3
    assert "rate limits not checked" in caplog.text and "request record not kept" in caplog.text


def test_durations_in_openai_format():
    assert [duration(0.2), duration(59), duration(60), duration(3723)] == ["1s", "59s", "1m0s", "1h2m3s"]


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
                                "upstream": {"web": {"dialect": "2025",
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
