"""The bounds on what one request may carry (issue 12, findings 2 to 4): each cap and each 400, in
each protocol's envelope; stop sequences and tool history checked in linear work; free-form JSON
nested too deeply refused at validation; content parts forwarded with only the keys read."""
import pytest
from gunicorn.http.errors import InvalidChunkSize

from tests.conftest import AUTH
from tests.conftest import KEY
from ztoapi import fairness
from ztoapi.anthropic_messages.stops import StopSequences
from ztoapi.errors import ApiError
from ztoapi.openai_chat.schema import ChatCompletionRequest
from ztoapi.pipeline.tools import check_tool_history
from ztoapi.validation import load_or_400
from ztoapi.validation import too_deep

HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
USER = [{"role": "user", "content": "hi"}]
PNG = "data:image/png;base64,iVBORw0KGgo="


def chat(client, **fields):
    return client.post("/v1/chat/completions", json={"model": "GLM-4.5", "messages": USER, **fields},
                       headers=AUTH)


def message(client, path="/v1/messages", **fields):
    return client.post(path, json={"model": "GLM-4.5", "max_tokens": 1024, "messages": USER, **fields},
                       headers=HEADERS)


def nested(levels, leaf=None):
    """An object `levels` deep: {"a": {"a": ... leaf}} (built without recursion)."""
    value = leaf if leaf is not None else {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def tool(parameters):
    return [{"type": "function", "function": {"name": "f", "parameters": parameters}}]


def openai_error(response):
    assert response.status_code == 400
    return response.get_json()["error"]


def anthropic_error(response):
    assert response.status_code == 400
    body = response.get_json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    return body["error"]["message"]


class CountingId(str):
    """A tool call id that counts how often it is compared."""

    comparisons = 0

    def __eq__(self, other):
        CountingId.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


# ------------------------------------------------------------------ OpenAI caps

def test_2049_messages_are_a_400_before_any_is_read(client, fake):
    assert chat(client, messages=USER * 2048, stream=False).status_code == 200
    fake.reset()
    rv = chat(client, messages=USER * 2048 + [{"role": "robot"}])
    assert openai_error(rv) == {
        "message": "Invalid 'messages': array too long. Expected an array with maximum length 2048, "
                   "but got an array with length 2049 instead.",
        "type": "invalid_request_error", "param": "messages", "code": "array_above_max_length"}
    assert fake.requests == []


def test_129_tools_are_a_400(client):
    tools = [{"type": "function", "function": {"name": f"f{i}"}} for i in range(129)]
    error = openai_error(chat(client, tools=tools))
    assert error["param"] == "tools"
    assert error["code"] == "array_above_max_length"
    assert error["message"] == ("Invalid 'tools': array too long. Expected an array with maximum length "
                                "128, but got an array with length 129 instead.")


def test_129_tool_calls_in_one_message_are_a_400(client):
    calls = [{"id": f"c{i}", "type": "function", "function": {"name": "f", "arguments": "{}"}}
             for i in range(129)]
    error = openai_error(chat(client, messages=[*USER, {"role": "assistant", "tool_calls": calls}]))
    assert error["param"] == "messages[1].tool_calls"
    assert error["code"] == "array_above_max_length"


def test_40000_tool_calls_in_history_are_a_400(client):
    calls = [{"id": f"c{i}", "type": "function", "function": {"name": "f", "arguments": "{}"}}
             for i in range(40_000)]
    error = openai_error(chat(client, messages=[*USER, {"role": "assistant", "tool_calls": calls}]))
    assert error["param"] == "messages[1].tool_calls"


def test_a_stop_list_holds_strings_only(client):
    error = openai_error(chat(client, stop=["a", 1]))
    assert (error["param"], error["code"]) == ("stop[1]", "invalid_type")
    assert error["message"] == "Invalid type for 'stop[1]': expected a string, but got an integer instead."


def test_2049_content_parts_are_a_400(client):
    parts = [{"type": "text", "text": "x"}] * 2049
    error = openai_error(chat(client, messages=[{"role": "user", "content": parts}]))
    assert (error["param"], error["code"]) == ("messages[0].content", "array_above_max_length")


def test_a_function_name_past_64_characters_is_a_400(client):
    error = openai_error(chat(client, tools=[{"type": "function", "function": {"name": "f" * 65}}]))
    assert error == {"message": "Invalid 'tools[0].function.name': string too long. Expected a string "
                                "with maximum length 64, but got a string with length 65 instead.",
                     "type": "invalid_request_error", "param": "tools[0].function.name",
                     "code": "string_above_max_length"}


def test_a_function_name_is_ascii(client):
    error = openai_error(chat(client, tools=[{"type": "function", "function": {"name": "météo"}}]))
    assert (error["param"], error["code"]) == ("tools[0].function.name", "invalid_value")


def test_501_images_are_a_400(client, fake):
    parts = [{"type": "image_url", "image_url": {"url": PNG}}] * 501
    error = openai_error(chat(client, model="GLM-4.5V", messages=[{"role": "user", "content": parts}]))
    assert error["code"] == "too_many_images"
    assert error["message"] == ("Invalid 'messages': too many images. Expected at most 500 images in a "
                                "request, but got 501 instead.")
    assert fake.requests == []


# ------------------------------------------------------------------ nesting (OpenAI)

def test_parameters_nested_65_levels_are_a_400(client):
    assert chat(client, tools=tool(nested(64)), stream=False).status_code == 200
    error = openai_error(chat(client, tools=tool(nested(65))))
    assert error == {"message": "Invalid 'tools[0].function.parameters': nested too deeply (more than 64 levels).",
                     "type": "invalid_request_error", "param": "tools[0].function.parameters",
                     "code": "invalid_value"}


def test_parameters_nested_300_levels_are_a_400_not_a_500(client, fake):
    assert openai_error(chat(client, tools=tool(nested(300))))["param"] == "tools[0].function.parameters"
    assert fake.requests == []


def test_a_json_schema_nested_300_levels_is_a_400_not_a_500(client):
    response_format = {"type": "json_schema", "json_schema": {"name": "x", "schema": nested(300)}}
    assert openai_error(chat(client, response_format=response_format))["param"] == "response_format"


def test_a_json_schema_that_is_not_an_object_is_a_400_not_a_500(client):
    error = openai_error(chat(client, response_format={"type": "json_schema", "json_schema": "x"}))
    assert error["param"] == "response_format.json_schema.schema"


def test_arrays_nested_300_levels_count_as_nesting(client):
    value = []
    for _ in range(299):
        value = [value]
    assert openai_error(chat(client, logit_bias={"a": value}))["param"] == "logit_bias"


def test_the_depth_check_takes_any_depth_without_recursion():
    value = {}
    for _ in range(200_000):
        value = {"a": [value]}
    assert too_deep(value)
    assert not too_deep(nested(64))


# ------------------------------------------------------------------ content parts (OpenAI)

def test_content_parts_keep_only_the_keys_read():
    body = ChatCompletionRequest().load({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}, "x": nested(300)},
        {"type": "image_url", "image_url": {"url": PNG, "detail": "low", "x": 1}, "y": 2},
        {"type": "image_url", "image_url": PNG},
        {"type": "input_audio", "input_audio": {"data": "AAA=", "format": "wav", "x": 1}},
        {"type": "file", "file": {"file_id": "file-1", "x": 1}},
        {"type": "refusal", "refusal": "no", "x": 1}]}]})
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "hi"},
        {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}},
        {"type": "image_url", "image_url": {"url": PNG}},
        {"type": "input_audio", "input_audio": {"data": "AAA=", "format": "wav"}},
        {"type": "file", "file": {"file_id": "file-1"}},
        {"type": "refusal", "refusal": "no"}]


def test_a_part_nested_300_levels_deep_reaches_the_vision_model_without_it(client, fake):
    parts = [{"type": "text", "text": "hi", "extra": nested(300)}]
    rv = chat(client, model="GLM-4.5V", messages=[{"role": "user", "content": parts}], stream=False)
    assert rv.status_code == 200
    assert fake.requests[-1]["body"]["messages"][-1]["content"] == [{"type": "text", "text": "hi"}]


def test_an_image_detail_outside_auto_low_high_is_a_400(client):
    parts = [{"type": "image_url", "image_url": {"url": PNG, "detail": "ultra"}}]
    error = openai_error(chat(client, model="GLM-4.5V", messages=[{"role": "user", "content": parts}]))
    assert (error["param"], error["code"]) == ("messages[0].content[0].image_url.detail", "invalid_value")


def test_input_audio_needs_data_and_format_as_strings(client):
    parts = [{"type": "input_audio", "input_audio": {"data": "AAA="}}]
    error = openai_error(chat(client, messages=[{"role": "user", "content": parts}]))
    assert (error["param"], error["code"]) == ("messages[0].content[0].input_audio.format", "invalid_type")


# ------------------------------------------------------------------ integers as JSON Schema has them

def test_a_whole_number_written_as_a_decimal_is_an_integer(client, fake):
    rv = chat(client, max_tokens=100.0, n=1.0, stream=False)
    assert rv.status_code == 200
    assert fake.requests[-1]["body"]["params"]["max_tokens"] == 100


def test_a_fraction_for_an_integer_is_still_a_400(client):
    error = openai_error(chat(client, max_tokens=100.5))
    assert error["message"] == "Invalid type for 'max_tokens': expected an integer, but got a decimal instead."


def test_anthropic_max_tokens_as_a_decimal_whole_number(client):
    assert message(client, max_tokens=1024.0).status_code == 200


# ------------------------------------------------------------------ Anthropic caps, as Anthropic words them

def test_100001_messages_are_a_400(client, fake):
    rv = message(client, messages=USER * 100_001)
    assert anthropic_error(rv) == "messages: List should have at most 100000 items after validation, not 100001"
    assert fake.requests == []


def test_257_stop_sequences_are_a_400(client):
    rv = message(client, stop_sequences=[f"s{i}" for i in range(257)])
    assert anthropic_error(rv) == "stop_sequences: List should have at most 256 items after validation, not 257"


def test_100000_stop_sequences_are_a_400(client):
    rv = message(client, stop_sequences=[f"stop sequence {i}" for i in range(100_000)])
    assert anthropic_error(rv) == ("stop_sequences: List should have at most 256 items after validation, "
                                   "not 100000")


def test_a_stop_sequence_past_256_characters_is_a_400(client):
    rv = message(client, stop_sequences=["ok", "x" * 257])
    assert anthropic_error(rv) == "stop_sequences.1: String should have at most 256 characters"


def test_1001_tools_are_a_400(client):
    tools = [{"name": f"t{i}", "input_schema": {"type": "object"}} for i in range(1001)]
    rv = message(client, tools=tools)
    assert anthropic_error(rv) == "tools: List should have at most 1000 items after validation, not 1001"


def test_2049_blocks_in_a_message_are_a_400(client):
    rv = message(client, messages=[{"role": "user", "content": [{"type": "text", "text": "x"}] * 2049}])
    assert anthropic_error(rv) == ("messages.0.content: List should have at most 2048 items after validation, "
                                   "not 2049")


def test_2049_blocks_in_a_tool_result_are_a_400(client):
    result = {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "x"}] * 2049}
    rv = message(client, messages=[{"role": "user", "content": [result]}])
    assert anthropic_error(rv) == ("messages.0.content.0.content: List should have at most 2048 items after "
                                   "validation, not 2049")


def test_101_images_are_a_400(client, fake):
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    rv = message(client, model="GLM-4.5V", messages=[{"role": "user", "content": [image] * 101}])
    assert anthropic_error(rv) == "messages: too many images: 101 > 100"
    assert fake.requests == []


def test_an_anthropic_tool_name_past_64_characters_is_a_400(client):
    rv = message(client, tools=[{"name": "t" * 65, "input_schema": {"type": "object"}}])
    assert anthropic_error(rv) == "tools.0.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'"


def test_count_tokens_has_the_same_caps(client):
    rv = client.post("/v1/messages/count_tokens", json={"model": "GLM-4.5", "messages": USER * 100_001},
                     headers=HEADERS)
    assert anthropic_error(rv) == "messages: List should have at most 100000 items after validation, not 100001"


# ------------------------------------------------------------------ nesting (Anthropic)

def test_an_input_schema_nested_300_levels_is_a_400(client, fake):
    rv = message(client, tools=[{"name": "t", "input_schema": nested(300)}])
    assert anthropic_error(rv) == "tools.0.input_schema: nested too deeply (more than 64 levels)"
    assert fake.requests == []


def test_a_tool_use_input_nested_300_levels_is_a_400(client):
    turns = [*USER, {"role": "assistant", "content": [
        {"type": "tool_use", "id": "t1", "name": "f", "input": nested(300)}]}]
    rv = message(client, messages=turns)
    assert anthropic_error(rv) == "messages.1.content.0.input: nested too deeply (more than 64 levels)"


def test_metadata_nested_300_levels_is_a_400(client):
    rv = message(client, metadata=nested(300))
    assert anthropic_error(rv) == "metadata: nested too deeply (more than 64 levels)"


# ------------------------------------------------------------------ linear work

def test_stop_sequence_matching_takes_at_most_two_steps_per_character():
    stops = StopSequences(["a" * 255 + chr(0x4E00 + i) for i in range(256)])
    text = "a" * 100_000
    sent = "".join(stops.feed(text[i:i + 7]) for i in range(0, len(text), 7))
    assert stops.steps <= 2 * len(text)
    assert stops.hit is None
    assert sent + stops.flush() == text
    assert len(stops.held) == 0


def test_tool_history_is_checked_with_one_comparison_per_call():
    ids = [CountingId(f"call_{i}") for i in range(2000)]
    calls = [{"id": call_id, "type": "function", "function": {"name": "f", "arguments": "{}"}} for call_id in ids]
    answers = [{"role": "tool", "tool_call_id": CountingId(call_id), "content": "ok"} for call_id in reversed(ids)]
    CountingId.comparisons = 0
    check_tool_history([*USER, {"role": "assistant", "tool_calls": calls}, *answers])
    assert CountingId.comparisons <= 2 * len(ids)
    with pytest.raises(ApiError, match="did not have response messages: call_1999"):
        check_tool_history([{"role": "assistant", "tool_calls": calls}, *answers[1:], *USER])
    with pytest.raises(ApiError, match="must be a response to a preceeding message"):
        check_tool_history([{"role": "assistant", "tool_calls": calls}, *answers, answers[0]])


def test_long_validation_lets_other_greenlets_run(monkeypatch):
    pauses = []
    monkeypatch.setattr(fairness, "cooperative", lambda: True)
    monkeypatch.setattr(fairness, "SLICE", 0)
    monkeypatch.setattr("gevent.sleep", pauses.append)
    load_or_400(ChatCompletionRequest(), {"model": "m", "messages": USER * 2048})
    assert len(pauses) >= 2048
    assert set(pauses) == {fairness.PAUSE} and fairness.PAUSE > 0


# ------------------------------------------------------------------ the body itself

def test_a_malformed_chunked_body_is_a_400(client):
    class BadChunks:
        def read(self, size=-1):
            raise InvalidChunkSize(b"zz")

    rv = client.post("/v1/chat/completions", headers={**AUTH, "Transfer-Encoding": "chunked"},
                     environ_overrides={"wsgi.input": BadChunks(), "wsgi.input_terminated": True})
    assert openai_error(rv)["code"] == "invalid_body"
    assert "InvalidChunkSize" in rv.get_json()["error"]["message"]


def test_a_malformed_chunked_body_is_a_400_in_anthropic_shape(client):
    class BadChunks:
        def read(self, size=-1):
            raise InvalidChunkSize(b"zz")

    rv = client.post("/v1/messages", headers={**HEADERS, "Transfer-Encoding": "chunked"},
                     environ_overrides={"wsgi.input": BadChunks(), "wsgi.input_terminated": True})
    assert anthropic_error(rv).startswith("The request body could not be read: InvalidChunkSize")
