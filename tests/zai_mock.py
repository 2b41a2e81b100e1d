"""A `responses` mock of chat.z.ai for the client's unit tests: tokens, bodies, helpers, fixtures.

The tests drive `ZaiClient(settings, sleep=...).open(chat)` in the 2025 dialect, read the reply with
`reply.next(5)` until None, and assert on the requests `responses` recorded. The mocked origin is
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
from ztoapi.errors import ApiError
from ztoapi.pipeline.request import chat_request
from ztoapi.upstream.reply import QUIET
from ztoapi.zai.client import ZaiClient
from ztoapi.zai.credentials import Credential
from ztoapi.zai.models import MODELS_2025
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
