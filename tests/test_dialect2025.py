"""The 2025 dialect's completion request: URL, query, headers, signature and body."""
import json
import socket
import time

import pytest

from ztoapi.zai.signing import secret_bytes
from ztoapi.zai.signing import sign

from tests.zai_mock import COMPLETIONS
from tests.zai_mock import DETECTED
from tests.zai_mock import GUEST_ID
from tests.zai_mock import GUEST_TOKEN
from tests.zai_mock import ORIGIN
from tests.zai_mock import add_completion
from tests.zai_mock import add_guest
from tests.zai_mock import add_home
from tests.zai_mock import chat
from tests.zai_mock import make_client
from tests.zai_mock import posts
from tests.zai_mock import sent_query
from tests.zai_mock import upstream


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
