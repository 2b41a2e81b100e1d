"""The documentation's Python and curl examples, run verbatim with only the base URL changed.

The docs use `your-api-key` as the key, so these run against `docs_server`, whose DEFAULT_KEY
is that placeholder, and against `api_docs_server`, the same over Z.ai's API alone (UPSTREAMS=api,
the fake API). (The JavaScript example runs in test_node_clients.py, and here through the API.)
"""
import json
import subprocess
import sys

import pytest

from tests import fakeapi
from tests.conftest import start_gunicorn
from tests.conftest import stop_gunicorn
from tests.e2e.test_node_clients import run_docs_example

API_KEY = "zai-api-key-for-docs-0001"

PYTHON_EXAMPLE = '''\
import openai

# Configure client
client = openai.OpenAI(
    api_key="your-api-key",  # corresponds to DEFAULT_KEY
    base_url="http://localhost:9090/v1"
)

# Non-streaming example - GLM-4.5
response = client.chat.completions.create(
    model="GLM-4.5",
    messages=[{"role": "user", "content": "Hello, please introduce yourself"}]
)

print(response.choices[0].message.content)
'''

CURL_NON_STREAMING = '''\
curl -X POST http://localhost:9090/v1/chat/completions \\
  -H "Content-Type: application/json" \\
  -H "Authorization: Bearer your-api-key" \\
  -d '{
    "model": "GLM-4.5",
    "messages": [{"role": "user", "content": "Hello"}],
    "stream": false
  }'
'''

CURL_STREAMING = CURL_NON_STREAMING.replace('"stream": false', '"stream": true')


@pytest.fixture(scope="module")
def api():
    upstream = fakeapi.start_in_thread(keys=[API_KEY])
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def api_docs_server(api):
    """docs_server's settings over Z.ai's API alone: only ZAI_API_KEY and UPSTREAMS=api."""
    process, base = start_gunicorn({"UPSTREAMS": "api", "ZAI_API_KEY": API_KEY, "ZAI_API_BASE": api.base_url,
                                    "DEFAULT_KEY": "your-api-key", "WEB_CONCURRENCY": "1"})
    yield base
    stop_gunicorn(process)


def pointed_at(example, base):
    return example.replace("http://localhost:9090", base)


def run(command, example, base):
    result = subprocess.run([*command, pointed_at(example, base)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def streamed_text(out):
    events = [line[6:] for line in out.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)


def test_python_example(docs_server):
    assert run([sys.executable, "-c"], PYTHON_EXAMPLE, docs_server) == "Echo: Hello, please introduce yourself\n"


def test_curl_non_streaming_example(docs_server):
    body = json.loads(run(["bash", "-c"], CURL_NON_STREAMING, docs_server))
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "Echo: Hello"


def test_curl_streaming_example(docs_server):
    assert streamed_text(run(["bash", "-c"], CURL_STREAMING, docs_server)) == "Echo: Hello"


def test_the_examples_through_the_api_alone(api, api_docs_server, tmp_path):
    assert run([sys.executable, "-c"], PYTHON_EXAMPLE, api_docs_server) == "Echo: Hello, please introduce yourself\n"
    body = json.loads(run(["bash", "-c"], CURL_NON_STREAMING, api_docs_server))
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "Echo: Hello"
    assert streamed_text(run(["bash", "-c"], CURL_STREAMING, api_docs_server)) == "Echo: Hello"
    node = run_docs_example(api_docs_server, tmp_path)
    assert (node.returncode, node.stdout) == (0, "Echo: Hello, please introduce JavaScript\n"), node.stderr
    node = run_docs_example(api_docs_server, tmp_path, lambda code: code.replace(
        "const fetch = require('node-fetch');", "").replace("JavaScript', false);", "JavaScript', true);"))
    assert (node.returncode, node.stdout) == (0, "Echo: Hello, please introduce JavaScript\nStream complete\n"), \
        node.stderr
    sent = [entry["body"] for entry in api.requests if entry["path"].endswith("/chat/completions")]
    assert [(chat["model"], chat["messages"][0]["content"]) for chat in sent] == [
        ("glm-4.5", "Hello, please introduce yourself"), ("glm-4.5", "Hello"), ("glm-4.5", "Hello"),
        ("glm-4.5", "Hello, please introduce JavaScript"), ("glm-4.5", "Hello, please introduce JavaScript")]
    assert [len(chat["messages"]) for chat in sent] == [1] * 5
