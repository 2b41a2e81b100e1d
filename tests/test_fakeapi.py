"""Self-tests for the fake Z.ai OpenAI-compatible API in tests/fakeapi."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest
import requests

from tests.fakeapi import CODING_BASE, FakeZaiApi, Model, start_in_thread

ROOT = Path(__file__).resolve().parents[1]
AUTH = {"Authorization": "Bearer k1"}
HI = [{"role": "user", "content": "hi"}]
BASE = {"model": "glm-4.7", "messages": HI}
WEATHER = {"type": "function", "function": {
    "name": "weather", "description": "Get the weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
PNG = "data:image/png;base64,iVBORw0KGgo="
ID = re.compile(r"\d{14}[0-9a-f]{16}")
SENSITIVE = "系统检测到输入或生成内容可能包含不安全或敏感内容，请您避免输入易产生敏感内容的提示语，感谢您的配合。"


@pytest.fixture()
def fake():
    """A running fake accepting keys k1 and k2."""
    server = start_in_thread(keys=["k1", "k2"])
    yield server
    server.stop()


@pytest.fixture()
def client(fake):
    """The openai SDK pointed at the fake, without retries."""
    return openai.OpenAI(api_key="k1", base_url=fake.base_url, max_retries=0)


def chat(fake, body, headers=AUTH, **kwargs):
    """POST a chat completion body and return the response."""
    return requests.post(fake.base_url + "/chat/completions", json=body, headers=headers, timeout=10, **kwargs)


def events(rv) -> list[str]:
    """The raw `data: ...` events of an SSE response, in order."""
    return [e for e in rv.text.split("\n\n") if e]


def chunks(rv) -> list[dict]:
    """The JSON chunks of an SSE response ([DONE] left out)."""
    return [json.loads(e[6:]) for e in events(rv) if e != "data: [DONE]"]


def wait_for(check, seconds=5) -> bool:
    """Poll check() until it is true or seconds pass."""
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.01)
    return check()


# -- models and auth ---------------------------------------------------------------------------------------------------
def test_models_list(fake):
    rv = requests.get(fake.base_url + "/models", headers=AUTH, timeout=5)
    assert rv.status_code == 200
    assert rv.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert rv.json()["object"] == "list"
    assert [m["id"] for m in rv.json()["data"]] == [
        "glm-5.3", "glm-5.2", "glm-5.1", "glm-5", "glm-5-turbo", "glm-4.7", "glm-4.7-flash", "glm-4.6", "glm-4.5",
        "glm-4.5-air", "glm-4.5-flash", "glm-4.6v", "glm-4.6v-flash", "glm-4.5v", "glm-5v-turbo", "glm-5.3-flash"]
    assert rv.json()["data"][5] == {"id": "glm-4.7", "object": "model", "created": 1766332800, "owned_by": "z-ai"}
    assert requests.get(fake.base_url + "/models", timeout=5).status_code == 401


def test_models_faults(fake):
    fake.models_fault = "http404"
    rv = requests.get(fake.base_url + "/models", headers=AUTH, timeout=5)
    assert rv.status_code == 404
    assert rv.json() == {"error": {"code": "1222", "message": "API /api/paas/v4/models does not exist"}}
    fake.models_fault = "http500"
    rv = requests.get(fake.base_url + "/models", headers=AUTH, timeout=5)
    assert rv.status_code == 500
    assert rv.json() == {"error": {"code": "500", "message": "Internal Error"}}
    with pytest.raises(ValueError):
        fake.models_fault = "http418"
    fake.reset()
    assert requests.get(fake.base_url + "/models", headers=AUTH, timeout=5).status_code == 200


def test_catalogue_flags_are_settable(fake):
    assert fake.models["glm-4.7-flash"].free is True
    assert fake.models["glm-4.6v"].vision is True
    assert fake.models["glm-4.5"].thinking is True
    fake.set_model("glm-4.7", vision=True)
    image = {"type": "image_url", "image_url": {"url": PNG}}
    rv = chat(fake, {**BASE, "messages": [{"role": "user", "content": [image]}]})
    assert rv.status_code == 200
    fake.set_model("glm-9", thinking=False)
    rv = chat(fake, {**BASE, "model": "glm-9"})
    assert rv.json()["choices"][0]["message"] == {"content": "Echo: hi", "role": "assistant"}
    fake.remove_model("glm-4.5")
    assert chat(fake, {**BASE, "model": "glm-4.5"}).json()["error"]["code"] == "1211"
    assert "glm-4.5" not in [m["id"] for m in requests.get(fake.base_url + "/models", headers=AUTH).json()["data"]]
    fake.reset()
    assert fake.models["glm-4.7"].vision is False
    assert "glm-9" not in fake.models
    own = FakeZaiApi(keys=["k"], models=[Model("only-one", 1)])
    assert list(own.models) == ["only-one"]


def test_missing_and_unknown_key(fake):
    rv = chat(fake, BASE, headers={})
    assert rv.status_code == 401
    assert rv.json() == {"error": {"code": "1001", "message": "Authentication parameter not received in Header"}}
    rv = chat(fake, BASE, headers={"Authorization": "Bearer nope"})
    assert rv.status_code == 401
    assert rv.json() == {"error": {"code": "1002", "message": "Authorization Token is invalid, please ensure that the "
                                                              "Authorization Token is correctly provided."}}
    assert chat(fake, BASE, headers={"Authorization": "Bearer "}).json()["error"]["code"] == "1001"
    assert chat(fake, BASE, headers={"Authorization": "k1"}).json()["error"]["code"] == "1002"
    assert chat(fake, BASE, headers={"Authorization": "Basic k1"}).json()["error"]["code"] == "1002"
    assert chat(fake, BASE, headers={"Authorization": "bearer k1"}).status_code == 200
    assert chat(fake, BASE, headers={"Authorization": "Bearer k2"}).status_code == 200
    assert [r["key"] for r in fake.requests] == [None, "nope", "", "k1", "Basic k1", "k1", "k2"]
    assert fake.chat_requests_by_key() == {"nope": 1, "": 1, "k1": 2, "Basic k1": 1, "k2": 1}


def test_add_key_revoke_and_reset(fake):
    fake.add_key("k3")
    assert chat(fake, BASE, headers={"Authorization": "Bearer k3"}).status_code == 200
    fake.revoke("k1")
    assert chat(fake, BASE).json()["error"]["code"] == "1002"
    fake.reset()
    assert chat(fake, BASE).status_code == 200
    assert chat(fake, BASE, headers={"Authorization": "Bearer k3"}).status_code == 401


def test_coding_plan_base_path():
    with FakeZaiApi(keys=["k1"], base_path=CODING_BASE) as coding:
        assert coding.base_url.endswith("/api/coding/paas/v4")
        assert requests.post(coding.base_url + "/chat/completions", json=BASE, headers=AUTH).status_code == 200
        assert requests.get(coding.base_url + "/models", headers=AUTH).status_code == 200
        rv = requests.post(coding.url + "/api/paas/v4/chat/completions", json=BASE, headers=AUTH)
        assert rv.status_code == 404
        assert rv.json() == {"error": {"code": "1222", "message": "API /api/paas/v4/chat/completions does not exist"}}


def test_unknown_path_and_wrong_method(fake):
    rv = requests.get(fake.base_url + "/chat/completions", headers=AUTH, timeout=5)
    assert rv.status_code == 405
    assert rv.json() == {"error": {"code": "1212", "message": "Current API does not support GET call method"}}
    assert requests.post(fake.base_url + "/models", headers=AUTH, timeout=5).status_code == 405
    assert requests.post(fake.url + "/v1/chat/completions", json=BASE, headers=AUTH, timeout=5).status_code == 404


def test_request_log(fake):
    chat(fake, {**BASE, "seed": 7}, headers={**AUTH, "X-Source-Channel": "python-sdk"}, params={"a": "1"})
    entry = fake.requests[0]
    assert entry["method"] == "POST"
    assert entry["path"] == "/api/paas/v4/chat/completions"
    assert entry["query"] == {"a": "1"}
    assert entry["headers"]["x-source-channel"] == "python-sdk"
    assert entry["headers"]["authorization"] == "Bearer k1"
    assert entry["body"] == {**BASE, "seed": 7}
    assert entry["key"] == "k1"
    assert entry["unknown_fields"] == ["seed"]
    requests.get(fake.url + "/__fake/stats", timeout=5)
    assert len(fake.requests) == 1


# -- validation --------------------------------------------------------------------------------------------------------
TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Paris"}'}}
REJECTED = [
    ({"messages": HI}, "1213", "model parameter not received properly"),
    ({**BASE, "model": "GLM-4.7"}, "1211", "Unknown Model, please check the model code."),
    ({**BASE, "model": "glm-5.2[1m]"}, "1211", "Unknown Model, please check the model code."),
    ({**BASE, "model": "glm-4.7-flashx"}, "1211", "Unknown Model, please check the model code."),
    ({"model": "glm-4.7"}, "1214", "Input cannot be empty"),
    ({**BASE, "messages": []}, "1214", "Input cannot be empty"),
    ({**BASE, "messages": "hi"}, "1214", "Input cannot be empty"),
    ({**BASE, "messages": [{"role": "developer", "content": "x"}]}, "1214",
     "Invalid messages[0].role parameter. Please check the documentation."),
    ({**BASE, "messages": [{"role": "system", "content": "x"}]}, "1214",
     "Invalid messages (system or assistant messages only) parameter. Please check the documentation."),
    ({**BASE, "messages": [{"role": "system", "content": "x"}, {"role": "assistant", "content": "y"}]}, "1214",
     "Invalid messages (system or assistant messages only) parameter. Please check the documentation."),
    ({**BASE, "messages": [*HI, {"role": "tool", "content": "sunny"}]}, "1214",
     "Invalid messages[1].tool_call_id parameter. Please check the documentation."),
    ({**BASE, "messages": [{"role": "user"}]}, "1213", "messages[0].content parameter not received properly"),
    ({**BASE, "messages": [{"role": "user", "content": None}]}, "1214",
     "Invalid messages[0].content parameter. Please check the documentation."),
    ({**BASE, "messages": [*HI, {"role": "assistant", "tool_calls": [{**TOOL_CALL, "type": "web_search"}]}]}, "1214",
     "Invalid messages[1].tool_calls[0] parameter. Please check the documentation."),
    ({**BASE, "messages": [*HI, {"role": "assistant", "tool_calls": [{**TOOL_CALL, "id": ""}]}]}, "1214",
     "Invalid messages[1].tool_calls[0] parameter. Please check the documentation."),
    ({**BASE, "messages": [*HI, {"role": "assistant", "tool_calls": [{**TOOL_CALL, "extra": 1}]}]}, "1214",
     "Invalid messages[1].tool_calls[0] parameter. Please check the documentation."),
    ({**BASE, "messages": [*HI, {"role": "assistant", "tool_calls": [
        {**TOOL_CALL, "function": {"name": "weather", "arguments": {"city": "Paris"}}}]}]}, "1214",
     "Invalid messages[1].tool_calls[0].function.arguments parameter. Please check the documentation."),
    ({**BASE, "messages": [*HI, {"role": "assistant", "tool_calls": [
        {**TOOL_CALL, "function": {"name": "weather", "arguments": "{oops"}}]}]}, "1214",
     "Invalid messages[1].tool_calls[0].function.arguments parameter. Please check the documentation."),
    ({**BASE, "messages": [*HI, {"role": "assistant", "tool_calls": [
        {**TOOL_CALL, "function": {"name": "weather"}}]}]}, "1214",
     "Invalid messages[1].tool_calls[0].function parameter. Please check the documentation."),
    ({**BASE, "thinking": {"type": True}}, "1214", "Invalid thinking parameter. Please check the documentation."),
    ({**BASE, "thinking": {"type": "auto"}}, "1214", "Invalid thinking parameter. Please check the documentation."),
    ({**BASE, "thinking": {"type": "enabled", "budget_tokens": 10}}, "1214",
     "Invalid thinking parameter. Please check the documentation."),
    ({**BASE, "thinking": {"type": "enabled", "clear_thinking": "no"}}, "1214",
     "Invalid thinking parameter. Please check the documentation."),
    ({**BASE, "thinking": "enabled"}, "1214", "Invalid thinking parameter. Please check the documentation."),
    ({**BASE, "thinking": None}, "1214", "Invalid thinking parameter. Please check the documentation."),
    ({**BASE, "temperature": 1.5}, "1214", "Invalid temperature parameter. Please check the documentation."),
    ({**BASE, "temperature": -0.1}, "1214", "Invalid temperature parameter. Please check the documentation."),
    ({**BASE, "temperature": "0.5"}, "1214", "Invalid temperature parameter. Please check the documentation."),
    ({**BASE, "temperature": None}, "1214", "Invalid temperature parameter. Please check the documentation."),
    ({**BASE, "top_p": 0}, "1214", "Invalid top_p parameter. Please check the documentation."),
    ({**BASE, "top_p": 1.01}, "1214", "Invalid top_p parameter. Please check the documentation."),
    ({**BASE, "max_tokens": 0}, "1214", "Invalid max_tokens parameter. Please check the documentation."),
    ({**BASE, "max_tokens": 131073}, "1214", "Invalid max_tokens parameter. Please check the documentation."),
    ({**BASE, "max_tokens": 10.5}, "1214", "Invalid max_tokens parameter. Please check the documentation."),
    ({**BASE, "max_tokens": True}, "1214", "Invalid max_tokens parameter. Please check the documentation."),
    ({**BASE, "stream": "yes"}, "1214", "Invalid stream parameter. Please check the documentation."),
    ({**BASE, "do_sample": 1}, "1214", "Invalid do_sample parameter. Please check the documentation."),
    ({**BASE, "reasoning_effort": "high"}, "1214",
     "Invalid reasoning_effort parameter. Please check the documentation."),
    ({**BASE, "model": "glm-5.3", "reasoning_effort": "medium"}, "1214",
     "Invalid reasoning_effort parameter. Please check the documentation."),
    ({**BASE, "model": "glm-5.2", "reasoning_effort": "extreme"}, "1214",
     "Invalid reasoning_effort parameter. Please check the documentation."),
    ({**BASE, "model": "glm-4.5", "tool_stream": True}, "1214",
     "Invalid tool_stream parameter. Please check the documentation."),
    ({**BASE, "model": "glm-4.6v", "tool_stream": False}, "1214",
     "Invalid tool_stream parameter. Please check the documentation."),
    ({**BASE, "tool_stream": "yes"}, "1214", "Invalid tool_stream parameter. Please check the documentation."),
    ({**BASE, "tools": [WEATHER] * 129}, "1214", "Invalid tools parameter. Please check the documentation."),
    ({**BASE, "tools": WEATHER}, "1214", "Invalid tools parameter. Please check the documentation."),
    ({**BASE, "tools": [{"type": "code", "code": {}}]}, "1214",
     "Invalid tools[0] parameter. Please check the documentation."),
    ({**BASE, "tools": [{**WEATHER, "extra": 1}]}, "1214",
     "Invalid tools[0] parameter. Please check the documentation."),
    ({**BASE, "tools": [{"type": "function", "function": {"name": "get weather", "parameters": {}}}]}, "1214",
     "Invalid tools[0].function.name parameter. Please check the documentation."),
    ({**BASE, "tools": [{"type": "function", "function": {"name": "x" * 65, "parameters": {}}}]}, "1214",
     "Invalid tools[0].function.name parameter. Please check the documentation."),
    ({**BASE, "tools": [{"type": "function", "function": {"name": "w"}}]}, "1214",
     "Invalid tools[0].function.parameters parameter. Please check the documentation."),
    ({**BASE, "tools": [{"type": "function", "function": {"name": "w", "parameters": []}}]}, "1214",
     "Invalid tools[0].function.parameters parameter. Please check the documentation."),
    ({**BASE, "tools": [{"type": "function", "function": {"name": "w", "description": 1, "parameters": {}}}]},
     "1214", "Invalid tools[0].function.description parameter. Please check the documentation."),
    ({**BASE, "tools": [{"type": "function", "function": {"name": "w", "strict": "yes", "parameters": {}}}]},
     "1214", "Invalid tools[0].function.strict parameter. Please check the documentation."),
    ({**BASE, "tools": [{"type": "function", "function": {"name": "w", "parameters": {}, "examples": []}}]},
     "1214", "Invalid tools[0].function parameter. Please check the documentation."),
    ({**BASE, "model": "glm-4.5v", "tools": [WEATHER]}, "1210", "Model glm-4.5v does not support tools"),
    ({**BASE, "tools": [WEATHER], "tool_choice": "required"}, "1214",
     "Invalid tool_choice parameter. Please check the documentation."),
    ({**BASE, "tools": [WEATHER], "tool_choice": "none"}, "1214",
     "Invalid tool_choice parameter. Please check the documentation."),
    ({**BASE, "tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "other"}}}, "1214",
     "Invalid tool_choice parameter. Please check the documentation."),
    ({**BASE, "tool_choice": {"type": "function", "function": {"name": "weather"}}}, "1214",
     "Invalid tool_choice parameter. Please check the documentation."),
    ({**BASE, "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}}, "1210",
     "response_format type json_schema is not supported"),
    ({**BASE, "response_format": {"type": "xml"}}, "1214",
     "Invalid response_format parameter. Please check the documentation."),
    ({**BASE, "response_format": "json_object"}, "1214",
     "Invalid response_format parameter. Please check the documentation."),
    ({**BASE, "model": "glm-4.6v", "response_format": {"type": "json_object"}}, "1210",
     "Model glm-4.6v does not support response_format"),
    ({**BASE, "stop": ["a", "b", "c", "d", "e"]}, "1214", "Invalid stop parameter. Please check the documentation."),
    ({**BASE, "stop": 3}, "1214", "Invalid stop parameter. Please check the documentation."),
    ({**BASE, "request_id": "abc"}, "1214", "Invalid request_id parameter. Please check the documentation."),
    ({**BASE, "request_id": "r" * 65}, "1214", "Invalid request_id parameter. Please check the documentation."),
    ({**BASE, "user_id": "u" * 129}, "1214", "Invalid user_id parameter. Please check the documentation."),
    ({**BASE, "stream_options": True}, "1214", "Invalid stream_options parameter. Please check the documentation."),
    ({**BASE, "stream_options": {"include_usage": "yes"}}, "1214",
     "Invalid stream_options parameter. Please check the documentation."),
    ({**BASE, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG}}]}]},
     "1210", "Model glm-4.7 does not support image_url input"),
    ({**BASE, "model": "glm-4.6v", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": PNG, "detail": "high"}}]}]}, "1214",
     "Invalid messages[0].content[0].image_url.detail parameter. Please check the documentation."),
    ({**BASE, "model": "glm-4.6v", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "ftp://x/a.png"}}]}]}, "1214",
     "Invalid messages[0].content[0].image_url.url parameter. Please check the documentation."),
    ({**BASE, "model": "glm-4.6v", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "iVBORw0KGgo="}}]}]}, "1214",
     "Invalid messages[0].content[0].image_url.url parameter. Please check the documentation."),
    ({**BASE, "model": "glm-4.6v", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {}}]}]}, "1214",
     "Invalid messages[0].content[0].image_url.url parameter. Please check the documentation."),
    ({**BASE, "model": "glm-4.6v", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": PNG}]}]}, "1214",
     "Invalid messages[0].content[0] parameter. Please check the documentation."),
    ({**BASE, "model": "glm-4.6v", "messages": [{"role": "system", "content": [
        {"type": "image_url", "image_url": {"url": PNG}}]}, *HI]}, "1214",
     "Invalid messages[0].content[0].type parameter. Please check the documentation."),
    ({**BASE, "model": "glm-4.6v", "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {}}]}]}, "1214",
     "Invalid messages[0].content[0].type parameter. Please check the documentation."),
    ({**BASE, "model": "glm-4.6v", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "x", "cache_control": {}}]}]}, "1214",
     "Invalid messages[0].content[0] parameter. Please check the documentation."),
    ({**BASE, "model": "glm-4.6v", "messages": [{"role": "user", "content": []}]}, "1214",
     "Invalid messages[0].content parameter. Please check the documentation."),
    ({**BASE, "model": "glm-5.3-flash", "messages": [{"role": "user", "content": [
        {"type": "file", "file": {"file_url": "https://x/d.pdf"}},
        {"type": "image_url", "image_url": {"url": PNG}}]}]}, "1214",
     "Invalid messages[0].content (file parts cannot be mixed with image or video parts) parameter. "
     "Please check the documentation."),
    ({**BASE, "model": "glm-5.3-flash", "messages": [{"role": "user", "content": [
        {"type": "file", "file": {"file_url": "https://x/d.pdf", "file_id": "f1"}}]}]}, "1214",
     "Invalid messages[0].content[0].file parameter. Please check the documentation."),
]


@pytest.mark.parametrize("body, code, message", REJECTED)
def test_rejected_bodies(fake, body, code, message):
    rv = chat(fake, body)
    assert rv.status_code == 400
    assert rv.headers["Content-Type"] == "application/json"
    assert rv.json() == {"error": {"code": code, "message": message}}


def test_rejected_raw_bodies(fake):
    rv = requests.post(fake.base_url + "/chat/completions", data=b"{oops", headers=AUTH, timeout=5)
    assert rv.status_code == 400
    assert rv.json() == {"error": {"code": "1210", "message": "Incorrect API call parameters, please check the "
                                                              "documentation."}}
    assert chat(fake, [BASE]).json()["error"]["code"] == "1210"


ACCEPTED = [
    {"messages": [{"content": "You are a helpful assistant", "role": "system"},
                  {"content": "What's the weather in Florence,Italy?", "role": "user"}],
     "model": "glm-4.7-flash", "max_tokens": 4000, "tool_choice": "auto",
     "tools": [{"function": {"name": "weather", "strict": False,
                             "description": "Get weather information for a location",
                             "parameters": {"properties": {"location": {"description": "the city", "type": "string"}},
                                            "required": ["location"], "type": "object"}}, "type": "function"}]},
    {**BASE, "model": "glm-4.7-flash", "reasoning_effort": "high", "stream_options": {"include_usage": True}},
    {**BASE, "thinking": {"type": "disabled"}},
    {**BASE, "thinking": {"type": "enabled", "clear_thinking": False}},
    {**BASE, "temperature": 0, "top_p": 0.01, "max_tokens": 131072},
    {**BASE, "temperature": 1, "top_p": 1, "max_tokens": 1, "do_sample": False},
    {**BASE, "model": "glm-5.3", "reasoning_effort": "max"},
    {**BASE, "model": "glm-5.3-flash", "reasoning_effort": "low"},
    {**BASE, "model": "glm-5", "tool_stream": True, "tools": [WEATHER]},
    {**BASE, "model": "glm-4.6", "tool_stream": False},
    {**BASE, "model": "glm-5-turbo", "tools": [WEATHER],
     "tool_choice": {"type": "function", "function": {"name": "weather"}}},
    {**BASE, "tools": [{"type": "function", "function": {"name": "no-args_1", "parameters": {}}}]},
    {**BASE, "tools": [WEATHER, {"type": "web_search",
                                 "web_search": {"enable": True, "search_engine": "search_pro_jina"}}]},
    {**BASE, "tools": []},
    {**BASE, "tools": [{"type": "function", "function": {"name": f"t{i}", "parameters": {}}} for i in range(128)]},
    {**BASE, "stop": "\n\n"},
    {**BASE, "stop": ["a", "b", "c", "d"]},
    {**BASE, "response_format": {"type": "text"}},
    {**BASE, "request_id": "req-123", "user_id": "user-123"},
    {**BASE, "messages": [{"role": "system", "content": [{"type": "text", "text": "be brief"}]},
                          {"role": "user", "content": [{"type": "text", "text": "hi"}]}]},
    {**BASE, "messages": [*HI, {"role": "assistant", "content": None, "reasoning_content": "hmm",
                                "tool_calls": [{**TOOL_CALL, "index": 0}]},
                          {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]},
    {**BASE, "messages": [{"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]},
    {**BASE, "model": "glm-4.6v", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        {"type": "image_url", "image_url": {"url": PNG}},
        {"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"}},
        {"type": "text", "text": "What is in these?"}]}], "thinking": {"type": "enabled"}},
    {**BASE, "model": "glm-5.3-flash", "messages": [{"role": "user", "content": [
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "d.pdf"}}]}]},
]


@pytest.mark.parametrize("body", ACCEPTED)
def test_accepted_bodies(fake, body):
    rv = chat(fake, body)
    assert rv.status_code == 200
    assert rv.json()["object"] == "chat.completion"


def test_unknown_fields_are_accepted_and_recorded(fake):
    rv = chat(fake, {**BASE, "n": 1, "seed": 3, "presence_penalty": 0, "max_completion_tokens": 9, "user": "u"})
    assert rv.status_code == 200
    assert fake.requests[0]["unknown_fields"] == ["max_completion_tokens", "n", "presence_penalty", "seed", "user"]


# -- non-streamed replies ----------------------------------------------------------------------------------------------
def test_completion_body_shape(fake):
    rv = chat(fake, {**BASE, "messages": [{"role": "system", "content": "be brief"},
                                          {"role": "user", "content": "Hello there"}]})
    assert rv.status_code == 200
    assert rv.headers["Content-Type"] == "application/json; charset=UTF-8"
    data = rv.json()
    assert list(data) == ["choices", "created", "id", "model", "object", "request_id", "usage"]
    assert ID.fullmatch(data["id"])
    assert data["request_id"] == data["id"]
    assert abs(data["created"] - time.time()) < 5
    assert data["model"] == "glm-4.7"
    assert data["object"] == "chat.completion"
    assert data["choices"] == [{"finish_reason": "stop", "index": 0, "message": {
        "content": "Echo: Hello there", "reasoning_content": "The user wrote: Hello there\nI will echo it.",
        "role": "assistant"}}]
    assert data["usage"] == {"completion_tokens": 12, "completion_tokens_details": {"reasoning_tokens": 9},
                             "prompt_tokens": 4, "prompt_tokens_details": {"cached_tokens": 0}, "total_tokens": 16}
    assert rv.text.endswith('"usage":{"completion_tokens":12,"completion_tokens_details":{"reasoning_tokens":9},'
                            '"prompt_tokens":4,"prompt_tokens_details":{"cached_tokens":0},"total_tokens":16}}')


def test_thinking_disabled_and_request_id(fake):
    rv = chat(fake, {**BASE, "thinking": {"type": "disabled"}, "request_id": "my-request-1"})
    data = rv.json()
    assert data["choices"][0]["message"] == {"content": "Echo: hi", "role": "assistant"}
    assert data["request_id"] == "my-request-1"
    assert data["id"] != "my-request-1"
    assert data["usage"]["completion_tokens_details"] == {"reasoning_tokens": 0}
    assert data["usage"]["completion_tokens"] == 2


def test_tool_calls_in_body(fake):
    fake.script_next(tool_calls=[{"name": "weather", "arguments": {"city": "Paris"}},
                                 {"name": "weather", "arguments": {"city": "Rome"}}])
    data = chat(fake, {**BASE, "tools": [WEATHER]}).json()
    message = data["choices"][0]["message"]
    assert data["choices"][0]["finish_reason"] == "tool_calls"
    assert message["content"] == ""
    assert list(message) == ["content", "reasoning_content", "role", "tool_calls"]
    assert message["tool_calls"][0]["function"] == {"arguments": '{"city":"Paris"}', "name": "weather"}
    assert message["tool_calls"][1]["function"] == {"arguments": '{"city":"Rome"}', "name": "weather"}
    assert [c["index"] for c in message["tool_calls"]] == [0, 1]
    assert [c["type"] for c in message["tool_calls"]] == ["function", "function"]
    assert re.fullmatch(r"call_-?\d+", message["tool_calls"][0]["id"])
    assert list(message["tool_calls"][0]) == ["function", "id", "index", "type"]
    assert data["usage"]["completion_tokens"] == 8 + 2 + 2


def test_tool_calls_need_tools_and_forced_choice(fake):
    fake.script_next(tool_calls=[{"name": "weather", "arguments": {}}])
    message = chat(fake, BASE).json()["choices"][0]["message"]
    assert message["content"] == "Echo: hi"
    assert "tool_calls" not in message
    forced = {**BASE, "tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "weather"}}}
    data = chat(fake, forced).json()
    assert data["choices"][0]["message"]["tool_calls"][0]["function"] == {"arguments": "{}", "name": "weather"}
    fake.script_next(answer="Let me check.", tool_calls=[{"name": "weather", "arguments": '{"city": bad'}])
    message = chat(fake, {**BASE, "tools": [WEATHER]}).json()["choices"][0]["message"]
    assert message["content"] == "Let me check."
    assert message["tool_calls"][0]["function"]["arguments"] == '{"city": bad'


def test_script_keys_answer_reasoning_finish(fake):
    fake.script_next(answer="Scripted answer", reasoning="deep thought", finish_reason="length")
    data = chat(fake, BASE).json()
    assert data["choices"][0]["message"]["content"] == "Scripted answer"
    assert data["choices"][0]["message"]["reasoning_content"] == "deep thought"
    assert data["choices"][0]["finish_reason"] == "length"
    fake.script_next(finish_reason="model_context_window_exceeded")
    data = chat(fake, BASE).json()
    assert data["choices"][0]["finish_reason"] == "model_context_window_exceeded"
    assert data["usage"] == {"completion_tokens": 0, "completion_tokens_details": {"reasoning_tokens": 0},
                             "prompt_tokens": 0, "prompt_tokens_details": {"cached_tokens": 0}, "total_tokens": 0}
    with pytest.raises(ValueError):
        fake.script_next(finish_reason="done")
    with pytest.raises(ValueError):
        fake.script_next(tool_calls=[{"name": "weather"}])
    with pytest.raises(ValueError):
        fake.script_next(colour="red")


def test_reasoning_effort_none_turns_thinking_off(fake):
    data = chat(fake, {**BASE, "model": "glm-5.2", "reasoning_effort": "none"}).json()
    assert data["choices"][0]["message"] == {"content": "Echo: hi", "role": "assistant"}
    data = chat(fake, {**BASE, "model": "glm-5.2", "reasoning_effort": "low"}).json()
    assert data["choices"][0]["message"]["reasoning_content"] == "The user wrote: hi\nI will echo it."


def test_stop_max_tokens_and_json_object(fake):
    data = chat(fake, {**BASE, "messages": [{"role": "user", "content": "one. two"}], "stop": ["."]}).json()
    assert data["choices"][0]["message"]["content"] == "Echo: one"
    assert data["choices"][0]["finish_reason"] == "stop"
    data = chat(fake, {**BASE, "max_tokens": 10, "messages": [{"role": "user", "content": "a b c d e"}]}).json()
    assert data["choices"][0]["message"]["reasoning_content"] == "The user wrote: a b c d e\nI will"
    assert data["choices"][0]["message"]["content"] == ""
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 10
    data = chat(fake, {**BASE, "max_tokens": 3, "thinking": {"type": "disabled"},
                       "messages": [{"role": "user", "content": "a b c d e"}]}).json()
    assert data["choices"][0]["message"]["content"] == "Echo: a b"
    data = chat(fake, {**BASE, "response_format": {"type": "json_object"}}).json()
    assert json.loads(data["choices"][0]["message"]["content"]) == {"echo": "hi"}


def test_vision_answer_notes_images(fake):
    body = {**BASE, "model": "glm-4.6v", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": PNG}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]}
    message = chat(fake, body).json()["choices"][0]["message"]
    assert message["content"] == "Echo: What is this? [image image/png 8 bytes] [image https://example.com/a.png]"


def test_directive(fake):
    text = 'Hello [[fake {"answer": "from directive", "reasoning": "r"}]]'
    data = chat(fake, {**BASE, "messages": [{"role": "user", "content": text}]}).json()
    assert data["choices"][0]["message"]["content"] == "from directive"
    assert data["usage"]["prompt_tokens"] == 1
    text = 'Hello there [[fake {"chunk": 3}]]'
    assert chat(fake, {**BASE, "messages": [{"role": "user", "content": text}]}).json()[
        "choices"][0]["message"]["content"] == "Echo: Hello there"
    fake.script_next(answer="queued wins")
    text = 'x [[fake {"answer": "directive"}]]'
    assert chat(fake, {**BASE, "messages": [{"role": "user", "content": text}]}).json()[
        "choices"][0]["message"]["content"] == "queued wins"
    rv = chat(fake, {**BASE, "messages": [{"role": "user", "content": "[[fake {oops}]]"}]})
    assert rv.status_code == 400
    assert rv.json()["error"]["code"] == "1210"
    assert rv.json()["error"]["message"].startswith("[[fake]] directive rejected: invalid [[fake]] directive JSON")
    rv = chat(fake, {**BASE, "messages": [{"role": "user", "content": '[[fake {"fault": "nope"}]]'}]})
    assert rv.status_code == 400


def test_usage_is_deterministic(fake):
    body = {**BASE, "messages": [{"role": "system", "content": "one two three"},
                                 {"role": "user", "content": [{"type": "text", "text": "four five"}]}]}
    first = chat(fake, body).json()["usage"]
    second = chat(fake, body).json()["usage"]
    assert first == second
    assert first["prompt_tokens"] == 5
    assert first["completion_tokens"] == 9 + 3


# -- streamed replies --------------------------------------------------------------------------------------------------
def test_stream_shape(fake):
    fake.script_next(chunk=4)
    rv = chat(fake, {**BASE, "stream": True, "messages": [{"role": "user", "content": "Hello there"}]})
    assert rv.status_code == 200
    assert rv.headers["Content-Type"] == "text/event-stream;charset=UTF-8"
    raw = events(rv)
    assert all(e.startswith("data: ") for e in raw)
    assert raw[-1] == "data: [DONE]"
    assert rv.text.endswith("data: [DONE]\n\n")
    assert ", " not in raw[0] and ": " not in raw[0][6:]
    parsed = chunks(rv)
    assert len({c["id"] for c in parsed}) == 1
    assert ID.fullmatch(parsed[0]["id"])
    assert all(list(c) == ["id", "created", "object", "model", "choices"] for c in parsed[:-1])
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "glm-4.7" for c in parsed)
    assert all(list(c["choices"][0]) == ["index", "delta"] for c in parsed[:-1])
    assert all(c["choices"][0]["delta"]["role"] == "assistant" for c in parsed)
    assert "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in parsed) == \
        "The user wrote: Hello there\nI will echo it."
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in parsed) == "Echo: Hello there"
    assert parsed[0]["choices"][0]["delta"] == {"role": "assistant", "reasoning_content": "The "}
    assert parsed[-2]["choices"][0]["delta"] == {"role": "assistant", "content": "e"}
    assert parsed[-1]["choices"] == [{"index": 0, "finish_reason": "stop",
                                      "delta": {"role": "assistant", "content": ""}}]
    assert list(parsed[-1]) == ["id", "created", "object", "model", "choices", "usage"]
    assert parsed[-1]["usage"] == {"prompt_tokens": 2, "completion_tokens": 12, "total_tokens": 14,
                                   "prompt_tokens_details": {"cached_tokens": 0},
                                   "completion_tokens_details": {"reasoning_tokens": 9}}
    assert sum("reasoning_content" in c["choices"][0]["delta"] for c in parsed) == 11
    kinds = [next(k for k in c["choices"][0]["delta"] if k != "role") for c in parsed[:-1]]
    assert kinds == ["reasoning_content"] * 11 + ["content"] * 5


def test_stream_without_thinking_and_seeded_chunks(fake):
    body = {**BASE, "stream": True, "thinking": {"type": "disabled"}, "stream_options": {"include_usage": True}}
    fake.script_next(seed=5, answer="a fairly long answer to cut into seeded pieces")
    first = [c["choices"][0]["delta"].get("content") for c in chunks(chat(fake, body))]
    fake.script_next(seed=5, answer="a fairly long answer to cut into seeded pieces")
    second = [c["choices"][0]["delta"].get("content") for c in chunks(chat(fake, body))]
    assert first == second
    assert "".join(first) == "a fairly long answer to cut into seeded pieces"
    assert chunks(chat(fake, body))[-1]["usage"]["completion_tokens_details"] == {"reasoning_tokens": 0}


def test_stream_tool_calls_whole(fake):
    fake.script_next(tool_calls=[{"name": "weather", "arguments": {"city": "Paris"}},
                                 {"name": "weather", "arguments": {"city": "Rome"}}], chunk=100)
    parsed = chunks(chat(fake, {**BASE, "stream": True, "tools": [WEATHER]}))
    assert parsed[0]["choices"][0]["delta"] == {"role": "assistant",
                                                "reasoning_content": "The user wrote: hi\nI will echo it."}
    call0 = parsed[1]["choices"][0]["delta"]["tool_calls"]
    call1 = parsed[2]["choices"][0]["delta"]["tool_calls"]
    assert list(parsed[1]["choices"][0]["delta"]) == ["tool_calls"]
    assert list(call0[0]) == ["id", "index", "type", "function"]
    assert re.fullmatch(r"call_[0-9a-f]{24}", call0[0]["id"])
    assert call0[0]["function"] == {"name": "weather", "arguments": '{"city":"Paris"}'}
    assert call1[0]["index"] == 1
    assert call1[0]["function"] == {"name": "weather", "arguments": '{"city":"Rome"}'}
    assert parsed[3]["choices"][0]["finish_reason"] == "tool_calls"
    assert len(parsed) == 4


def test_tool_stream_fragments(fake):
    fake.script_next(tool_calls=[{"name": "weather", "arguments": {"city": "Florence,Italy"}}], chunk=100, seed=1)
    parsed = chunks(chat(fake, {**BASE, "stream": True, "tool_stream": True, "tools": [WEATHER]}))
    deltas = [c["choices"][0]["delta"]["tool_calls"][0] for c in parsed if "tool_calls" in c["choices"][0]["delta"]]
    assert len(deltas) in (2, 3)
    assert list(deltas[0]) == ["id", "index", "type", "function"]
    assert deltas[0]["function"]["name"] == "weather"
    assert all(d == {"index": 0, "function": {"arguments": d["function"]["arguments"]}} for d in deltas[1:])
    assert "".join(d["function"]["arguments"] for d in deltas) == '{"city":"Florence,Italy"}'
    assert parsed[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_delay_and_first_delay(fake):
    fake.script_next(first_delay_ms=300)
    started = time.monotonic()
    assert chat(fake, BASE).status_code == 200
    assert time.monotonic() - started >= 0.3
    fake.script_next(delay_ms=20, chunk=100)
    started = time.monotonic()
    assert len(chunks(chat(fake, {**BASE, "stream": True}))) == 3
    assert time.monotonic() - started >= 0.04


# -- faults ------------------------------------------------------------------------------------------------------------
HTTP_FAULTS = [
    ("http429_1302", 429, {"error": {"code": "1302", "message": "High concurrency usage of this API, please reduce "
                                     "concurrency or contact customer service to increase limits"}}),
    ("http429_1113", 429, {"error": {"code": "1113", "message": "Insufficient balance or no resource package. "
                                                                "Please recharge."}}),
    ("http400_1261", 400, {"error": {"code": "1261", "message": "Prompt exceeds max length"}}),
    ("http400_1301", 400, {"contentFilter": [{"level": 1, "role": "user"}],
                           "error": {"code": "1301", "message": SENSITIVE}}),
    ("http500", 500, {"error": {"code": "500", "message": "Internal Error"}}),
    ("http503_1305", 503, {"error": {"code": "1305", "message": "The service may be temporarily overloaded, "
                                                                "please try again later"}}),
]


@pytest.mark.parametrize("fault, status, body", HTTP_FAULTS)
def test_http_faults(fake, fault, status, body):
    fake.script_next(fault=fault)
    rv = chat(fake, {**BASE, "stream": True})
    assert rv.status_code == status
    assert rv.headers["Content-Type"] == "application/json"
    assert rv.json() == body


def test_http429_1308_names_the_reset_time(fake):
    fake.script_next(fault="http429_1308")
    rv = chat(fake, BASE)
    assert rv.status_code == 429
    assert rv.json()["error"]["code"] == "1308"
    assert re.fullmatch(r"Usage limit reached for 5 hour\. Your limit will reset at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
                        rv.json()["error"]["message"])


def test_global_fault_and_validation_first(fake):
    fake.fault = "http503_1305"
    assert chat(fake, BASE).status_code == 503
    assert chat(fake, BASE).status_code == 503
    assert chat(fake, {**BASE, "model": "nope"}).status_code == 400
    fake.script_next(fault="finish_sensitive")
    assert chat(fake, BASE).json()["choices"][0]["finish_reason"] == "sensitive"
    with pytest.raises(ValueError):
        fake.fault = "boom"
    fake.reset()
    assert fake.fault is None
    assert chat(fake, BASE).status_code == 200


def test_mid_error(fake):
    fake.script_next(fault="mid_error", chunk=2)
    rv = chat(fake, {**BASE, "stream": True})
    assert rv.status_code == 200
    raw = events(rv)
    assert len(raw) == 3
    assert raw[-1] == 'data: {"error":{"code":"500","message":"Internal Error"}}'
    assert "data: [DONE]" not in raw
    fake.script_next(fault="mid_error")
    rv = chat(fake, BASE)
    assert rv.status_code == 500
    assert rv.json() == {"error": {"code": "500", "message": "Internal Error"}}


def test_finish_sensitive_and_network_error(fake):
    fake.script_next(fault="finish_sensitive", chunk=3, after=8)
    parsed = chunks(chat(fake, {**BASE, "stream": True, "thinking": {"type": "disabled"},
                                "messages": [{"role": "user", "content": "tell me a long story please"}]}))
    assert "".join(c["choices"][0]["delta"]["content"] for c in parsed) == "Echo: tell me a long sto"
    assert parsed[-1]["choices"][0]["finish_reason"] == "sensitive"
    assert parsed[-1]["usage"]["completion_tokens"] == 6
    fake.script_next(fault="finish_network_error", chunk=3, after=1)
    rv = chat(fake, {**BASE, "stream": True})
    assert chunks(rv)[-1]["choices"][0]["finish_reason"] == "network_error"
    assert events(rv)[-1] == "data: [DONE]"
    assert len(chunks(rv)) == 2
    fake.script_next(fault="finish_network_error", chunk=2, after=0)
    data = chat(fake, BASE).json()
    assert data["choices"][0]["finish_reason"] == "network_error"
    assert data["choices"][0]["message"] == {"content": "", "reasoning_content": "", "role": "assistant"}


def test_cut(fake):
    fake.script_next(fault="cut", chunk=2)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        chat(fake, {**BASE, "stream": True})
    fake.script_next(fault="cut")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        chat(fake, BASE)
    assert wait_for(lambda: fake.open_streams == 0)
    assert fake.closed_early == 0


def test_stall(fake):
    fake.script_next(fault="stall", stall_s=0.3, chunk=100)
    started = time.monotonic()
    parsed = chunks(chat(fake, {**BASE, "stream": True}))
    assert time.monotonic() - started >= 0.3
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in parsed) == "Echo: hi"
    fake.script_next(fault="stall", stall_s=0.3)
    started = time.monotonic()
    assert chat(fake, BASE).json()["choices"][0]["message"]["content"] == "Echo: hi"
    assert time.monotonic() - started >= 0.3


def test_client_going_away_is_noticed(fake):
    fake.script_next(answer="x" * 200, chunk=1, delay_ms=20)
    rv = chat(fake, {**BASE, "stream": True}, stream=True)
    lines = rv.iter_lines()  # keep the generator: discarding it makes urllib3 close the connection
    next(lines)
    assert fake.open_streams == 1
    assert requests.get(fake.url + "/__fake/stats", timeout=5).json()["open_streams_by_key"] == {"k1": 1}
    rv.close()
    assert wait_for(lambda: fake.closed_early == 1)
    assert fake.open_streams == 0
    assert fake.open_streams_by_key() == {}
    fake.script_next(fault="stall", stall_s=30)
    rv = chat(fake, {**BASE, "stream": True}, stream=True)
    lines = rv.iter_lines()
    next(lines)
    rv.close()
    assert wait_for(lambda: fake.closed_early == 2, 2)
    fake.script_next(first_delay_ms=30000)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(fake.base_url + "/chat/completions", json=BASE, headers=AUTH, timeout=0.2)
    assert wait_for(lambda: fake.closed_early == 3, 2)
    fake.reset()
    assert fake.closed_early == 0


def test_max_streams_per_key(fake):
    fake.max_streams_per_key = 1
    fake.script_next(answer="x" * 100, chunk=1, delay_ms=20)
    rv = chat(fake, {**BASE, "stream": True}, stream=True)
    lines = rv.iter_lines()
    next(lines)
    busy = chat(fake, BASE)
    assert busy.status_code == 429
    assert busy.json()["error"]["code"] == "1302"
    assert chat(fake, BASE, headers={"Authorization": "Bearer k2"}).status_code == 200
    rv.close()
    assert wait_for(lambda: fake.open_streams_by_key() == {})
    assert chat(fake, BASE).status_code == 200
    with pytest.raises(ValueError):
        fake.max_streams_per_key = -1


# -- control endpoints and stats ---------------------------------------------------------------------------------------
def test_control_endpoints(fake):
    rv = requests.post(fake.url + "/__fake/script", json={"fault": "nope"}, timeout=5)
    assert rv.status_code == 400
    assert requests.post(fake.url + "/__fake/script", json={"answer": "scripted"}, timeout=5).json() == {"queued": 1}
    assert chat(fake, BASE).json()["choices"][0]["message"]["content"] == "scripted"
    rv = requests.post(fake.url + "/__fake/config", json={"fault": "http500", "models_fault": "http404"}, timeout=5)
    assert rv.json() == {"fault": "http500", "models_fault": "http404", "max_streams_per_key": None}
    assert chat(fake, BASE).status_code == 500
    assert requests.post(fake.url + "/__fake/config", json={"fault": "boom"}, timeout=5).status_code == 400
    rv = requests.post(fake.url + "/__fake/keys", json={"add": ["k9"], "revoke": ["k2"]}, timeout=5)
    assert rv.json() == {"keys": ["k1", "k9"]}
    stats = requests.get(fake.url + "/__fake/stats", timeout=5).json()
    assert stats == {"open_streams": 0, "closed_early": 0, "requests": 2, "queued_scripts": 0,
                     "chat_requests_by_key": {"k1": 2}, "open_streams_by_key": {}}
    logged = requests.get(fake.url + "/__fake/requests", timeout=5).json()
    assert [r["path"] for r in logged] == ["/api/paas/v4/chat/completions"] * 2
    assert requests.post(fake.url + "/__fake/reset", timeout=5).json() == {"ok": True}
    assert fake.requests == []
    assert fake.fault is None
    assert fake.keys == {"k1", "k2"}


# -- the openai SDK ----------------------------------------------------------------------------------------------------
def test_sdk_completion(client):
    rv = client.chat.completions.create(model="glm-4.7", messages=[{"role": "user", "content": "Hello"}])
    assert rv.choices[0].message.content == "Echo: Hello"
    assert rv.choices[0].message.reasoning_content == "The user wrote: Hello\nI will echo it."
    assert rv.choices[0].finish_reason == "stop"
    assert rv.usage.total_tokens == 1 + 10
    assert rv.usage.completion_tokens_details.reasoning_tokens == 8
    assert rv.request_id == rv.id


def test_sdk_stream(client):
    stream = client.chat.completions.create(model="glm-4.7", messages=[{"role": "user", "content": "Hello"}],
                                            stream=True, stream_options={"include_usage": True})
    received = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in received) == "Echo: Hello"
    assert "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in received) == \
        "The user wrote: Hello\nI will echo it."
    assert [c.choices[0].finish_reason for c in received][-1] == "stop"
    assert all(c.choices[0].finish_reason is None for c in received[:-1])
    assert received[-1].usage.completion_tokens == 10
    assert all(c.usage is None for c in received[:-1])


def test_sdk_tools_round_trip(fake, client):
    fake.script_next(tool_calls=[{"name": "weather", "arguments": {"city": "Paris"}}])
    first = client.chat.completions.create(model="glm-4.7", messages=[{"role": "user", "content": "Weather?"}],
                                           tools=[WEATHER])
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    second = client.chat.completions.create(model="glm-4.7", tools=[WEATHER], messages=[
        {"role": "user", "content": "Weather?"}, first.choices[0].message,
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"}])
    assert second.choices[0].message.content == "Echo: Weather?"
    sent = fake.requests[-1]["body"]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == call.id
    assert sent[2] == {"role": "tool", "tool_call_id": call.id, "content": "sunny"}


def test_sdk_streamed_tool_call_with_tool_stream(fake, client):
    fake.script_next(tool_calls=[{"name": "weather", "arguments": {"city": "Paris"}}])
    stream = client.chat.completions.create(model="glm-4.6", messages=[{"role": "user", "content": "Weather?"}],
                                            tools=[WEATHER], stream=True, extra_body={"tool_stream": True})
    deltas = [c.choices[0].delta.tool_calls[0] for c in stream if c.choices[0].delta.tool_calls]
    assert deltas[0].function.name == "weather"
    assert deltas[0].id.startswith("call_")
    assert all(d.id is None and d.function.name is None for d in deltas[1:])
    assert "".join(d.function.arguments for d in deltas) == '{"city":"Paris"}'


def test_sdk_errors(fake, client):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="GLM-4.7", messages=[{"role": "user", "content": "hi"}])
    assert err.value.code == "1211"
    with pytest.raises(openai.AuthenticationError) as err:
        openai.OpenAI(api_key="bad", base_url=fake.base_url, max_retries=0).models.list()
    assert err.value.body == {"code": "1002", "message": "Authorization Token is invalid, please ensure that the "
                                                         "Authorization Token is correctly provided."}
    fake.script_next(fault="http429_1302")
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model="glm-4.7", messages=[{"role": "user", "content": "hi"}])
    assert err.value.code == "1302"
    fake.script_next(fault="http503_1305")
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="glm-4.7", messages=[{"role": "user", "content": "hi"}])
    fake.script_next(fault="mid_error")
    with pytest.raises(openai.APIError) as err:
        list(client.chat.completions.create(model="glm-4.7", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert err.value.body == {"code": "500", "message": "Internal Error"}


def test_sdk_models_list(client):
    models = client.models.list()
    assert len(models.data) == 16
    assert models.data[0].id == "glm-5.3"
    assert models.data[0].owned_by == "z-ai"


# -- CLI ---------------------------------------------------------------------------------------------------------------
def test_cli_prints_ready_and_serves():
    with subprocess.Popen([sys.executable, "-m", "tests.fakeapi", "--port", "0", "--key", "k1", "--models-fault",
                           "http404"], cwd=ROOT,
                          stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}) as proc:
        try:
            line = proc.stdout.readline()
            assert line.startswith("READY ")
            base = f"http://127.0.0.1:{int(line.split()[1])}/api/paas/v4"
            assert requests.get(base + "/models", headers=AUTH, timeout=5).status_code == 404
            assert requests.post(base + "/chat/completions", json=BASE, timeout=5).status_code == 401
            assert requests.post(base + "/chat/completions", json=BASE, headers=AUTH, timeout=5).status_code == 200
        finally:
            proc.terminate()
