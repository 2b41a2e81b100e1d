"""Reading replies through the client: thinking, answer, usage, the end, cuts and silences."""
import json
import socket

import pytest

from ztoapi.errors import ApiError
from ztoapi.zai.client import ZaiClient
from ztoapi.upstream.reply import QUIET

from tests.zai_mock import CAPTURE
from tests.zai_mock import FailingBody
from tests.zai_mock import StalledBody
from tests.zai_mock import THINK_THEN_ANSWER
from tests.zai_mock import USAGE
from tests.zai_mock import add_completion
from tests.zai_mock import add_guest
from tests.zai_mock import add_home
from tests.zai_mock import chat
from tests.zai_mock import joined
from tests.zai_mock import make_client
from tests.zai_mock import posts
from tests.zai_mock import read_all
from tests.zai_mock import settings
from tests.zai_mock import sse
from tests.zai_mock import upstream


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


def test_a_body_that_ends_cleanly_after_its_events_is_a_whole_reply(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream, sse({"delta_content": "A whole answer", "phase": "answer"}))
    reply = make_client().open(chat())
    assert read_all(reply) == [("answer", "A whole answer")]
    assert len(posts(upstream)) == 1


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
