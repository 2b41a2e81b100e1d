import html
import re
from pathlib import Path

import jsonschema
import pytest
from openapi_spec_validator import validate

from config.settings import Settings
from tests.conftest import KEY
from tests.e2e.test_docs_examples import CURL_NON_STREAMING
from tests.e2e.test_docs_examples import PYTHON_EXAMPLE
from ztoapi import docs_page
from ztoapi.anthropic_messages.request import openai_body
from ztoapi.anthropic_messages.schema import MessagesRequest
from ztoapi.catalog import Catalog
from ztoapi.catalog import Model
from ztoapi.errors import ApiError
from ztoapi.openai_chat.schema import ChatCompletionRequest
from ztoapi.openapi import built
from ztoapi.pipeline.request import chat_request
from ztoapi.validation import load_or_400

JS_EXAMPLE = (Path(__file__).resolve().parent / "js" / "docs_example.js").read_text()
PATHS = {"/v1/chat/completions", "/v1/responses", "/v1/responses/{response_id}", "/v1/models", "/v1/models/{model}", "/v1/messages",
         "/v1/messages/count_tokens", "/anthropic/v1/messages", "/anthropic/v1/messages/count_tokens",
         "/anthropic/v1/models", "/anthropic/v1/models/{model}",
         "/healthz", "/readyz", "/metrics", "/", "/docs", "/openapi.json"}
REF = "#/components/schemas/"
SETTINGS = Settings.from_env({}, zai_token="t")
GLM = Model("GLM-4.5", "0727-360B-API", 0)
USER = [{"role": "user", "content": "hi"}]
TOOL = {"type": "function", "function": {"name": "f"}}
ANTHROPIC_TOOL = {"name": "f", "input_schema": {"type": "object"}}


def shown(example, origin="http://localhost/"):
    """A product-documentation example as the page shows it: pointed at `origin`, with the
    default key for the documentation's placeholder, HTML-escaped."""
    example = example.rstrip("\n").replace("http://localhost:9090/", origin)
    return html.escape(example.replace("your-api-key", "sk-your-key"))


def test_openapi_json_is_valid_openapi_3_without_a_key(client):
    rv = client.get("/openapi.json")
    assert rv.status_code == 200
    assert rv.mimetype == "application/json"
    assert rv.json["openapi"] == "3.1.0"
    validate(rv.json)


def test_servers_is_the_host_the_request_came_to(client):
    assert client.get("/openapi.json").json["servers"] == [{"url": "http://localhost"}]
    rv = client.get("/openapi.json", base_url="https://gateway.example:8443")
    assert rv.json["servers"] == [{"url": "https://gateway.example:8443"}]


def test_every_public_route_is_described(app, client):
    spec = client.get("/openapi.json").json
    assert set(spec["paths"]) == PATHS
    routed = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "docs.favicon") or rule.endpoint.startswith("dashboard."):
            continue
        path = re.sub(r"<(?:path:)?model_id>", "{model}", rule.rule).replace("<response_id>", "{response_id}")
        routed.setdefault(path, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    assert routed == {path: {method.upper() for method in operations} for path, operations in spec["paths"].items()}


def test_chat_completion_request_has_the_real_fields(client):
    schemas = client.get("/openapi.json").json["components"]["schemas"]
    operation = client.get("/openapi.json").json["paths"]["/v1/chat/completions"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": REF + "ChatCompletionRequest"}
    request = schemas["ChatCompletionRequest"]
    assert request["required"] == ["messages", "model"]
    assert request["properties"]["model"]["type"] == "string"
    assert request["properties"]["messages"] == {
        "type": "array", "items": {"$ref": REF + "ChatMessage"}, "minItems": 1, "maxItems": 2048}
    assert request["properties"]["stream"]["type"] == ["boolean", "null"]
    assert request["properties"]["tools"]["items"] == {"$ref": REF + "ChatTool"}
    assert request["properties"]["temperature"]["maximum"] == 2
    assert request["properties"]["tool_choice"]["anyOf"][:2] == [
        {"type": "null"}, {"enum": ["none", "auto", "required"]}]
    message = schemas["ChatMessage"]
    assert message["required"] == ["role"]
    assert message["properties"]["role"]["enum"] == ["system", "assistant", "user", "function", "tool",
                                                     "developer"]
    assert message["properties"]["content"]["type"] == ["string", "array", "null"]
    assert message["properties"]["content"]["items"] == {"$ref": REF + "ChatContentPart"}
    assert schemas["ChatFunction"]["properties"]["name"]["pattern"] == "^[A-Za-z0-9_-]{1,64}$"


def test_messages_request_requires_max_tokens_and_count_tokens_does_not(client):
    schemas = client.get("/openapi.json").json["components"]["schemas"]
    assert schemas["AnthropicMessagesRequest"]["required"] == ["max_tokens", "messages", "model"]
    assert schemas["AnthropicCountTokensRequest"]["required"] == ["messages", "model"]
    content = schemas["AnthropicMessage"]["properties"]["content"]
    assert content["type"] == ["string", "array"]
    assert {"$ref": REF + "AnthropicTextBlock"} in content["items"]["oneOf"][0]["allOf"]


def test_responses_are_the_chat_completion_the_stream_and_the_error_envelopes(client):
    spec = client.get("/openapi.json").json
    chat = spec["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert chat["200"]["content"]["application/json"]["schema"] == {"$ref": REF + "ChatCompletion"}
    assert "data: [DONE]" in chat["200"]["content"]["text/event-stream"]["example"]
    assert set(chat) == {"200", "400", "401", "404", "413", "429", "502", "503", "504"}
    assert chat["401"]["content"]["application/json"]["schema"] == {"$ref": REF + "Error"}
    schemas = spec["components"]["schemas"]
    assert schemas["ErrorDetail"]["required"] == ["code", "message", "param", "type"]
    assert schemas["ChatCompletionChunk"]["properties"]["object"]["enum"] == ["chat.completion.chunk"]
    messages = spec["paths"]["/v1/messages"]["post"]["responses"]
    assert messages["401"]["content"]["application/json"]["schema"] == {"$ref": REF + "AnthropicError"}
    assert schemas["AnthropicError"]["properties"]["type"]["enum"] == ["error"]


def test_the_responses_api_is_described_with_its_request_and_response(client):
    spec = client.get("/openapi.json").json
    create = spec["paths"]["/v1/responses"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": REF + "ResponsesRequest"}
    assert create["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": REF + "Response"}
    assert "response.completed" in create["responses"]["200"]["content"]["text/event-stream"]["schema"]["description"]
    schemas = spec["components"]["schemas"]
    request = schemas["ResponsesRequest"]
    assert request["required"] == ["model"]
    assert request["properties"]["input"]["type"] == ["array", "string", "null"]
    assert request["properties"]["max_output_tokens"]["minimum"] == 16
    assert set(spec["paths"]["/v1/responses/{response_id}"]) == {"get", "delete"}


def test_security_schemes_bearer_and_x_api_key(client):
    spec = client.get("/openapi.json").json
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["components"]["securitySchemes"]["apiKeyAuth"] == {
        "type": "apiKey", "in": "header", "name": "x-api-key"}
    assert spec["paths"]["/v1/models"]["get"]["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/v1/messages"]["post"]["security"] == [{"apiKeyAuth": []}, {"bearerAuth": []}]
    assert "security" not in spec["paths"]["/docs"]["get"]


def test_docs_page_without_a_key(client):
    rv = client.get("/docs")
    assert rv.status_code == 200
    assert rv.mimetype == "text/html"
    assert '<code id="base-url">http://localhost/v1</code>' in rv.text
    assert KEY not in rv.text


def test_docs_page_shows_the_examples_pointed_at_this_server(client):
    rv = client.get("/docs")
    assert shown(PYTHON_EXAMPLE) in rv.text
    assert shown(CURL_NON_STREAMING) in rv.text
    assert shown(JS_EXAMPLE) in rv.text
    assert "localhost:9090" not in rv.text


def test_docs_page_follows_the_host(client):
    rv = client.get("/docs", base_url="https://gateway.example:8443")
    assert '<code id="base-url">https://gateway.example:8443/v1</code>' in rv.text
    assert shown(PYTHON_EXAMPLE, "https://gateway.example:8443/") in rv.text


def test_docs_page_does_not_echo_a_hostile_host(client):
    rv = client.get("/docs", headers={"Host": 'evil"><script>alert(1)</script>'})
    assert rv.status_code == 200
    assert "alert(1)" not in rv.text


def test_docs_page_lists_the_catalog_models(app, client):
    rv = client.get("/docs")
    for model_id in ("GLM-4.5", "GLM-4.6", "GLM-4.5V", "GLM-4.5-Air", "GLM-4.6-Thinking", "GLM-4.5-Search"):
        assert f"<tr><td><code>{model_id}</code></td>" in rv.text
        assert f"{{&quot;id&quot;: &quot;{model_id}&quot;, &quot;object&quot;: &quot;model&quot;" in rv.text
    glm5 = (Model("GLM-5", "glm-5", 0),)
    app.extensions["catalog"] = Catalog(lambda: (glm5, {}))
    assert "<tr><td><code>GLM-5</code></td>" in client.get("/docs").text


def test_render_escapes_text_and_code_and_builds_tables():
    title, contents, body = docs_page.render(
        "# T <1>\n\n## A & B\n\nx <b> `y<z>` [l](/u?a=1&b=2)\n\n```python\nif a < b: pass\n```\n\n"
        "| k | v |\n|---|---|\n| <i> | 2 |\n\n## A & B\n")
    assert title == "T <1>"
    assert contents == (("a-b", "A & B", 2), ("a-b-2", "A & B", 2))
    assert body.split("\n") == [
        '<h2 id="a-b">A &amp; B</h2>',
        '<p>x &lt;b&gt; <code>y&lt;z&gt;</code> <a href="/u?a=1&amp;b=2">l</a></p>',
        '<div class="code-block" data-copyable><div class="code-head"><span>Python</span><button '
        'type="button" class="copy" aria-label="Copy the Python code">Copy</button></div><pre><code '
        'class="language-python">if a &lt; b: pass</code></pre></div>',
        '<div class="table-wrap"><table><thead><tr><th>k</th><th>v</th></tr></thead><tbody><tr>'
        '<td>&lt;i&gt;</td><td>2</td></tr></tbody></table></div>',
        '<h2 id="a-b-2">A &amp; B</h2>']


def test_favicon_is_the_logo(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.data.startswith(b"<svg")


def test_root_sends_a_browser_to_the_docs(client):
    rv = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert rv.status_code == 302
    assert rv.headers["Location"] == "/docs"


def test_root_gives_an_api_client_json_pointers(client):
    rv = client.get("/", headers={"Accept": "*/*"})
    assert rv.status_code == 200
    assert rv.json == {"name": "ZtoApi",
                       "api": {"openai": "http://localhost/v1", "anthropic": "http://localhost/v1/messages"},
                       "docs": "http://localhost/docs", "openapi": "http://localhost/openapi.json",
                       "health": "http://localhost/healthz"}


def test_docs_error_table_lists_every_status_the_server_answers(client):
    page = client.get("/docs").text
    for status in (200, 302, 400, 401, 403, 404, 405, 408, 413, 414, 429, 431, 500, 502, 503, 504):
        assert f"<td>{status} " in page or f"/ {status} " in page, status


def spec_accepts(component, body):
    """Whether the served spec's schema `component` holds `body` valid (JSON Schema 2020-12)."""
    schema = {"$ref": REF + component, "components": built()["components"]}
    return jsonschema.Draft202012Validator(schema).is_valid(body)


def chat_accepts(body):
    """Whether the gateway takes a chat body as far as the upstream (an unknown model aside)."""
    try:
        chat_request(load_or_400(ChatCompletionRequest(), body), SETTINGS, GLM)
    except ApiError:
        return False
    return True


def messages_accepts(body):
    try:
        chat_request(openai_body(load_or_400(MessagesRequest(), body), GLM), SETTINGS, GLM)
    except ApiError:
        return False
    return True


@pytest.mark.parametrize("fields, valid", [
    ({}, True),
    ({"n": 1.0, "max_tokens": 100.0, "seed": 3.0}, True),
    ({"max_tokens": 100.5}, False),
    ({"n": 2}, False),
    ({"logprobs": True}, False),
    ({"logprobs": False}, True),
    ({"top_logprobs": 0}, False),
    ({"audio": {}}, False),
    ({"functions": []}, False),
    ({"modalities": ["text"]}, True),
    ({"modalities": ["text", "audio"]}, False),
    ({"stop": "x"}, True),
    ({"stop": ["a", "b", "c", "d"]}, True),
    ({"stop": ["a", "b", "c", "d", "e"]}, False),
    ({"stop": ["a", 1]}, False),
    ({"tool_choice": "auto"}, False),
    ({"tool_choice": "auto", "tools": [TOOL]}, True),
    ({"tool_choice": "sometimes", "tools": [TOOL]}, False),
    ({"tool_choice": {"type": "function", "function": {"name": "f"}}, "tools": [TOOL]}, True),
    ({"tool_choice": {"type": "function"}, "tools": [TOOL]}, False),
    ({"tools": [TOOL] * 128}, True),
    ({"tools": [TOOL] * 129}, False),
    ({"tools": [{"type": "function", "function": {"name": "météo"}}]}, False),
    ({"tools": [{"type": "function", "function": {"name": "f" * 65}}]}, False),
    ({"stream": True, "stream_options": {"include_usage": True}}, True),
    ({"stream": False, "stream_options": {"include_usage": True}}, False),
    ({"response_format": {"type": "text"}}, True),
    ({"response_format": {}}, False),
    ({"response_format": {"type": "xml"}}, False),
    ({"response_format": {"type": "json_schema"}}, False),
    ({"response_format": {"type": "json_schema", "json_schema": "x"}}, False),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}}, True),
    ({"messages": [{"role": "user"}]}, False),
    ({"messages": [{"role": "assistant"}]}, True),
    ({"messages": [{"role": "tool", "content": "x"}]}, False),
    ({"messages": [{"role": "tool", "content": "x", "tool_call_id": ""}]}, False),
    ({"messages": USER * 2049}, False),
    ({"messages": [{"role": "user", "content": [{"type": "text"}]}]}, False),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "x", "extra": 1}]}]}, True),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "u"}]}]}, True),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": ""}}]}]}, False),
    ({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "u", "detail": "ultra"}}]}]}, False),
    ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "x"}}]}]}, False),
    ({"messages": [{"role": "user", "content": [{"type": "file", "file": {}}]}]}, True),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}] * 2049}]}, False),
])
def test_the_chat_spec_and_the_validator_agree(fields, valid):
    body = {"model": "GLM-4.5", "messages": USER, **fields}
    assert spec_accepts("ChatCompletionRequest", body) is valid
    assert chat_accepts(body) is valid


@pytest.mark.parametrize("fields, valid", [
    ({}, True),
    ({"max_tokens": 1024.0}, True),
    ({"max_tokens": 1024.5}, False),
    ({"thinking": {"type": "enabled"}}, False),
    ({"thinking": {"type": "enabled", "budget_tokens": 2048}, "max_tokens": 4096}, True),
    ({"thinking": {"type": "enabled", "budget_tokens": 2048.0}, "max_tokens": 4096}, True),
    ({"thinking": {"type": "adaptive"}}, True),
    ({"tool_choice": {"type": "tool"}, "tools": [ANTHROPIC_TOOL]}, False),
    ({"tool_choice": {"type": "tool", "name": "f"}}, False),
    ({"tool_choice": {"type": "tool", "name": "f"}, "tools": [ANTHROPIC_TOOL]}, True),
    ({"tools": []}, True),
    ({"tools": [{"name": "f" * 65, "input_schema": {}}]}, False),
    ({"stop_sequences": ["x" * 256] * 256}, True),
    ({"stop_sequences": ["x"] * 257}, False),
    ({"stop_sequences": ["x" * 257]}, False),
    ({"stop_sequences": [""]}, False),
    ({"messages": USER * 100_001}, False),
    ({"messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "data": "x"}}]}]}, False),
    ({"messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "x"}}]}]}, True),
    ({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "url"}}]}]}, False),
    ({"messages": [{"role": "user", "content": [
        {"type": "tool_use", "id": "t", "name": "f", "input": {}}]}]}, False),
    ({"messages": [*USER, {"role": "assistant", "content": [
        {"type": "image", "source": {"type": "url", "url": "u"}}]}]}, False),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}] * 2049}]}, False),
])
def test_the_messages_spec_and_the_validator_agree(fields, valid):
    body = {"model": "GLM-4.5", "max_tokens": 1024, "messages": USER, **fields}
    assert spec_accepts("AnthropicMessagesRequest", body) is valid
    assert messages_accepts(body) is valid


def test_thinking_enabled_requires_a_budget_in_the_spec(client):
    thinking = client.get("/openapi.json").json["components"]["schemas"]["AnthropicThinking"]
    assert thinking["if"] == {"required": ["type"], "properties": {"type": {"const": "enabled"}}}
    assert thinking["then"]["required"] == ["budget_tokens"]


def test_the_spec_says_what_it_cannot_check(client):
    schemas = client.get("/openapi.json").json["components"]["schemas"]
    assert "more than 500 images" in schemas["ChatCompletionRequest"]["description"]
    assert "nested more than 64 levels" in schemas["AnthropicMessagesRequest"]["description"]
