"""LangChain's ChatOpenAI (langchain-openai) against ZtoApi under gunicorn: text, tool calls, streaming, round trip.

The fake model is scripted to answer with the gateway's tool-call format, a JSON object
{"tool_calls": [{"name": ..., "arguments": {...}}]}; the gateway must turn it into OpenAI tool_calls.
"""
import functools
import json
import operator

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from tests.conftest import KEY
from tests.sent import chat_bodies

PARIS_CALL = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}'
TWO_CALLS = ('{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}, '
             '{"name": "get_weather", "arguments": {"city": "Tokyo"}}]}')


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"sunny, 18 degrees, in {city}"


@pytest.fixture
def llm(server):
    return ChatOpenAI(base_url=f"{server}/v1", api_key=KEY, model="GLM-4.5", max_retries=0)


def upstream_chats(fake):
    """Bodies of the chat requests the gateway sent to the fake chat.z.ai, oldest first."""
    return chat_bodies(fake)


def test_invoke_plain_text(llm):
    message = llm.invoke("Hello, please introduce yourself")
    assert isinstance(message, AIMessage)
    assert message.content == "Echo: Hello, please introduce yourself"
    assert message.tool_calls == []
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.response_metadata["model_name"] == "GLM-4.5"
    usage = message.usage_metadata
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0


def test_stream_plain_text(llm):
    chunks = list(llm.stream("Hello, please introduce yourself"))
    total = functools.reduce(operator.add, chunks)
    assert total.content == "Echo: Hello, please introduce yourself"
    assert total.tool_call_chunks == []
    assert total.response_metadata["finish_reason"] == "stop"


def test_bind_tools_invoke_returns_the_call(fake, llm):
    fake.script_next(answer=PARIS_CALL)
    message = llm.bind_tools([get_weather]).invoke("What's the weather in Paris?")
    assert message.tool_calls == [
        {"name": "get_weather", "args": {"city": "Paris"}, "id": message.tool_calls[0]["id"], "type": "tool_call"}]
    assert message.tool_calls[0]["id"].startswith("call_")
    assert message.invalid_tool_calls == []
    assert message.content == ""
    assert message.response_metadata["finish_reason"] == "tool_calls"
    assert "get_weather" in json.dumps(upstream_chats(fake)[-1])  # the tool was described to the model


def test_bind_tools_stream_sums_to_one_call(fake, llm):
    fake.script_next(answer=PARIS_CALL, chunk=3)
    chunks = list(llm.bind_tools([get_weather]).stream("What's the weather in Paris?", stream_usage=True))
    total = functools.reduce(operator.add, chunks)
    assert len(total.tool_call_chunks) == 1
    call_id = total.tool_call_chunks[0]["id"]
    assert call_id.startswith("call_")
    assert total.tool_call_chunks[0]["name"] == "get_weather"
    assert json.loads(total.tool_call_chunks[0]["args"]) == {"city": "Paris"}
    assert total.tool_calls == [{"name": "get_weather", "args": {"city": "Paris"}, "id": call_id, "type": "tool_call"}]
    assert total.invalid_tool_calls == []
    assert total.content == ""
    assert total.response_metadata["finish_reason"] == "tool_calls"
    assert total.usage_metadata["total_tokens"] > 0


def test_bind_tools_stream_two_parallel_calls(fake, llm):
    fake.script_next(answer=TWO_CALLS, chunk=4)
    chunks = list(llm.bind_tools([get_weather]).stream("What's the weather in Paris and in Tokyo?"))
    total = functools.reduce(operator.add, chunks)
    assert [(c["index"], c["name"]) for c in total.tool_call_chunks] == [(0, "get_weather"), (1, "get_weather")]
    assert [c["args"] for c in total.tool_calls] == [{"city": "Paris"}, {"city": "Tokyo"}]
    ids = [c["id"] for c in total.tool_calls]
    assert len(set(ids)) == 2
    assert all(i.startswith("call_") for i in ids)
    assert total.invalid_tool_calls == []
    assert total.response_metadata["finish_reason"] == "tool_calls"


def test_round_trip_tool_result_then_answer(fake, llm):
    fake.script_next(answer=PARIS_CALL)
    fake.script_next(answer="It is sunny and 18 degrees in Paris.")
    with_tools = llm.bind_tools([get_weather])
    messages = [HumanMessage("What's the weather in Paris?")]
    call_message = with_tools.invoke(messages)
    assert [c["name"] for c in call_message.tool_calls] == ["get_weather"]
    messages.append(call_message)
    for call in call_message.tool_calls:
        messages.append(get_weather.invoke(call))
    assert isinstance(messages[-1], ToolMessage)
    assert messages[-1].tool_call_id == call_message.tool_calls[0]["id"]
    final = with_tools.invoke(messages)
    assert final.content == "It is sunny and 18 degrees in Paris."
    assert final.tool_calls == []
    assert final.response_metadata["finish_reason"] == "stop"
    assert "sunny, 18 degrees, in Paris" in json.dumps(upstream_chats(fake)[-1])  # the tool result reached the model
