"""The official openai Python SDK against ZtoApi under gunicorn (gevent workers)."""
import json

import openai
import pytest
import requests

from tests.conftest import KEY
from tests.sent import models_of

HELLO = [{"role": "user", "content": "Hello, please introduce yourself"}]


def directive(**script):
    return f"[[fake {json.dumps(script)}]]"


@pytest.mark.dialect("2025")
def test_models_list_and_retrieve(sdk):
    models = sdk.models.list()
    assert [m.id for m in models.data] == [
        "GLM-4.5", "GLM-4.6", "GLM-4.5V", "GLM-4.5-Air", "GLM-4.5-Thinking", "GLM-4.5-Search",
        "GLM-4.6-Thinking", "GLM-4.6-Search", "GLM-4.5-Air-Thinking", "GLM-4.5-Air-Search"]
    assert models.data[2].model_extra["capabilities"]["vision"] is True
    assert all(m.object == "model" and m.owned_by == "z.ai" and isinstance(m.created, int)
               for m in models.data)
    assert sdk.models.retrieve("GLM-4.6").id == "GLM-4.6"


@pytest.mark.dialect("2026")
def test_the_2026_models_are_chat_z_ai_s_own_list(sdk):
    models = {m.id: m for m in sdk.models.list().data}
    assert list(models)[:7] == ["GLM-5.3-Flash", "GLM-5.3", "GLM-5.2", "GLM-5-Turbo", "GLM-5V-Turbo",
                                "GLM-4.7", "GLM-4.6V"]
    assert {"GLM-4.5", "GLM-4.5-Air", "GLM-4.7-Thinking", "GLM-4.7-Search"} <= set(models)
    assert not {"GLM-4.6", "GLM-4.5V"} & set(models)
    assert models["GLM-4.6V"].model_extra["capabilities"]["vision"] is True
    assert models["GLM-5.2"].model_extra["capabilities"]["reasoning_effort"] is True
    assert all(m.object == "model" and m.owned_by == "z.ai" for m in models.values())
    assert sdk.models.retrieve("x-preview-l").id == "GLM-5.3-Flash"
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.chat.completions.create(model="GLM-4.6", messages=HELLO)
    assert caught.value.code == "model_not_found"
    assert "continues as GLM-4.7" in caught.value.message


def test_unknown_model_raises_not_found(sdk):
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.models.retrieve("no-such-model")
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(model="gpt-4o", messages=HELLO)


def test_model_ids_with_slashes_work_raw_and_encoded(server):
    for path in ("/v1/models/org/model", "/v1/models/org%2Fmodel"):
        response = requests.get(server + path, headers={"Authorization": f"Bearer {KEY}"}, timeout=5)
        assert response.status_code == 404
        assert response.json()["error"]["message"].startswith("The model `org/model` does not exist")


def test_non_streaming_without_stream_field_gets_a_completion(sdk):
    completion = sdk.chat.completions.create(model="GLM-4.5", messages=HELLO)
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.choices[0].message.content == "Echo: Hello, please introduce yourself"
    assert completion.choices[0].message.model_extra["reasoning_content"].startswith("The user wrote:")
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    assert completion._request_id.startswith("req_")


def test_streaming_chunks(sdk, fake):
    stream = sdk.chat.completions.create(model=models_of(fake)["second"], messages=HELLO, stream=True)
    chunks = list(stream)
    assert len({(c.id, c.created, c.model) for c in chunks}) == 1
    assert [c.choices[0].delta.role for c in chunks].count("assistant") == 1
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert all(c.usage is None for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == "Echo: Hello, please introduce yourself"


def test_stream_helper_final_completion(sdk):
    with sdk.chat.completions.stream(model="GLM-4.5", messages=HELLO,
                                     stream_options={"include_usage": True}) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    assert final.choices[0].message.role == "assistant"
    assert final.choices[0].message.content == "Echo: Hello, please introduce yourself"
    assert final.choices[0].finish_reason == "stop"
    assert final.usage.total_tokens > 0


def test_include_usage_chunk(sdk):
    chunks = list(sdk.chat.completions.create(model="GLM-4.5", messages=HELLO, stream=True,
                                              stream_options={"include_usage": True}))
    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens == chunks[-1].usage.prompt_tokens + chunks[-1].usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_options_without_streaming_is_bad_request(sdk):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="GLM-4.5", messages=HELLO,
                                    stream_options={"include_usage": True})
    assert caught.value.param == "stream_options"


@pytest.mark.parametrize("kwargs, param", [
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ({"messages": HELLO, "temperature": 3}, "temperature"),
    ({"messages": HELLO, "top_p": 1.5}, "top_p"),
    ({"messages": HELLO, "n": 2}, "n"),
    ({"messages": HELLO, "max_tokens": 0}, "max_tokens"),
])
def test_bad_requests_raise_bad_request_error(sdk, kwargs, param):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="GLM-4.5", **kwargs)
    assert caught.value.param == param
    assert caught.value.type == "invalid_request_error"
    assert caught.value.request_id.startswith("req_")


def test_wrong_key_raises_authentication_error(server):
    with openai.OpenAI(base_url=f"{server}/v1", api_key="sk-wrong", max_retries=0) as client:
        with pytest.raises(openai.AuthenticationError) as caught:
            client.models.list()
    assert caught.value.code == "invalid_api_key"
    assert "sk-wrong" not in str(caught.value)


@pytest.mark.parametrize("stream", [True, False])
def test_upstream_failure_before_first_byte_raises_internal_server_error(sdk, stream):
    messages = [{"role": "user", "content": directive(fault="http500")}]
    with pytest.raises(openai.InternalServerError) as caught:
        result = sdk.chat.completions.create(model="GLM-4.5", messages=messages, stream=stream)
        list(result) if stream else None
    assert caught.value.status_code == 502
    assert caught.value.code == "upstream_error"


def test_upstream_failure_mid_stream_raises_api_error(sdk):
    messages = [{"role": "user", "content": directive(fault="error_mid", answer="a b c d e f g", chunk=2)}]
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in sdk.chat.completions.create(model="GLM-4.5", messages=messages, stream=True):
            received.append(chunk)
    assert not isinstance(caught.value, openai.APIStatusError)
    assert "chat.z.ai reported an error" in caught.value.message
    assert received and all(c.choices[0].finish_reason is None for c in received)


def test_version_rejection_is_clear(sdk):
    messages = [{"role": "user", "content": directive(fault="version426")}]
    with pytest.raises(openai.InternalServerError) as caught:
        sdk.chat.completions.create(model="GLM-4.5", messages=messages, stream=True)
    assert caught.value.code == "upstream_version_rejected"
    assert "ZAI_FE_VERSION" in caught.value.message


def test_content_part_arrays(sdk):
    messages = [{"role": "user", "content": [{"type": "text", "text": "one"},
                                             {"type": "text", "text": "two"}]}]
    completion = sdk.chat.completions.create(model="GLM-4.5", messages=messages)
    assert completion.choices[0].message.content == "Echo: one\ntwo"


def test_image_with_only_guest_tokens_is_a_clear_bad_request(sdk, fake):
    pixel = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
             "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                             {"type": "image_url", "image_url": {"url": pixel}}]}]
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model=models_of(fake)["vision"], messages=messages)
    assert caught.value.code == "image_needs_token"
    assert "ZAI_TOKEN" in caught.value.message


@pytest.mark.parametrize("content", [[], [{"type": "video", "video": "x"}]])
def test_bad_content_parts_are_bad_requests(sdk, content):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="GLM-4.5", messages=[{"role": "user", "content": content}])
    assert caught.value.param.startswith("messages[0].content")
