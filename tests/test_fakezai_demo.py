"""The demo upstream's answers (tests/fakezai/demo.py), on messages as ZtoApi sends them upstream."""
import json

from tests.fakezai.demo import script_for
from ztoapi.pipeline.tools import tool_instruction

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
BASH = {"type": "object", "properties": {"command": {"type": "string"}, "timeout": {"type": "number"}},
        "required": ["command"]}
READ = {"type": "object", "properties": {"file_path": {"type": "string"}}, "required": ["file_path"]}
SHELL = {"type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}},
                                          "workdir": {"type": "string"}}, "required": ["command"]}


def offering(*tools, prompt="You are a coding agent."):
    functions = [{"type": "function", "function": {"name": name, "parameters": schema}} for name, schema in tools]
    return {"role": "system", "content": f"{prompt}\n\n{tool_instruction(functions)}"}


def call_of(script):
    (call,) = json.loads(script["answer"])["tool_calls"]
    return call["name"], call["arguments"]


def test_the_only_tool_is_called_with_the_last_capitalised_word():
    messages = [offering(("get_weather", WEATHER)), {"role": "user", "content": "What is the weather in Paris?"}]
    assert call_of(script_for(messages)) == ("get_weather", {"city": "Paris"})


def test_the_tool_named_last_is_called_with_the_last_backticked_text():
    messages = [offering(("Read", READ), ("Bash", BASH)),
                {"role": "user", "content": "Do not Read `a`; run `echo ok | tee marker` with Bash"}]
    assert call_of(script_for(messages)) == ("Bash", {"command": "echo ok | tee marker"})


def test_several_tools_none_named_get_the_echo():
    messages = [offering(("Read", READ), ("Bash", BASH)), {"role": "user", "content": "Say hello"}]
    assert script_for(messages) == {}


def test_an_array_gets_a_shell_command_line():
    messages = [offering(("shell", SHELL)), {"role": "user", "content": "Run `echo hi` with shell"}]
    assert call_of(script_for(messages)) == ("shell", {"command": ["bash", "-lc", "echo hi"]})


def test_a_prompts_own_headings_are_not_tools():
    system = offering(("exec_command", BASH), prompt="# How you work\n\n## Personality\n\nBe concise.")
    question = {"role": "user", "content": "Show `notes.txt`"}
    assert call_of(script_for([system, question])) == ("exec_command", {"command": "notes.txt"})


def test_system_turns_after_the_question_do_not_end_it():
    messages = [offering(("Read", READ), ("Bash", BASH)),
                {"role": "user", "content": "Run `pwd` with Bash"}, {"role": "system", "content": "# Environment"}]
    assert call_of(script_for(messages)) == ("Bash", {"command": "pwd"})


def test_a_tool_result_gets_a_sentence_built_on_it():
    messages = [offering(("Bash", BASH)), {"role": "user", "content": "Run `echo ok` with Bash"},
                {"role": "assistant", "content": '{"tool_calls": [{"name": "Bash", "arguments": {}}]}'},
                {"role": "user", "content": "Tool result from Bash (call call_1):\nok\n"}]
    assert script_for(messages) == {"answer": "Bash says: ok"}


def test_a_folded_2026_transcript_is_read_by_turn():
    system = offering(("Read", READ), ("Bash", BASH))["content"]
    folded = f"<|system|>\n{system}\n<|user|>\nRun `ls` with Bash"
    assert call_of(script_for([{"role": "user", "content": folded}])) == ("Bash", {"command": "ls"})
