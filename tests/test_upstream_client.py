"""The chat.z.ai client against a `responses` mock: what it sends, how it fails, what it reads.

The tests drive `ZaiClient(settings).open(chat)` and `Reply.batches()` and assert on the requests
`responses` recorded. The mocked origin is `https://upstream.test`, so a hard-coded `chat.z.ai` in
the client would show up as a miss. § numbers refer to /work/shared/reference/zai-protocol.md.
"""
import io
import json
import logging
import socket
import time
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests
import responses

from config.settings import Settings
from ztoapi.chat.request import chat_request
from ztoapi.errors import ApiError
from ztoapi.zai.client import ZaiClient
from ztoapi.zai.credentials import Credential
from ztoapi.zai.dialect import FE_VERSION
from ztoapi.zai.signing import secret_bytes
from ztoapi.zai.signing import sign

ORIGIN = "https://upstream.test"
COMPLETIONS = f"{ORIGIN}/api/chat/completions"
AUTHS = f"{ORIGIN}/api/v1/auths/"
SSE_TYPE = "text/event-stream; charset=utf-8"
CAPTURE = Path(__file__).resolve().parent / "fixtures" / "zai-glm46-thinking.sse"

# ES256-shaped JWTs whose payloads are {"id": <uuid>, "email": ...} (§2.1); signatures are fake.
GUEST_TOKEN = ("eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6IjMxNmJjYjQ4LWZmMmYtNGExNS04NTNkLWYy"
               "YTI5YjY3ZmYwZiIsImVtYWlsIjoiR3Vlc3QtMTc2MDM5NjM0MTcxN0BndWVzdC5jb20ifQ.sig")
GUEST_ID = "316bcb48-ff2f-4a15-853d-f2a29b67ff0f"
SECOND_GUEST_TOKEN = ("eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6IjlkMGY2ZTJhLTViN2MtNGUxZC04YT"
                      "NmLTJjNGI2ZDhlMGYxMiIsImVtYWlsIjoiR3Vlc3QtMTc2MDM5NjM0OTk5OUBndWVzdC5jb20ifQ.sig")
SECOND_GUEST_ID = "9d0f6e2a-5b7c-4e1d-8a3f-2c4b6d8e0f12"
USER_TOKEN = ("eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6ImMwZmZlZTAwLTExMTEtNDIyMi04MzMzLTQ0ND"
              "Q1NTU1NjY2NiIsImVtYWlsIjoidXNlckBleGFtcGxlLmNvbSJ9.sig")
USER_ID = "c0ffee00-1111-4222-8333-444455556666"

BODY = {"model": "GLM-4.6", "stream": True, "temperature": 0.5, "max_tokens": 64,
        "messages": [{"role": "developer", "content": "Be brief."},
                     {"role": "user", "content": "First question"},
                     {"role": "assistant", "content": "First answer"},
                     {"role": "user", "content": "Hello, 世界"}]}
USAGE = {"prompt_tokens": 34, "completion_tokens": 12, "total_tokens": 46,
         "prompt_tokens_details": {"cached_tokens": 0}, "words": 40}


def settings(**overrides):
    return Settings.from_env({}, upstream_url=COMPLETIONS, **overrides)


def chat(body=BODY, config=None):
    return chat_request(body, config or settings())


def sse(*datas):
    """An upstream SSE body: each data object in the chat:completion envelope, blank-line framed."""
    return "".join(f"data: {json.dumps({'type': 'chat:completion', 'data': d}, ensure_ascii=False)}\n\n"
                   for d in datas).encode()


ANSWER_ONLY = sse({"delta_content": "Hi", "phase": "answer"},
                  {"done": True, "delta_content": "", "phase": "done"})

THINK_THEN_ANSWER = sse(
    {"delta_content": '<details type="reasoning" done="false" view="" last_tool_call_name="">\n'
                      "<summary>Thinking…</summary>\n> The user", "phase": "thinking"},
    {"delta_content": " says hi.\n> Reply kindly.", "phase": "thinking"},
    {"edit_index": 32, "edit_content": 'true" duration="1" view="" last_tool_call_name="">\n'
                                      "<summary>Thought for 1 seconds</summary>\n"
                                      "> The user says hi.\n> Reply kindly.\n</details>\nHello",
     "phase": "answer"},
    {"delta_content": " there", "phase": "answer"},
    {"delta_content": "!", "phase": "answer"},
    {"usage": USAGE, "phase": "other"},
    {"id": "chatcmpl-zds2t9a9el", "object": "chat.completion.chunk", "created": 1759397407,
     "model": "GLM-4-6-API-V1", "usage": USAGE, "phase": "answer",
     "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": "stop"}]},
    {"done": True, "delta_content": "", "phase": "done"},
    {"role": "assistant", "usage": USAGE, "message_id": "8719dc11-bd8f-4c79-a41a-b71867da334b",
     "done": True, "edit_index": 183, "edit_content": "", "phase": "other"},
    {"delta_content": " AFTER-DONE", "phase": "answer"},
)


class FailingBody(io.RawIOBase):
    """A socket-like body: gives `first`, then raises `error` (as a dropped or stalled socket does)."""

    def __init__(self, first, error):
        self.first = first
        self.error = error

    def readable(self):
        return True

    def readinto(self, buffer):
        if not self.first:
            raise self.error
        size = len(self.first)
        buffer[:size], self.first = self.first, b""
        return size


def collect(reply):
    """All (kind, text) pieces of a reply, in order."""
    return [piece for batch in reply.batches() for piece in batch]


def joined(pieces, kind):
    return "".join(text for k, text in pieces if k == kind)


def sent_query(call):
    return {name: values[0] for name, values in parse_qs(urlsplit(call.request.url).query).items()}


@pytest.fixture
def upstream():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def add_guest(upstream, token=GUEST_TOKEN):
    upstream.get(AUTHS, json={"id": GUEST_ID, "email": "Guest-1760396341717@guest.com",
                              "name": "Guest-1760396341717", "role": "guest", "token": token})


def add_completion(upstream, body=ANSWER_ONLY, status=200, **kwargs):
    upstream.post(COMPLETIONS, body=body, status=status, content_type=SSE_TYPE, **kwargs)


# ---------------------------------------------------------------- guest token (§2.1)

def test_guest_token_is_minted_with_a_plain_browser_get(upstream):
    add_guest(upstream)
    add_completion(upstream)
    ZaiClient(settings()).open(chat())
    mint = upstream.calls[0]
    assert mint.request.method == "GET"
    assert mint.request.url == AUTHS
    assert mint.request.headers["X-FE-Version"] == FE_VERSION
    assert mint.request.headers["Origin"] == ORIGIN
    assert mint.request.headers["Referer"] == f"{ORIGIN}/"
    assert "Chrome/" in mint.request.headers["User-Agent"]
    assert "Authorization" not in mint.request.headers
    assert mint.request.body is None


def test_guest_token_call_has_an_explicit_timeout(upstream):
    add_guest(upstream)
    add_completion(upstream)
    ZaiClient(settings(upstream_connect_timeout=3.0, upstream_read_timeout=45.0)).open(chat())
    assert upstream.calls[0].request.req_kwargs["timeout"] == (3.0, 15)


def test_guest_token_is_minted_once_and_reused(upstream):
    add_guest(upstream)
    add_completion(upstream)
    client = ZaiClient(settings())
    client.open(chat())
    client.open(chat())
    assert [call.request.method for call in upstream.calls] == ["GET", "POST", "POST"]
    assert upstream.calls[1].request.headers["Authorization"] == f"Bearer {GUEST_TOKEN}"
    assert upstream.calls[2].request.headers["Authorization"] == f"Bearer {GUEST_TOKEN}"


def test_configured_token_means_no_auths_call(upstream):
    add_completion(upstream)
    ZaiClient(settings(zai_token=USER_TOKEN)).open(chat())
    assert len(upstream.calls) == 1
    assert upstream.calls[0].request.headers["Authorization"] == f"Bearer {USER_TOKEN}"
    assert sent_query(upstream.calls[0])["user_id"] == USER_ID


# ---------------------------------------------------------------- completion request (§3, §4.1)

def test_completion_url_and_query(upstream):
    add_guest(upstream)
    add_completion(upstream)
    ZaiClient(settings()).open(chat())
    post = upstream.calls[1].request
    body = json.loads(post.body)
    query = sent_query(upstream.calls[1])
    assert post.method == "POST"
    assert post.url.split("?")[0] == COMPLETIONS
    assert query["timestamp"] == query["signature_timestamp"]
    assert abs(int(query["timestamp"]) - time.time() * 1000) < 60_000
    assert len(query["requestId"]) == 36
    assert query["user_id"] == GUEST_ID
    assert query["token"] == GUEST_TOKEN
    assert query["current_url"] == f"{ORIGIN}/c/{body['chat_id']}"
    assert query["pathname"] == f"/c/{body['chat_id']}"


def test_completion_request_ids_are_fresh_per_call(upstream):
    add_guest(upstream)
    add_completion(upstream)
    client = ZaiClient(settings())
    client.open(chat())
    client.open(chat())
    first = json.loads(upstream.calls[1].request.body)
    second = json.loads(upstream.calls[2].request.body)
    assert sent_query(upstream.calls[1])["requestId"] != sent_query(upstream.calls[2])["requestId"]
    assert first["chat_id"] != second["chat_id"]
    assert first["id"] != second["id"]


def test_completion_headers(upstream):
    add_guest(upstream)
    add_completion(upstream)
    ZaiClient(settings()).open(chat())
    post = upstream.calls[1].request
    chat_id = json.loads(post.body)["chat_id"]
    assert post.headers["Authorization"] == f"Bearer {GUEST_TOKEN}"
    assert post.headers["X-FE-Version"] == FE_VERSION
    assert post.headers["Origin"] == ORIGIN
    assert post.headers["Referer"] == f"{ORIGIN}/c/{chat_id}"
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["Accept"] == "application/json, text/event-stream"
    assert "Chrome/" in post.headers["User-Agent"]
    assert "Cookie" not in post.headers


def test_fe_version_setting_is_sent_on_both_calls(upstream):
    add_guest(upstream)
    add_completion(upstream)
    ZaiClient(settings(zai_fe_version="prod-fe-1.0.999")).open(chat())
    assert upstream.calls[0].request.headers["X-FE-Version"] == "prod-fe-1.0.999"
    assert upstream.calls[1].request.headers["X-FE-Version"] == "prod-fe-1.0.999"


def test_signature_matches_what_was_sent(upstream):
    add_guest(upstream)
    add_completion(upstream)
    ZaiClient(settings()).open(chat())
    post = upstream.calls[1].request
    query = sent_query(upstream.calls[1])
    prompt = json.loads(post.body)["signature_prompt"]
    expected = sign(prompt, query["requestId"], int(query["timestamp"]), query["user_id"])
    assert prompt == "Hello, 世界"
    assert post.headers["X-Signature"] == expected


def test_signature_uses_the_configured_secret(upstream):
    add_guest(upstream)
    add_completion(upstream)
    ZaiClient(settings(zai_signing_secret="junjie")).open(chat())
    post = upstream.calls[1].request
    query = sent_query(upstream.calls[1])
    expected = sign("Hello, 世界", query["requestId"], int(query["timestamp"]), GUEST_ID,
                    secret_bytes("junjie"))
    assert post.headers["X-Signature"] == expected


def test_completion_body_fields(upstream):
    add_guest(upstream)
    add_completion(upstream)
    ZaiClient(settings()).open(chat())
    post = upstream.calls[1].request
    body = json.loads(post.body)
    assert body["stream"] is True
    assert body["model"] == "GLM-4-6-API-V1"
    assert body["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "First question"},
                                {"role": "assistant", "content": "First answer"},
                                {"role": "user", "content": "Hello, 世界"}]
    assert body["signature_prompt"] == "Hello, 世界"
    assert body["params"] == {"temperature": 0.5, "max_tokens": 64}
    assert body["features"]["enable_thinking"] is True
    assert body["model_item"] == {"id": "GLM-4-6-API-V1", "name": "GLM-4.6", "owned_by": "openai"}
    assert len(body["chat_id"]) == 36
    assert len(body["id"]) == 36
    assert body["id"] != body["chat_id"]


def test_body_streams_and_thinking_follows_the_request(upstream):
    add_guest(upstream)
    add_completion(upstream)
    body = {"model": "GLM-4.5", "stream": False, "enable_thinking": False,
            "messages": [{"role": "user", "content": "hi"}]}
    ZaiClient(settings()).open(chat(body))
    sent = json.loads(upstream.calls[1].request.body)
    assert sent["stream"] is True
    assert sent["model"] == "0727-360B-API"
    assert sent["features"]["enable_thinking"] is False
    assert sent["params"] == {}


def test_signature_prompt_of_a_vision_message_joins_its_text_parts(upstream):
    add_guest(upstream)
    add_completion(upstream)
    body = {"model": "GLM-4.5V", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is"},
        {"type": "image_url", "image_url": {"url": "https://img.test/cat.png"}},
        {"type": "text", "text": "in this picture?"}]}]}
    ZaiClient(settings()).open(chat(body))
    post = upstream.calls[1].request
    query = sent_query(upstream.calls[1])
    assert json.loads(post.body)["signature_prompt"] == "What is\nin this picture?"
    assert post.headers["X-Signature"] == sign("What is\nin this picture?", query["requestId"],
                                               int(query["timestamp"]), GUEST_ID)


def test_completion_is_streamed_with_connect_and_read_timeouts(upstream):
    add_guest(upstream)
    add_completion(upstream)
    ZaiClient(settings(upstream_connect_timeout=3.0, upstream_read_timeout=45.0)).open(chat())
    assert upstream.calls[1].request.req_kwargs["stream"] is True
    assert upstream.calls[1].request.req_kwargs["timeout"] == (3.0, 45.0)


# ---------------------------------------------------------------- 401 and credentials

def test_401_with_a_guest_mints_a_new_guest_and_retries_once(upstream):
    upstream.get(AUTHS, json={"token": GUEST_TOKEN})
    upstream.get(AUTHS, json={"token": SECOND_GUEST_TOKEN})
    upstream.post(COMPLETIONS, status=401,
                  json={"detail": "Your session has expired or the token is invalid."})
    add_completion(upstream)
    reply = ZaiClient(settings()).open(chat())
    assert [call.request.method for call in upstream.calls] == ["GET", "POST", "GET", "POST"]
    assert upstream.calls[1].request.headers["Authorization"] == f"Bearer {GUEST_TOKEN}"
    assert upstream.calls[3].request.headers["Authorization"] == f"Bearer {SECOND_GUEST_TOKEN}"
    assert sent_query(upstream.calls[3])["user_id"] == SECOND_GUEST_ID
    assert collect(reply) == [("answer", "Hi")]


def test_the_new_guest_is_kept_after_a_401_retry(upstream):
    upstream.get(AUTHS, json={"token": GUEST_TOKEN})
    upstream.get(AUTHS, json={"token": SECOND_GUEST_TOKEN})
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"})
    add_completion(upstream)
    client = ZaiClient(settings())
    client.open(chat())
    client.open(chat())
    assert [call.request.method for call in upstream.calls] == ["GET", "POST", "GET", "POST", "POST"]
    assert upstream.calls[4].request.headers["Authorization"] == f"Bearer {SECOND_GUEST_TOKEN}"


def test_401_twice_with_guests_stops_after_one_retry(upstream):
    upstream.get(AUTHS, json={"token": GUEST_TOKEN})
    upstream.get(AUTHS, json={"token": SECOND_GUEST_TOKEN})
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"})
    with pytest.raises(ApiError) as caught:
        ZaiClient(settings()).open(chat())
    assert [call.request.method for call in upstream.calls] == ["GET", "POST", "GET", "POST"]
    assert caught.value.status == 502
    assert caught.value.code == "upstream_unauthorized"


def test_401_with_a_configured_token_is_not_retried(upstream):
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"})
    with pytest.raises(ApiError) as caught:
        ZaiClient(settings(zai_token=USER_TOKEN)).open(chat())
    assert len(upstream.calls) == 1
    assert caught.value.status == 502
    assert caught.value.code == "upstream_unauthorized"
    assert "ZAI_TOKEN" in caught.value.message


def test_a_500_does_not_throw_the_guest_away(upstream):
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    add_completion(upstream)
    client = ZaiClient(settings())
    with pytest.raises(ApiError):
        client.open(chat())
    client.open(chat())
    assert [call.request.method for call in upstream.calls] == ["GET", "POST", "POST"]


# ---------------------------------------------------------------- status mapping (§5.7)

def test_500_is_a_502_upstream_error(upstream):
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    with pytest.raises(ApiError) as caught:
        ZaiClient(settings()).open(chat())
    assert caught.value.status == 502
    assert caught.value.code == "upstream_error"
    assert "HTTP 500" in caught.value.message


def test_426_is_upstream_version_rejected(upstream):
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=426, json={"detail": "Your client version check is failed"})
    with pytest.raises(ApiError) as caught:
        ZaiClient(settings()).open(chat())
    assert caught.value.status == 502
    assert caught.value.code == "upstream_version_rejected"
    assert "ZAI_FE_VERSION" in caught.value.message


def test_400_signature_failure_is_upstream_signature_rejected(upstream):
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=400,
                  body='{"detail":"403: Signature validation failed: 签名验证失败"}'.encode(),
                  content_type="application/json")
    with pytest.raises(ApiError) as caught:
        ZaiClient(settings()).open(chat())
    assert caught.value.status == 502
    assert caught.value.code == "upstream_signature_rejected"
    assert "ZAI_SIGNING_SECRET" in caught.value.message
    assert "Signature validation failed" in caught.value.message


def test_405_html_is_upstream_blocked(upstream):
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=405, content_type="text/html",
                  body="<!doctype html><html><head><title>405</title></head>"
                       "<body><img src='https://errors.aliyun.com/images/405.png'></body></html>")
    with pytest.raises(ApiError) as caught:
        ZaiClient(settings()).open(chat())
    assert caught.value.status == 502
    assert caught.value.code == "upstream_blocked"
    assert "<html" not in caught.value.message


def test_429_passes_retry_after_on(upstream):
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=429, json={"detail": "Too many requests"},
                  headers={"Retry-After": "7"})
    with pytest.raises(ApiError) as caught:
        ZaiClient(settings()).open(chat())
    assert caught.value.status == 429
    assert caught.value.code == "upstream_rate_limited"
    assert caught.value.headers == {"Retry-After": "7"}


def test_429_without_retry_after_still_sends_one(upstream):
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=429, json={"detail": "Too many requests"})
    with pytest.raises(ApiError) as caught:
        ZaiClient(settings()).open(chat())
    assert caught.value.status == 429
    assert caught.value.headers == {"Retry-After": "1"}


def test_connection_error_is_upstream_unreachable(upstream):
    add_guest(upstream)
    upstream.post(COMPLETIONS, body=requests.ConnectionError("Connection refused"))
    with pytest.raises(ApiError) as caught:
        ZaiClient(settings()).open(chat())
    assert len(upstream.calls) == 2
    assert caught.value.status == 502
    assert caught.value.code == "upstream_unreachable"


@pytest.mark.parametrize("timeout", [requests.ConnectTimeout("connect timed out"),
                                     requests.ReadTimeout("read timed out")])
def test_timeouts_are_upstream_timeout(upstream, timeout):
    add_guest(upstream)
    upstream.post(COMPLETIONS, body=timeout)
    with pytest.raises(ApiError) as caught:
        ZaiClient(settings()).open(chat())
    assert caught.value.status == 504
    assert caught.value.code == "upstream_timeout"


def test_connection_error_message_leaks_no_token(upstream):
    upstream.post(COMPLETIONS, body=requests.ConnectionError(
        f"HTTPSConnectionPool(host='upstream.test', port=443): Max retries exceeded with url: "
        f"/api/chat/completions?token={USER_TOKEN}"))
    with pytest.raises(ApiError) as caught:
        ZaiClient(settings(zai_token=USER_TOKEN)).open(chat())
    assert USER_TOKEN not in caught.value.message
    assert USER_TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ is True


def test_guest_mint_500_is_credential_unavailable(upstream):
    upstream.get(AUTHS, status=500, body="Internal Server Error")
    with pytest.raises(ApiError) as caught:
        ZaiClient(settings()).open(chat())
    assert len(upstream.calls) == 1
    assert caught.value.status == 503
    assert caught.value.code == "upstream_credential_unavailable"
    assert "ZAI_TOKEN" in caught.value.message


def test_guest_mint_without_a_token_is_credential_unavailable(upstream):
    upstream.get(AUTHS, json={"id": GUEST_ID, "role": "guest"})
    with pytest.raises(ApiError) as caught:
        ZaiClient(settings()).open(chat())
    assert len(upstream.calls) == 1
    assert caught.value.status == 503
    assert caught.value.code == "upstream_credential_unavailable"
    assert "ZAI_TOKEN" in caught.value.message


def test_guest_mint_with_a_non_json_200_is_credential_unavailable(upstream):
    upstream.get(AUTHS, body="<html>captcha</html>", content_type="text/html")
    with pytest.raises(ApiError) as caught:
        ZaiClient(settings()).open(chat())
    assert caught.value.status == 503
    assert caught.value.code == "upstream_credential_unavailable"


def test_guest_mint_with_a_non_string_token_is_credential_unavailable(upstream):
    upstream.get(AUTHS, json={"id": GUEST_ID, "token": 12345})
    with pytest.raises(ApiError) as caught:
        ZaiClient(settings()).open(chat())
    assert caught.value.status == 503
    assert caught.value.code == "upstream_credential_unavailable"


def test_guest_mint_connection_error_is_credential_unavailable(upstream):
    upstream.get(AUTHS, body=requests.ConnectionError("Connection refused"))
    with pytest.raises(ApiError) as caught:
        ZaiClient(settings()).open(chat())
    assert len(upstream.calls) == 1
    assert caught.value.status == 503
    assert caught.value.code == "upstream_credential_unavailable"
    assert "ZAI_TOKEN" in caught.value.message


def test_a_failed_mint_is_tried_again_on_the_next_open(upstream):
    upstream.get(AUTHS, status=500, body="Internal Server Error")
    upstream.get(AUTHS, json={"token": GUEST_TOKEN})
    add_completion(upstream)
    client = ZaiClient(settings())
    with pytest.raises(ApiError):
        client.open(chat())
    client.open(chat())
    assert [call.request.method for call in upstream.calls] == ["GET", "GET", "POST"]


# ---------------------------------------------------------------- reading the reply (§5)

def test_thinking_edit_and_answer_become_reasoning_and_answer_pieces(upstream):
    add_guest(upstream)
    add_completion(upstream, THINK_THEN_ANSWER)
    pieces = collect(ZaiClient(settings()).open(chat()))
    assert joined(pieces, "reasoning") == "The user says hi.\nReply kindly."
    assert joined(pieces, "answer") == "Hello there!"
    kinds = [kind for kind, _ in pieces]
    assert kinds == sorted(kinds, key=["reasoning", "answer"].index)


def test_reply_keeps_usage_and_stops_at_the_done_event(upstream):
    add_guest(upstream)
    add_completion(upstream, THINK_THEN_ANSWER)
    reply = ZaiClient(settings()).open(chat())
    pieces = collect(reply)
    assert reply.usage == USAGE
    assert reply.done is True
    assert "AFTER-DONE" not in joined(pieces, "answer")


def test_keep_markup_returns_the_details_header_and_close(upstream):
    add_guest(upstream)
    add_completion(upstream, THINK_THEN_ANSWER)
    pieces = collect(ZaiClient(settings()).open(chat(), keep_markup=True))
    assert joined(pieces, "open_markup").startswith('<details type="reasoning"')
    assert joined(pieces, "close_markup") == "\n</details>\n"
    assert joined(pieces, "answer") == "Hello there!"


def test_the_real_capture_replays_to_its_answer(upstream):
    add_guest(upstream)
    add_completion(upstream, CAPTURE.read_bytes())
    reply = ZaiClient(settings()).open(chat())
    pieces = collect(reply)
    assert joined(pieces, "answer") == ("Hey there! I'm doing great, thanks for asking. "
                                        "As an AI, I'm always ready and eager to help.\n\n"
                                        "What can I do for you today?")
    assert joined(pieces, "reasoning").startswith("1.  **Analyze the User's Input:**\n")
    assert "\n> " not in joined(pieces, "reasoning")
    assert reply.usage["completion_tokens"] == 1565


def test_in_band_426_raises_from_the_first_batch(upstream):
    add_guest(upstream)
    error = {"detail": "Your client version (unknown) is outdated. Minimum required: 1.0.0. "
                       "Please refresh the page", "code": 426}
    add_completion(upstream, sse({"data": {"error": error, "done": True}, "error": error, "done": True}))
    batches = ZaiClient(settings()).open(chat()).batches()
    with pytest.raises(ApiError) as caught:
        next(batches)
    assert caught.value.status == 502
    assert caught.value.code == "upstream_version_rejected"


def test_in_band_error_without_an_envelope_is_raised(upstream):
    add_guest(upstream)
    add_completion(upstream, b'data: {"error": {"detail": "Your client version check is failed", '
                             b'"code": 426}}\n\n')
    batches = ZaiClient(settings()).open(chat()).batches()
    with pytest.raises(ApiError) as caught:
        next(batches)
    assert caught.value.code == "upstream_version_rejected"


def test_in_band_error_only_in_the_inner_data_is_still_raised(upstream):
    add_guest(upstream)
    error = {"detail": "您的客户端校验失败", "code": 426}
    add_completion(upstream, sse({"data": {"error": error, "done": True}, "done": True}))
    batches = ZaiClient(settings()).open(chat()).batches()
    with pytest.raises(ApiError) as caught:
        next(batches)
    assert caught.value.code == "upstream_version_rejected"


def test_a_body_without_done_is_a_cut_stream(upstream):
    add_guest(upstream)
    add_completion(upstream, sse({"delta_content": "Half an ans", "phase": "answer"}))
    batches = ZaiClient(settings()).open(chat()).batches()
    assert next(batches) == [("answer", "Half an ans")]
    with pytest.raises(ApiError) as caught:
        next(batches)
    assert caught.value.status == 502
    assert caught.value.code == "upstream_stream_cut"


def test_a_read_timeout_mid_stream_is_upstream_timeout(upstream):
    add_guest(upstream)
    add_completion(upstream, io.BufferedReader(FailingBody(b'data: {"data": {"delta_content": "x"}}\n\n',
                                                           socket.timeout("timed out"))))
    batches = ZaiClient(settings()).open(chat()).batches()
    with pytest.raises(ApiError) as caught:
        next(batches)
    assert caught.value.status == 504
    assert caught.value.code == "upstream_timeout"


def test_a_connection_reset_mid_stream_is_a_cut_stream(upstream):
    add_guest(upstream)
    add_completion(upstream, io.BufferedReader(FailingBody(b'data: {"data": {"delta_content": "x"}}\n\n',
                                                           ConnectionResetError(104, "reset"))))
    batches = ZaiClient(settings()).open(chat()).batches()
    with pytest.raises(ApiError) as caught:
        next(batches)
    assert caught.value.status == 502
    assert caught.value.code == "upstream_stream_cut"


def test_an_empty_body_is_a_cut_stream(upstream):
    add_guest(upstream)
    add_completion(upstream, b"")
    batches = ZaiClient(settings()).open(chat()).batches()
    with pytest.raises(ApiError) as caught:
        next(batches)
    assert caught.value.code == "upstream_stream_cut"


def test_noise_lines_are_skipped(upstream):
    add_guest(upstream)
    add_completion(upstream, (
        b": keep-alive comment\n\n"
        b"data: \n\n"
        b"data: [DONE]\n\n"
        b"data: not json at all\n\n"
        b"data: 42\n\n"
        b'data: ["a list"]\n\n'
        b"event: message\n"
        b'id: 7\n\n'
        b'data: {"type": "chat:completion", "data": {"phase": "search"}}\n\n'
        b'data: {"type": "chat:completion", "data": {"phase": "mystery-phase", "delta_content": ""}}\n\n'
        b'data: {"type": "chat:completion", "data": {"delta_content": "Hel", "phase": "answer"}}\r\n\r\n'
        b'data:{"type": "chat:completion", "data": {"delta_content": "lo", "phase": "answer"}}\n\n'
        b'data: {"type": "chat:completion", "data": {"done": true, "phase": "done"}}\n\n'))
    reply = ZaiClient(settings()).open(chat())
    assert collect(reply) == [("answer", "Hel"), ("answer", "lo")]
    assert reply.done is True


# ---------------------------------------------------------------- session hygiene and secrets

def test_set_cookie_is_not_stored_on_the_session(upstream):
    upstream.get(AUTHS, json={"token": GUEST_TOKEN}, headers={"Set-Cookie": "acw_tc=guest1; Path=/"})
    add_completion(upstream, headers={"Set-Cookie": "token=server-set; Path=/"})
    client = ZaiClient(settings())
    client.open(chat())
    assert len(client.session.cookies) == 0


def test_session_ignores_proxy_environment():
    client = ZaiClient(settings())
    assert client.session.trust_env is False
    assert client.session.proxies == {}


def test_configured_proxy_is_used_for_both_schemes():
    client = ZaiClient(settings(upstream_proxy="http://proxy.test:3128"))
    assert client.session.proxies == {"http": "http://proxy.test:3128",
                                      "https": "http://proxy.test:3128"}


def test_credential_repr_hides_the_token():
    credential = Credential(USER_TOKEN, USER_ID, False)
    assert USER_TOKEN not in repr(credential)
    assert USER_TOKEN not in str(credential)
    assert USER_ID in repr(credential)


def test_minted_guest_repr_hides_the_token(upstream):
    add_guest(upstream)
    client = ZaiClient(settings())
    credential = client.credentials.get()
    assert credential.token == GUEST_TOKEN
    assert credential.user_id == GUEST_ID
    assert credential.guest is True
    assert GUEST_TOKEN not in repr(credential)


def test_debug_logs_carry_no_token_or_signature(upstream, caplog):
    add_guest(upstream)
    add_completion(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    caplog.set_level(logging.DEBUG, logger="ztoapi.upstream")
    client = ZaiClient(settings())
    client.open(chat())
    with pytest.raises(ApiError):
        client.open(chat())
    signature = upstream.calls[1].request.headers["X-Signature"]
    assert caplog.records
    assert GUEST_TOKEN not in caplog.text
    assert signature not in caplog.text
