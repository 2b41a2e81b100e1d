"""The README's Quick start and the /docs page's examples, copied as they are and run against
`make demo` (scripts/demo.py: gunicorn and the demo fake, default key), only the port changed."""
import html
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT
from tests.conftest import free_port

README = (Path(ROOT) / "README.md").read_text()


def quick_start_blocks(language):
    section = README[README.index("## Quick start"):README.index("\n## API\n")]
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


def docs_blocks(page, language):
    found = re.findall(rf'<code class="language-{language}">(.*?)</code>', page, re.S)
    return [html.unescape(block) for block in found]


@pytest.fixture(scope="module")
def demo():
    """`make demo`'s own script on a free port; yields its base URL (http://localhost:PORT)."""
    port = free_port()
    env = dict(os.environ, PORT=str(port), DATA_DIR=tempfile.mkdtemp(prefix="ztoapi-demo-"))
    env.pop("DEFAULT_KEY", None)
    process = subprocess.Popen([sys.executable, "-m", "scripts.demo"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("ZtoApi demo:"):
            break
    else:
        raise RuntimeError("the demo did not start: " + "".join(lines))
    assert f"http://localhost:{port}/v1 with key sk-your-key" in line
    yield f"http://localhost:{port}"
    process.send_signal(subprocess.signal.SIGINT)
    process.wait(timeout=30)


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
    out = run_shell(on_port(shell, demo))
    assert '"id":"GLM-4.5"' in out.replace(" ", "")
    assert "Echo: Hello" in out
    assert '"object":"chat.completion"' in out.replace(" ", "")
    assert "data: [DONE]" in out


def test_the_quick_start_python_example_answers_thinks_streams_and_calls_a_tool(demo):
    (code,) = quick_start_blocks("python")
    out = run_python(on_port(code, demo)).splitlines()
    assert out[0] == "Echo: Hello, please introduce yourself"
    assert out[1].startswith("The user wrote: ")
    assert out[-2:] == ["Echo: Count to three", 'get_weather {"city":"Paris"}']


def test_the_docs_page_examples_answer_as_shown(demo):
    page = requests.get(f"{demo}/docs", timeout=10).text
    (python,) = docs_blocks(page, "python")
    assert "sk-your-key" in python and demo in python
    assert run_python(python).strip() == "Echo: Hello, please introduce yourself"
    for curl in docs_blocks(page, "bash"):
        out = run_shell(curl)
        assert "Echo: Hello" in out


def test_the_responses_api_example_answers(demo):
    section = README[README.index("## OpenAI Responses API"):README.index("\n## Coding agents\n")]
    (shell,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    out = run_shell(on_port(shell, demo))
    assert '"object":"response"' in out.replace(" ", "") and "Echo: Hello" in out
