import json

import pytest

from tests.conftest import AUTH
from tests.conftest import settings_for
from ztoapi import create_app

USER = [{"role": "user", "content": "Hello 世界"}]


def post(client, body, headers=AUTH):
    return client.post("/v1/chat/completions", json=body, headers=headers)


def sse_events(response):
    """The data payloads of an SSE body, in order; [DONE] kept as a string."""
    text = response.get_data(as_text=True)
    assert text.endswith("\n\n")
    payloads = [block[6:] for block in text.split("\n\n") if block]
    assert all(not block.startswith(":") for block in payloads)
    return [payload if payload == "[DONE]" else json.loads(payload) for payload in payloads]


def directive(**script):
    return f"[[fake {json.dumps(script)}]]"


def test_json_completion_shape_and_usage(client):
    response = post(client, {"model": "GLM-4.5", "messages": USER, "stream": False})
    assert response.status_code == 200
    assert response.content_type == "application/json"
    body = response.get_json()
    assert body["id"].startswith("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert isinstance(body["created"], int)
    assert body["model"] == "GLM-4.5"
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == "Echo: Hello 世界"
    assert choice["message"]["reasoning_content"] == "The user wrote: Hello 世界\nI will echo it."
    assert choice["message"]["refusal"] is None
    assert choice["logprobs"] is None
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens"] == 2
    assert usage["completion_tokens"] == 12
    assert usage["total_tokens"] == 14


def test_model_echoes_what_the_client_asked(client, fake):
    body = post(client, {"model": "glm-4.6", "messages": USER, "stream": False}).get_json()
    assert body["model"] == "glm-4.6"
    assert fake.requests[-1]["body"]["model"] == "GLM-4-6-API-V1"


@pytest.mark.parametrize("model, upstream_id", [
    ("GLM-4.5", "0727-360B-API"), ("GLM-4.6", "GLM-4-6-API-V1"), ("GLM-4.5V", "glm-4.5v")])
def test_models_map_to_upstream_ids(client, fake, model, upstream_id):
    assert post(client, {"model": model, "messages": USER, "stream": False}).status_code == 200
    assert fake.requests[-1]["body"]["model"] == upstream_id


def test_stream_obeys_the_chunk_rules(client):
    response = post(client, {"model": "GLM-4.6", "messages": USER, "stream": True})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    events = sse_events(response)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert len({(c["id"], c["created"], c["model"]) for c in chunks}) == 1
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    roles = [c["choices"][0]["delta"].get("role") for c in chunks]
    assert roles[0] == "assistant" and roles.count("assistant") == 1
    finishes = [c["choices"][0]["finish_reason"] for c in chunks]
    assert finishes[-1] == "stop" and finishes.count(None) == len(chunks) - 1
    assert chunks[-1]["choices"][0]["delta"] == {}
    assert all("usage" not in c for c in chunks)
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks)
    assert content == "Echo: Hello 世界"
    assert reasoning == "The user wrote: Hello 世界\nI will echo it."


def test_include_usage_adds_a_last_usage_chunk(client):
    response = post(client, {"model": "GLM-4.5", "messages": USER, "stream": True,
                             "stream_options": {"include_usage": True}})
    chunks = sse_events(response)[:-1]
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] == 14


def test_stream_and_json_give_the_same_text(client):
    text = "Alpha beta, gamma — delta 🌍 epsilon."
    prompt = [{"role": "user", "content": "x " + directive(answer=text, chunk=3)}]
    body = post(client, {"model": "GLM-4.5", "messages": prompt, "stream": False}).get_json()
    chunks = sse_events(post(client, {"model": "GLM-4.5", "messages": prompt, "stream": True}))[:-1]
    streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert body["choices"][0]["message"]["content"] == streamed == text


@pytest.mark.parametrize("headers, streams", [
    ({"Accept": "application/json"}, False),
    ({"Accept": "application/json; charset=utf-8"}, False),
    ({"Accept": "application/json, text/plain, */*"}, True),
    ({"User-Agent": "node-fetch ai-sdk/provider-utils/4.0.1 ai-sdk-openai/4.0.118"}, False),
    ({"User-Agent": "curl/8.5.0"}, True),
    ({"Accept": "*/*"}, True),
    ({}, True),
    ({"Accept": "text/event-stream"}, True),
])
def test_stream_decision_when_stream_is_absent(client, headers, streams):
    response = post(client, {"model": "GLM-4.5", "messages": USER}, headers={**AUTH, **headers})
    assert response.status_code == 200
    assert response.mimetype == ("text/event-stream" if streams else "application/json")


def test_explicit_stream_wins_over_accept(client):
    response = post(client, {"model": "GLM-4.5", "messages": USER, "stream": True},
                    headers={**AUTH, "Accept": "application/json"})
    assert response.mimetype == "text/event-stream"


def test_default_stream_false(fake):
    client = create_app(settings_for(fake, default_stream=False)).test_client()
    response = post(client, {"model": "GLM-4.5", "messages": USER})
    assert response.mimetype == "application/json"


@pytest.mark.parametrize("mode, content, reasoning", [
    ("think", "<think>\nThe user wrote: Hello 世界\nI will echo it.\n</think>\n\nEcho: Hello 世界", None),
    ("strip", "Echo: Hello 世界", None),
    ("reasoning", "Echo: Hello 世界", "The user wrote: Hello 世界\nI will echo it."),
])
def test_think_tags_modes(fake, mode, content, reasoning):
    client = create_app(settings_for(fake, think_tags_mode=mode)).test_client()
    message = post(client, {"model": "GLM-4.5", "messages": USER, "stream": False}).get_json()["choices"][0]["message"]
    assert message["content"] == content
    assert message.get("reasoning_content") == reasoning


def test_raw_mode_keeps_upstream_markup(fake):
    client = create_app(settings_for(fake, think_tags_mode="raw")).test_client()
    content = post(client, {"model": "GLM-4.5", "messages": USER, "stream": False}).get_json()["choices"][0]["message"]["content"]
    assert content.startswith('<details type="reasoning"')
    assert "> The user wrote: Hello 世界\n> I will echo it.\n</details>\nEcho: Hello 世界" in content


def test_thinking_can_be_turned_off_per_request(client, fake):
    body = post(client, {"model": "GLM-4.5", "messages": USER, "stream": False,
                         "enable_thinking": False}).get_json()
    assert "reasoning_content" not in body["choices"][0]["message"]
    assert fake.requests[-1]["body"]["features"]["enable_thinking"] is False


def test_upstream_request_carries_messages_params_and_signature(client, fake):
    messages = [{"role": "developer", "content": "Be brief."},
                {"role": "system", "content": "You are GLM."},
                {"role": "user", "content": "first"},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": [{"type": "text", "text": "part one"},
                                             {"type": "text", "text": "part two"}]}]
    response = post(client, {"model": "GLM-4.5", "messages": messages, "stream": False,
                             "temperature": 0.3, "top_p": 0.9, "max_tokens": 50})
    assert response.status_code == 200
    sent = fake.requests[-1]
    assert sent["body"]["messages"] == [
        {"role": "system", "content": "Be brief."}, {"role": "system", "content": "You are GLM."},
        {"role": "user", "content": "first"}, {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "part one\npart two"}]
    assert sent["body"]["signature_prompt"] == "part one\npart two"
    assert sent["body"]["params"] == {"temperature": 0.3, "top_p": 0.9, "max_tokens": 50}
    assert sent["headers"]["x-fe-version"].startswith("prod-fe-")
    assert response.get_json()["choices"][0]["message"]["content"] == "Echo: part one\npart two"


def test_guest_token_is_minted_once_and_reused(client, fake):
    post(client, {"model": "GLM-4.5", "messages": USER, "stream": False})
    post(client, {"model": "GLM-4.5", "messages": USER, "stream": False})
    paths = [r["path"] for r in fake.requests]
    assert paths.count("/api/v1/auths/") == 1
    assert paths.count("/api/chat/completions") == 2


@pytest.mark.parametrize("fault, status, code", [
    ("http500", 502, "upstream_error"),
    ("version426", 502, "upstream_version_rejected"),
    ("version426_http", 502, "upstream_version_rejected"),
    ("signature", 502, "upstream_signature_rejected"),
    ("waf405", 502, "upstream_blocked"),
    ("error_start", 502, "upstream_error"),
    ("http429", 429, "upstream_rate_limited"),
])
@pytest.mark.parametrize("stream", [True, False])
def test_failures_before_the_first_byte_are_real_statuses(client, fault, status, code, stream):
    prompt = [{"role": "user", "content": "hi " + directive(fault=fault)}]
    response = post(client, {"model": "GLM-4.5", "messages": prompt, "stream": stream})
    assert response.status_code == status
    assert response.content_type == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["type"] in ("server_error", "rate_limit_error")
    if status == 429:
        assert response.headers["Retry-After"]


def test_version_rejection_names_the_setting(client):
    prompt = [{"role": "user", "content": directive(fault="version426")}]
    error = post(client, {"model": "GLM-4.5", "messages": prompt, "stream": False}).get_json()["error"]
    assert "ZAI_FE_VERSION" in error["message"]
    assert "outdated" in error["message"]


def test_signature_rejection_names_the_setting(client):
    prompt = [{"role": "user", "content": directive(fault="signature")}]
    error = post(client, {"model": "GLM-4.5", "messages": prompt, "stream": False}).get_json()["error"]
    assert "ZAI_SIGNING_SECRET" in error["message"]


@pytest.mark.parametrize("fault, code", [
    ("error_mid", "upstream_error"), ("toplevel_error", "upstream_error"),
    ("cut", "upstream_stream_cut")])
def test_failures_mid_stream_end_with_an_error_event_and_done(client, fault, code):
    prompt = [{"role": "user", "content": directive(fault=fault, answer="one two three four five", chunk=4)}]
    response = post(client, {"model": "GLM-4.5", "messages": prompt, "stream": True})
    assert response.status_code == 200
    events = sse_events(response)
    assert events[-1] == "[DONE]"
    assert events[-2]["error"]["code"] == code
    assert all(c["choices"][0]["finish_reason"] is None for c in events[:-2])
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in events[:-2])


@pytest.mark.parametrize("fault", ["error_mid", "cut"])
def test_failures_mid_reply_are_502_for_json_requests(client, fault):
    prompt = [{"role": "user", "content": directive(fault=fault, answer="one two three four five", chunk=4)}]
    response = post(client, {"model": "GLM-4.5", "messages": prompt, "stream": False})
    assert response.status_code == 502


def test_malformed_upstream_lines_are_skipped(client):
    prompt = [{"role": "user", "content": directive(fault="malformed", answer="still whole")}]
    body = post(client, {"model": "GLM-4.5", "messages": prompt, "stream": False}).get_json()
    assert body["choices"][0]["message"]["content"] == "still whole"


def test_unreachable_upstream_is_502():
    from config.settings import Settings
    from tests.conftest import DATA_DIR
    from tests.conftest import KEY
    from tests.conftest import free_port
    settings = Settings.from_env({}, upstream_url=f"http://127.0.0.1:{free_port()}/api/chat/completions",
                                 default_key=KEY, data_dir=DATA_DIR, zai_token="t.e.st")
    client = create_app(settings).test_client()
    response = post(client, {"model": "GLM-4.5", "messages": USER, "stream": True})
    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "upstream_unreachable"


def test_slow_first_event_is_504(fake):
    client = create_app(settings_for(fake, upstream_first_event_timeout=0.3)).test_client()
    prompt = [{"role": "user", "content": directive(first_delay_ms=2000)}]
    response = post(client, {"model": "GLM-4.5", "messages": prompt, "stream": True})
    assert response.status_code == 504
    assert response.get_json()["error"]["code"] == "upstream_timeout"


def test_stall_mid_stream_becomes_an_error_event(fake):
    client = create_app(settings_for(fake, upstream_read_timeout=0.3)).test_client()
    prompt = [{"role": "user", "content": directive(fault="stall", stall_s=2, answer="a b c d e f", chunk=2)}]
    events = sse_events(post(client, {"model": "GLM-4.5", "messages": prompt, "stream": True}))
    assert events[-1] == "[DONE]"
    assert events[-2]["error"]["code"] == "upstream_timeout"


def test_rejected_guest_token_is_replaced_and_the_request_retried(client, fake):
    assert post(client, {"model": "GLM-4.5", "messages": USER, "stream": False}).status_code == 200
    fake.revoke(fake.issued_tokens[-1])
    minted = len(fake.issued_tokens)
    response = post(client, {"model": "GLM-4.5", "messages": USER, "stream": False})
    assert response.status_code == 200
    assert len(fake.issued_tokens) == minted + 1
    chats = [r for r in fake.requests if r["path"] == "/api/chat/completions"]
    assert chats[-1]["headers"]["authorization"] == f"Bearer {fake.issued_tokens[-1]}"


def test_rejected_configured_token_is_a_502_naming_zai_token(fake):
    client = create_app(settings_for(fake, zai_token="a.b.c", anon_token_enabled=False)).test_client()
    response = post(client, {"model": "GLM-4.5", "messages": USER, "stream": False})
    assert response.status_code == 502
    error = response.get_json()["error"]
    assert error["code"] == "upstream_unauthorized"
    assert "ZAI_TOKEN" in error["message"]
    assert "a.b.c" not in error["message"]


def test_configured_user_token_is_used(fake):
    from tests.fakezai import make_user_token
    token = make_user_token("user-42")
    fake.add_user_token(token)
    client = create_app(settings_for(fake, zai_token=token)).test_client()
    assert post(client, {"model": "GLM-4.5", "messages": USER, "stream": False}).status_code == 200
    chat = fake.requests[-1]
    assert chat["query"]["user_id"] == "user-42"
    assert "/api/v1/auths/" not in [r["path"] for r in fake.requests]


def test_an_unreachable_upstream_while_minting_is_502_naming_the_network(fake):
    from config.settings import Settings
    from tests.conftest import DATA_DIR
    from tests.conftest import KEY
    from tests.conftest import free_port
    settings = Settings.from_env({}, upstream_url=f"http://127.0.0.1:{free_port()}/api/chat/completions",
                                 default_key=KEY, data_dir=DATA_DIR)
    response = post(create_app(settings).test_client(), {"model": "GLM-4.5", "messages": USER})
    assert response.status_code == 502
    error = response.get_json()["error"]
    assert error["code"] == "upstream_unreachable"
    assert "network" in error["message"] and "UPSTREAM_PROXY" in error["message"]
    assert "ZAI_TOKEN" not in error["message"]
    assert response.headers["x-should-retry"] == "false"


def test_debug_mode_logs_the_exchange_without_secrets(fake, caplog):
    import logging
    client = create_app(settings_for(fake, debug_mode=True)).test_client()
    with caplog.at_level(logging.DEBUG):
        response = post(client, {"model": "GLM-4.5", "messages": USER, "stream": True})
        response.get_data()
        response.close()
    text = caplog.text
    chat = [r for r in fake.requests if r["path"] == "/api/chat/completions"][-1]
    assert "upstream POST" in text and "-> 200" in text
    assert "chat request: model=GLM-4.5 stream=True" in text
    assert "upstream reply:" in text
    assert "POST /v1/chat/completions 200" in text and "ttft=" in text and "error=" not in text
    for secret in (chat["query"]["token"], chat["headers"]["x-signature"], "sk-test-key"):
        assert secret not in text


def test_requests_in_flight_return_to_zero(app, client):
    post(client, {"model": "GLM-4.5", "messages": USER, "stream": False})
    post(client, {"model": "nope", "messages": USER})
    post(client, {"model": "GLM-4.5"})
    client.get("/v1/nowhere")
    stream = post(client, {"model": "GLM-4.5", "messages": USER, "stream": True})
    assert app.extensions["inflight"].count == 1
    stream.get_data()
    stream.close()
    assert app.extensions["inflight"].count == 0


def test_client_gone_check_works_past_descriptor_1024():
    import os
    import resource
    import socket
    from ztoapi.pipeline.reading import client_gone_check
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2100:
        pytest.skip("cannot open descriptors past 2048 here")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 4096), hard))
    ours, theirs = socket.socketpair()
    os.dup2(ours.fileno(), 2000)
    client = socket.socket(fileno=2000)
    try:
        gone = client_gone_check({"gunicorn.socket": client})
        assert gone() is False
        theirs.sendall(b"GET / HTTP/1.1\r\n")   # a pipelined request is not a hang-up
        assert gone() is False
        theirs.close()
        client.recv(100)
        assert gone() is True
    finally:
        client.close()
        ours.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAC"
         "hwGA60e6kgAAAABJRU5ErkJggg==")


def test_in_2026_only_the_last_turn_s_images_need_a_logged_in_token(fake):
    fake.dialect = "2026"
    fake.guest_models.add("glm-4.6v")
    try:
        client = create_app(settings_for(fake)).test_client()
        earlier = [{"role": "user", "content": [{"type": "text", "text": "What is it?"},
                                                {"type": "image_url", "image_url": {"url": PIXEL}}]},
                   {"role": "assistant", "content": "A dot."},
                   {"role": "user", "content": "Thanks"}]
        response = post(client, {"model": "GLM-4.6V", "messages": earlier, "stream": False})
        assert response.status_code == 200
        assert response.get_json()["choices"][0]["message"]["content"] == "Echo: Thanks"
        assert [r for r in fake.requests if r["path"] == "/api/v1/files/"] == []
        assert "[image]" in fake.completions()[-1]["messages"][0]["content"]
        last = post(client, {"model": "GLM-4.6V", "messages": earlier[:1], "stream": False})
        assert last.status_code == 400
        assert last.get_json()["error"]["code"] == "image_needs_token"
    finally:
        fake.dialect = "2025"
