"""Reading 2026 replies (phases, extra event types, citations, usage per hop) through ZaiStream."""
import json

import pytest

from ztoapi.errors import ApiError
from ztoapi.zai.reply import ZaiStream

USAGE = {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14,
         "prompt_tokens_details": {"cached_tokens": 8}}


class BlockResponse:
    def __init__(self, blocks):
        self.blocks = blocks

    def iter_content(self, chunk_size=None):
        return iter(self.blocks)

    def close(self):
        pass


def frame(data, kind="chat:completion"):
    return f"data: {json.dumps({'type': kind, 'data': data}, ensure_ascii=False)}\n\n".encode()


def read(*frames, keep_markup=False):
    stream = ZaiStream(BlockResponse([b"".join(frames)]), keep_markup)
    pieces = [piece for batch in stream.batches() for piece in batch]
    return stream, pieces


def text(pieces, kind):
    return "".join(value for k, value in pieces if k == kind)


DONE = frame({"phase": "done", "done": True})


def test_plain_thinking_and_answer_deltas_with_usage_before_the_last_piece():
    stream, pieces = read(
        frame({"delta_content": "The user ", "phase": "thinking"}),
        frame({"delta_content": "says hi.", "phase": "thinking"}),
        frame({"delta_content": "Hello", "phase": "answer"}),
        frame({"phase": "other", "usage": USAGE}),
        frame({"delta_content": " there.", "phase": "answer"}),
        DONE,
        frame({"delta_content": " after done", "phase": "answer"}))
    assert text(pieces, "reasoning") == "The user says hi."
    assert text(pieces, "answer") == "Hello there."
    assert stream.usage == USAGE
    assert stream.done


def test_status_title_heartbeat_and_unknown_events_are_skipped():
    _, pieces = read(
        frame({"status": "thinking"}, "status"),
        frame({"delta_content": "Hi", "phase": "answer"}),
        frame({"title": "Greeting"}, "chat:title"),
        frame({}, "conn:heartbeat"),
        frame({"whatever": 1}, "notification"),
        DONE)
    assert pieces == [("answer", "Hi")]


def test_an_error_in_an_event_of_another_type_is_still_raised():
    with pytest.raises(ApiError):
        read(b'data: {"type": "status", "error": {"detail": "boom", "code": 500}}\n\n')


def test_usage_does_not_end_a_reply_that_ends_with_its_body():
    stream, pieces = read(frame({"delta_content": "Hi", "phase": "answer"}), frame({"phase": "other", "usage": USAGE}),
                          frame({"delta_content": " there【turn0search0", "phase": "answer"}))
    assert text(pieces, "answer") == "Hi there【turn0search0"
    assert stream.usage == USAGE


def test_a_2026_reply_that_opens_with_other_markup_is_still_read_by_phases():
    stream, pieces = read(
        frame({"delta_content": "<html> needs care", "phase": "thinking"}),
        frame({"phase": "tool_call", "delta_name": "search", "delta_arguments": "{}",
               "metadata": {"tool_call_id": "call_x"}}),
        frame({"phase": "tool_response", "tool_name": "search", "delta_content": "[ref_id=turn0search0†A†"}),
        frame({"phase": "tool_response", "tool_name": "search", "delta_content": "https://example.com/a]\nsnippet"}),
        frame({"delta_content": "<b>Bold</b>【turn0search0】", "phase": "answer"}), DONE)
    assert text(pieces, "reasoning") == "<html> needs care"
    assert text(pieces, "answer") == "<b>Bold</b>[1]"
    assert "snippet" not in text(pieces, "answer")
    assert stream.sources == [{"title": "A", "url": "https://example.com/a"}]


def test_a_2025_reply_is_always_read_as_the_document():
    frames = [frame({"delta_content": "no markup", "phase": "thinking"}), DONE]
    in_2025 = ZaiStream(BlockResponse([b"".join(frames)]), dialect="2025")
    assert [piece for batch in in_2025.batches() for piece in batch] == [("answer", "no markup")]
    _, in_2026 = read(*frames)
    assert in_2026 == [("reasoning", "no markup")]


SEARCH = (
    frame({"delta_content": "Let me search.", "phase": "thinking"}),
    frame({"phase": "tool_call", "delta_name": "search", "delta_arguments": "{\"",
           "metadata": {"tool_call_id": "call_abc", "type": "function"}}),
    frame({"phase": "tool_call", "delta_arguments": "search_query\": [{\"q\": \"tides\"}]}",
           "metadata": {"type": "function"}}),
    frame({"phase": "tool_response", "tool_name": "search", "status": "completed",
           "delta_content": "[ref_id=turn0search0†Tides explained†https://example.com/a]\nDate: x\nsnippet\n\n"
                            "[ref_id=turn0search1†Moon†https://example.com/b]\nDate: y\nmore",
           "metadata": {"tool_call_id": "call_abc"}}),
    frame({"phase": "other", "usage": USAGE}),
    frame({"delta_content": "The moon pulls【turn0search1", "phase": "answer"}),
    frame({"delta_content": "】 the sea【turn0search0†L1-L3】, again【turn0search1】【turn9search9】.",
           "phase": "answer"}),
    frame({"phase": "other", "usage": USAGE}),
    DONE)


def test_upstream_tool_use_is_activity_and_its_citations_become_numbered_sources():
    stream, pieces = read(*SEARCH)
    assert text(pieces, "answer") == "The moon pulls[1] the sea[2], again[1]【turn9search9】."
    assert stream.sources == [{"title": "Moon", "url": "https://example.com/b"},
                              {"title": "Tides explained", "url": "https://example.com/a"}]
    activity = [value for kind, value in pieces if kind == "activity"]
    assert activity == [{"type": "upstream_tool", "id": "call_abc", "name": "search",
                         "arguments": "{\"search_query\": [{\"q\": \"tides\"}]}", "status": "completed"}]
    assert "tool_call" not in [kind for kind, _ in pieces]


def test_usage_frames_of_several_hops_add_up():
    stream, _ = read(*SEARCH)
    assert stream.usage == {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28,
                            "prompt_tokens_details": {"cached_tokens": 16}}


def test_uncited_results_are_all_listed():
    frames = [f for f in SEARCH if b"turn0search1" not in f or b"ref_id" in f]
    stream, pieces = read(*frames[:5], frame({"delta_content": "No citations.", "phase": "answer"}), DONE)
    assert [source["url"] for source in stream.sources] == ["https://example.com/a", "https://example.com/b"]


def test_an_unclosed_citation_is_text_at_the_end():
    _, pieces = read(frame({"delta_content": "odd 【bracket", "phase": "answer"}), DONE)
    assert text(pieces, "answer") == "odd 【bracket"


def test_glm_blocks_in_plain_answers_are_dropped():
    _, pieces = read(frame({"delta_content": "a <glm_block view=\"\">{}</glm_block> b", "phase": "answer"}),
                     DONE)
    assert text(pieces, "answer") == "a  b"


def test_the_2025_markup_still_reads_when_a_2026_reply_uses_it():
    stream, pieces = read(
        frame({"delta_content": '<details type="reasoning" done="false">\n<summary>Thinking…</summary>\n> Hm',
               "phase": "thinking"}),
        frame({"edit_index": 22, "edit_content": 'true">\n<summary>Thought</summary>\n> Hm\n</details>\nYes',
               "phase": "answer"}),
        frame({"phase": "other", "usage": USAGE}),
        frame({"id": "chatcmpl-x", "usage": USAGE, "phase": "answer"}),
        DONE)
    assert text(pieces, "reasoning") == "Hm"
    assert text(pieces, "answer") == "Yes"
    assert stream.usage == USAGE   # the 2025 tail repeats one count: it is not added up


@pytest.mark.parametrize("error, code, status", [
    ({"captcha_error_type": "missing_param", "code": "FRONTEND_CAPTCHA_REQUIRED",
      "detail": "Please refresh the page to update the app, then try again.",
      "error_code": "FRONTEND_CAPTCHA_REQUIRED"}, "upstream_captcha_required", 503),
    ({"detail": "The captcha verification failed", "code": 400}, "upstream_captcha_required", 503),
    ({"detail": "Model not available for current user level", "code": 403}, "model_requires_login", 403),
    ({"code": "INTERNAL_ERROR", "error_code": "INTERNAL_ERROR", "detail": "Internal Server Error"},
     "upstream_rejected", 502),
    ({"detail": "Your client version (unknown) is outdated. Please refresh the page", "code": "426"},
     "upstream_version_rejected", 502),
])
def test_2026_error_events_with_string_codes(error, code, status):
    with pytest.raises(ApiError) as caught:
        read(frame({"data": {"error": error, "done": True}, "error": error, "done": True}))
    assert (caught.value.code, caught.value.status) == (code, status)


def test_a_captcha_is_said_plainly_and_never_taken_for_a_version_problem():
    error = {"captcha_error_type": "missing_param", "code": "FRONTEND_CAPTCHA_REQUIRED",
             "detail": "Please refresh the page to update the app, then try again.",
             "error_code": "FRONTEND_CAPTCHA_REQUIRED"}
    with pytest.raises(ApiError) as caught:
        read(frame({"error": error, "done": True}))
    assert caught.value.message == (
        "chat.z.ai asked for a CAPTCHA before it would answer (FRONTEND_CAPTCHA_REQUIRED). ZtoApi never "
        "completes CAPTCHAs. Set ZAI_TOKEN to the token of a logged-in chat.z.ai account (README: "
        "\"Which chat.z.ai\").")
