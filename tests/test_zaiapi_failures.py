"""Z.ai's API upstream before the first byte: failures as ZtoApi's errors, key rotation and rest,
retries, timeouts and status(), against the strict fake API (tests/fakeapi) on 127.0.0.1."""
import socket

import pytest

from config.settings import Settings
from tests.fakeapi import start_in_thread
from ztoapi import signals
from ztoapi.catalog import Catalog
from ztoapi.errors import ApiError
from ztoapi.openai_chat.schema import ChatCompletionRequest
from ztoapi.pipeline.request import chat_request
from ztoapi.upstream import ANSWER
from ztoapi.zaiapi import failures
from ztoapi.zaiapi.client import ApiClient
from ztoapi.zaiapi.keys import KeyPool
from ztoapi.zaiapi.keys import tail

HELLO = {"model": "GLM-4.7", "enable_thinking": False, "messages": [{"role": "user", "content": "hello"}]}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def api():
    fake = start_in_thread(keys=["k1", "k2"])
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def fresh(api):
    api.reset()


def settings_for(base, **overrides):
    return Settings.from_env({}, **{"upstreams": "api", "zai_api_key": "k1", "zai_api_base": base,
                                    "zai_api_models": "glm-4.7,glm-9", **overrides})


def client_for(base, clock=None, **overrides):
    client = ApiClient(settings_for(base, **overrides), sleep=lambda seconds: client.sleeps.append(seconds),
                       **({"clock": clock} if clock else {}))
    client.sleeps = []
    return client


def chat_for(client, body=HELLO):
    body = ChatCompletionRequest().load({"stream": True, **body})
    model = Catalog(client.models).get_or_404(body["model"])
    return chat_request(body, settings_for(client.base), model)


def answer(reply):
    pieces = []
    while True:
        batch = reply.next(5)
        if batch is None:
            return "".join(value for kind, value in pieces if kind == ANSWER)
        pieces += batch


def chat_keys(api):
    return [entry["key"] for entry in api.requests if entry["path"].endswith("/chat/completions")]


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- keys

def test_keys_rotate_round_robin(api):
    client = client_for(api.base_url, zai_api_key="k1,k2")
    answer(client.open(chat_for(client)))
    answer(client.open(chat_for(client)))
    answer(client.open(chat_for(client)))
    assert chat_keys(api) == ["k1", "k2", "k1"]


def test_a_rejected_key_rests_and_the_next_answers(api):
    client = client_for(api.base_url, zai_api_key="bad-key-0123456789,k1")
    assert answer(client.open(chat_for(client))) == "Echo: hello"
    assert chat_keys(api) == ["bad-key-0123456789", "k1"]
    assert client.pool.state()[0] == {"key": "...6789", "state": "rejected (401); resting for 600 s",
                                      "uses": 1}
    answer(client.open(chat_for(client)))
    assert chat_keys(api) == ["bad-key-0123456789", "k1", "k1"]


def test_the_only_key_rejected(api):
    client = client_for(api.base_url, zai_api_key="bad-key-0123456789")
    with pytest.raises(ApiError) as caught:
        client.open(chat_for(client))
    assert caught.value.status == 502
    assert caught.value.code == "upstream_unauthorized"
    assert "(1002): Authorization Token is invalid" in caught.value.message
    assert "ZAI_API_KEY" in caught.value.message
    assert "bad-key" not in caught.value.message
    assert caught.value.headers["x-should-retry"] == "false"
    with pytest.raises(ApiError) as again:
        client.open(chat_for(client))
    assert again.value.status == 503
    assert again.value.code == "upstream_credential_unavailable"
    assert "...6789 rejected (401)" in again.value.message
    assert again.value.headers["Retry-After"] == "600"
    assert len(chat_keys(api)) == 1


def test_a_rate_limited_key_cools_down_and_the_next_answers(api):
    client = client_for(api.base_url, zai_api_key="k1,k2")
    api.script_next(fault="http429_1302")
    reply = client.open(chat_for(client))
    assert answer(reply) == "Echo: hello"
    assert reply.retries == 1
    assert chat_keys(api) == ["k1", "k2"]
    assert client.pool.state()[0]["state"] == "cooling down for 30 s"
    assert client.sleeps == []


def test_rate_limited_with_every_key(api):
    client = client_for(api.base_url)
    api.fault = "http429_1302"
    with pytest.raises(ApiError) as caught:
        client.open(chat_for(client))
    assert caught.value.status == 429
    assert caught.value.code == "upstream_rate_limited"
    assert caught.value.type == "rate_limit_error"
    assert "(1302): High concurrency usage" in caught.value.message
    assert caught.value.headers["Retry-After"] == "30"
    assert len(chat_keys(api)) == 1


def test_a_quota_reset_time_becomes_retry_after(api):
    client = client_for(api.base_url)
    api.fault = "http429_1308"
    with pytest.raises(ApiError) as caught:
        client.open(chat_for(client))
    assert caught.value.code == "upstream_rate_limited"
    assert 5 * 3600 - 5 <= int(caught.value.headers["Retry-After"]) <= 5 * 3600
    assert client.pool.state()[0]["state"] == "cooling down for 3600 s"


def test_retry_after_header_is_kept():
    error = failures.from_status(429, '{"error":{"code":"1302","message":"busy"}}', "7")
    assert error.headers == {"Retry-After": "7"}
    assert failures.retry_after_seconds(error) == 7.0


def test_key_tails():
    assert tail("0123456789abcdef.secretpart") == "...part"
    assert tail("short") == "..."


def test_pool_skips_resting_keys_and_comes_back():
    clock = Clock()
    pool = KeyPool(["a" * 20, "b" * 20], 30.0, clock)
    pool.rate_limited("a" * 20)
    assert pool.acquire() == "b" * 20
    assert pool.acquire() == "b" * 20
    clock.now += 30
    assert pool.acquire() == "a" * 20


def test_three_transient_failures_cool_a_key():
    clock = Clock()
    pool = KeyPool(["a" * 20], 30.0, clock)
    pool.failed("a" * 20)
    pool.failed("a" * 20)
    assert pool.usable() is True
    pool.failed("a" * 20)
    assert pool.usable() is False
    assert pool.soonest() == 30.0


# ---------------------------------------------------------------- retries

def test_server_errors_are_retried_then_final(api):
    client = client_for(api.base_url)
    failed, retried = [], []
    signals.upstream_failed.connect(lambda sender, code: failed.append(code), sender=client, weak=False)
    signals.upstream_retried.connect(lambda sender: retried.append(1), sender=client, weak=False)
    api.fault = "http500"
    with pytest.raises(ApiError) as caught:
        client.open(chat_for(client))
    assert caught.value.status == 502
    assert caught.value.code == "upstream_error"
    assert "HTTP 500 (500): Internal Error" in caught.value.message
    assert caught.value.retries == 2
    assert len(chat_keys(api)) == 3
    assert len(client.sleeps) == 2
    assert failed == ["upstream_error"] * 3
    assert retried == [1, 1]


def test_a_server_error_then_success(api):
    client = client_for(api.base_url)
    api.script_next(fault="http503_1305")
    reply = client.open(chat_for(client))
    assert answer(reply) == "Echo: hello"
    assert reply.retries == 1
    assert len(chat_keys(api)) == 2


def test_an_error_chunk_before_any_answer_is_retried(api):
    client = client_for(api.base_url)
    api.script_next(fault="mid_error", after=0)
    reply = client.open(chat_for(client))
    assert answer(reply) == "Echo: hello"
    assert reply.retries == 1


def test_max_retries_zero(api):
    client = client_for(api.base_url, upstream_max_retries=0)
    api.fault = "http500"
    with pytest.raises(ApiError):
        client.open(chat_for(client))
    assert len(chat_keys(api)) == 1
    assert client.sleeps == []


def test_api_400s_are_the_clients_and_never_retried(api):
    client = client_for(api.base_url)
    api.fault = "http400_1261"
    with pytest.raises(ApiError) as caught:
        client.open(chat_for(client))
    assert caught.value.status == 400
    assert caught.value.code == "context_length_exceeded"
    assert caught.value.message == "Z.ai API refused the request (1261): Prompt exceeds max length"
    assert len(chat_keys(api)) == 1


def test_an_unknown_model_is_a_400_with_the_api_code(api):
    client = client_for(api.base_url)
    with pytest.raises(ApiError) as caught:
        client.open(chat_for(client, {"model": "GLM-9", "messages": [{"role": "user", "content": "hi"}]}))
    assert caught.value.status == 400
    assert caught.value.code == "invalid_request"
    assert caught.value.message == ("Z.ai API refused the request (1211): Unknown Model, please check "
                                    "the model code.")
    assert not caught.value.code.startswith("upstream_")


def test_content_filter_400(api):
    client = client_for(api.base_url)
    api.fault = "http400_1301"
    with pytest.raises(ApiError) as caught:
        client.open(chat_for(client))
    assert caught.value.status == 400
    assert caught.value.code == "content_filter"
    assert "(1301)" in caught.value.message


def test_other_statuses_are_upstream_rejected(api):
    error = failures.from_status(404, '{"error":{"code":"1222","message":"API not found"}}')
    assert error.status == 502
    assert error.code == "upstream_rejected"
    assert error.retry is None
    assert "(1222): API not found" in error.message


def test_an_html_error_page():
    error = failures.from_status(502, "<html><body>Bad gateway</body></html>")
    assert error.code == "upstream_error"
    assert error.message == "Z.ai's API answered HTTP 502: an HTML page"


# ---------------------------------------------------------------- network and timeouts

def test_unreachable_is_retried_then_502():
    client = client_for(f"http://127.0.0.1:{closed_port()}/api/paas/v4", upstream_connect_timeout=0.5)
    with pytest.raises(ApiError) as caught:
        client.open(chat_for(client))
    assert caught.value.status == 502
    assert caught.value.code == "upstream_unreachable"
    assert caught.value.retries == 2
    assert len(client.sleeps) == 2


def test_no_first_chunk_in_time_is_a_504(api):
    client = client_for(api.base_url, upstream_first_event_timeout=0.3)
    api.script_next(first_delay_ms=1500)
    with pytest.raises(ApiError) as caught:
        client.open(chat_for(client))
    assert caught.value.status == 504
    assert caught.value.code == "upstream_timeout"
    assert len(chat_keys(api)) == 1


def test_every_call_has_a_timeout(api):
    client = client_for(api.base_url, upstream_connect_timeout=1.5, upstream_first_event_timeout=2,
                        upstream_read_timeout=3)
    assert client.timeout == (1.5, 8)
    assert client.short_timeout == (1.5, 3)


# ---------------------------------------------------------------- status

def test_status_ready(api):
    client = client_for(api.base_url, zai_api_key="k1,k2")
    assert client.status() == {"ready": True, "reason": "ok",
                               "keys": [{"key": "...", "state": "ok", "uses": 0},
                                        {"key": "...", "state": "ok", "uses": 0}]}


def test_status_not_ready_when_every_key_rests(api):
    clock = Clock()
    client = client_for(api.base_url, clock, zai_api_key="bad-key-0123456789")
    with pytest.raises(ApiError):
        client.open(chat_for(client))
    status = client.status()
    assert status["ready"] is False
    assert status["reason"] == ("no usable Z.ai API key: every ZAI_API_KEY key rests (...6789 rejected (401); "
                                "resting for 600 s)")
    api.add_key("bad-key-0123456789")
    clock.now += 601
    assert client.status()["ready"] is True


def test_status_after_a_network_failure_and_the_probe():
    clock = Clock()
    client = client_for(f"http://127.0.0.1:{closed_port()}/api/paas/v4", clock, upstream_max_retries=0)
    with pytest.raises(ApiError):
        client.open(chat_for(client))
    status = client.status()
    assert status["ready"] is False
    assert status["reason"].startswith("the last request failed: upstream_unreachable: Could not connect")
    clock.now += 5
    assert client.status()["ready"] is False


def test_the_probe_clears_a_failure_once_the_api_answers(api):
    clock = Clock()
    client = client_for(api.base_url, clock, upstream_max_retries=0)
    api.fault = "http500"
    client.trouble = ("network", "upstream_unreachable: gone")
    client.probed = clock.now
    assert client.status()["ready"] is False
    clock.now += 5
    assert client.status() == {"ready": True, "reason": "ok", "keys": [{"key": "...", "state": "ok", "uses": 0}]}


def test_success_clears_the_trouble(api):
    client = client_for(api.base_url)
    client.trouble = ("network", "upstream_unreachable: gone")
    answer(client.open(chat_for(client)))
    assert client.trouble is None


def test_warm_never_raises():
    client = client_for(f"http://127.0.0.1:{closed_port()}/api/paas/v4", zai_api_models="")
    client.warm()
    assert client.catalogue.failed is True
    assert client.models()[0][0].id == "GLM-5.3"
