"""Real coding agents against `make demo` (ZtoApi under gunicorn over the demo fake chat.z.ai, then
over the demo fake Z.ai API with DEMO_UPSTREAM=api), set up as the README's "Coding agents" section
says, only the port changed: Claude Code in print mode, Codex CLI's `codex exec` and the OpenAI
Agents SDK. Through the API, tool calls are native: the fake's request log shows the tools, the call
and its result in the API's own terms, and no tool-calling instruction.

The CLIs are the platform binaries `npm ci` puts in tests/js/node_modules. Each runs offline in an
empty tmp dir with a clean environment: HOME (and so ~/.codex) in a tmp dir, nothing inherited
from the developer's shell, telemetry, update checks and retries off."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT
from tests.conftest import free_port

README = (ROOT / "README.md").read_text()
MODULES = ROOT / "tests" / "js" / "node_modules"
CLAUDE = MODULES / "@anthropic-ai" / "claude-code-linux-x64" / "claude"
CODEX = MODULES / "@openai" / "codex-linux-x64" / "vendor" / "x86_64-unknown-linux-musl" / "bin" / "codex"
QUIET_CLAUDE = {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1",
                "DISABLE_ERROR_REPORTING": "1", "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_MAX_RETRIES": "0"}
CODEX_NO_RETRIES = " -c model_providers.ztoapi.request_max_retries=0 -c model_providers.ztoapi.stream_max_retries=0"


def readme_block(heading, language):
    """The one `language` block under the README's "Coding agents" `### heading`."""
    section = README[README.index("\n## Coding agents\n"):]
    section = section[:section.index("\n## ", 1)]
    part = section[section.index(f"\n### {heading}\n"):]
    end = part.find("\n### ", 1)
    part = part[:end if end != -1 else None]
    (block,) = [chunk.split("\n", 1)[1] for chunk in part.split("```")[1::2] if chunk.startswith(language + "\n")]
    return block


class Demo:
    """`make demo`'s own script (scripts/demo.py) on a free port, its data and output in directory, over
    the fake chat.z.ai (upstream "web") or the fake Z.ai API ("api": DEMO_UPSTREAM=api)."""

    def __init__(self, directory, upstream):
        self.port = free_port()
        self.base = f"http://localhost:{self.port}"
        self.upstream = upstream
        self.log = open(directory / "demo.log", "w+")
        env = dict(os.environ, PORT=str(self.port), DATA_DIR=str(directory / "data"))
        env.pop("DEFAULT_KEY", None)
        env.pop("DEMO_UPSTREAM", None)
        if upstream == "api":
            env["DEMO_UPSTREAM"] = "api"
        self.process = subprocess.Popen([sys.executable, "-m", "scripts.demo"], cwd=ROOT, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while "Ctrl-C stops the demo." not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.output()
                self.stop()
                raise RuntimeError(f"the demo did not start: {output}")
            time.sleep(0.1)

    def output(self):
        return Path(self.log.name).read_text()

    def settled_length(self):
        """The output's length once earlier requests' log lines are all written (they are written in
        batches, a moment after each request ends)."""
        length = len(self.output())
        while True:
            time.sleep(0.3)
            if len(self.output()) == length:
                return length
            length = len(self.output())

    def upstream_chats(self, since):
        """The bodies of the chat requests the demo's fake received, after the first `since`."""
        sent = re.search(r"What ZtoApi sent upstream: (\S+)", self.output()).group(1)
        return [entry["body"] for entry in requests.get(sent, timeout=10).json()
                if entry["path"].endswith("/chat/completions")][since:]

    def requests_from(self, agent, since, count):
        """(method, path, status) of each request the access log shows, after the first `since`
        characters of the output, from user agents starting with agent: once there are count of
        them (a request's line is written after its last byte), or after 5 s."""
        deadline = time.monotonic() + 5
        while True:
            found = re.findall(r"ztoapi\.access: \S+ (\S+) (\S+) (\d+) .* agent=\"?([^\n\"]*)", self.output()[since:])
            seen = [(method, path, status) for method, path, status, client in found if client.startswith(agent)]
            if len(seen) >= count or time.monotonic() > deadline:
                return seen
            time.sleep(0.05)

    def on_port(self, text):
        return text.replace("http://localhost:9090", self.base)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="module", params=["web", "api"])
def demo(request, tmp_path_factory):
    for binary in (CLAUDE, CODEX):
        if not binary.exists():
            pytest.fail(f"{binary} not found: run `npm ci` in tests/js")
    server = Demo(tmp_path_factory.mktemp("demo"), request.param)
    yield server
    server.stop()


def run(demo, tmp_path, script, **env):
    """Run a README shell block (port changed) with bash in tmp_path/work, as a fresh user whose PATH
    has `claude` and `codex`; returns the finished process."""
    bin_dir, home, work = tmp_path / "bin", tmp_path / "home", tmp_path / "work"
    for directory in (bin_dir, home, work):
        directory.mkdir(exist_ok=True)
    for binary in (CLAUDE, CODEX):
        (bin_dir / binary.name).unlink(missing_ok=True)
        (bin_dir / binary.name).symlink_to(binary)
    clean = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", **env}
    return subprocess.run(["bash", "-c", demo.on_port(script)], cwd=work, env=clean, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def why(done, demo):
    return f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}\nserver: {demo.output()[-3000:]}"


def claude(demo, tmp_path, script):
    done = run(demo, tmp_path, script, **QUIET_CLAUDE)
    assert done.returncode == 0, why(done, demo)
    return json.loads(done.stdout)


def test_claude_code_answers_a_question_with_an_api_key_and_the_haiku_model(demo, tmp_path):
    exports = readme_block("Claude Code", "sh").rsplit("\nclaude ", 1)[0]
    exports = exports.replace("ANTHROPIC_AUTH_TOKEN=", "ANTHROPIC_API_KEY=")
    chats = len(demo.upstream_chats(0))
    result = claude(demo, tmp_path, exports + "\nclaude -p 'Say hello' --model haiku --output-format json")
    assert result["is_error"] is False
    assert result["num_turns"] == 1
    assert result["result"].startswith("Echo: ") and result["result"].endswith("Say hello")
    assert list(result["modelUsage"]) == ["GLM-4.5-Air"]
    (sent,) = demo.upstream_chats(chats)
    assert sent["model"] == {"web": "0727-106B-API", "api": "glm-4.5-air"}[demo.upstream]


def test_claude_code_runs_bash_and_answers_with_its_output(demo, tmp_path):
    block = readme_block("Claude Code", "sh")
    assert block.splitlines()[-1].startswith("claude -p ")
    since, chats = demo.settled_length(), len(demo.upstream_chats(0))
    result = claude(demo, tmp_path, block.rstrip() + " --output-format json")
    assert demo.requests_from("claude-cli/", since, 2) == [("POST", "/v1/messages", "200")] * 2
    assert (tmp_path / "work" / "marker").read_text() == "ok\n"
    assert result["is_error"] is False
    assert result["num_turns"] == 2
    assert result["permission_denials"] == []
    assert result["result"] == "Bash says: ok"
    first, second = demo.upstream_chats(chats)
    assert ("You can call these tools:" in json.dumps([first, second])) is (demo.upstream == "web")
    if demo.upstream == "api":   # native tools and a native call and result
        assert "Bash" in [tool["function"]["name"] for tool in first["tools"]] and first["tool_choice"] == "auto"
        call, answer = second["messages"][-2:]
        assert call["tool_calls"][0]["function"] == {"name": "Bash", "arguments": '{"command":"echo ok | tee marker"}'}
        assert answer == {"role": "tool", "content": "ok", "tool_call_id": call["tool_calls"][0]["id"]}


def codex(demo, tmp_path, command):
    """`codex exec` with the README's config file and key, plus --json and no retries; returns its
    items and the last event."""
    config = tmp_path / "home" / ".codex" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(demo.on_port(readme_block("Codex CLI", "toml")))
    exports = readme_block("Codex CLI", "sh").rsplit("\ncodex ", 1)[0]
    done = run(demo, tmp_path, f"{exports}\n{command} --json{CODEX_NO_RETRIES}", CODEX_HOME=str(config.parent))
    assert done.returncode == 0, why(done, demo)
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    items = [event["item"] for event in events if event["type"] == "item.completed"]
    assert [item for item in items if item["type"] == "error" and "Model metadata" not in item["message"]] == []
    return items, events[-1]


def test_codex_answers_a_question(demo, tmp_path):
    items, last = codex(demo, tmp_path, "codex exec --skip-git-repo-check 'Say hello'")
    assert last["type"] == "turn.completed"
    assert [(item["type"], item["text"]) for item in items if item["type"] != "error"] == [
        ("reasoning", "The user wrote: Say hello\nI will echo it."), ("agent_message", "Echo: Say hello")]


def test_codex_runs_a_shell_command_and_answers_with_its_output(demo, tmp_path):
    (command,) = [line for line in readme_block("Codex CLI", "sh").splitlines() if line.startswith("codex ")]
    since, chats = demo.settled_length(), len(demo.upstream_chats(0))
    items, last = codex(demo, tmp_path, command)
    assert demo.requests_from("codex_exec/", since, 2) == [("POST", "/v1/responses", "200")] * 2
    assert (tmp_path / "work" / "marker").read_text() == "ok\n"
    assert last["type"] == "turn.completed"
    thought, ran, thought_again, answer = [item for item in items if item["type"] != "error"]
    assert (thought["type"], ran["type"], thought_again["type"]) == ("reasoning", "command_execution", "reasoning")
    assert ran["command"] == "/bin/bash -lc 'echo ok | tee marker'"
    assert (ran["exit_code"], ran["aggregated_output"]) == (0, "ok\n")
    assert answer["type"] == "agent_message"
    assert answer["text"].startswith("exec_command says: ") and answer["text"].endswith("\nOutput:\nok")
    first, second = demo.upstream_chats(chats)
    assert ("You can call these tools:" in json.dumps([first, second])) is (demo.upstream == "web")
    if demo.upstream == "api":   # native tools and a native call and result
        assert "exec_command" in [tool["function"]["name"] for tool in first["tools"]]
        assert first["tool_choice"] == "auto"
        call, output = second["messages"][-2:]
        assert call["tool_calls"][0]["function"] == {"name": "exec_command",
                                                     "arguments": '{"cmd":"echo ok | tee marker"}'}
        assert output["role"] == "tool" and output["tool_call_id"] == call["tool_calls"][0]["id"]
        assert output["content"].endswith("\nOutput:\nok\n")
        assert answer["text"] == "exec_command says: " + output["content"].strip()


STREAMED = """
import asyncio
from agents import OpenAIResponsesModel

set_default_openai_client(AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="nobody"))  # not this one


async def streamed():
    client = AsyncOpenAI(base_url="http://localhost:9090/v1", api_key="sk-your-key", max_retries=0)
    model = OpenAIResponsesModel(model="GLM-4.7", openai_client=client)
    agent = Agent(name="Streamer", model=model, tools=[get_weather])
    result = Runner.run_streamed(agent, "What is the weather in Oslo?")
    kinds = sorted({event.type async for event in result.stream_events()})
    print(result.final_output, kinds)


asyncio.run(streamed())
"""


def test_agents_sdk_calls_a_function_tool_and_answers_with_its_result(demo, tmp_path):
    """The README's example, then the same agent with a model of its own, streamed."""
    code = demo.on_port(readme_block("OpenAI Agents SDK", "python") + STREAMED)
    chats = len(demo.upstream_chats(0))
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=clean, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, why(done, demo)
    events = "['agent_updated_stream_event', 'raw_response_event', 'run_item_stream_event']"
    assert done.stdout.splitlines() == ["get_weather says: Sunny in Paris", f"get_weather says: Sunny in Oslo {events}"]
    sent = demo.upstream_chats(chats)
    assert len(sent) == 4
    assert ("You can call these tools:" in json.dumps(sent)) is (demo.upstream == "web")
    if demo.upstream == "api":   # native tools and a native call and result
        assert [[tool["function"]["name"] for tool in chat["tools"]] for chat in sent] == [["get_weather"]] * 4
        assert [chat["messages"][-1]["content"] for chat in sent] == [
            "What is the weather in Paris?", "Sunny in Paris", "What is the weather in Oslo?", "Sunny in Oslo"]
        assert [chat["messages"][-2]["tool_calls"][0]["function"]["arguments"] for chat in sent[1::2]] == [
            '{"city":"Paris"}', '{"city":"Oslo"}']
