"""The README's Quick start and the /docs page's examples, copied as they are and run against
`make demo` (scripts/demo.py: gunicorn and the demo fake, default key), only the port changed: once
over the fake chat.z.ai, once over the fake Z.ai API (DEMO_UPSTREAM=api, UPSTREAMS=api)."""
import html
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from tests.conftest import ROOT
from tests.conftest import free_port

README = (Path(ROOT) / "README.md").read_text()
UPSTREAMS = {"web": "a local fake chat.z.ai", "api": "a local fake of Z.ai's API"}
NATIVE_WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def quick_start_blocks(language):
    section = README[README.index("## Quick start"):README.index("\n## API\n")]
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


def docs_blocks(page, language):
    found = re.findall(rf'<code class="language-{language}">(.*?)</code>', page, re.S)
    return [html.unescape(block) for block in found]


@pytest.fixture(scope="module", params=["web", "api"])
def demo(request):
    """`make demo`'s own script on a free port, against the fake chat.z.ai or (DEMO_UPSTREAM=api) the
    fake API; yields its base URL (http://localhost:PORT), upstream and sent (the fake's request log)."""
    port = free_port()
    env = dict(os.environ, PORT=str(port), DATA_DIR=tempfile.mkdtemp(prefix="ztoapi-demo-"))
    env.pop("DEFAULT_KEY", None)
    env.pop("DEMO_UPSTREAM", None)
    if request.param == "api":
        env["DEMO_UPSTREAM"] = "api"
    process = subprocess.Popen([sys.executable, "-m", "scripts.demo"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Docs:"):
            break
    else:
        raise RuntimeError("the demo did not start: " + "".join(lines))
    (started,) = [line for line in lines if line.startswith("ZtoApi demo:")]
    assert f"http://localhost:{port}/v1 with key sk-your-key, answering from {UPSTREAMS[request.param]} " in started
    yield SimpleNamespace(base=f"http://localhost:{port}", upstream=request.param,
                          sent=re.search(r"upstream: (\S+)", line).group(1))
    process.send_signal(subprocess.signal.SIGINT)
    process.wait(timeout=30)


def upstream_chats(demo):
    """The bodies of the chat requests the demo's fake received."""
    return [entry["body"] for entry in requests.get(demo.sent, timeout=10).json()
            if entry["path"].endswith("/chat/completions")]


def on_port(code, base):
    return code.replace("http://localhost:9090", base)


def run_shell(code):
    done = subprocess.run(["bash", "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def run_python(code):
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_quick_start_curl_examples_answer(demo):
    (shell,) = quick_start_blocks("sh")[1:]
    out = run_shell(on_port(shell, demo.base))
    models = {card["id"]: card for card in json.loads(out.splitlines()[0])["data"]}
    assert models["GLM-4.5"]["upstreams"] == [demo.upstream]
    assert "Echo: Hello" in out
    assert '"object":"chat.completion"' in out.replace(" ", "")
    assert "data: [DONE]" in out


def test_the_quick_start_python_example_answers_thinks_streams_and_calls_a_tool(demo):
    (code,) = quick_start_blocks("python")
    out = run_python(on_port(code, demo.base)).splitlines()
    assert out == ["Echo: Hello, please introduce yourself", "The user wrote: Hello, please introduce yourself",
                   "I will echo it.", "Echo: Count to three", 'get_weather {"city":"Paris"}']
    sent = upstream_chats(demo)[-1]   # the tool call: emulated on the web chat, native on the API
    assert ("You can call these tools:" in json.dumps(sent)) is (demo.upstream == "web")
    assert sent.get("tools") == {"web": None, "api": [NATIVE_WEATHER]}[demo.upstream]
    assert sent.get("tool_choice") == {"web": None, "api": "auto"}[demo.upstream]


def test_the_docs_page_examples_answer_as_shown(demo):
    page = requests.get(f"{demo.base}/docs", timeout=10).text
    (python,) = docs_blocks(page, "python")
    assert "sk-your-key" in python and demo.base in python
    assert run_python(python).strip() == "Echo: Hello, please introduce yourself"
    for curl in docs_blocks(page, "bash"):
        out = run_shell(curl)
        assert "Echo: Hello" in out


def test_the_responses_api_example_answers(demo):
    section = README[README.index("## OpenAI Responses API"):README.index("\n## Coding agents\n")]
    (shell,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    out = run_shell(on_port(shell, demo.base))
    assert '"object":"response"' in out.replace(" ", "") and "Echo: Hello" in out
