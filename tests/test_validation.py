import pytest

from tests.conftest import AUTH

USER = [{"role": "user", "content": "hi"}]


def post(client, body, **kwargs):
    return client.post("/v1/chat/completions", json=body, headers=AUTH, **kwargs)


@pytest.mark.parametrize("body, param, code, message", [
    ({"messages": USER}, "model", "missing_required_parameter",
     "Missing required parameter: 'model'."),
    ({"model": "GLM-4.5"}, "messages", "missing_required_parameter",
     "Missing required parameter: 'messages'."),
    ({"model": "GLM-4.5", "messages": []}, "messages", "empty_array",
     "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead."),
    ({"model": "GLM-4.5", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role",
     "invalid_value", "Invalid value: 'robot'. Supported values are: 'system', 'assistant', 'user', "
                      "'function', 'tool', 'developer'."),
    ({"model": "GLM-4.5", "messages": [{"role": "user", "content": {"text": "x"}}]},
     "messages[0].content", "invalid_type",
     "Invalid type for 'messages[0].content': expected one of a string or array of objects, but got an object instead."),
    ({"model": "GLM-4.5", "messages": [{"role": "user", "content": []}]}, "messages[0].content",
     "empty_array", None),
    ({"model": "GLM-4.5", "messages": [{"role": "user", "content": [{"type": "video"}]}]},
     "messages[0].content[0].type", "invalid_value", None),
    ({"model": "GLM-4.5", "messages": [{"role": "user"}]}, "messages[0].content",
     "missing_required_parameter", None),
    ({"model": "GLM-4.5", "messages": ["hi"]}, "messages[0]", "invalid_type", None),
    ({"model": "GLM-4.5", "messages": USER, "temperature": 3}, "temperature",
     "decimal_above_max_value",
     "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3 instead."),
    ({"model": "GLM-4.5", "messages": USER, "temperature": -1}, "temperature",
     "decimal_below_min_value", None),
    ({"model": "GLM-4.5", "messages": USER, "temperature": "hot"}, "temperature", "invalid_type",
     "Invalid type for 'temperature': expected a decimal, but got a string instead."),
    ({"model": "GLM-4.5", "messages": USER, "top_p": 1.5}, "top_p", "decimal_above_max_value", None),
    ({"model": "GLM-4.5", "messages": USER, "presence_penalty": 3}, "presence_penalty",
     "decimal_above_max_value", None),
    ({"model": "GLM-4.5", "messages": USER, "frequency_penalty": -3}, "frequency_penalty",
     "decimal_below_min_value", None),
    ({"model": "GLM-4.5", "messages": USER, "n": 2}, "n", "unsupported_value", None),
    ({"model": "GLM-4.5", "messages": USER, "n": "2"}, "n", "invalid_type", None),
    ({"model": "GLM-4.5", "messages": USER, "max_tokens": 0}, "max_tokens",
     "integer_below_min_value", None),
    ({"model": "GLM-4.5", "messages": USER, "stop": ["a", "b", "c", "d", "e"]}, "stop",
     "array_above_max_length",
     "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length 5 instead."),
    ({"model": "GLM-4.5", "messages": USER, "top_logprobs": 2}, "top_logprobs", None, None),
    ({"model": "GLM-4.5", "messages": USER, "tool_choice": "auto"}, "tool_choice", None,
     "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified."),
    ({"model": "GLM-4.5", "messages": USER, "stream": False, "stream_options": {"include_usage": True}},
     "stream_options", None, "The 'stream_options' parameter is only allowed when 'stream' is enabled."),
    ({"model": "GLM-4.5", "messages": USER, "stream": "yes"}, "stream", "invalid_type", None),
    ({"model": "GLM-4.5", "messages": [{"role": "user", "content": [{"text": "x"}]}]},
     "messages[0].content[0].type", "missing_required_parameter", None),
    ({"model": "GLM-4.5", "messages": USER, "audio": {"voice": "alloy"}}, "audio",
     "unsupported_parameter", None),
    ({"model": "GLM-4.5", "messages": USER, "modalities": ["text", "audio"]}, "modalities",
     "unsupported_value", None),
    ({"model": "GLM-4.5", "messages": USER, "response_format": {"type": "json_schema"}},
     "response_format.json_schema.schema", "missing_required_parameter", None),
    ({"model": "GLM-4.5", "messages": USER, "response_format": {"type": "xml"}},
     "response_format.type", "invalid_value", None),
    ({"model": "GLM-4.5", "messages": USER, "response_format": {"type": "json_object"}},
     "messages", None, "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'."),
    ({"model": "GLM-4.5", "messages": USER, "functions": [{"name": "f"}]}, "functions",
     "unsupported_parameter", None),
    ({"model": "GLM-4.5", "messages": USER, "tools": [{"type": "function", "function": {"name": ""}}]},
     "tools[0].function.name", "invalid_value", None),
    ({"model": "GLM-4.5", "messages": USER, "tools": [{"type": "function"}]},
     "tools[0].function", "missing_required_parameter", None),
    ({"model": "GLM-4.5", "messages": USER, "tools": []}, "tools", "empty_array", None),
    ({"model": "GLM-4.5", "messages": USER, "tools": [{"type": "function", "function": {"name": "f"}}],
      "tool_choice": {"type": "function", "function": {"name": "g"}}}, "tool_choice", "invalid_value", None),
    ({"model": "GLM-4.5", "messages": USER, "tools": [{"type": "function", "function": {"name": "f"}}],
      "tool_choice": "sometimes"}, "tool_choice", "invalid_value", None),
])
def test_invalid_requests_get_openai_400s(client, fake, body, param, code, message):
    response = post(client, body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["code"] == code
    if message:
        assert error["message"] == message
    assert [r for r in fake.requests if r["method"] == "POST"] == []


def test_malformed_json(client):
    response = client.post("/v1/chat/completions", data="{'model': ", headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"].startswith("We could not parse the JSON body")


def test_json_array_body(client):
    response = post(client, [USER])
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_type"


def test_body_over_the_size_limit_is_413(fake):
    from tests.conftest import settings_for
    from ztoapi import create_app
    small = create_app(settings_for(fake, max_request_bytes=1000)).test_client()
    response = post(small, {"model": "GLM-4.5", "messages": [{"role": "user", "content": "x" * 2000}]})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_too_large"


def test_unknown_model_is_404(client):
    response = post(client, {"model": "gpt-4o", "messages": USER, "stream": False})
    assert response.status_code == 404
    assert response.get_json()["error"] == {
        "message": "The model `gpt-4o` does not exist or you do not have access to it.",
        "type": "invalid_request_error", "param": "model", "code": "model_not_found"}


def test_text_modalities_text_format_and_declined_tools_are_accepted(client):
    response = post(client, {"model": "GLM-4.5", "messages": USER, "stream": False,
                             "modalities": ["text"], "response_format": {"type": "text"},
                             "tools": [{"type": "function", "function": {"name": "f"}}],
                             "tool_choice": "none"})
    assert response.status_code == 200


def test_unknown_top_level_fields_are_ignored(client, fake):
    response = post(client, {"model": "GLM-4.5", "messages": USER, "stream": False,
                             "top_k": 5, "vendor_extra": {"a": 1}, "temperature": None})
    assert response.status_code == 200
    assert "top_k" not in fake.requests[-1]["body"]


def test_server_keeps_working_after_bad_input(client):
    post(client, {"model": "GLM-4.5", "messages": [{"role": 123}]})
    response = post(client, {"model": "GLM-4.5", "messages": USER, "stream": False})
    assert response.status_code == 200


def test_cors_with_a_list_of_origins_echoes_only_allowed_ones(fake):
    from tests.conftest import settings_for
    from ztoapi import create_app
    client = create_app(settings_for(fake, cors_origins="https://a.example, https://b.example")).test_client()
    allowed = client.get("/v1/models", headers={**AUTH, "Origin": "https://b.example"})
    other = client.get("/v1/models", headers={**AUTH, "Origin": "https://evil.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://b.example"
    assert allowed.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Origin" not in other.headers
