"""/v1/messages as current clients send it: Claude Code's system messages and extra fields,
output_config (structured output, effort), beta headers, `thread`, and errors in Anthropic's words."""
import json
from pathlib import Path

import pytest

from tests.conftest import KEY
from tests.conftest import settings_for
from tests.fakezai import make_user_token
from tests.test_anthropic_api import HEADERS
from tests.test_anthropic_api import USER
from tests.test_anthropic_api import WEATHER
from tests.test_anthropic_api import anthropic_error
from tests.test_anthropic_api import events
from tests.test_anthropic_api import last_chat
from tests.test_anthropic_api import message
from tests.test_anthropic_api import post
from ztoapi import create_app
from ztoapi.anthropic_messages.request import openai_body
from ztoapi.anthropic_messages.schema import MessagesRequest
from ztoapi.catalog import Model

CLAUDE_CODE = json.loads((Path(__file__).parent / "fixtures" / "claude_code_tool_round_trip.json").read_text())
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
          "required": ["name", "age"], "additionalProperties": False}
SCHEMA_INSTRUCTION = ("Answer with one JSON value that is valid against this JSON Schema, and nothing else "
                      "(no prose, no code fences): " + json.dumps(PERSON, separators=(",", ":")))


def claude_code(number, **changes):
    """Claude Code's request `number` (0: the question, 1: the tool result), as sent but for `changes`."""
    request = CLAUDE_CODE["requests"][number]
    return request["path"], {**request["headers"], "x-api-key": KEY}, {**request["body"], **changes}


# ------------------------------------------------------------------ Claude Code

def test_claude_codes_question_is_answered_as_json(client, fake):
    path, headers, body = claude_code(0, stream=False)
    rv = client.post(path, json=body, headers=headers)
    assert rv.status_code == 200
    assert rv.get_json()["content"][-1]["text"].startswith("Echo: ")
    assert [m["role"] for m in last_chat(fake)["messages"]] == ["system", "user", "system"]


def test_claude_codes_question_is_answered_as_a_stream(client, fake):
    path, headers, body = claude_code(0)
    rv = client.post(path, json=body, headers=headers)
    assert rv.status_code == 200
    assert rv.mimetype == "text/event-stream"
    names = [name for name, _ in events(rv)]
    assert names[0] == "message_start" and names[-1] == "message_stop"


def test_claude_codes_tool_result_is_answered_as_json(client, fake):
    path, headers, body = claude_code(1, stream=False)
    rv = client.post(path, json=body, headers=headers)
    assert rv.status_code == 200
    sent = last_chat(fake)["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "system", "assistant", "user"]
    assert sent[3]["content"] == ('{"tool_calls":[{"name":"Bash","arguments":{"command":"echo hello-from-bash",'
                                  '"description":"Print a greeting"}}]}')
    assert sent[4]["content"] == "Tool result from Bash (call toolu_aec13356f1a749d6a364):\nhello-from-bash"


def test_claude_codes_tool_result_is_answered_as_a_stream(client, fake):
    path, headers, body = claude_code(1)
    rv = client.post(path, json=body, headers=headers)
    assert rv.status_code == 200
    assert [name for name, _ in events(rv)][-1] == "message_stop"


def test_claude_codes_call_comes_back_as_a_tool_use_block(client, fake):
    fake.script_next(answer='{"tool_calls": [{"name": "Bash", "arguments": {"command": "echo hi"}}]}')
    path, headers, body = claude_code(0, stream=False)
    rv = client.post(path, json=body, headers=headers)
    assert rv.get_json()["stop_reason"] == "tool_use"
    assert rv.get_json()["content"][-1]["input"] == {"command": "echo hi"}


# ------------------------------------------------------------------ system messages, unknown fields

def test_system_messages_stay_at_their_place(client, fake):
    history = [{"role": "user", "content": "Hi"},
               {"role": "system", "content": "Reply in French."},
               {"role": "assistant", "content": "Bonjour"},
               {"role": "system", "content": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "No emoji."}]},
               {"role": "user", "content": "How are you?"}]
    rv = post(client, message(system="Top.", messages=history))
    assert rv.status_code == 200
    assert last_chat(fake)["messages"] == [
        {"role": "system", "content": "Top."},
        {"role": "user", "content": "Hi"},
        {"role": "system", "content": "Reply in French."},
        {"role": "assistant", "content": "Bonjour"},
        {"role": "system", "content": "Be brief.\nNo emoji."},
        {"role": "user", "content": "How are you?"}]


def test_a_system_message_may_come_first(client, fake):
    rv = post(client, message(messages=[{"role": "system", "content": "Be brief."}, *USER]))
    assert rv.status_code == 200
    assert last_chat(fake)["messages"] == [{"role": "system", "content": "Be brief."},
                                          {"role": "user", "content": "Hello 世界"}]


def test_unknown_message_and_block_fields_are_ignored(client, fake):
    history = [{"role": "user", "id": "m1", "content": [
                   {"type": "text", "text": "Weather?", "cache_control": {"type": "ephemeral"}, "citations": None}]},
               {"role": "system", "output_config": {"effort": "medium"}, "content": [
                   {"type": "text", "text": "Env.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]},
               {"role": "assistant", "stop_reason": "tool_use", "content": [
                   {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}, "caller": {"type": "direct"}}]},
               {"role": "user", "content": [
                   {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny", "is_error": False,
                    "cache_control": {"type": "ephemeral"}}]}]
    tools = [{**WEATHER, "defer_loading": False, "cache_control": {"type": "ephemeral"}, "strict": True}]
    rv = post(client, message(messages=history, tools=tools, context_management={"edits": [
        {"type": "clear_thinking_20251015", "keep": "all"}]}, container=None, service_tier="auto"))
    assert rv.status_code == 200
    assert last_chat(fake)["messages"][-1]["content"] == "Tool result from get_weather (call toolu_1):\nsunny"


def test_beta_headers_and_the_beta_query_are_accepted(client):
    headers = {**HEADERS, "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,effort-2025-11-24"}
    assert client.post("/v1/messages?beta=true", json=message(), headers=headers).status_code == 200
    assert client.post("/v1/messages/count_tokens?beta=true", json={"model": "GLM-4.5", "messages": USER},
                       headers=headers).status_code == 200


def test_count_tokens_takes_system_messages(client):
    rv = post(client, {"model": "GLM-4.5", "messages": [*USER, {"role": "system", "content": "s" * 40}]},
              "/v1/messages/count_tokens")
    assert rv.get_json() == {"input_tokens": 21}


# ------------------------------------------------------------------ output_config

def test_output_format_asks_for_json_against_the_schema(client, fake):
    rv = post(client, message(output_config={"format": {"type": "json_schema", "schema": PERSON}}))
    assert rv.status_code == 200
    assert last_chat(fake)["messages"][0] == {"role": "system", "content": SCHEMA_INSTRUCTION}


def test_output_format_answer_loses_its_code_fence(client, fake):
    fake.script_next(answer='```json\n{"name": "Ada", "age": 36}\n```')
    rv = post(client, message(output_config={"format": {"type": "json_schema", "schema": PERSON}}))
    assert rv.get_json()["content"] == [{"type": "text", "text": '{"name": "Ada", "age": 36}'}]


def test_without_output_format_the_fence_stays(client, fake):
    fake.script_next(answer='```json\n{"name": "Ada", "age": 36}\n```')
    rv = post(client, message())
    assert rv.get_json()["content"] == [{"type": "text", "text": '```json\n{"name": "Ada", "age": 36}\n```'}]


def test_output_format_and_tools_both_reach_the_model(client, fake):
    rv = post(client, message(tools=[WEATHER], output_config={"format": {"type": "json_schema", "schema": PERSON}}))
    assert rv.status_code == 200
    sent = last_chat(fake)["messages"]
    assert sent[0] == {"role": "system", "content": SCHEMA_INSTRUCTION}
    assert "## get_weather" in sent[1]["content"]


@pytest.mark.parametrize("effort", ["low", "medium", "high", "max"])
def test_an_effort_turns_thinking_on(client, fake, effort):
    rv = post(client, message(output_config={"effort": effort}))
    assert rv.status_code == 200
    assert last_chat(fake)["features"]["enable_thinking"] is True


def test_explicitly_disabled_thinking_wins_over_an_effort(client, fake):
    post(client, message(output_config={"effort": "high"}, thinking={"type": "disabled"}))
    assert last_chat(fake)["features"]["enable_thinking"] is False


def test_no_effort_and_no_thinking_means_no_thinking(client, fake):
    post(client, message(output_config={}))
    assert last_chat(fake)["features"]["enable_thinking"] is False


def test_the_effort_goes_on_as_the_reasoning_effort():
    body = MessagesRequest().load(message(output_config={"effort": "max"}))
    assert openai_body(body, Model("GLM-4.5", "glm-4.5", 0))["reasoning_effort"] == "max"


def test_an_effort_brings_thinking_blocks_back(client, fake):
    rv = post(client, message(output_config={"effort": "low"}))
    assert [block["type"] for block in rv.get_json()["content"]] == ["thinking", "text"]


# ------------------------------------------------------------------ thread

def test_a_thread_is_refused_so_sdks_resend_the_whole_history(client, fake):
    rv = post(client, message(thread={"type": "create"}))
    assert rv.status_code == 400
    assert rv.get_json() == {"type": "error", "error": {
        "type": "invalid_request_error",
        "message": "thread: ZtoApi keeps no server-side threads. Send the full conversation without `thread`.",
        "details": {"error_code": "thread_unsupported_request", "unsupported": ["thread"]}}}
    assert last_chat_count(fake) == 0


def test_a_thread_continuation_is_refused_before_its_lone_tool_result_is_read(client):
    body = {"model": "GLM-4.5", "max_tokens": 256,
            "thread": {"type": "continue", "previous_message_id": "msg_01"},
            "messages": [{"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]}]}
    rv = post(client, body, headers={**HEADERS, "anthropic-beta": "message-threads-2026-08-12"})
    assert rv.status_code == 400
    assert rv.get_json()["error"]["details"] == {"error_code": "thread_unsupported_request",
                                                 "unsupported": ["thread"]}


def test_a_null_thread_is_no_thread(client):
    assert post(client, message(thread=None)).status_code == 200


def test_other_errors_carry_no_details(client):
    rv = post(client, message(max_tokens=0))
    assert "details" not in rv.get_json()["error"]


def last_chat_count(fake):
    return len([r for r in fake.requests if r["path"] == "/api/chat/completions"])


# ------------------------------------------------------------------ Anthropic's words

def test_an_unknown_role_is_an_unexpected_role(client):
    rv = post(client, message(messages=[{"role": "bot", "content": "x"}]))
    assert anthropic_error(rv, 400, "invalid_request_error") == (
        'messages.0.role: Unexpected role "bot". Allowed roles are "user", "assistant" or "system".')


def test_a_tool_result_in_the_wrong_place_names_its_block(client):
    history = [*USER, {"role": "assistant", "content": "Hi"},
               {"role": "user", "content": [{"type": "text", "text": "x"},
                                            {"type": "tool_result", "tool_use_id": "toolu_9", "content": "?"}]}]
    rv = post(client, message(messages=history))
    assert anthropic_error(rv, 400, "invalid_request_error").startswith(
        "messages.2.content.1: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9.")


def test_a_tool_result_two_turns_late_is_unanswered(client):
    history = [*USER, {"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]},
        {"role": "system", "content": "Env."},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "?"}]}]
    message_text = anthropic_error(post(client, message(messages=history, tools=[WEATHER])), 400,
                                   "invalid_request_error")
    assert message_text.startswith("messages.1: `tool_use` ids were found without `tool_result` blocks")


def test_a_second_result_for_one_call_is_unexpected(client):
    history = [*USER, {"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a"},
                                     {"type": "tool_result", "tool_use_id": "toolu_1", "content": "b"}]}]
    message_text = anthropic_error(post(client, message(messages=history, tools=[WEATHER])), 400,
                                   "invalid_request_error")
    assert message_text.startswith("messages.2.content.1: unexpected `tool_use_id`")


def test_an_assistant_turn_ending_in_a_tool_use_is_unanswered(client):
    history = [*USER, {"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]}]
    message_text = anthropic_error(post(client, message(messages=history, tools=[WEATHER])), 400,
                                   "invalid_request_error")
    assert "after: toolu_1." in message_text


def test_history_errors_never_speak_openai(client):
    history = [*USER, {"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
        {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a"}]}]
    message_text = anthropic_error(post(client, message(messages=history, tools=[WEATHER])), 400,
                                   "invalid_request_error")
    assert "after: toolu_2." in message_text
    assert "tool_calls" not in message_text and "'tool'" not in message_text


def test_count_tokens_words_history_errors_as_anthropic_does(client):
    history = [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "?"}]}]
    rv = post(client, {"model": "GLM-4.5", "messages": history}, "/v1/messages/count_tokens")
    assert anthropic_error(rv, 400, "invalid_request_error").startswith("messages.0.content.0: unexpected `tool_use_id`")


def test_an_image_for_a_text_model_names_its_anthropic_path(client):
    content = [{"type": "text", "text": "What is this?"},
               {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
               {"role": "user", "content": content}]
    rv = post(client, message(system="Top.", messages=history))
    assert anthropic_error(rv, 400, "invalid_request_error").startswith(
        "messages.2.content.1: model GLM-4.5 does not accept images")


def test_a_bad_image_is_named_by_its_anthropic_path(fake):
    token = make_user_token("user-8")
    fake.add_user_token(token)
    client = create_app(settings_for(fake, zai_token=token)).test_client()
    history = [{"role": "user", "content": "Weather?"},
               {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]},
               {"role": "user", "content": [
                   {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                   {"type": "text", "text": "And this?"},
                   {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "not base64!"}}]}]
    rv = post(client, message(model="GLM-4.5V", system="Top.", messages=history, tools=[WEATHER]))
    assert anthropic_error(rv, 400, "invalid_request_error") == (
        "messages.2.content.2: Invalid image: the data: URL is not valid base64.")
