"""The Anthropic Messages API in process: shapes, validation, auth, translation, events, count_tokens."""
import base64
import json
import re

import pytest

from tests.conftest import KEY
from tests.conftest import settings_for
from tests.fakezai import make_user_token
from ztoapi import create_app
from ztoapi.anthropic_messages.stops import StopSequences

HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
USER = [{"role": "user", "content": "Hello 世界"}]
WEATHER = {"name": "get_weather", "description": "Current weather in a city.",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}
ONE_CALL = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}'
PNG = base64.b64encode(base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")).decode()


def post(client, body, path="/v1/messages", headers=HEADERS):
    return client.post(path, json=body, headers=headers)


def message(**fields):
    return {"model": "GLM-4.5", "max_tokens": 1024, "messages": USER, **fields}


def last_chat(fake):
    return [r for r in fake.requests if r["path"] == "/api/chat/completions"][-1]["body"]


def events(response):
    """(event name, data) per SSE frame; every frame has both lines and the names agree."""
    text = response.get_data(as_text=True)
    assert text.endswith("\n\n")
    out = []
    for block in text.split("\n\n")[:-1]:
        head, data = block.split("\n")
        assert head.startswith("event: ") and data.startswith("data: ")
        payload = json.loads(data[6:])
        assert payload["type"] == head[7:]
        out.append((head[7:], payload))
    return out


def anthropic_error(response, status, kind):
    assert response.status_code == status
    assert response.content_type == "application/json"
    body = response.get_json()
    assert body["type"] == "error" and body["error"]["type"] == kind
    return body["error"]["message"]


# ------------------------------------------------------------------ responses

def test_text_message_shape(client, fake):
    response = post(client, message())
    assert response.status_code == 200
    body = response.get_json()
    assert re.fullmatch(r"msg_[A-Za-z0-9]{24}", body["id"])
    assert (body["type"], body["role"], body["model"]) == ("message", "assistant", "GLM-4.5")
    assert body["content"] == [{"type": "text", "text": "Echo: Hello 世界"}]
    assert (body["stop_reason"], body["stop_sequence"]) == ("end_turn", None)
    assert body["usage"] == {"input_tokens": 2, "output_tokens": 3}   # the fake's word counts
    assert last_chat(fake)["features"]["enable_thinking"] is False


def test_the_anthropic_prefix_serves_the_same_api(client):
    response = post(client, message(), path="/anthropic/v1/messages")
    assert response.get_json()["content"][0]["text"] == "Echo: Hello 世界"
    counted = post(client, {"model": "GLM-4.5", "messages": USER}, path="/anthropic/v1/messages/count_tokens")
    assert counted.status_code == 200 and counted.get_json()["input_tokens"] > 0


def test_streaming_event_sequence(client, fake):
    fake.script_next(answer="one two three", chunk=3)
    response = post(client, message(stream=True))
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    seen = events(response)
    names = [name for name, _ in seen]
    assert names[:2] == ["message_start", "ping"]
    assert names[2] == "content_block_start" and set(names[3:-3]) == {"content_block_delta"}
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    start = seen[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["usage"]["input_tokens"] > 0 and start["id"].startswith("msg_")
    assert seen[2][1] == {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    assert "".join(data["delta"]["text"] for name, data in seen if name == "content_block_delta") == "one two three"
    assert seen[-2][1] == {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"input_tokens": 2, "output_tokens": 3}}


def test_pings_keep_a_silent_stream_alive(fake):
    client = create_app(settings_for(fake, sse_keepalive_seconds=0.2)).test_client()
    prompt = '[[fake {"fault": "stall", "stall_s": 1.2, "answer": "one two three four", "chunk": 4, "after": 1}]]'
    seen = events(post(client, message(messages=[{"role": "user", "content": prompt}], stream=True)))
    assert [name for name, _ in seen].count("ping") >= 4
    assert "".join(d["delta"]["text"] for name, d in seen if name == "content_block_delta") == "one two three four"
    assert seen[-1][0] == "message_stop"


def test_thinking_blocks_when_enabled(client, fake):
    body = post(client, message(thinking={"type": "enabled", "budget_tokens": 1024}, max_tokens=2048)).get_json()
    thinking, text = body["content"]
    assert thinking["type"] == "thinking"
    assert thinking["thinking"] == "The user wrote: Hello 世界\nI will echo it."
    assert thinking["signature"]
    assert text == {"type": "text", "text": "Echo: Hello 世界"}
    assert last_chat(fake)["features"]["enable_thinking"] is True


def test_streamed_thinking_is_signed_before_it_stops(client):
    seen = events(post(client, message(thinking={"type": "adaptive"}, stream=True)))
    blocks = [(name, data) for name, data in seen if name.startswith("content_block")]
    assert blocks[0][1]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    thinking_end = next(i for i, (name, _) in enumerate(blocks) if name == "content_block_stop")
    assert blocks[thinking_end - 1][1]["delta"]["type"] == "signature_delta"
    assert "".join(d["delta"].get("thinking", "") for _, d in blocks[1:thinking_end]).startswith("The user wrote")
    assert blocks[thinking_end + 1][1]["content_block"]["type"] == "text"
    assert blocks[thinking_end + 1][1]["index"] == 1


@pytest.mark.parametrize("model, thinking, expected", [
    ("GLM-4.5", None, False),
    ("GLM-4.5", {"type": "disabled"}, False),
    ("GLM-4.5-Thinking", None, True),
    ("GLM-4.5-Thinking", {"type": "disabled"}, False),
])
def test_thinking_is_off_unless_asked(client, fake, model, thinking, expected):
    body = post(client, message(model=model, thinking=thinking)).get_json()
    assert last_chat(fake)["features"]["enable_thinking"] is expected
    assert [block["type"] for block in body["content"]] == (["thinking", "text"] if expected else ["text"])


def test_tool_use_block(client, fake):
    fake.script_next(answer="Let me check.\n" + ONE_CALL)
    body = post(client, message(tools=[WEATHER])).get_json()
    text, call = body["content"]
    assert text == {"type": "text", "text": "Let me check.\n"}
    assert call["type"] == "tool_use" and call["name"] == "get_weather" and call["input"] == {"city": "Paris"}
    assert re.fullmatch(r"toolu_[A-Za-z0-9]{24}", call["id"])
    assert body["stop_reason"] == "tool_use"


def test_streamed_tool_use_carries_its_input_as_json(client, fake):
    fake.script_next(answer=ONE_CALL, chunk=2)
    seen = events(post(client, message(tools=[WEATHER], stream=True)))
    blocks = [data for name, data in seen if name.startswith("content_block")]
    assert [b["type"] for b in blocks] == ["content_block_start", "content_block_delta", "content_block_stop"]
    assert blocks[0]["content_block"]["type"] == "tool_use" and blocks[0]["content_block"]["input"] == {}
    assert json.loads(blocks[1]["delta"]["partial_json"]) == {"city": "Paris"}
    assert seen[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_stop_sequences_cut_the_text(client, fake):
    fake.script_next(answer="one two STOP three")
    body = post(client, message(stop_sequences=["STOP", "never"])).get_json()
    assert body["content"] == [{"type": "text", "text": "one two "}]
    assert (body["stop_reason"], body["stop_sequence"]) == ("stop_sequence", "STOP")


def test_stop_sequences_split_across_chunks_never_leak(client, fake):
    fake.script_next(answer="one two STOP three", chunk=1)
    seen = events(post(client, message(stream=True, stop_sequences=["STOP"])))
    text = "".join(d["delta"]["text"] for name, d in seen if name == "content_block_delta")
    assert text == "one two "
    assert seen[-2][1]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "STOP"}
    assert seen[-1][0] == "message_stop"


def test_stop_sequence_filter_holds_back_partial_matches():
    stops = StopSequences(["abcd", "c"])
    assert stops.feed("xa") == "x"
    assert stops.feed("b") == ""
    assert stops.feed("cd") == "ab" and stops.hit == "c"
    partial = StopSequences(["END"])
    assert partial.feed("the EN") == "the " and partial.flush() == "EN"


def test_stop_sequences_hold_back_no_more_than_the_longest_sequence_less_one():
    stops = StopSequences(["x" * 255 + "y"])
    assert stops.feed("x" * 1000) == "x" * 745
    assert len(stops.held) == 255
    assert stops.feed("y") == "" and stops.hit == "x" * 255 + "y"


def test_the_earliest_stop_sequence_wins_and_the_first_in_order_on_a_tie():
    stops = StopSequences(["bcd", "abcd", "cx"])
    assert stops.feed("zzab") == "zz"
    assert stops.feed("cd") == "" and stops.hit == "abcd"
    overlap = StopSequences(["she", "he", "hers"])
    assert overlap.feed("ushers") == "us" and overlap.hit == "he"


def test_a_stop_sequence_found_after_a_flush_starts_afresh():
    stops = StopSequences(["END"])
    assert stops.feed("the EN") == "the "
    assert stops.flush() == "EN"
    assert stops.feed("D and END") == "D and " and stops.hit == "END"


def test_max_tokens_reached_is_the_stop_reason(client, fake):
    fake.script_next(answer="one two three four")
    body = post(client, message(max_tokens=3)).get_json()
    assert body["stop_reason"] == "max_tokens"
    assert last_chat(fake)["params"]["max_tokens"] == 3


def test_parameters_reach_the_upstream(client, fake):
    post(client, message(temperature=0.2, top_p=0.5, top_k=5, metadata={"user_id": "u1"}))
    assert last_chat(fake)["params"] == {"top_p": 0.5, "temperature": 0.2, "max_tokens": 1024}


# ------------------------------------------------------------------ translation

def test_system_and_history_translation(client, fake):
    history = [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "I should call the tool.", "signature": "sig"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": [{"type": "text", "text": "18 C"}]},
            {"type": "text", "text": "And tomorrow?"}]},
    ]
    system = [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Use metric."}]
    post(client, message(system=system, messages=history, tools=[WEATHER]))
    sent = last_chat(fake)["messages"]
    assert sent[0]["role"] == "system"
    assert sent[0]["content"].startswith("Be brief.\nUse metric.\n\n# Tools") and "## get_weather" in sent[0]["content"]
    assert sent[1] == {"role": "user", "content": "Weather in Paris?"}
    assert sent[2] == {"role": "assistant", "content":
                       'Checking.\n\n{"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}}]}'}
    assert sent[3] == {"role": "user", "content": "Tool result from get_weather (call toolu_01):\n18 C"}
    assert sent[4] == {"role": "user", "content": "And tomorrow?"}


def test_tool_result_errors_and_string_content(client, fake):
    history = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Oslo"}},
            {"type": "tool_use", "id": "toolu_b", "name": "get_weather", "input": {"city": "Rome"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_a", "content": "rain"},
            {"type": "tool_result", "tool_use_id": "toolu_b", "content": "timeout", "is_error": True}]},
    ]
    post(client, message(messages=history, tools=[WEATHER]))
    sent = last_chat(fake)["messages"]
    assert sent[-2]["content"] == "Tool result from get_weather (call toolu_a):\nrain"
    assert sent[-1]["content"] == "Tool result from get_weather (call toolu_b):\nError: timeout"


@pytest.mark.parametrize("choice, says", [
    ({"type": "any"}, "You must call at least one tool"),
    ({"type": "tool", "name": "get_weather"}, 'You must call the tool "get_weather"'),
    ({"type": "auto", "disable_parallel_tool_use": True}, "Call at most one tool per answer."),
])
def test_tool_choice_reaches_the_instruction(client, fake, choice, says):
    post(client, message(tools=[WEATHER], tool_choice=choice))
    assert says in last_chat(fake)["messages"][0]["content"]


def test_tool_choice_none_offers_no_tools(client, fake):
    fake.script_next(answer=ONE_CALL)
    body = post(client, message(tools=[WEATHER], tool_choice={"type": "none"})).get_json()
    assert body["content"] == [{"type": "text", "text": ONE_CALL}]
    assert "## get_weather" not in json.dumps(last_chat(fake)["messages"])


def test_a_tool_result_that_answers_no_call_is_a_400(client):
    history = [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "?"}]}]
    message_text = anthropic_error(post(client, message(messages=history)), 400, "invalid_request_error")
    assert message_text == ("messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: "
                            "toolu_x. Each `tool_result` block must have a corresponding `tool_use` block in "
                            "the previous message.")


def test_an_unanswered_tool_use_is_a_400(client):
    history = USER + [{"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_x", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": "and?"}]
    message_text = anthropic_error(post(client, message(messages=history, tools=[WEATHER])), 400,
                                   "invalid_request_error")
    assert message_text == ("messages.1: `tool_use` ids were found without `tool_result` blocks immediately "
                            "after: toolu_x. Each `tool_use` block must have a corresponding `tool_result` "
                            "block in the next message.")


def test_base64_images_go_to_vision_models(fake):
    token = make_user_token("user-7")
    fake.add_user_token(token)
    client = create_app(settings_for(fake, zai_token=token)).test_client()
    content = [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
               {"type": "text", "text": "What is this?"}]
    body = post(client, message(model="GLM-4.5V", messages=[{"role": "user", "content": content}])).get_json()
    assert body["content"][0]["text"] == "Echo: What is this? [image image/png 70 bytes]"


def test_images_for_text_models_are_a_400(client):
    content = [{"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]
    message_text = anthropic_error(post(client, message(messages=[{"role": "user", "content": content}])),
                                   400, "invalid_request_error")
    assert message_text.startswith("messages.0.content.0: model GLM-4.5 does not accept images; use a vision model (")


# ------------------------------------------------------------------ errors

@pytest.mark.parametrize("body, says", [
    ({"model": "GLM-4.5", "messages": USER}, "max_tokens: Field required"),
    ({"max_tokens": 5, "messages": USER}, "model: Field required"),
    (message(max_tokens=0), "max_tokens: Input should be greater than or equal to 1"),
    (message(max_tokens="5"), "max_tokens: Input should be an integer"),
    (message(messages=[]), "messages: List should have at least 1 item after validation, not 0"),
    (message(messages=[{"role": "tool", "content": "x"}]),
     'messages.0.role: Unexpected role "tool". Allowed roles are "user", "assistant" or "system".'),
    (message(messages=[{"role": "user", "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {}}]}]),
     "messages.0.content.0.type: Invalid value: 'tool_use'. Blocks of user messages may be: 'text', 'image', "
     "'tool_result'."),
    (message(messages=[*USER, {"role": "system", "content": [{"type": "image", "source": {"type": "url", "url": "u"}}]}]),
     "messages.1.content.0.type: Invalid value: 'image'. Blocks of system messages may be: 'text'."),
    (message(messages=[{"role": "user", "content": [{"type": "document"}]}]),
     "messages.0.content.0.type: Input tag 'document' found using 'type' does not match any of the expected "
     "tags: 'text', 'image', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'"),
    (message(messages=[{"role": "user", "content": [{"type": "image", "source": {"type": "base64"}}]}]),
     "messages.0.content.0.source.media_type: Field required"),
    (message(messages=[{"role": "user", "content": [{"type": "text"}]}]), "messages.0.content.0.text: Field required"),
    (message(temperature=1.5), "temperature: Input should be less than or equal to 1"),
    (message(thinking={"type": "enabled"}), "thinking.budget_tokens: Field required"),
    (message(thinking={"type": "enabled", "budget_tokens": 100}),
     "thinking.budget_tokens: Input should be greater than or equal to 1024"),
    (message(thinking={"type": "enabled", "budget_tokens": 2048}, max_tokens=1024),
     "max_tokens: 'max_tokens' must be greater than 'thinking.budget_tokens'."),
    (message(tools=[WEATHER], tool_choice={"type": "tool", "name": "other"}),
     "tool_choice.name: No tool named 'other' is in 'tools'."),
    (message(tools=[{"name": "web_search", "type": "web_search_20250305"}]),
     "tools.0.type: Input tag 'web_search_20250305' found using 'type' does not match any of the expected "
     "tags: 'custom'"),
    (message(stop_sequences=[""]), "stop_sequences.0: Expected a non-empty string."),
    (message(stream="yes"), "stream: Input should be a boolean"),
    (message(output_config={"effort": "huge"}),
     "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"),
    (message(output_config={"format": {"type": "json_schema"}}), "output_config.format.schema: Field required"),
    (message(output_config={"format": {"type": "json_object", "schema": {}}}),
     "output_config.format.type: Input tag 'json_object' found using 'type' does not match any of the "
     "expected tags: 'json_schema'"),
    (["not", "an", "object"], "Invalid type for request body"),
])
def test_validation_errors_in_anthropic_words(client, body, says):
    assert says in anthropic_error(post(client, body), 400, "invalid_request_error")


def test_malformed_json_is_a_400(client):
    response = client.post("/v1/messages", data="{nope", headers={**HEADERS, "Content-Type": "application/json"})
    anthropic_error(response, 400, "invalid_request_error")


def test_unknown_model_is_not_found(client):
    assert "claude-x" in anthropic_error(post(client, message(model="claude-x")), 404, "not_found_error")


@pytest.mark.parametrize("headers", [{"x-api-key": KEY}, {"Authorization": f"Bearer {KEY}"}])
def test_either_key_header_is_accepted(client, headers):
    assert post(client, message(), headers=headers).status_code == 200
    assert post(client, {"model": "GLM-4.5", "messages": USER}, "/v1/messages/count_tokens", headers).status_code == 200


@pytest.mark.parametrize("headers, says", [
    ({}, "x-api-key header is required"),
    ({"x-api-key": "sk-wrong-key-123"}, "Incorrect API key provided"),
    ({"Authorization": "Bearer sk-wrong-key-123"}, "Incorrect API key provided"),
])
def test_bad_keys_are_authentication_errors(client, headers, says):
    assert says in anthropic_error(post(client, message(), headers=headers), 401, "authentication_error")
    anthropic_error(post(client, message(), "/v1/messages/count_tokens", headers), 401, "authentication_error")


def test_openai_routes_keep_their_error_shape(client):
    response = client.post("/v1/chat/completions", json={"model": "GLM-4.5", "messages": USER})
    assert response.status_code == 401 and "type" in response.get_json()["error"]
    assert "x-api-key header" not in response.get_json()["error"]["message"]


@pytest.mark.parametrize("fault, status, kind", [
    ("http500", 502, "api_error"), ("error_start", 502, "api_error"), ("http429", 429, "rate_limit_error")])
@pytest.mark.parametrize("stream", [True, False])
def test_upstream_failures_before_the_first_byte(client, fault, status, kind, stream):
    prompt = [{"role": "user", "content": f'hi [[fake {{"fault": "{fault}"}}]]'}]
    response = post(client, message(messages=prompt, stream=stream))
    assert "chat.z.ai" in anthropic_error(response, status, kind)
    if status == 429:
        assert response.headers["Retry-After"]


@pytest.mark.parametrize("fault", ["error_mid", "cut"])
def test_failures_mid_stream_end_with_an_error_event(client, fault):
    prompt = [{"role": "user", "content": f'[[fake {{"fault": "{fault}", "answer": "one two three four five", "chunk": 4}}]]'}]
    seen = events(post(client, message(messages=prompt, stream=True)))
    assert seen[0][0] == "message_start"
    assert seen[-1][0] == "error"
    assert seen[-1][1]["error"]["type"] == "api_error" and seen[-1][1]["error"]["message"]
    assert "message_stop" not in [name for name, _ in seen]


# ------------------------------------------------------------------ count_tokens

def test_count_tokens_estimates_about_four_characters_a_token(client):
    text = "x" * 400
    counted = post(client, {"model": "GLM-4.5", "messages": [{"role": "user", "content": text}]},
                   "/v1/messages/count_tokens").get_json()
    assert counted == {"input_tokens": 104}   # 100 for the text, 4 for the message


def test_count_tokens_counts_system_and_tools(client):
    base = post(client, {"model": "GLM-4.5", "messages": USER}, "/v1/messages/count_tokens").get_json()["input_tokens"]
    system = post(client, {"model": "GLM-4.5", "messages": USER, "system": "s" * 40},
                  "/v1/messages/count_tokens").get_json()["input_tokens"]
    tools = post(client, {"model": "GLM-4.5", "messages": USER, "tools": [WEATHER]},
                 "/v1/messages/count_tokens").get_json()["input_tokens"]
    assert system == base + 14
    assert tools > base + 50   # the tool instruction the model really reads


def test_count_tokens_validates_like_messages(client):
    assert "claude-x" in anthropic_error(post(client, {"model": "claude-x", "messages": USER},
                                              "/v1/messages/count_tokens"), 404, "not_found_error")
    anthropic_error(post(client, {"model": "GLM-4.5", "messages": [{"role": "bot", "content": "x"}]},
                         "/v1/messages/count_tokens"), 400, "invalid_request_error")


def test_wrong_method_and_unknown_path_are_anthropic_errors(client):
    wrong_method = client.get("/v1/messages", headers={"x-api-key": "sk-test-key"})
    unknown = client.post("/anthropic/v1/nothing", headers={"x-api-key": "sk-test-key"})
    assert wrong_method.status_code == 405 and unknown.status_code == 404
    assert wrong_method.get_json()["type"] == "error"
    assert wrong_method.get_json()["error"]["type"] == "invalid_request_error"
    assert unknown.get_json() == {"type": "error", "error": {
        "type": "not_found_error", "message": "Invalid URL (POST /anthropic/v1/nothing)"}}
