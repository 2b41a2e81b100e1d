"""Z.ai's API as an upstream (ztoapi.zaiapi): the body it sends, how it reads replies, its model list
and status, against the strict fake API (tests/fakeapi) on 127.0.0.1."""
import pytest

from config.settings import Settings
from tests.fakeapi import start_in_thread
from ztoapi.catalog import Catalog
from ztoapi.errors import ApiError
from ztoapi.openai_chat.schema import ChatCompletionRequest
from ztoapi.pipeline.request import chat_request
from ztoapi.pipeline.tools import ToolCall
from ztoapi.upstream import ANSWER
from ztoapi.upstream import REASONING
from ztoapi.upstream import TOOL_CALL
from ztoapi.zaiapi.client import ApiClient
from ztoapi.zaiapi.models import public_name
from ztoapi.zaiapi.reply import ApiStream

PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
                                            "parameters": {"type": "object",
                                                           "properties": {"city": {"type": "string"}}}}}


@pytest.fixture(scope="module")
def api():
    fake = start_in_thread(keys=["k1", "k2"])
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def fresh(api):
    api.reset()


def settings_for(api, **overrides):
    return Settings.from_env({}, **{"upstreams": "api", "zai_api_key": "k1", "zai_api_base": api.base_url,
                                    **overrides})


def client_for(api, **overrides):
    return ApiClient(settings_for(api, **overrides), sleep=lambda seconds: None)


def chat_for(client, body):
    body = ChatCompletionRequest().load({"stream": True, **body})
    model = Catalog(client.models).get_or_404(body["model"])
    return chat_request(body, settings_for_client(client), model)


def settings_for_client(client):
    return Settings.from_env({}, upstreams="api", zai_api_key="k1", zai_api_base=client.base)


def read(reply):
    pieces = []
    while True:
        batch = reply.next(5)
        if batch is None:
            return pieces
        pieces += batch


def text(pieces, kind):
    return "".join(value for k, value in pieces if k == kind)


def sent(api):
    return api.requests[-1]["body"]


# ---------------------------------------------------------------- the body sent

def test_plain_request_body(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "messages": [{"role": "user", "content": "hello"}]}))
    pieces = read(reply)
    assert sent(api) == {"model": "glm-4.7", "messages": [{"role": "user", "content": "hello"}],
                         "stream": True, "stream_options": {"include_usage": True},
                         "thinking": {"type": "enabled"}}
    assert api.requests[-1]["headers"]["authorization"] == "Bearer k1"
    assert api.requests[-1]["unknown_fields"] == []
    assert text(pieces, ANSWER) == "Echo: hello"
    assert reply.upstream == "api"
    assert reply.native_tools is True


def test_developer_role_becomes_system(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "messages": [
        {"role": "developer", "content": [{"type": "text", "text": "be brief"}]},
        {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "there"}]}]}))
    read(reply)
    assert sent(api)["messages"] == [{"role": "system", "content": "be brief"},
                                     {"role": "user", "content": "hi\nthere"}]


def test_thinking_disabled(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "enable_thinking": False,
                                          "messages": [{"role": "user", "content": "hello"}]}))
    pieces = read(reply)
    assert sent(api)["thinking"] == {"type": "disabled"}
    assert text(pieces, REASONING) == ""
    assert text(pieces, ANSWER) == "Echo: hello"


def test_thinking_enabled_reads_reasoning(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.7-Thinking",
                                          "messages": [{"role": "user", "content": "hello"}]}))
    pieces = read(reply)
    assert sent(api)["model"] == "glm-4.7"
    assert sent(api)["thinking"] == {"type": "enabled"}
    assert text(pieces, REASONING) == "The user wrote: hello\nI will echo it."
    assert text(pieces, ANSWER) == "Echo: hello"
    assert [kind for kind, _ in pieces].index(ANSWER) > [kind for kind, _ in pieces].index(REASONING)


def test_numbers_are_clamped_into_the_api_ranges(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "temperature": 1.7, "top_p": 0,
                                          "max_tokens": 500000, "messages": [{"role": "user", "content": "hi"}]}))
    read(reply)
    assert sent(api)["temperature"] == 1.0
    assert sent(api)["top_p"] == 0.01
    assert sent(api)["max_tokens"] == 131072


def test_numbers_in_range_pass_unchanged(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "temperature": 0, "top_p": 0.5, "max_tokens": 300,
                                          "messages": [{"role": "user", "content": "hi"}]}))
    read(reply)
    assert sent(api)["temperature"] == 0
    assert sent(api)["top_p"] == 0.5
    assert sent(api)["max_tokens"] == 300


def test_tools_pass_natively_and_calls_come_back(api):
    client = client_for(api)
    tool = {"type": "function", "function": {**WEATHER["function"], "strict": False}}
    api.script_next(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "tools": [tool],
                                          "messages": [{"role": "user", "content": "weather?"}]}))
    pieces = read(reply)
    assert sent(api)["tools"] == [tool]
    assert sent(api)["tool_choice"] == "auto"
    calls = [value for kind, value in pieces if kind == TOOL_CALL]
    assert len(calls) == 1
    assert calls[0].name == "get_weather"
    assert calls[0].arguments == '{"city":"Paris"}'
    assert calls[0].id.startswith("call_")
    assert len(calls[0].id) == len("call_") + 24


def test_forced_function_is_passed(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "tools": [WEATHER],
                                          "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
                                          "messages": [{"role": "user", "content": "weather?"}]}))
    pieces = read(reply)
    assert sent(api)["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert [value for kind, value in pieces if kind == TOOL_CALL][0].arguments == "{}"


def test_required_becomes_auto(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "tools": [WEATHER], "tool_choice": "required",
                                          "messages": [{"role": "user", "content": "weather?"}]}))
    read(reply)
    assert sent(api)["tool_choice"] == "auto"


def test_tool_choice_none_sends_no_tools(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "tools": [WEATHER], "tool_choice": "none",
                                          "messages": [{"role": "user", "content": "weather?"}]}))
    read(reply)
    assert "tools" not in sent(api)
    assert "tool_choice" not in sent(api)


def test_tool_history_is_sent_in_api_shape(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "tools": [WEATHER], "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "sunny"}]},
        {"role": "user", "content": "thanks"}]}))
    pieces = read(reply)
    assert sent(api)["messages"][1:3] == [
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "content": "sunny", "tool_call_id": "call_1"}]
    assert text(pieces, ANSWER) == "Echo: thanks"


def test_image_to_a_vision_model_without_detail(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.6V", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is it"},
        {"type": "image_url", "image_url": {"url": PNG, "detail": "high"}}]}]}))
    pieces = read(reply)
    assert sent(api)["model"] == "glm-4.6v"
    assert sent(api)["messages"][0]["content"] == [{"type": "text", "text": "what is it"},
                                                   {"type": "image_url", "image_url": {"url": PNG}}]
    assert text(pieces, ANSWER).startswith("Echo: what is it [image image/png ")


def test_images_outside_user_messages_become_text(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.6V", "messages": [
        {"role": "user", "content": "draw"},
        {"role": "assistant", "content": [{"type": "text", "text": "here"},
                                          {"type": "image_url", "image_url": {"url": PNG}}]},
        {"role": "user", "content": "thanks"}]}))
    read(reply)
    assert sent(api)["messages"][1] == {"role": "assistant", "content": "here\n[image]"}


def test_json_object_is_passed_to_a_text_model(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "response_format": {"type": "json_object"},
                                          "messages": [{"role": "user", "content": "json please"}]}))
    pieces = read(reply)
    assert sent(api)["response_format"] == {"type": "json_object"}
    assert sent(api)["messages"] == [{"role": "user", "content": "json please"}]
    assert text(pieces, ANSWER) == '{"echo": "json please"}'


def test_json_schema_becomes_json_object_and_an_instruction(api):
    client = client_for(api)
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "messages": [{"role": "user", "content": "who"}],
                                          "response_format": {"type": "json_schema",
                                                              "json_schema": {"name": "person", "schema": schema}}}))
    read(reply)
    assert sent(api)["response_format"] == {"type": "json_object"}
    assert sent(api)["messages"][0]["role"] == "system"
    assert '{"type":"object","properties":{"name":{"type":"string"}}}' in sent(api)["messages"][0]["content"]
    assert sent(api)["messages"][1] == {"role": "user", "content": "who"}


def test_json_schema_to_a_vision_model_is_an_instruction_only(api):
    client = client_for(api)
    schema = {"type": "object"}
    reply = client.open(chat_for(client, {"model": "GLM-4.6V", "messages": [{"role": "user", "content": "who"}],
                                          "response_format": {"type": "json_schema",
                                                              "json_schema": {"name": "x", "schema": schema}}}))
    read(reply)
    assert "response_format" not in sent(api)
    assert "JSON Schema" in sent(api)["messages"][0]["content"]


def test_reasoning_effort_goes_to_the_nearest_the_model_takes(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-5.3", "reasoning_effort": "medium",
                                          "messages": [{"role": "user", "content": "hi"}]}))
    read(reply)
    assert sent(api)["reasoning_effort"] == "high"


def test_reasoning_effort_passes_as_asked_when_taken(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-5.2", "reasoning_effort": "xhigh",
                                          "messages": [{"role": "user", "content": "hi"}]}))
    read(reply)
    assert sent(api)["reasoning_effort"] == "xhigh"


def test_no_reasoning_effort_for_a_model_without_one(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "reasoning_effort": "high",
                                          "messages": [{"role": "user", "content": "hi"}]}))
    read(reply)
    assert "reasoning_effort" not in sent(api)


def test_search_variant_sends_the_web_search_tool(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.7-Search", "messages": [{"role": "user", "content": "news"}]}))
    read(reply)
    assert sent(api)["tools"] == [{"type": "web_search", "web_search": {"enable": True,
                                                                         "search_engine": "search_pro_jina"}}]


def test_stop_is_passed(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "stop": ["lo"], "enable_thinking": False,
                                          "messages": [{"role": "user", "content": "hello"}]}))
    pieces = read(reply)
    assert sent(api)["stop"] == ["lo"]
    assert text(pieces, ANSWER) == "Echo: hel"


def test_tools_to_a_model_without_tools_are_a_400(api):
    client = client_for(api)
    with pytest.raises(ApiError) as caught:
        client.open(chat_for(client, {"model": "GLM-4.5V", "tools": [WEATHER],
                                      "messages": [{"role": "user", "content": "hi"}]}))
    assert caught.value.status == 400
    assert caught.value.code == "unsupported_parameter"
    assert [entry["path"] for entry in api.requests] == ["/api/paas/v4/models"]


# ---------------------------------------------------------------- reading

def test_usage_and_counters(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "messages": [{"role": "user", "content": "one two"}]}))
    read(reply)
    assert reply.usage == {"prompt_tokens": 2, "completion_tokens": 12, "total_tokens": 14,
                           "prompt_tokens_details": {"cached_tokens": 0},
                           "completion_tokens_details": {"reasoning_tokens": 9}}
    assert reply.sources == []
    assert reply.events > 2
    assert reply.stream.finish_reason == "stop"


def test_two_tool_calls_in_order(api):
    client = client_for(api)
    api.script_next(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}},
                                {"name": "get_weather", "arguments": {"city": "Rome"}}])
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "tools": [WEATHER],
                                          "messages": [{"role": "user", "content": "weather?"}]}))
    calls = [value for kind, value in read(reply) if kind == TOOL_CALL]
    assert [call.arguments for call in calls] == ['{"city":"Paris"}', '{"city":"Rome"}']
    assert calls[0].id != calls[1].id


def test_parallel_tool_calls_false_keeps_the_first_call_only(api):
    client = client_for(api)
    api.script_next(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}},
                                {"name": "get_weather", "arguments": {"city": "Rome"}}])
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "tools": [WEATHER], "parallel_tool_calls": False,
                                          "messages": [{"role": "user", "content": "weather?"}]}))
    calls = [value for kind, value in read(reply) if kind == TOOL_CALL]
    assert [call.arguments for call in calls] == ['{"city":"Paris"}']
    assert reply.stream.finish_reason == "tool_calls"


class Blocks:
    """A response whose body is the given blocks."""

    raw = None

    def __init__(self, *blocks):
        self.blocks = blocks

    def iter_content(self, chunk_size=None):
        return iter(self.blocks)

    def close(self):
        pass


def test_tool_call_fragments_are_joined_by_index():
    stream = ApiStream(Blocks(
        b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"id":"call_a","index":0,"type":"function",'
        b'"function":{"name":"f","arguments":"{\\"x\\""}}]}}]}\n\n',
        b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"id":"call_b","index":1,"type":"function",'
        b'"function":{"name":"g","arguments":"{}"}}]}}]}\n\n',
        b'data: {"choices":[{"index":0,"finish_reason":"tool_calls","delta":{"role":"assistant","content":""}}],'
        b'"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}\n\ndata: [DONE]\n\n'))
    batches = list(stream.batches())
    assert batches == [[], [(TOOL_CALL, ToolCall("call_a", "f", '{"x":1}'))], [(TOOL_CALL, ToolCall("call_b", "g", "{}"))]]
    assert stream.usage == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    assert stream.events == 4


def test_lines_split_across_blocks_are_read():
    stream = ApiStream(Blocks(b'data: {"choices":[{"index":0,"delta":{"con', b'tent":"hi"}}]}\n\n',
                              b'data: {"choices":[{"index":0,"finish_reason":"stop","delta":{}}],"usage":{}}\n\n'))
    assert list(stream.batches()) == [[(ANSWER, "hi")], []]


def test_a_body_ending_without_a_final_chunk_is_cut_short():
    stream = ApiStream(Blocks(b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'))
    batches = stream.batches()
    assert next(batches) == [(ANSWER, "hi")]
    with pytest.raises(ApiError) as caught:
        next(batches)
    assert caught.value.code == "upstream_stream_cut"


def test_error_chunk_mid_reply(api):
    client = client_for(api)
    api.script_next(fault="mid_error", after=3, chunk=1)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "enable_thinking": False,
                                          "messages": [{"role": "user", "content": "hello"}]}))
    with pytest.raises(ApiError) as caught:
        read(reply)
    assert caught.value.status == 502
    assert caught.value.code == "upstream_error"
    assert "(500): Internal Error" in caught.value.message


def test_finish_network_error_is_a_failure(api):
    client = client_for(api)
    api.script_next(fault="finish_network_error", after=3, chunk=1)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "enable_thinking": False,
                                          "messages": [{"role": "user", "content": "hello"}]}))
    with pytest.raises(ApiError) as caught:
        read(reply)
    assert caught.value.code == "upstream_error"
    assert "network_error" in caught.value.message


def test_finish_sensitive_ends_the_reply(api):
    client = client_for(api)
    api.script_next(fault="finish_sensitive", after=3, chunk=1)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "enable_thinking": False,
                                          "messages": [{"role": "user", "content": "hello"}]}))
    pieces = read(reply)
    assert text(pieces, ANSWER) == "Ech"
    assert reply.stream.finish_reason == "sensitive"


def test_connection_cut_mid_reply(api):
    client = client_for(api)
    api.script_next(fault="cut", after=3, chunk=1)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "enable_thinking": False,
                                          "messages": [{"role": "user", "content": "hello"}]}))
    with pytest.raises(ApiError) as caught:
        read(reply)
    assert caught.value.code == "upstream_stream_cut"


# ---------------------------------------------------------------- models

def test_models_from_the_api_list(api):
    api.remove_model("glm-4.5-flash")
    api.set_model("glm-6", created=1800000000)
    client = client_for(api)
    models, retired = client.models()
    names = [model.id for model in models]
    assert retired == {}
    assert "GLM-4.5-Flash" not in names
    assert "GLM-6" in names
    assert "GLM-6-Thinking" in names
    glm6 = next(model for model in models if model.id == "GLM-6")
    assert glm6.api_id == "glm-6"
    assert glm6.created == 1800000000
    assert glm6.upstreams == ("api",)
    assert api.requests[-1]["path"].endswith("/models")


def test_model_capabilities(api):
    client = client_for(api)
    models = {model.id: model for model in client.models()[0]}
    assert models["GLM-4.6V"].vision is True
    assert "GLM-4.6V-Thinking" not in models
    assert models["GLM-5.3"].reasoning_effort is True
    assert models["GLM-4.7"].reasoning_effort is False
    assert models["GLM-4.7-Flash"].api_id == "glm-4.7-flash"
    assert models["GLM-4.5-Air-Search"].search is True


def test_models_from_zai_api_models(api):
    client = client_for(api, zai_api_models="glm-4.7, glm-4.6v")
    names = [model.id for model in client.models()[0]]
    assert names == ["GLM-4.7", "GLM-4.6V", "GLM-4.7-Thinking", "GLM-4.7-Search"]
    assert api.requests == []


def test_models_built_in_when_the_list_fails(api):
    api.models_fault = "http500"
    client = client_for(api)
    client.warm()
    names = [model.id for model in client.models()[0]]
    assert names[:16] == ["GLM-5.3", "GLM-5.2", "GLM-5.1", "GLM-5", "GLM-5-Turbo", "GLM-4.7", "GLM-4.7-Flash",
                          "GLM-4.6", "GLM-4.5", "GLM-4.5-Air", "GLM-4.5-Flash", "GLM-4.6V", "GLM-4.6V-Flash",
                          "GLM-4.5V", "GLM-5V-Turbo", "GLM-5.3-Flash"]
    assert len(api.requests) == 1


def test_models_list_is_the_same_tuple_until_it_changes(api):
    client = client_for(api)
    assert client.models()[0] is client.models()[0]


def test_public_names():
    assert public_name("glm-4.5-air") == "GLM-4.5-Air"
    assert public_name("glm-4.6v-flashx") == "GLM-4.6V-FlashX"
    assert public_name("glm-5v-turbo") == "GLM-5V-Turbo"
    assert public_name("glm-4-32b-0414-128k") == "GLM-4-32B-0414-128K"


def test_audio_and_file_parts_become_placeholders(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.7", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "listen"},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        {"type": "file", "file": {"file_id": "file-1"}}]}]}))
    read(reply)
    assert sent(api)["messages"] == [{"role": "user", "content": "listen\n[audio]\n[file]"}]


def test_audio_part_to_a_vision_model_is_text(api):
    client = client_for(api)
    reply = client.open(chat_for(client, {"model": "GLM-4.6V", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": PNG},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}]}))
    read(reply)
    assert sent(api)["messages"][0]["content"] == [{"type": "image_url", "image_url": {"url": PNG}},
                                                   {"type": "text", "text": "[audio]"}]


def test_content_json_cannot_carry_is_a_400(api):
    client = client_for(api)
    with pytest.raises(ApiError) as caught:
        client.open(chat_for(client, {"model": "GLM-4.7", "messages": [{"role": "user", "content": "a\ud800b"}]}))
    assert caught.value.status == 400
    assert caught.value.code == "invalid_request_content"
