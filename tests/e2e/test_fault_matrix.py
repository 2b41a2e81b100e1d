"""The fault matrix: one row per upstream failure, against the real server under gunicorn.

Each row asserts what the client sees and that the server is healthy afterwards: the next
request succeeds and no upstream stream is left open.
"""
import json
import signal
import time

import openai
import pytest
import requests

from tests.conftest import KEY
from tests.conftest import free_port
from tests.conftest import server_log
from tests.conftest import start_gunicorn
from tests.conftest import stop_gunicorn
from tests.fakezai import make_user_token
from tests.sent import attempts_by_token
from tests.sent import completions

AUTH = {"Authorization": f"Bearer {KEY}"}


def chat(base, content="hello", stream=False, **extra):
    body = {"model": "GLM-4.5", "messages": [{"role": "user", "content": content}], "stream": stream}
    return requests.post(f"{base}/v1/chat/completions", json={**body, **extra}, headers=AUTH, timeout=30)


def directive(**script):
    return f"[[fake {json.dumps(script)}]]"


def sse(response):
    events = [e[6:] for e in response.text.split("\n\n") if e.startswith("data: ")]
    return [e if e == "[DONE]" else json.loads(e) for e in events]


def chat_posts(fake):
    return completions(fake)


def assert_healthy(base, fake):
    response = chat(base, "still there?")
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Echo: still there?"
    deadline = time.monotonic() + 3
    while fake.open_streams and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.open_streams == 0


@pytest.fixture
def gateway(fake):
    """Start a dedicated server with extra settings: gateway(**env) -> base URL."""
    started = []

    def start(upstream_url=None, **env):
        env = {"UPSTREAM_URL": upstream_url or f"{fake.url}/api/chat/completions",
               "DEFAULT_KEY": KEY, **{k.upper(): str(v) for k, v in env.items()}}
        process, base = start_gunicorn(env)
        started.append(process)
        return base
    yield start
    for process in started:
        stop_gunicorn(process)
    fake.auths_fault = None
    fake.min_fe_version = fake.fe_version = None   # the dialect's own


def test_upstream_500_then_success_is_retried(server, fake):
    fake.script_next(fault="http500")
    response = chat(server)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hello"
    assert len(chat_posts(fake)) == 2
    assert_healthy(server, fake)


def test_500_on_every_attempt_is_502_after_the_budget(server, fake):
    response = chat(server, directive(fault="http500"))
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"
    assert len(chat_posts(fake)) == 3
    assert_healthy(server, fake)


def test_401_on_a_pooled_token_disables_it_and_uses_the_next(gateway, fake):
    good, bad = make_user_token("user-good"), make_user_token("user-bad")
    fake.add_user_token(good)
    base = gateway(zai_token=f"{bad},{good}", anon_token_enabled="false")
    assert chat(base).status_code == 200
    assert chat(base).status_code == 200
    assert attempts_by_token(fake) == {bad: 1, good: 2}
    assert_healthy(base, fake)


def test_rate_limit_on_every_credential_is_429_with_retry_after(gateway, fake):
    base = gateway()
    response = chat(base, directive(fault="http429", retry_after=7))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["error"]["code"] == "upstream_rate_limited"
    assert len(chat_posts(fake)) == 3
    assert_healthy(base, fake)


def test_busy_event_is_retried_on_another_credential(server, fake):
    fake.script_next(fault="busy_event")
    response = chat(server)
    assert response.status_code == 200
    tokens = [r["headers"]["authorization"] for r in chat_posts(fake)]
    assert len(tokens) == 2 and tokens[0] != tokens[1]


@pytest.mark.parametrize("fault, says", [("http500", "HTTP 500"), ("waf405", "firewall")])
def test_guest_minting_failing_is_503_saying_why(gateway, fake, fault, says):
    fake.auths_fault = fault
    base = gateway()
    response = chat(base)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "upstream_credential_unavailable"
    assert says in error["message"] and "ZAI_TOKEN" in error["message"]
    fake.auths_fault = None
    assert_healthy(base, fake)


def test_connect_refused_is_502(gateway):
    base = gateway(upstream_url=f"http://127.0.0.1:{free_port()}/api/chat/completions",
                   zai_token=make_user_token("user-1"), upstream_max_retries=1)
    response = chat(base)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unreachable"
    assert requests.get(f"{base}/v1/models", headers=AUTH, timeout=5).status_code == 200


def test_slow_first_byte_is_504_and_a_stall_mid_stream_is_an_error_event(gateway, fake):
    base = gateway(upstream_first_event_timeout=0.5, upstream_read_timeout=0.5)
    slow = chat(base, directive(first_delay_ms=2000), stream=True)
    assert slow.status_code == 504
    assert slow.json()["error"]["code"] == "upstream_timeout"
    stalled = chat(base, directive(fault="stall", stall_s=3, answer="a b c d e f", chunk=2), stream=True)
    events = sse(stalled)
    assert events[-1] == "[DONE]"
    assert events[-2]["error"]["code"] == "upstream_timeout"
    assert all(e["choices"][0]["finish_reason"] is None for e in events[:-2])
    assert_healthy(base, fake)


def test_cut_mid_stream_is_an_error_event_never_a_stop(server, fake):
    events = sse(chat(server, directive(fault="cut", answer="a b c d e f", chunk=2), stream=True))
    assert events[-1] == "[DONE]"
    assert events[-2]["error"]["code"] == "upstream_stream_cut"
    assert "stop" not in [e["choices"][0]["finish_reason"] for e in events[:-2]]
    assert_healthy(server, fake)


@pytest.mark.dialect("2025")
@pytest.mark.parametrize("fault, code, setting", [
    ("version426", "upstream_version_rejected", "ZAI_FE_VERSION"),
    ("version426_http", "upstream_version_rejected", "ZAI_FE_VERSION"),
    ("signature", "upstream_signature_rejected", "ZAI_SIGNING_SECRET"),
    ("waf405", "upstream_blocked", "ZAI_TOKEN"),
])
def test_upstream_changed_errors_are_clear_and_not_retried(server, fake, fault, code, setting):
    response = chat(server, directive(fault=fault), stream=True)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == code
    assert setting in error["message"]
    assert len(chat_posts(fake)) == 1
    assert_healthy(server, fake)


@pytest.mark.dialect("2026")
@pytest.mark.parametrize("fault, status, code, says, attempts", [
    ("http426", 502, "upstream_signature_rejected", "ZAI_SIGNING_SECRET", 1),
    ("signature", 502, "upstream_signature_rejected", "ZAI_SIGNING_SECRET", 1),
    ("waf405", 502, "upstream_blocked", "UPSTREAM_PROXY", 2),
    ("internal_error", 502, "upstream_rejected", "ZAI_DIALECT", 1),
    ("captcha", 503, "upstream_captcha_required", "ZtoApi never completes CAPTCHAs", 1),
    ("tier", 403, "model_requires_login", "ZAI_TOKEN", 1),
])
def test_2026_refusals_are_clear_answers_before_the_first_byte(gateway, fake, fault, status, code, says,
                                                               attempts):
    base = gateway()
    for stream in (True, False):
        response = chat(base, directive(fault=fault), stream=stream)
        assert response.status_code == status
        error = response.json()["error"]
        assert error["code"] == code and says in error["message"]
        assert len(chat_posts(fake)) == attempts
        fake.reset()
        if fault in ("captcha", "tier"):
            base = gateway()   # a fresh server: the first one rests its guests or remembers the model
    anthropic = requests.post(f"{base}/v1/messages", headers=AUTH, timeout=30, json={
        "model": "GLM-4.5", "max_tokens": 64, "messages": [{"role": "user", "content": directive(fault=fault)}]})
    assert anthropic.status_code == status
    assert anthropic.json()["type"] == "error"
    assert anthropic.json()["error"]["type"] == {502: "api_error", 503: "api_error",
                                                 403: "permission_error"}[status]
    assert says in anthropic.json()["error"]["message"]


def test_a_real_signature_mismatch_is_not_retried(gateway, fake):
    base = gateway(zai_signing_secret="junjie")
    response = chat(base)
    assert response.json()["error"]["code"] == "upstream_signature_rejected"
    assert len(chat_posts(fake)) == 1


@pytest.mark.dialect("2025")
def test_new_front_end_version_is_detected_after_a_426(gateway, fake):
    server = gateway()   # its own server: a refusal on the shared one read the page less than 5 s ago
    assert chat(server).status_code == 200
    fake.fe_version = fake.min_fe_version = "1.0.130"
    try:
        response = chat(server, "after the upgrade")
        assert response.status_code == 200
        posts = chat_posts(fake)
        assert [p["headers"]["x-fe-version"] for p in posts[-2:]] == ["prod-fe-1.0.98", "prod-fe-1.0.130"]
    finally:
        fake.fe_version = fake.min_fe_version = None


@pytest.mark.dialect("2026")
def test_new_front_end_version_is_read_again_after_the_firewall_405(gateway, fake):
    server = gateway()   # its own server: a refusal on the shared one read the page less than 5 s ago
    assert chat(server).status_code == 200
    fake.fe_version = fake.min_fe_version = "1.1.130"
    try:
        response = chat(server, "after the upgrade")
        assert response.status_code == 200
        created = [r for r in fake.requests if r["path"] == "/api/v1/chats/new"]
        assert [r["headers"]["x-fe-version"] for r in created[-2:]] == ["prod-fe-1.1.98", "prod-fe-1.1.130"]
        assert chat_posts(fake)[-1]["headers"]["x-fe-version"] == "prod-fe-1.1.130"
    finally:
        fake.fe_version = fake.min_fe_version = None


def test_malformed_events_keep_the_answer_intact(server, fake):
    response = chat(server, directive(fault="malformed", answer="whole answer"))
    assert response.json()["choices"][0]["message"]["content"] == "whole answer"
    assert_healthy(server, fake)


def test_keepalive_comments_during_a_silence_do_not_break_the_sdk(gateway, fake):
    base = gateway(sse_keepalive_seconds=0.2)
    prompt = directive(fault="stall", stall_s=1.2, answer="one two three four", chunk=4, after=1)
    raw = chat(base, prompt, stream=True, enable_thinking=False)
    assert raw.text.count(": keep-alive\n\n") >= 3
    assert raw.text.endswith("data: [DONE]\n\n")
    with openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0) as client:
        chunks = list(client.chat.completions.create(
            model="GLM-4.5", messages=[{"role": "user", "content": prompt}], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "one two three four"


def test_client_token_is_used_when_allowed(gateway, fake):
    token = make_user_token("user-client")
    fake.add_user_token(token)
    base = gateway(allow_client_tokens="true")
    response = requests.post(f"{base}/v1/chat/completions", timeout=10, headers={**AUTH, "X-ZAI-Token": token},
                             json={"model": "GLM-4.5", "messages": [{"role": "user", "content": "hi"}], "stream": False})
    assert response.status_code == 200
    assert chat_posts(fake)[-1]["headers"]["authorization"] == f"Bearer {token}"
    fake.revoke(token)
    rejected = requests.post(f"{base}/v1/chat/completions", timeout=10, headers={**AUTH, "X-ZAI-Token": token},
                             json={"model": "GLM-4.5", "messages": [{"role": "user", "content": "hi"}]})
    assert rejected.status_code == 401
    assert rejected.json()["error"]["code"] == "upstream_token_rejected"


def test_client_token_is_ignored_by_default(server, fake):
    response = requests.post(f"{server}/v1/chat/completions", timeout=10,
                             headers={**AUTH, "X-ZAI-Token": "a.b.c"},
                             json={"model": "GLM-4.5", "messages": [{"role": "user", "content": "hi"}], "stream": False})
    assert response.status_code == 200
    assert chat_posts(fake)[-1]["headers"]["authorization"] != "Bearer a.b.c"


def test_upstream_proxy_carries_every_upstream_call(gateway, fake):
    base = gateway(upstream_url="http://zai.invalid/api/chat/completions", upstream_proxy=fake.url)
    assert chat(base).json()["choices"][0]["message"]["content"] == "Echo: hello"
    assert fake.requests and all(r["proxied"] for r in fake.requests)
    assert {r["path"] for r in fake.requests} >= {"/", "/api/v1/auths/", "/api/config",
                                                  chat_posts(fake)[-1]["path"]}


def test_graceful_shutdown_lets_an_open_stream_finish(fake):
    process, base = start_gunicorn({"UPSTREAM_URL": f"{fake.url}/api/chat/completions", "DEFAULT_KEY": KEY})
    answer = " ".join(f"w{i}" for i in range(20))
    prompt = directive(answer=answer, chunk=3, delay_ms=60)
    with requests.post(f"{base}/v1/chat/completions", headers=AUTH, stream=True, timeout=30,
                       json={"model": "GLM-4.5", "messages": [{"role": "user", "content": prompt}],
                             "stream": True, "enable_thinking": False}) as response:
        process.send_signal(signal.SIGTERM)
        text = response.content.decode()
    chunks = [json.loads(e[6:]) for e in text.split("\n\n") if e.startswith("data: {")]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == answer
    assert text.endswith("data: [DONE]\n\n")
    assert process.wait(timeout=10) == 0
    assert "drained: no request in flight, exiting" in server_log(process)
    process.log_file.close()


def test_client_leaving_during_a_silence_closes_the_upstream_within_a_second(server, fake):
    import socket
    body = json.dumps({"model": "GLM-4.5", "stream": True, "enable_thinking": False, "messages": [
        {"role": "user", "content": directive(fault="stall", stall_s=20, after=1, answer="a b c", chunk=2)}]}).encode()
    host, port = server.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     + f"Authorization: Bearer {KEY}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        assert b"200 OK" in sock.recv(4096)
        time.sleep(0.2)
        assert fake.open_streams == 1
    left = time.monotonic()
    while fake.open_streams and time.monotonic() - left < 5:
        time.sleep(0.02)
    assert fake.open_streams == 0
    assert time.monotonic() - left < 1.5
    assert fake.closed_early == 1
    assert_healthy(server, fake)


@pytest.mark.dialect("2025")
def test_a_client_that_stops_reading_is_cut_after_the_write_deadline(gateway, fake):
    import socket
    base = gateway(client_write_timeout=1, stream_buffer_bytes=65536)
    answer = "x" * 4000
    body = json.dumps({"model": "GLM-4.5", "stream": True, "enable_thinking": False, "messages": [
        {"role": "user", "content": directive(answer=answer * 5000, chunk=4000)}]}).encode()
    host, port = base.rsplit("/", 1)[1].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    try:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     + f"Authorization: Bearer {KEY}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        assert b"200 OK" in sock.recv(1024)
        stopped = time.monotonic()
        while (fake.open_streams or not fake.closed_early) and time.monotonic() - stopped < 10:
            time.sleep(0.05)
        assert fake.closed_early == 1, "the upstream was closed once the client stopped reading"
        assert time.monotonic() - stopped < 6
        assert requests.get(f"{base}/healthz", timeout=2).status_code == 200
    finally:
        sock.close()
