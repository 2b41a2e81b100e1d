"""The Anthropic Messages API through the official `anthropic` Python SDK, against gunicorn and the fake."""
import json
from pathlib import Path

import anthropic
import pydantic
import pytest
import requests

from tests.conftest import KEY
from tests.sent import completions
from tests.sent import last_chat

WEATHER = {"name": "get_weather", "description": "Current weather in a city.",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
ASK = [{"role": "user", "content": "What's the weather in Paris?"}]
ONE_CALL = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}'
THINKING = {"type": "enabled", "budget_tokens": 1024}
CLAUDE_CODE = json.loads((Path(__file__).parent.parent / "fixtures" / "claude_code_tool_round_trip.json").read_text())


@pytest.fixture
def claude(server):
    with anthropic.Anthropic(base_url=server, api_key=KEY, max_retries=0) as client:
        yield client


def test_text(claude):
    message = claude.messages.create(model="GLM-4.5", max_tokens=256, system="Be brief.",
                                     messages=[{"role": "user", "content": "Hello"}])
    assert message.type == "message" and message.role == "assistant" and message.model == "GLM-4.5"
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "Echo: Hello"
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


def test_streaming(claude, fake):
    fake.script_next(answer="Streaming works across many small chunks.", chunk=3)
    with claude.messages.stream(model="GLM-4.5", max_tokens=256,
                                messages=[{"role": "user", "content": "Hello"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Streaming works across many small chunks."
    assert [block.type for block in final.content] == ["text"]
    assert final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 6


def test_stop_sequences_when_streaming(claude, fake):
    fake.script_next(answer="alpha beta ### gamma", chunk=2)
    with claude.messages.stream(model="GLM-4.5", max_tokens=256, stop_sequences=["###"],
                                messages=[{"role": "user", "content": "Hello"}]) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == "alpha beta "
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "###")


def test_tool_use_round_trip(claude, fake):
    fake.script_next(answer=ONE_CALL)
    first = claude.messages.create(model="GLM-4.5", max_tokens=256, messages=ASK, tools=[WEATHER])
    assert first.stop_reason == "tool_use"
    (call,) = [block for block in first.content if block.type == "tool_use"]
    assert call.name == "get_weather" and call.input == {"city": "Paris"}
    assert call.id.startswith("toolu_") and len(call.id) == 30
    assert "## get_weather" in last_chat(fake)["messages"][0]["content"]

    fake.script_next(answer="It is 18 °C and sunny in Paris.")
    history = ASK + [{"role": "assistant", "content": first.content},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id,
                                                   "content": '{"temp_c": 18, "sky": "sunny"}'}]}]
    final = claude.messages.create(model="GLM-4.5", max_tokens=256, messages=history, tools=[WEATHER])
    assert final.content[0].text == "It is 18 °C and sunny in Paris."
    assert final.stop_reason == "end_turn"
    sent = last_chat(fake)["messages"]
    assert sent[-2] == {"role": "assistant", "content": '{"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}}]}'}
    assert sent[-1] == {"role": "user", "content": f'Tool result from get_weather (call {call.id}):\n{{"temp_c": 18, "sky": "sunny"}}'}


def test_streamed_tool_use(claude, fake):
    fake.script_next(answer="Checking.\n```json\n" + ONE_CALL + "\n```", chunk=4)
    with claude.messages.stream(model="GLM-4.5", max_tokens=256, messages=ASK, tools=[WEATHER]) as stream:
        final = stream.get_final_message()
    assert [block.type for block in final.content] == ["text", "tool_use"]
    assert final.content[0].text == "Checking.\n"
    assert final.content[1].input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"


def test_thinking_blocks(claude, fake):
    message = claude.messages.create(model="GLM-4.5", max_tokens=2048, thinking=THINKING,
                                     messages=[{"role": "user", "content": "Hello"}])
    thinking, text = message.content
    assert thinking.type == "thinking" and thinking.thinking == "The user wrote: Hello\nI will echo it."
    assert thinking.signature
    assert text.type == "text" and text.text == "Echo: Hello"
    assert last_chat(fake)["features"]["enable_thinking"] is True

    # a multi-turn conversation sends the signed thinking block back
    follow_up = claude.messages.create(model="GLM-4.5", max_tokens=2048, thinking=THINKING, messages=[
        {"role": "user", "content": "Hello"}, {"role": "assistant", "content": message.content},
        {"role": "user", "content": "Again"}])
    assert follow_up.content[-1].text == "Echo: Again"


def test_streamed_thinking_blocks(claude, fake):
    fake.script_next(answer="Thought through.", reasoning="Step one.\nStep two.", chunk=3)
    with claude.messages.stream(model="GLM-4.5", max_tokens=2048, thinking=THINKING,
                                messages=[{"role": "user", "content": "Hello"}]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert "thinking" in kinds and "signature" in kinds and "text" in kinds
    thinking, text = final.content
    assert thinking.thinking == "Step one.\nStep two." and thinking.signature
    assert text.text == "Thought through."


def test_count_tokens(claude):
    counted = claude.messages.count_tokens(model="GLM-4.5", messages=[{"role": "user", "content": "x" * 400}])
    assert counted.input_tokens == 104


def test_unknown_model_is_not_found(claude):
    with pytest.raises(anthropic.NotFoundError) as caught:
        claude.messages.create(model="claude-nonexistent", max_tokens=16,
                               messages=[{"role": "user", "content": "Hello"}])
    assert caught.value.status_code == 404
    assert caught.value.body["error"]["type"] == "not_found_error"


def test_bad_key_is_an_authentication_error(server):
    with anthropic.Anthropic(base_url=server, api_key="sk-wrong-key-123", max_retries=0) as client:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            client.messages.create(model="GLM-4.5", max_tokens=16, messages=[{"role": "user", "content": "Hello"}])
    assert caught.value.body["error"]["type"] == "authentication_error"


def test_invalid_request_is_a_bad_request_error(claude):
    # this SDK no longer has a temperature argument; older ones and other clients still send it
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model="GLM-4.5", max_tokens=16, extra_body={"temperature": 1.5},
                               messages=[{"role": "user", "content": "Hello"}])
    assert "temperature" in caught.value.body["error"]["message"]


def test_mid_stream_failure_raises(claude):
    prompt = '[[fake {"fault": "error_mid", "answer": "one two three four five", "chunk": 4}]]'
    with pytest.raises(anthropic.APIStatusError) as caught:
        with claude.messages.stream(model="GLM-4.5", max_tokens=256,
                                    messages=[{"role": "user", "content": prompt}]) as stream:
            stream.get_final_message()
    assert caught.value.body["error"]["type"] == "api_error"


# ------------------------------------------------------------------ agents: tool runner, parse, Claude Code

@anthropic.beta_tool
def get_weather(city: str) -> str:
    """Current weather in a city.

    Args:
        city: The city name.
    """
    return f"sunny in {city}"


class Person(pydantic.BaseModel):
    name: str
    age: int


def test_the_default_tool_runner_completes_a_round_trip(claude, fake, monkeypatch, caplog):
    # threads are on by default: ZtoApi refuses `thread`, and the runner goes on without it
    monkeypatch.setattr(fake, "demo", True)
    caplog.set_level("INFO", logger="anthropic")
    runner = claude.beta.messages.tool_runner(
        model="GLM-4.5", max_tokens=256, system="You are terse.", tools=[get_weather],
        messages=[{"role": "user", "content": "What is the weather in Paris?"}])
    first, final = list(runner)
    assert first.stop_reason == "tool_use"
    assert first.content[-1].name == "get_weather" and first.content[-1].input == {"city": "Paris"}
    assert final.stop_reason == "end_turn"
    assert final.content[-1].text == "get_weather says: sunny in Paris"
    assert len(completions(fake)) == 2
    sent = last_chat(fake)["messages"]
    assert sent[0]["role"] == "system" and sent[0]["content"].startswith("You are terse.\n\n# Tools")
    assert sent[-1]["content"].endswith("):\nsunny in Paris")
    assert "continuing without a thread: unsupported=thread" in caplog.text


def test_the_tool_runner_without_threads_completes_a_round_trip(claude, fake, monkeypatch):
    monkeypatch.setattr(fake, "demo", True)
    runner = claude.beta.messages.tool_runner(
        model="GLM-4.5", max_tokens=256, tools=[get_weather], thread=False,
        messages=[{"role": "user", "content": "What is the weather in Rome?"}])
    assert runner.until_done().content[-1].text == "get_weather says: sunny in Rome"
    assert len(completions(fake)) == 2


def test_a_thread_of_our_own_is_refused_with_anthropics_error(claude):
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.beta.messages.create(model="GLM-4.5", max_tokens=16, extra_body={"thread": {"type": "create"}},
                                    messages=[{"role": "user", "content": "Hello"}])
    assert caught.value.body["error"]["details"] == {"error_code": "thread_unsupported_request",
                                                     "unsupported": ["thread"]}


def test_parse_returns_the_parsed_object(claude, fake):
    fake.script_next(answer='```json\n{"name": "Bob", "age": 3}\n```')
    parsed = claude.messages.parse(model="GLM-4.5", max_tokens=256, output_format=Person,
                                   messages=[{"role": "user", "content": "Extract: Bob is 3"}])
    assert parsed.parsed_output == Person(name="Bob", age=3)
    instruction = last_chat(fake)["messages"][0]["content"]
    assert instruction.startswith("Answer with one JSON value that is valid against this JSON Schema")
    assert '"required":["name","age"]' in instruction


def test_claude_codes_requests_are_answered(server, fake):
    path = "/v1/messages?beta=true"
    for request in CLAUDE_CODE["requests"]:
        headers = {**request["headers"], "x-api-key": KEY}
        body = {**request["body"], "model": "GLM-4.5"}
        rv = requests.post(server + path, json=body, headers=headers, timeout=30)
        assert rv.status_code == 200
        assert rv.headers["Content-Type"].startswith("text/event-stream")
        assert rv.text.rstrip().endswith('data: {"type":"message_stop"}')


def test_the_sdk_lists_and_retrieves_models(claude):
    page = claude.models.list(limit=2)
    assert [model.type for model in page.data] == ["model", "model"]
    assert page.has_more is True
    every = [model.id for model in claude.models.list(limit=2)]   # the SDK follows after_id
    assert len(every) == len(set(every)) > 2
    one = claude.models.retrieve(every[0])
    assert one.id == every[0] and one.display_name == every[0]
    assert one.created_at.tzinfo is not None
