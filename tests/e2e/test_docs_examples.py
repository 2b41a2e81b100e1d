"""The documentation's Python and curl examples, run verbatim with only the base URL changed.

The docs use `your-api-key` as the key, so these run against `docs_server`, whose DEFAULT_KEY
is that placeholder. (The JavaScript example runs in test_node_clients.py.)
"""
import json
import subprocess
import sys

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


def pointed_at(example, base):
    return example.replace("http://localhost:9090", base)


def test_python_example(docs_server):
    result = subprocess.run([sys.executable, "-c", pointed_at(PYTHON_EXAMPLE, docs_server)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Echo: Hello, please introduce yourself\n"


def test_curl_non_streaming_example(docs_server):
    result = subprocess.run(["bash", "-c", pointed_at(CURL_NON_STREAMING, docs_server)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "Echo: Hello"


def test_curl_streaming_example(docs_server):
    result = subprocess.run(["bash", "-c", pointed_at(CURL_STREAMING, docs_server)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    events = [line[6:] for line in result.stdout.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Echo: Hello"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
