"""The chat.z.ai client against a `responses` mock: what it sends, how it retries, what it reads.

The tests drive `ZaiClient(settings, sleep=...).open(chat)`, read the reply with `reply.next(5)`
until None, and assert on the requests `responses` recorded. The mocked origin is
`https://upstream.test`, so a hard-coded `chat.z.ai` in the client would show up as a miss.
Every client reads the front-end version from `GET {origin}/` first, unless ZAI_FE_VERSION is set.
§ numbers refer to /work/shared/reference/zai-protocol.md.
"""
import base64
import io
import json
import logging
import socket
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests
import responses
from responses import matchers

from config.settings import Settings
from ztoapi.catalog import Catalog
from ztoapi.zai.models import MODELS_2025
from ztoapi.chat.request import chat_request
from ztoapi.errors import ApiError
from ztoapi.zai import client as client_module
from ztoapi.zai.client import ZaiClient
from ztoapi.zai.credentials import Credential
from ztoapi.upstream.reply import QUIET
from ztoapi.zai.signing import secret_bytes
from ztoapi.zai.signing import sign
from ztoapi.zai.version import FALLBACK

ORIGIN = "https://upstream.test"
HOME = f"{ORIGIN}/"
COMPLETIONS = f"{ORIGIN}/api/chat/completions"
AUTHS = f"{ORIGIN}/api/v1/auths/"
SSE_TYPE = "text/event-stream; charset=utf-8"
CAPTURE = Path(__file__).resolve().parent / "fixtures" / "zai-glm46-thinking.sse"
DETECTED = "prod-fe-1.0.120"   # the newest version add_home's page names

# the calls as calls() lists them
GET_HOME = "GET /"
MINT = "GET /api/v1/auths/"
POST = "POST /api/chat/completions"

# ES256-shaped JWTs whose payloads are {"id": <uuid>, "email": ...} (§2.1); signatures are fake.
GUEST_TOKEN = ("eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6IjMxNmJjYjQ4LWZmMmYtNGExNS04NTNkLWYy"
               "YTI5YjY3ZmYwZiIsImVtYWlsIjoiR3Vlc3QtMTc2MDM5NjM0MTcxN0BndWVzdC5jb20ifQ.sig")
GUEST_ID = "316bcb48-ff2f-4a15-853d-f2a29b67ff0f"
SECOND_GUEST_TOKEN = ("eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6IjlkMGY2ZTJhLTViN2MtNGUxZC04YT"
                      "NmLTJjNGI2ZDhlMGYxMiIsImVtYWlsIjoiR3Vlc3QtMTc2MDM5NjM0OTk5OUBndWVzdC5jb20ifQ.sig")
SECOND_GUEST_ID = "9d0f6e2a-5b7c-4e1d-8a3f-2c4b6d8e0f12"
THIRD_GUEST_TOKEN = ("eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6ImFhYWFhYWFhLWJiYmItNGNjYy04ZGRkL"
                     "WVlZWVlZWVlZWVlZSJ9.sig")
USER_TOKEN = ("eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6ImMwZmZlZTAwLTExMTEtNDIyMi04MzMzLTQ0ND"
              "Q1NTU1NjY2NiIsImVtYWlsIjoidXNlckBleGFtcGxlLmNvbSJ9.sig")
USER_ID = "c0ffee00-1111-4222-8333-444455556666"


def jwt(user_id, signature):
    """A JWT-looking token whose payload is {"id": user_id}; the signature is fake."""
    payload = base64.urlsafe_b64encode(json.dumps({"id": user_id}).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.{payload}.{signature}"


# two logged-in tokens for ZAI_TOKEN="T1,T2"; their last six characters tell them apart in messages
T1_ID = "11111111-aaaa-4aaa-8aaa-111111111111"
T2_ID = "22222222-bbbb-4bbb-8bbb-222222222222"
T1 = jwt(T1_ID, "MEUCIQDfirstSignatureone111")
T2 = jwt(T2_ID, "MEUCIQDsecondSignaturetwo222")
CLIENT_TOKEN = jwt("33333333-cccc-4ccc-8ccc-333333333333", "MEUCIQDclientSignaturecli333")

BODY = {"model": "GLM-4.6", "stream": True, "temperature": 0.5, "max_tokens": 64,
        "messages": [{"role": "developer", "content": "Be brief."},
                     {"role": "user", "content": "First question"},
                     {"role": "assistant", "content": "First answer"},
                     {"role": "user", "content": "Hello, 世界"}]}
USAGE = {"prompt_tokens": 34, "completion_tokens": 12, "total_tokens": 46,
         "prompt_tokens_details": {"cached_tokens": 0}, "words": 40}


def settings(**overrides):
    """The 2025 dialect (these tests are about it), so no GET /api/config either."""
    return Settings.from_env({}, upstream_url=COMPLETIONS, **{"zai_dialect": "2025", **overrides})


def make_client(**overrides):
    """A client whose retries do not sleep."""
    return ZaiClient(settings(**overrides), sleep=lambda seconds: None)


def chat(body=BODY, config=None, client_token=None):
    model = Catalog(lambda: (MODELS_2025, {})).get_or_404(body["model"])
    return chat_request(body, config or settings(), model, client_token=client_token)


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

BUSY = sse({"error": {"detail": "concurrency limit", "code": 429}})


class FailingBody(io.BufferedReader):
    """A socket-like body: one read gives `first`, the next raises `error` (a dropped or stalled
    socket). `responses` passes a BufferedReader through untouched."""

    def __init__(self, first, error):
        super().__init__(io.BytesIO(b""))
        self.first = first
        self.error = error

    def read(self, size=-1):
        if self.first:
            first, self.first = self.first, b""
            return first
        raise self.error


class StalledBody(io.BufferedReader):
    """A body that gives `first` (if any), then blocks until `release` is set, then ends."""

    def __init__(self, first=b""):
        super().__init__(io.BytesIO(b""))
        self.first = first
        self.release = threading.Event()

    def read(self, size=-1):
        if self.first:
            first, self.first = self.first, b""
            return first
        self.release.wait(10)
        self.close()   # ends urllib3's read loop
        return b""


def read_all(reply):
    """Every (kind, text) piece of an opened reply, in order."""
    pieces = []
    while True:
        batch = reply.next(5)
        assert batch is not QUIET, "the reply went quiet for 5 s"
        if batch is None:
            return pieces
        pieces += batch


def joined(pieces, kind):
    return "".join(text for k, text in pieces if k == kind)


def sent_query(call):
    return {name: values[0] for name, values in parse_qs(urlsplit(call.request.url).query).items()}


def calls(upstream):
    """The recorded calls as "METHOD /path"."""
    return [f"{call.request.method} {urlsplit(call.request.url).path}" for call in upstream.calls]


def posts(upstream):
    return [call for call in upstream.calls if call.request.method == "POST"]


def bearers(upstream):
    """The token each completion call carried."""
    return [call.request.headers["Authorization"].removeprefix("Bearer ") for call in posts(upstream)]


def raised(client, chat_request_):
    """The ApiError that `client.start` raised."""
    with pytest.raises(ApiError) as caught:
        client.open(chat_request_)
    return caught.value


@pytest.fixture
def upstream():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def add_home(upstream, version=DETECTED, **kwargs):
    """The chat.z.ai home page; the version to detect sits between two older ones."""
    upstream.get(HOME, content_type="text/html", **kwargs,
                 body='<!doctype html><html><head><link rel="modulepreload" '
                      'href="/_app/immutable/entry/start.prod-fe-1.0.50.js">'
                      f'<meta name="version" content="{version}">'
                      '<script>window.__old = "prod-fe-1.0.50"</script></head></html>')


def add_guest(upstream, token=GUEST_TOKEN):
    upstream.get(AUTHS, json={"id": GUEST_ID, "email": "Guest-1760396341717@guest.com",
                              "name": "Guest-1760396341717", "role": "guest", "token": token})


def add_completion(upstream, body=ANSWER_ONLY, status=200, **kwargs):
    upstream.post(COMPLETIONS, body=body, status=status, content_type=SSE_TYPE, **kwargs)


def for_token(token):
    """A matcher for completion calls made with `token`."""
    return [matchers.header_matcher({"Authorization": f"Bearer {token}"})]


class Clock:
    """A settable monotonic clock for the credential pool."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


# ---------------------------------------------------------------- front-end version (§3)

def test_front_end_version_is_detected_from_the_home_page(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    make_client(upstream_connect_timeout=3.0, upstream_read_timeout=45.0).open(chat())
    home = upstream.calls[0].request
    assert calls(upstream) == [GET_HOME, MINT, POST]
    assert home.url == HOME
    assert "Chrome/" in home.headers["User-Agent"]
    assert "Authorization" not in home.headers
    assert home.req_kwargs["timeout"] == (3.0, 15)
    assert posts(upstream)[0].request.headers["X-FE-Version"] == DETECTED, \
        "the newest prod-fe-x.y.z on the page (compared as numbers, not the first or last found)"


def test_front_end_version_is_detected_once_and_cached(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    client = make_client()
    client.open(chat())
    client.open(chat())
    assert calls(upstream) == [GET_HOME, MINT, POST, POST]
    assert [call.request.headers["X-FE-Version"] for call in posts(upstream)] == [DETECTED, DETECTED]


def test_fe_version_setting_means_no_home_page_call(upstream):
    add_guest(upstream)
    add_completion(upstream)
    make_client(zai_fe_version="prod-fe-1.0.999").open(chat())
    assert calls(upstream) == [MINT, POST]
    assert upstream.calls[0].request.headers["X-FE-Version"] == "prod-fe-1.0.999"
    assert upstream.calls[1].request.headers["X-FE-Version"] == "prod-fe-1.0.999"


@pytest.mark.parametrize("home", [
    {"status": 500, "body": "Internal Server Error"},
    {"status": 200, "body": "<html>no version here</html>"},
    {"body": requests.ConnectionError("Connection refused")},
])
def test_an_undetectable_version_falls_back_to_the_built_in_one(upstream, home):
    upstream.get(HOME, **home)
    add_completion(upstream)
    make_client(zai_token=USER_TOKEN).open(chat())
    assert calls(upstream) == [GET_HOME, POST]
    assert posts(upstream)[0].request.headers["X-FE-Version"] == FALLBACK


# ---------------------------------------------------------------- guest token (§2.1)

def test_guest_token_is_minted_with_a_plain_browser_get(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    make_client().open(chat())
    mint = upstream.calls[1]
    assert mint.request.method == "GET"
    assert mint.request.url == AUTHS
    assert mint.request.headers["X-FE-Version"] == DETECTED
    assert mint.request.headers["Origin"] == ORIGIN
    assert mint.request.headers["Referer"] == f"{ORIGIN}/"
    assert "Chrome/" in mint.request.headers["User-Agent"]
    assert "Authorization" not in mint.request.headers
    assert mint.request.body is None


def test_guest_token_call_has_an_explicit_timeout(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    make_client(upstream_connect_timeout=3.0, upstream_read_timeout=45.0).open(chat())
    assert upstream.calls[1].request.req_kwargs["timeout"] == (3.0, 15)


def test_guest_token_is_minted_once_and_reused(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    client = make_client()
    client.open(chat())
    client.open(chat())
    assert calls(upstream) == [GET_HOME, MINT, POST, POST]
    assert bearers(upstream) == [GUEST_TOKEN, GUEST_TOKEN]


def test_configured_token_means_no_auths_call(upstream):
    add_home(upstream)
    add_completion(upstream)
    make_client(zai_token=USER_TOKEN).open(chat())
    assert calls(upstream) == [GET_HOME, POST]
    assert bearers(upstream) == [USER_TOKEN]
    assert sent_query(upstream.calls[1])["user_id"] == USER_ID


# ---------------------------------------------------------------- completion request (§3, §4.1)

def test_completion_url_and_query(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    make_client().open(chat())
    post = posts(upstream)[0]
    body = json.loads(post.request.body)
    query = sent_query(post)
    assert post.request.url.split("?")[0] == COMPLETIONS
    assert query["timestamp"] == query["signature_timestamp"]
    assert abs(int(query["timestamp"]) - time.time() * 1000) < 60_000
    assert len(query["requestId"]) == 36
    assert query["user_id"] == GUEST_ID
    assert query["token"] == GUEST_TOKEN
    assert query["current_url"] == f"{ORIGIN}/c/{body['chat_id']}"
    assert query["pathname"] == f"/c/{body['chat_id']}"


def test_completion_request_ids_are_fresh_per_call(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    client = make_client()
    client.open(chat())
    client.open(chat())
    first, second = posts(upstream)
    assert sent_query(first)["requestId"] != sent_query(second)["requestId"]
    assert json.loads(first.request.body)["chat_id"] != json.loads(second.request.body)["chat_id"]
    assert json.loads(first.request.body)["id"] != json.loads(second.request.body)["id"]


def test_completion_headers(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    make_client().open(chat())
    post = posts(upstream)[0].request
    chat_id = json.loads(post.body)["chat_id"]
    assert post.headers["Authorization"] == f"Bearer {GUEST_TOKEN}"
    assert post.headers["X-FE-Version"] == DETECTED
    assert post.headers["Origin"] == ORIGIN
    assert post.headers["Referer"] == f"{ORIGIN}/c/{chat_id}"
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["Accept"] == "application/json, text/event-stream"
    assert "Chrome/" in post.headers["User-Agent"]
    assert "Cookie" not in post.headers


def test_signature_matches_what_was_sent(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    make_client().open(chat())
    post = posts(upstream)[0]
    query = sent_query(post)
    prompt = json.loads(post.request.body)["signature_prompt"]
    expected = sign(prompt, query["requestId"], int(query["timestamp"]), query["user_id"])
    assert prompt == "Hello, 世界"
    assert post.request.headers["X-Signature"] == expected


def test_signature_uses_the_configured_secret(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    make_client(zai_signing_secret="junjie").open(chat())
    post = posts(upstream)[0]
    query = sent_query(post)
    expected = sign("Hello, 世界", query["requestId"], int(query["timestamp"]), GUEST_ID,
                    secret_bytes("junjie"))
    assert post.request.headers["X-Signature"] == expected


def test_each_retry_is_signed_afresh(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    add_completion(upstream)
    make_client().open(chat())
    first, second = posts(upstream)
    assert sent_query(first)["requestId"] != sent_query(second)["requestId"]
    for post in (first, second):
        query = sent_query(post)
        assert post.request.headers["X-Signature"] == sign(
            "Hello, 世界", query["requestId"], int(query["timestamp"]), GUEST_ID)


def test_completion_body_fields(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    make_client().open(chat())
    body = json.loads(posts(upstream)[0].request.body)
    assert body["stream"] is True
    assert body["model"] == "GLM-4-6-API-V1"
    assert body["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "First question"},
                                {"role": "assistant", "content": "First answer"},
                                {"role": "user", "content": "Hello, 世界"}]
    assert body["signature_prompt"] == "Hello, 世界"
    assert body["params"] == {"temperature": 0.5, "top_p": 0.95, "max_tokens": 64}
    assert body["features"]["enable_thinking"] is True
    assert body["model_item"] == {"id": "GLM-4-6-API-V1", "name": "GLM-4.6", "owned_by": "openai"}
    assert len(body["chat_id"]) == 36
    assert len(body["id"]) == 36
    assert body["id"] != body["chat_id"]


def test_body_streams_and_thinking_follows_the_request(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    body = {"model": "GLM-4.5", "stream": False, "enable_thinking": False,
            "messages": [{"role": "user", "content": "hi"}]}
    make_client().open(chat(body))
    sent = json.loads(posts(upstream)[0].request.body)
    assert sent["stream"] is True
    assert sent["model"] == "0727-360B-API"
    assert sent["features"]["enable_thinking"] is False
    assert sent["params"] == {"temperature": 0.6, "top_p": 0.95}


def test_signature_prompt_of_a_vision_message_joins_its_text_parts(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    body = {"model": "GLM-4.5V", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is"},
        {"type": "image_url", "image_url": {"url": "https://img.test/cat.png"}},
        {"type": "text", "text": "in this picture?"}]}]}
    make_client().open(chat(body))
    post = posts(upstream)[0]
    query = sent_query(post)
    assert json.loads(post.request.body)["signature_prompt"] == "What is\nin this picture?"
    assert post.request.headers["X-Signature"] == sign(
        "What is\nin this picture?", query["requestId"], int(query["timestamp"]), GUEST_ID)


@pytest.mark.parametrize("first_event, read, backstop", [(20.0, 45.0, 50.0), (90.0, 45.0, 95.0)])
def test_completion_is_streamed_with_connect_and_backstop_read_timeouts(upstream, first_event, read,
                                                                        backstop):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    make_client(upstream_connect_timeout=3.0, upstream_first_event_timeout=first_event,
                upstream_read_timeout=read).open(chat())
    post = posts(upstream)[0].request
    assert post.req_kwargs["stream"] is True
    assert post.req_kwargs["timeout"] == (3.0, backstop), \
        "the socket read timeout is a backstop: the longer of first-event and gap limits, plus 5 s"


# ---------------------------------------------------------------- retries before the first event

def test_500_then_200_is_retried_to_success(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    add_completion(upstream)
    reply = make_client().open(chat())
    assert read_all(reply) == [("answer", "Hi")]
    assert calls(upstream) == [GET_HOME, MINT, POST, POST]
    assert bearers(upstream) == [GUEST_TOKEN, GUEST_TOKEN], "a 500 does not throw the guest away"


@pytest.mark.parametrize("max_retries", [0, 1, 2])
def test_500_on_every_attempt_gives_up_after_the_retry_budget(upstream, max_retries):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    error = raised(make_client(upstream_max_retries=max_retries), chat())
    assert len(posts(upstream)) == max_retries + 1
    assert error.status == 502
    assert error.code == "upstream_error"
    assert "HTTP 500" in error.message


def test_connection_error_then_success(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, body=requests.ConnectionError("Connection refused"))
    add_completion(upstream)
    reply = make_client().open(chat())
    assert read_all(reply) == [("answer", "Hi")]
    assert len(posts(upstream)) == 2


def test_connection_error_every_time_is_upstream_unreachable(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, body=requests.ConnectionError("Connection refused"))
    error = raised(make_client(), chat())
    assert len(posts(upstream)) == 3
    assert error.status == 502
    assert error.code == "upstream_unreachable"


def test_connect_timeout_is_retried_then_upstream_timeout(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, body=requests.ConnectTimeout("connect timed out"))
    error = raised(make_client(), chat())
    assert len(posts(upstream)) == 3
    assert error.status == 504
    assert error.code == "upstream_timeout"


def test_read_timeout_is_upstream_timeout_and_not_retried(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, body=requests.ReadTimeout("read timed out"))
    error = raised(make_client(), chat())
    assert len(posts(upstream)) == 1
    assert error.status == 504
    assert error.code == "upstream_timeout"


def test_backoff_sleeps_are_jittered_below_the_cap(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    slept = []
    with pytest.raises(ApiError):
        ZaiClient(settings(), sleep=slept.append).open(chat())
    assert len(slept) == 2, "a sleep between attempts, none after the last"
    assert 0 <= slept[0] <= 0.25
    assert 0 <= slept[1] <= 0.5


def test_backoff_doubles_up_to_two_seconds(upstream, monkeypatch):
    monkeypatch.setattr(client_module.random, "uniform", lambda low, high: high)
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    slept = []
    with pytest.raises(ApiError):
        ZaiClient(settings(upstream_max_retries=6), sleep=slept.append).open(chat())
    assert slept == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


def test_an_empty_200_before_any_event_is_retried_as_a_cut_stream(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream, b"")
    error = raised(make_client(), chat())
    assert len(posts(upstream)) == 3
    assert error.status == 502
    assert error.code == "upstream_stream_cut"


def test_three_failures_in_a_row_rest_a_token(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error", match=for_token(T1))
    add_completion(upstream, match=for_token(T2))
    client = make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False)
    for _ in range(4):
        client.open(chat())
    assert bearers(upstream) == [T1, T2, T1, T2, T1, T2, T2]
    assert client.pool.state()[0]["token"] == "...one111"
    assert client.pool.state()[0]["state"] == "cooling down for 30 s"


# ---------------------------------------------------------------- never retried

def test_405_waf_page_is_upstream_blocked_and_not_retried(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=405, content_type="text/html",
                  body="<!doctype html><html><head><title>405</title></head>"
                       "<body><img src='https://errors.aliyun.com/images/405.png'></body></html>")
    error = raised(make_client(), chat())
    assert calls(upstream) == [GET_HOME, MINT, POST]
    assert error.status == 502
    assert error.code == "upstream_blocked"
    assert "UPSTREAM_PROXY" in error.message
    assert "<html" not in error.message


def test_400_signature_failure_is_upstream_signature_rejected_and_not_retried(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=400,
                  body='{"detail":"403: Signature validation failed: 签名验证失败"}'.encode(),
                  content_type="application/json")
    error = raised(make_client(), chat())
    assert len(posts(upstream)) == 1
    assert error.status == 502
    assert error.code == "upstream_signature_rejected"
    assert "ZAI_SIGNING_SECRET" in error.message
    assert "Signature validation failed" in error.message


def test_400_model_not_found_is_upstream_rejected_and_not_retried(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=400, json={"detail": "Model not found"})
    error = raised(make_client(), chat())
    assert len(posts(upstream)) == 1
    assert error.status == 502
    assert error.code == "upstream_rejected"
    assert "Model not found" in error.message


def test_a_silent_upstream_is_a_first_event_timeout_and_not_retried(upstream):
    add_home(upstream)
    add_guest(upstream)
    body = StalledBody()
    add_completion(upstream, body)
    started = time.monotonic()
    try:
        error = raised(make_client(upstream_first_event_timeout=0.3), chat())
    finally:
        body.release.set()
    assert time.monotonic() - started < 3
    assert len(posts(upstream)) == 1
    assert error.status == 504
    assert error.code == "upstream_timeout"


# ---------------------------------------------------------------- 426: the version moved on

def test_426_redetects_the_version_and_retries_once_with_the_new_one(upstream):
    add_home(upstream)
    add_home(upstream, "prod-fe-1.0.121")
    upstream.post(COMPLETIONS, status=426, json={"detail": "Your client version check is failed"})
    add_completion(upstream)
    reply = make_client(zai_token=USER_TOKEN).open(chat())
    assert read_all(reply) == [("answer", "Hi")]
    assert calls(upstream) == [GET_HOME, POST, GET_HOME, POST]
    assert [call.request.headers["X-FE-Version"] for call in posts(upstream)] == [
        DETECTED, "prod-fe-1.0.121"]


def test_426_with_an_unchanged_version_is_not_retried(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=426, json={"detail": "Your client version check is failed"})
    error = raised(make_client(zai_token=USER_TOKEN), chat())
    assert calls(upstream) == [GET_HOME, POST, GET_HOME]
    assert error.status == 502
    assert error.code == "upstream_version_rejected"
    assert "ZAI_FE_VERSION" in error.message


def test_426_again_after_a_new_version_stops_there(upstream):
    add_home(upstream)
    add_home(upstream, "prod-fe-1.0.121")
    upstream.post(COMPLETIONS, status=426, json={"detail": "Your client version check is failed"})
    error = raised(make_client(zai_token=USER_TOKEN), chat())
    assert calls(upstream) == [GET_HOME, POST, GET_HOME, POST]
    assert error.code == "upstream_version_rejected"


def test_426_with_the_version_setting_is_not_redetected(upstream):
    upstream.post(COMPLETIONS, status=426, json={"detail": "Your client version check is failed"})
    error = raised(make_client(zai_token=USER_TOKEN, zai_fe_version="prod-fe-1.0.999"), chat())
    assert calls(upstream) == [POST]
    assert error.code == "upstream_version_rejected"


def test_426_after_the_fallback_is_not_retried_when_detection_finds_the_same_version(upstream):
    upstream.get(HOME, status=500, body="Internal Server Error")
    add_home(upstream, FALLBACK)
    upstream.post(COMPLETIONS, status=426, json={"detail": "Your client version check is failed"})
    with pytest.raises(ApiError):
        make_client(zai_token=USER_TOKEN).open(chat())
    assert [call.request.headers["X-FE-Version"] for call in posts(upstream)] == [FALLBACK], (
        f"the first detection failed, so {FALLBACK} was sent and rejected; the re-detection found "
        f"{FALLBACK} again, so the header would not change and a retry cannot help")


def test_400_client_version_is_upstream_version_rejected(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=400, json={"detail": "client version too old"})
    error = raised(make_client(zai_token=USER_TOKEN), chat())
    assert calls(upstream) == [GET_HOME, POST, GET_HOME]
    assert error.code == "upstream_version_rejected"


# ---------------------------------------------------------------- 200 that is not an event stream

def test_200_json_version_error_is_upstream_version_rejected(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, json={"error": {"detail": "Your client version check is failed",
                                               "code": 426}})
    error = raised(make_client(zai_token=USER_TOKEN), chat())
    assert calls(upstream) == [GET_HOME, POST, GET_HOME]
    assert error.status == 502
    assert error.code == "upstream_version_rejected"


def test_200_html_is_upstream_rejected_and_not_retried(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, content_type="text/html",
                  body="<!doctype html><html><body>Please enable JavaScript</body></html>")
    error = raised(make_client(zai_token=USER_TOKEN), chat())
    assert calls(upstream) == [GET_HOME, POST]
    assert error.status == 502
    assert error.code == "upstream_rejected"
    assert "text/html" in error.message
    assert "<html" not in error.message


# ---------------------------------------------------------------- credential pool: ZAI_TOKEN="T1,T2"

@pytest.mark.parametrize("separator", [",", "\n", " , "])
def test_configured_tokens_are_used_in_rotation(upstream, separator):
    add_home(upstream)
    add_completion(upstream)
    client = make_client(zai_token=f"{T1}{separator}{T2}")
    for _ in range(4):
        client.open(chat())
    assert bearers(upstream) == [T1, T2, T1, T2]
    assert [sent_query(call)["user_id"] for call in posts(upstream)] == [T1_ID, T2_ID, T1_ID, T2_ID]


def test_401_on_a_token_moves_to_the_next_and_never_uses_it_again(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"}, match=for_token(T1))
    add_completion(upstream, match=for_token(T2))
    client = make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False)
    reply = client.open(chat())
    assert read_all(reply) == [("answer", "Hi")]
    client.open(chat())
    client.open(chat())
    assert bearers(upstream) == [T1, T2, T2, T2]
    assert client.pool.state()[0] == {"token": "...one111", "guest": False,
                                      "state": "invalid (rejected with 401)", "uses": 1}


def test_401_on_the_only_token_without_guests_is_upstream_unauthorized(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"})
    error = raised(make_client(zai_token=USER_TOKEN, anon_token_enabled=False), chat())
    assert len(posts(upstream)) == 1
    assert error.status == 502
    assert error.code == "upstream_unauthorized"
    assert "ZAI_TOKEN" in error.message


def test_every_token_invalid_without_guests_is_503_naming_them_by_suffix(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"})
    client = make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False)
    first_error = raised(client, chat())
    error = raised(client, chat())
    assert bearers(upstream) == [T1, T2], "the second request reaches no upstream"
    assert first_error.code == "upstream_unauthorized", "the last real upstream failure"
    assert error.status == 503
    assert error.code == "upstream_credential_unavailable"
    assert "...one111 invalid" in error.message
    assert "...two222 invalid" in error.message
    assert "ANON_TOKEN_ENABLED" in error.message
    for token in (T1, T2):
        assert token.split(".")[1] not in error.message
        assert token.split(".")[2][:-6] not in error.message


def test_every_token_invalid_falls_back_to_a_guest(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"}, match=for_token(T1))
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"}, match=for_token(T2))
    add_completion(upstream, match=for_token(GUEST_TOKEN))
    client = make_client(zai_token=f"{T1},{T2}")
    reply = client.open(chat())
    assert read_all(reply) == [("answer", "Hi")]
    client.open(chat())
    assert calls(upstream) == [GET_HOME, POST, POST, MINT, POST, POST]
    assert bearers(upstream) == [T1, T2, GUEST_TOKEN, GUEST_TOKEN]


def test_429_with_retry_after_rests_the_token_for_that_long(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=429, json={"detail": "Too many requests"},
                  headers={"Retry-After": "30"}, match=for_token(T1))
    add_completion(upstream, match=for_token(T2))
    add_completion(upstream, match=for_token(T1))
    slept = []
    client = ZaiClient(settings(zai_token=f"{T1},{T2}", anon_token_enabled=False), sleep=slept.append)
    clock = Clock()
    client.pool.clock = clock
    reply = client.open(chat())
    assert read_all(reply) == [("answer", "Hi")]
    clock.now += 29
    client.open(chat())
    clock.now += 2
    client.open(chat())
    assert bearers(upstream) == [T1, T2, T2, T1], "T1 rests 30 s, then is back"
    assert slept == [0.0], "another credential takes over at once"


def test_429_without_retry_after_rests_the_token_for_the_cooldown(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=429, json={"detail": "Too many requests"}, match=for_token(T1))
    add_completion(upstream, match=for_token(T2))
    client = make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False,
                         token_cooldown_seconds=30.0)
    clock = Clock()
    client.pool.clock = clock
    client.open(chat())
    clock.now += 5
    client.open(chat())
    assert bearers(upstream) == [T1, T2, T2], (
        "a 429 without Retry-After should rest T1 for TOKEN_COOLDOWN_SECONDS (30 s); "
        "it was used again 5 s later")


def test_429_on_every_token_is_429_with_retry_after(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=429, json={"detail": "Too many requests"},
                  headers={"Retry-After": "7"})
    error = raised(make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False), chat())
    assert bearers(upstream) == [T1, T2]
    assert error.status == 429
    assert error.code == "upstream_rate_limited"
    assert error.headers == {"Retry-After": "7"}


def test_429_on_every_guest_is_429_with_retry_after_after_the_budget(upstream):
    add_home(upstream)
    add_guest(upstream, GUEST_TOKEN)
    add_guest(upstream, SECOND_GUEST_TOKEN)
    add_guest(upstream, THIRD_GUEST_TOKEN)
    upstream.post(COMPLETIONS, status=429, json={"detail": "Too many requests"},
                  headers={"Retry-After": "7"})
    error = raised(make_client(), chat())
    assert calls(upstream) == [GET_HOME, MINT, POST, MINT, POST, MINT, POST]
    assert bearers(upstream) == [GUEST_TOKEN, SECOND_GUEST_TOKEN, THIRD_GUEST_TOKEN]
    assert error.status == 429
    assert error.code == "upstream_rate_limited"
    assert error.headers == {"Retry-After": "7"}


def test_429_without_retry_after_says_when_the_token_is_rested(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=429, json={"detail": "Too many requests"})
    error = raised(make_client(zai_token=USER_TOKEN, anon_token_enabled=False,
                               token_cooldown_seconds=20), chat())
    assert error.status == 429
    assert error.headers == {"Retry-After": "20"}


def test_the_guest_pool_keeps_at_most_guest_pool_size(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=429, json={"detail": "Too many requests"})
    client = make_client(guest_pool_size=2, upstream_max_retries=3)
    with pytest.raises(ApiError):
        client.open(chat())
    assert calls(upstream).count(MINT) == 4
    assert [entry["guest"] for entry in client.pool.state()] == [True, True]


# ---------------------------------------------------------------- 401 with guests

def test_401_with_a_guest_mints_a_new_guest_and_retries(upstream):
    add_home(upstream)
    add_guest(upstream, GUEST_TOKEN)
    add_guest(upstream, SECOND_GUEST_TOKEN)
    upstream.post(COMPLETIONS, status=401,
                  json={"detail": "Your session has expired or the token is invalid."})
    add_completion(upstream)
    reply = make_client().open(chat())
    assert calls(upstream) == [GET_HOME, MINT, POST, MINT, POST]
    assert bearers(upstream) == [GUEST_TOKEN, SECOND_GUEST_TOKEN]
    assert sent_query(posts(upstream)[1])["user_id"] == SECOND_GUEST_ID
    assert read_all(reply) == [("answer", "Hi")]


def test_the_new_guest_is_kept_after_a_401_retry(upstream):
    add_home(upstream)
    add_guest(upstream, GUEST_TOKEN)
    add_guest(upstream, SECOND_GUEST_TOKEN)
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"})
    add_completion(upstream)
    client = make_client()
    client.open(chat())
    client.open(chat())
    assert calls(upstream) == [GET_HOME, MINT, POST, MINT, POST, POST]
    assert bearers(upstream) == [GUEST_TOKEN, SECOND_GUEST_TOKEN, SECOND_GUEST_TOKEN]


def test_401_on_every_guest_stops_after_the_retry_budget(upstream):
    add_home(upstream)
    add_guest(upstream, GUEST_TOKEN)
    add_guest(upstream, SECOND_GUEST_TOKEN)
    add_guest(upstream, THIRD_GUEST_TOKEN)
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"})
    error = raised(make_client(), chat())
    assert calls(upstream) == [GET_HOME, MINT, POST, MINT, POST, MINT, POST]
    assert error.status == 502
    assert error.code == "upstream_unauthorized"
    assert "guest" in error.message


# ---------------------------------------------------------------- a client's own token

def test_client_token_is_the_bearer_and_never_pooled(upstream):
    add_home(upstream)
    add_completion(upstream)
    client = make_client(zai_token=T1)
    before = client.pool.state()
    reply = client.open(chat(client_token=CLIENT_TOKEN))
    assert read_all(reply) == [("answer", "Hi")]
    assert calls(upstream) == [GET_HOME, POST]
    assert bearers(upstream) == [CLIENT_TOKEN]
    assert sent_query(posts(upstream)[0])["user_id"] == "33333333-cccc-4ccc-8ccc-333333333333"
    assert client.pool.state() == before == [{"token": "...one111", "guest": False, "state": "ok",
                                              "uses": 0}]


def test_client_token_without_configured_tokens_mints_no_guest(upstream):
    add_home(upstream)
    add_completion(upstream)
    client = make_client()
    client.open(chat(client_token=CLIENT_TOKEN))
    assert calls(upstream) == [GET_HOME, POST]
    assert client.pool.state() == []


def test_client_token_401_is_upstream_token_rejected_without_another_credential(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"})
    client = make_client(zai_token=T1)
    error = raised(client, chat(client_token=CLIENT_TOKEN))
    assert bearers(upstream) == [CLIENT_TOKEN]
    assert error.status == 401
    assert error.code == "upstream_token_rejected"
    assert CLIENT_TOKEN not in error.message
    assert client.pool.state() == [{"token": "...one111", "guest": False, "state": "ok", "uses": 0}]


def test_client_token_429_is_passed_on_without_another_credential(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=429, json={"detail": "Too many requests"},
                  headers={"Retry-After": "7"})
    client = make_client(zai_token=T1)
    error = raised(client, chat(client_token=CLIENT_TOKEN))
    assert bearers(upstream) == [CLIENT_TOKEN]
    assert error.status == 429
    assert error.headers == {"Retry-After": "7"}


def test_client_token_is_not_logged(upstream, caplog):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    add_completion(upstream)
    caplog.set_level(logging.DEBUG)
    make_client().open(chat(client_token=CLIENT_TOKEN))
    assert caplog.records
    assert CLIENT_TOKEN.split(".")[1] not in caplog.text
    assert CLIENT_TOKEN.split(".")[2] not in caplog.text


# ---------------------------------------------------------------- in-band errors in the first event

def test_busy_event_is_retried_on_another_token(upstream):
    add_home(upstream)
    add_completion(upstream, BUSY, match=for_token(T1))
    add_completion(upstream, match=for_token(T2))
    client = make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False)
    reply = client.open(chat())
    assert read_all(reply) == [("answer", "Hi")]
    assert bearers(upstream) == [T1, T2]
    assert client.pool.state()[0]["state"].startswith("cooling down")


def test_busy_event_on_every_token_is_429(upstream):
    add_home(upstream)
    add_completion(upstream, BUSY)
    error = raised(make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False), chat())
    assert bearers(upstream) == [T1, T2]
    assert error.status == 429
    assert error.code == "upstream_rate_limited"
    assert "Retry-After" in error.headers


def test_in_band_426_is_not_retried_with_an_unchanged_version(upstream):
    add_home(upstream)
    error = {"detail": "Your client version (unknown) is outdated. Minimum required: 1.0.0. "
                       "Please refresh the page", "code": 426}
    add_completion(upstream, sse({"data": {"error": error, "done": True}, "error": error, "done": True}))
    caught = raised(make_client(zai_token=f"{T1},{T2}"), chat())
    assert calls(upstream) == [GET_HOME, POST, GET_HOME]
    assert caught.status == 502
    assert caught.code == "upstream_version_rejected"


def test_in_band_426_is_retried_once_at_most_with_a_new_version(upstream):
    add_home(upstream)
    add_home(upstream, "prod-fe-1.0.121")
    add_completion(upstream, sse({"error": {"detail": "version too old", "code": 426}}))
    caught = raised(make_client(zai_token=f"{T1},{T2}"), chat())
    assert calls(upstream) == [GET_HOME, POST, GET_HOME, POST]
    assert caught.code == "upstream_version_rejected"


def test_in_band_error_without_an_envelope_is_raised(upstream):
    add_home(upstream)
    add_completion(upstream, b'data: {"error": {"detail": "Your client version check is failed", '
                             b'"code": 426}}\n\n')
    caught = raised(make_client(zai_token=USER_TOKEN), chat())
    assert len(posts(upstream)) == 1
    assert caught.code == "upstream_version_rejected"


def test_in_band_error_only_in_the_inner_data_is_still_raised(upstream):
    add_home(upstream)
    error = {"detail": "您的客户端校验失败", "code": 426}
    add_completion(upstream, sse({"data": {"error": error, "done": True}, "done": True}))
    caught = raised(make_client(zai_token=USER_TOKEN), chat())
    assert len(posts(upstream)) == 1
    assert caught.code == "upstream_version_rejected"


def test_in_band_401_moves_to_the_next_token(upstream):
    add_home(upstream)
    add_completion(upstream, sse({"error": {"detail": "token expired", "code": 401}}),
                   match=for_token(T1))
    add_completion(upstream, match=for_token(T2))
    client = make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False)
    client.open(chat())
    client.open(chat())
    assert bearers(upstream) == [T1, T2, T2]


# ---------------------------------------------------------------- reading the reply (§5)

def test_thinking_edit_and_answer_become_reasoning_and_answer_pieces(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream, THINK_THEN_ANSWER)
    pieces = read_all(make_client().open(chat()))
    assert joined(pieces, "reasoning") == "The user says hi.\nReply kindly."
    assert joined(pieces, "answer") == "Hello there!"
    kinds = [kind for kind, _ in pieces]
    assert kinds == sorted(kinds, key=["reasoning", "answer"].index)


def test_reply_keeps_usage_and_stops_at_the_done_event(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream, THINK_THEN_ANSWER)
    reply = make_client().open(chat())
    pieces = read_all(reply)
    assert reply.usage == USAGE
    assert reply.stream.done is True
    assert "AFTER-DONE" not in joined(pieces, "answer")


def test_raw_mode_returns_the_details_header_and_close(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream, THINK_THEN_ANSWER)
    config = settings(think_tags_mode="raw")
    pieces = read_all(ZaiClient(config, sleep=lambda seconds: None).open(chat(config=config)))
    assert joined(pieces, "open_markup").startswith('<details type="reasoning"')
    assert joined(pieces, "close_markup") == "\n</details>\n"
    assert joined(pieces, "answer") == "Hello there!"


def test_the_real_capture_replays_to_its_answer(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream, CAPTURE.read_bytes())
    reply = make_client().open(chat())
    pieces = read_all(reply)
    assert joined(pieces, "answer") == ("Hey there! I'm doing great, thanks for asking. "
                                        "As an AI, I'm always ready and eager to help.\n\n"
                                        "What can I do for you today?")
    assert joined(pieces, "reasoning").startswith("1.  **Analyze the User's Input:**\n")
    assert "\n> " not in joined(pieces, "reasoning")
    assert reply.usage["completion_tokens"] == 1565


def test_a_body_without_done_is_a_cut_stream_after_the_first_batch(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream, sse({"delta_content": "Half an ans", "phase": "answer"}))
    reply = make_client().open(chat())
    assert reply.next(5) == [("answer", "Half an ans")]
    with pytest.raises(ApiError) as caught:
        reply.next(5)
    assert caught.value.status == 502
    assert caught.value.code == "upstream_stream_cut"
    assert len(posts(upstream)) == 1, "never retried after the first event"


def test_a_read_timeout_mid_stream_is_upstream_timeout(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream, FailingBody(sse({"delta_content": "x", "phase": "answer"}),
                                         socket.timeout("timed out")))
    reply = make_client().open(chat())
    assert reply.next(5) == [("answer", "x")]
    with pytest.raises(ApiError) as caught:
        reply.next(5)
    assert caught.value.status == 504
    assert caught.value.code == "upstream_timeout"
    assert len(posts(upstream)) == 1


def test_a_connection_reset_mid_stream_is_a_cut_stream(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream, FailingBody(sse({"delta_content": "x", "phase": "answer"}),
                                         ConnectionResetError(104, "reset")))
    reply = make_client().open(chat())
    assert reply.next(5) == [("answer", "x")]
    with pytest.raises(ApiError) as caught:
        reply.next(5)
    assert caught.value.status == 502
    assert caught.value.code == "upstream_stream_cut"
    assert len(posts(upstream)) == 1


def test_a_silence_after_the_first_event_is_quiet_not_an_error(upstream):
    add_home(upstream)
    add_guest(upstream)
    body = StalledBody(sse({"delta_content": "x", "phase": "answer"}))
    add_completion(upstream, body)
    reply = make_client().open(chat())
    try:
        assert reply.next(5) == [("answer", "x")]
        assert reply.next(0.2) is QUIET
    finally:
        reply.close()
        body.release.set()


def test_noise_lines_are_skipped(upstream):
    add_home(upstream)
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
    reply = make_client().open(chat())
    assert read_all(reply) == [("answer", "Hel"), ("answer", "lo")]
    assert reply.stream.done is True


# ---------------------------------------------------------------- guest minting failures

def test_guest_mint_500_is_credential_unavailable(upstream):
    add_home(upstream)
    upstream.get(AUTHS, status=500, body="Internal Server Error")
    error = raised(make_client(), chat())
    assert calls(upstream) == [GET_HOME, MINT]
    assert error.status == 503
    assert error.code == "upstream_credential_unavailable"
    assert "ZAI_TOKEN" in error.message


def test_guest_mint_405_names_the_firewall(upstream):
    add_home(upstream)
    upstream.get(AUTHS, status=405, content_type="text/html", body="<html>405</html>")
    error = raised(make_client(), chat())
    assert calls(upstream) == [GET_HOME, MINT]
    assert error.status == 503
    assert "firewall" in error.message


def test_guest_mint_without_a_token_is_credential_unavailable(upstream):
    add_home(upstream)
    upstream.get(AUTHS, json={"id": GUEST_ID, "role": "guest"})
    error = raised(make_client(), chat())
    assert calls(upstream) == [GET_HOME, MINT]
    assert error.status == 503
    assert error.code == "upstream_credential_unavailable"
    assert "ZAI_TOKEN" in error.message


def test_guest_mint_with_a_non_json_200_is_credential_unavailable(upstream):
    add_home(upstream)
    upstream.get(AUTHS, body="<html>captcha</html>", content_type="text/html")
    error = raised(make_client(), chat())
    assert error.status == 503
    assert error.code == "upstream_credential_unavailable"


def test_guest_mint_with_a_non_string_token_is_credential_unavailable(upstream):
    add_home(upstream)
    upstream.get(AUTHS, json={"id": GUEST_ID, "token": 12345})
    error = raised(make_client(), chat())
    assert error.status == 503
    assert error.code == "upstream_credential_unavailable"


def test_guest_mint_connection_error_is_upstream_unreachable_naming_the_network(upstream):
    add_home(upstream)
    upstream.get(AUTHS, body=requests.ConnectionError("Connection refused"))
    error = raised(make_client(), chat())
    assert calls(upstream) == [GET_HOME, MINT]
    assert (error.status, error.code) == (502, "upstream_unreachable")
    assert "UPSTREAM_PROXY" in error.message and "ZAI_TOKEN" not in error.message


def test_a_hanging_guest_mint_is_upstream_timeout(upstream):
    add_home(upstream)
    upstream.get(AUTHS, body=requests.ReadTimeout("read timed out"))
    error = raised(make_client(), chat())
    assert (error.status, error.code) == (504, "upstream_timeout")
    assert "minting a guest token" in error.message and "network" in error.message


def test_final_errors_tell_sdks_not_to_retry_but_rate_limits_say_when(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    error = raised(make_client(upstream_max_retries=0), chat())
    assert error.headers == {"x-should-retry": "false"}
    upstream.replace(responses.POST, COMPLETIONS, status=429, json={"detail": "Too many requests"},
                     headers={"Retry-After": "7"})
    limited = raised(make_client(upstream_max_retries=0, zai_token=T1, anon_token_enabled=False), chat())
    assert limited.headers == {"Retry-After": "7"}


def test_the_last_attempt_is_never_logged_as_retrying(upstream, caplog):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    with caplog.at_level(logging.INFO, logger="ztoapi.upstream"):
        raised(make_client(upstream_max_retries=1), chat())
    attempts = [r.getMessage() for r in caplog.records if r.getMessage().startswith("upstream attempt failed")]
    assert attempts == ["upstream attempt failed: upstream_error (retrying)",
                        "upstream attempt failed: upstream_error (final)"]


def test_readiness_follows_the_last_request_and_a_probe_finds_recovery(upstream):
    clock = Clock()
    add_home(upstream)
    upstream.get(AUTHS, body=requests.ConnectionError("Connection refused"))
    client = ZaiClient(settings(), sleep=lambda s: None, clock=clock)
    assert client.status()["ready"] is True
    raised(client, chat())
    status = client.status()
    assert status["ready"] is False
    assert status["reason"].startswith("the last request failed: upstream_unreachable")
    clock.now += 6
    upstream.get(HOME, body=requests.ConnectionError("still down"))
    assert client.status()["ready"] is False
    clock.now += 6
    add_home(upstream)
    assert client.status()["ready"] is True


def test_a_failed_mint_is_tried_again_on_the_next_start(upstream):
    add_home(upstream)
    upstream.get(AUTHS, status=500, body="Internal Server Error")
    add_guest(upstream)
    add_completion(upstream)
    client = make_client()
    with pytest.raises(ApiError):
        client.open(chat())
    client.open(chat())
    assert calls(upstream) == [GET_HOME, MINT, MINT, POST]


def test_a_failed_mint_on_a_retry_gives_the_last_upstream_failure(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.get(AUTHS, status=500, body="Internal Server Error")
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"})
    error = raised(make_client(), chat())
    assert calls(upstream) == [GET_HOME, MINT, POST, MINT]
    assert error.code == "upstream_unauthorized"


# ---------------------------------------------------------------- session hygiene and secrets

def test_set_cookie_is_not_stored_on_the_session(upstream):
    add_home(upstream, headers={"Set-Cookie": "acw_tc=home1; Path=/"})
    upstream.get(AUTHS, json={"token": GUEST_TOKEN}, headers={"Set-Cookie": "acw_tc=guest1; Path=/"})
    add_completion(upstream, headers={"Set-Cookie": "token=server-set; Path=/"})
    client = make_client()
    client.open(chat())
    client.open(chat())
    assert len(client.session.cookies) == 0
    assert "Cookie" not in posts(upstream)[1].request.headers


def test_session_ignores_proxy_environment():
    client = make_client()
    assert client.session.trust_env is False
    assert client.session.proxies == {}


def test_configured_proxy_is_used_for_both_schemes():
    client = make_client(upstream_proxy="http://proxy.test:3128")
    assert client.session.proxies == {"http": "http://proxy.test:3128",
                                      "https": "http://proxy.test:3128"}


def test_credential_repr_hides_the_token():
    credential = Credential(USER_TOKEN, USER_ID, False)
    assert USER_TOKEN not in repr(credential)
    assert USER_TOKEN not in str(credential)
    assert USER_ID in repr(credential)


def test_minted_guest_repr_hides_the_token(upstream):
    add_home(upstream)
    add_guest(upstream)
    credential = make_client().pool.acquire()
    assert credential.token == GUEST_TOKEN
    assert credential.user_id == GUEST_ID
    assert credential.guest is True
    assert GUEST_TOKEN not in repr(credential)


def test_pool_state_shows_only_token_suffixes():
    state = make_client(zai_token=f"{T1},{T2}").pool.state()
    assert state == [{"token": "...one111", "guest": False, "state": "ok", "uses": 0},
                     {"token": "...two222", "guest": False, "state": "ok", "uses": 0}]


def test_connection_error_message_leaks_no_token(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, body=requests.ConnectionError(
        f"HTTPSConnectionPool(host='upstream.test', port=443): Max retries exceeded with url: "
        f"/api/chat/completions?token={USER_TOKEN}"))
    error = raised(make_client(zai_token=USER_TOKEN, anon_token_enabled=False), chat())
    assert error.code == "upstream_unreachable"
    assert USER_TOKEN not in error.message
    assert USER_TOKEN not in str(error)
    assert error.__cause__ is None
    assert error.__suppress_context__ is True


def test_debug_logs_carry_no_token_or_signature(upstream, caplog):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"}, match=for_token(T1))
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error", match=for_token(GUEST_TOKEN))
    add_completion(upstream, match=for_token(GUEST_TOKEN))
    caplog.set_level(logging.DEBUG)
    make_client(zai_token=T1).open(chat())
    assert calls(upstream) == [GET_HOME, POST, MINT, POST, POST]
    signatures = [call.request.headers["X-Signature"] for call in posts(upstream)]
    assert "...one111" in caplog.text, "the disabled token is named by its suffix"
    for token in (T1, GUEST_TOKEN):
        assert token.split(".")[1] not in caplog.text
    for signature in signatures:
        assert signature not in caplog.text


# ---------------------------------------------------------------- local failures touch nothing upstream

def nested(depth):
    value = "deep"
    for _ in range(depth):
        value = [value]
    return value


def test_content_json_cannot_carry_is_a_400_before_any_upstream_call(upstream):
    body = {"model": "GLM-4.5V", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "hi", "extra": nested(300)}]}]}
    client = make_client()
    error = raised(client, chat(body))
    assert (error.status, error.code, error.param) == (400, "invalid_request_content", "messages")
    assert len(upstream.calls) == 0, "nothing sent: no version read, no guest minted"
    assert client.pool.state() == []


def test_a_lone_surrogate_is_a_400_in_the_2026_dialect_too(upstream):
    body = {"model": "GLM-4.5", "messages": [{"role": "user", "content": "bad \ud800 text"}]}
    client = make_client(zai_dialect="2026", zai_token=T1)
    error = raised(client, chat(body))
    assert (error.status, error.code) == (400, "invalid_request_content")
    assert len(upstream.calls) == 0
    assert client.pool.state()[0]["state"] == "ok" and client.pool.state()[0]["uses"] == 0


def test_a_bug_of_ours_while_preparing_is_a_500_never_retried_nor_held_against_the_token(upstream, monkeypatch):
    client = make_client(zai_token=T1)

    def broken(*args, **kwargs):
        raise KeyError("a bug")
    monkeypatch.setattr(client.dialects["2025"], "completion", broken)
    error = raised(client, chat())
    assert (error.status, error.type, error.retry) == (500, "server_error", None)
    assert posts(upstream) == []
    assert client.pool.state()[0]["state"] == "ok"
