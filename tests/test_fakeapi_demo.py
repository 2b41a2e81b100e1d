"""The fake API's demo mode (tests/fakeapi/demo.py): the web fake's demo rules as native tool calls."""
import openai
import pytest

from tests import fakeapi
from tests.fakeapi.demo import script_for

KEY = "zai-demo-test-key"
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
BASH = {"type": "function", "function": {"name": "Bash", "parameters": {
    "type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}}
READ = {"type": "function", "function": {"name": "Read", "parameters": {
    "type": "object", "properties": {"file_path": {"type": "string"}}, "required": ["file_path"]}}}
SHELL = {"type": "function", "function": {"name": "shell", "parameters": {
    "type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}}},
    "required": ["command"]}}}


@pytest.fixture(scope="module")
def demo():
    upstream = fakeapi.start_in_thread(keys=[KEY], demo=True)
    yield openai.OpenAI(api_key=KEY, base_url=upstream.base_url, max_retries=0)
    upstream.stop()


def user(text):
    return {"role": "user", "content": text}


def test_the_only_tool_is_called_with_the_last_capitalised_word():
    body = {"messages": [user("What is the weather in Paris?")], "tools": [WEATHER]}
    assert script_for(body) == {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}


def test_the_tool_named_last_is_called_with_the_last_backticked_text():
    body = {"messages": [user("Do not Read `a`; run `echo ok | tee marker` with Bash")], "tools": [READ, BASH]}
    assert script_for(body) == {"tool_calls": [{"name": "Bash", "arguments": {"command": "echo ok | tee marker"}}]}


def test_several_tools_none_named_and_no_tools_get_the_echo():
    assert script_for({"messages": [user("Say hello")], "tools": [READ, BASH]}) == {}
    assert script_for({"messages": [user("Run `ls` with Bash")]}) == {}


def test_an_array_gets_a_shell_command_line():
    body = {"messages": [user("Run `echo hi` with shell")], "tools": [SHELL]}
    assert script_for(body) == {"tool_calls": [{"name": "shell", "arguments": {"command": ["bash", "-lc", "echo hi"]}}]}


def test_system_messages_after_the_question_do_not_end_it():
    body = {"messages": [user("Run `pwd` with Bash"), {"role": "system", "content": "# Environment"}],
            "tools": [READ, BASH]}
    assert script_for(body) == {"tool_calls": [{"name": "Bash", "arguments": {"command": "pwd"}}]}


def test_a_tool_message_gets_a_sentence_naming_the_call_it_answers():
    call = {"id": "call_2", "type": "function", "function": {"name": "Bash", "arguments": "{}"}}
    other = {"id": "call_1", "type": "function", "function": {"name": "Read", "arguments": "{}"}}
    body = {"messages": [user("Run `echo ok` with Bash"),
                         {"role": "assistant", "content": "", "tool_calls": [other, call]},
                         {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "ok\n"}]}],
            "tools": [BASH]}
    assert script_for(body) == {"answer": "Bash says: ok"}


def test_the_demo_answers_with_a_native_tool_call_streamed_or_not(demo):
    messages = [user("What is the weather in Paris?")]
    message = demo.chat.completions.create(model="glm-4.5", messages=messages, tools=[WEATHER]).choices[0].message
    (call,) = message.tool_calls
    assert (message.content, call.function.name, call.function.arguments) == ("", "get_weather", '{"city":"Paris"}')
    chunks = list(demo.chat.completions.create(model="glm-4.7", messages=messages, tools=[WEATHER], stream=True))
    calls = [c.choices[0].delta.tool_calls[0] for c in chunks if c.choices[0].delta.tool_calls]
    assert [(c.function.name, c.function.arguments) for c in calls] == [("get_weather", '{"city":"Paris"}')]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_the_demo_answers_a_tool_result_and_echoes_the_rest(demo):
    call = {"id": "call_7", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    messages = [user("What is the weather in Paris?"), {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_7", "content": "Sunny in Paris"}]
    answer = demo.chat.completions.create(model="glm-4.5", messages=messages, tools=[WEATHER]).choices[0].message
    assert (answer.content, answer.tool_calls) == ("get_weather says: Sunny in Paris", None)
    echo = demo.chat.completions.create(model="glm-4.5", messages=[user("Hello")]).choices[0].message
    assert echo.content == "Echo: Hello"
    assert echo.model_extra["reasoning_content"] == "The user wrote: Hello\nI will echo it."


def test_a_script_still_wins_over_the_demo(demo):
    directive = '[[fake {"answer": "scripted"}]] What is the weather in Paris?'
    reply = demo.chat.completions.create(model="glm-4.5", messages=[user(directive)], tools=[WEATHER])
    message = reply.choices[0].message
    assert (message.content, message.tool_calls) == ("scripted", None)


def test_without_demo_a_question_naming_the_only_tool_gets_the_echo():
    with fakeapi.start_in_thread(keys=[KEY]) as upstream:
        client = openai.OpenAI(api_key=KEY, base_url=upstream.base_url, max_retries=0)
        message = client.chat.completions.create(model="glm-4.5", messages=[user("What is the weather in Paris?")],
                                                 tools=[WEATHER]).choices[0].message
    assert (message.content, message.tool_calls) == ("Echo: What is the weather in Paris?", None)
    assert upstream.requests[-1]["body"]["tools"] == [WEATHER]
