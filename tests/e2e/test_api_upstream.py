"""Z.ai's official API as the upstream (UPSTREAMS=api) and as the web chat's fallback
(UPSTREAMS=web,api): the real server under gunicorn, the strict fakes of both upstreams, the real
OpenAI and anthropic SDKs."""
import json

import anthropic
import openai
import pytest
import requests

from tests import fakeapi
from tests.conftest import KEY
from tests.conftest import start_gunicorn
from tests.conftest import stop_gunicorn
from tests.e2e.browser import browser  # noqa: F401  (the session fixture)
from tests.e2e.test_dashboard_page import signed_in
from tests.fakezai import FakeZai

API_KEY = "zai-api-key-for-tests-0001"
AUTH = {"Authorization": f"Bearer {KEY}"}
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city.",
                                            "parameters": {"type": "object", "properties": {
                                                "city": {"type": "string"}}, "required": ["city"]}}}
CALL = '[[fake {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}]]'


@pytest.fixture(scope="module")
def api():
    upstream = fakeapi.start_in_thread(keys=[API_KEY])
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def web():
    upstream = FakeZai(dialect="2026").start()
    yield upstream
    upstream.stop()


@pytest.fixture(autouse=True)
def fresh(api, web):
    api.reset()
    web.reset()


@pytest.fixture(scope="module")
def api_only(api):
    process, base = start_gunicorn({"UPSTREAMS": "api", "ZAI_API_KEY": API_KEY, "ZAI_API_BASE": api.base_url,
                                    "DEFAULT_KEY": KEY, "WEB_CONCURRENCY": "1"})
    yield base
    stop_gunicorn(process)


@pytest.fixture(scope="module")
def both(api, web):
    process, base = start_gunicorn({
        "UPSTREAMS": "web,api", "ZAI_API_KEY": API_KEY, "ZAI_API_BASE": api.base_url,
        "UPSTREAM_URL": f"{web.url}/api/chat/completions", "ZAI_DIALECT": "2026", "DEFAULT_KEY": KEY,
        "WEB_CONCURRENCY": "1", "UPSTREAM_MAX_RETRIES": "1"})
    yield base
    stop_gunicorn(process)


def sdk(base):
    return openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0)


def api_chats(api):
    return [r for r in api.requests if r["path"].endswith("/chat/completions")]


def web_chats(web):
    return [r for r in web.requests if r["path"] == "/api/v2/chat/completions"]


# ------------------------------------------------------------------ UPSTREAMS=api

def test_the_model_list_is_the_api_s_with_its_free_flash_models(api_only):
    models = {model["id"]: model for model in requests.get(f"{api_only}/v1/models", headers=AUTH,
                                                           timeout=5).json()["data"]}
    assert {"GLM-4.7", "GLM-4.7-Flash", "GLM-4.5-Flash", "GLM-4.6V-Flash", "GLM-5.3"} <= set(models)
    assert models["GLM-4.7-Flash"]["upstreams"] == ["api"] and models["GLM-4.7-Flash"]["owned_by"] == "z.ai"
    assert "GLM-4.7-Flash-Thinking" in models


def test_chat_json_and_stream_through_the_api(api_only, api):
    client = sdk(api_only)
    raw = client.chat.completions.with_raw_response.create(model="GLM-4.7", messages=[
        {"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hello"}])
    assert raw.headers["x-ztoapi-upstream"] == "api"
    completion = raw.parse()
    assert completion.model == "GLM-4.7" and completion.choices[0].message.content == "Echo: Hello"
    assert completion.choices[0].message.model_extra["reasoning_content"].startswith("The user wrote")
    sent = api_chats(api)[-1]
    assert sent["key"] == API_KEY and sent["body"]["model"] == "glm-4.7"
    assert sent["body"]["thinking"] == {"type": "enabled"} and sent["body"]["messages"][0]["role"] == "system"
    chunks = list(client.chat.completions.create(model="GLM-4.7-Flash", messages=[{"role": "user", "content": "Hi"}],
                                                 stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: Hi"
    assert chunks[-1].usage.total_tokens > 0
    assert api_chats(api)[-1]["body"]["model"] == "glm-4.7-flash"


def test_tools_are_native_on_the_api_path(api_only, api):
    completion = sdk(api_only).chat.completions.create(
        model="GLM-4.7", tools=[WEATHER], tool_choice="required", messages=[{"role": "user", "content": CALL}])
    [call] = completion.choices[0].message.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    assert completion.choices[0].finish_reason == "tool_calls"
    sent = api_chats(api)[-1]["body"]
    assert sent["tools"][0]["function"]["name"] == "get_weather" and sent["tool_choice"] == "auto"
    assert [message["role"] for message in sent["messages"]] == ["user"]   # no emulation instruction


def test_thinking_off_reaches_the_api_as_its_thinking_object(api_only, api):
    completion = sdk(api_only).chat.completions.create(
        model="GLM-4.7", messages=[{"role": "user", "content": "Hi"}], extra_body={"enable_thinking": False})
    assert completion.choices[0].message.content == "Echo: Hi"
    assert api_chats(api)[-1]["body"]["thinking"] == {"type": "disabled"}


def test_anthropic_messages_with_a_tool_through_the_api(api_only, api):
    client = anthropic.Anthropic(base_url=api_only, api_key=KEY, max_retries=0)
    message = client.messages.create(model="GLM-4.7", max_tokens=1024, messages=[{"role": "user", "content": CALL}],
                                     tools=[{"name": "get_weather", "description": "Weather in a city.",
                                             "input_schema": WEATHER["function"]["parameters"]}])
    assert message.stop_reason == "tool_use"
    tool_use = [block for block in message.content if block.type == "tool_use"][0]
    assert tool_use.input == {"city": "Paris"}
    text = client.messages.create(model="GLM-4.7", max_tokens=1024, messages=[{"role": "user", "content": "Hello"}])
    assert [block.type for block in text.content] == ["text"] and text.content[0].text == "Echo: Hello"


def test_the_responses_api_through_the_api(api_only):
    client = sdk(api_only)
    response = client.responses.create(model="GLM-4.7", input="Hello")
    assert response.output_text == "Echo: Hello"
    with client.responses.stream(model="GLM-4.7", input="Again", previous_response_id=response.id) as stream:
        final = stream.get_final_response()
    assert final.output_text == "Echo: Again"


def test_the_dashboard_shows_the_api_and_who_answered(browser, api_only):
    assert hello(api_only, "GLM-4.7-Flash").status_code == 200
    with signed_in(browser, api_only) as (page, errors):
        assert page.inner_text("#upstream-state") == "Z.ai's API"
        page.wait_for_selector("#requests-body tr")
        assert "GLM-4.7-Flash · api" in page.inner_text("#requests-body")
        assert API_KEY not in page.content() and API_KEY[-8:] not in page.content()
        assert errors == []


def test_the_api_s_refusals_are_zto_api_s_errors(api_only, api):
    client = sdk(api_only)
    api.script_next(fault="http400_1261")
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="GLM-4.7", messages=[{"role": "user", "content": "Hi"}])
    assert "1261" in caught.value.message
    api.revoke(API_KEY)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="GLM-4.7", messages=[{"role": "user", "content": "Hi"}])
    assert caught.value.status_code == 502 and caught.value.code == "upstream_unauthorized"
    assert API_KEY not in caught.value.message


def test_readyz_names_the_api(api_only):
    ready = requests.get(f"{api_only}/readyz", timeout=5).json()
    assert set(ready["upstream"]) == {"api"}


# ------------------------------------------------------------------ UPSTREAMS=web,api

def hello(base, model="GLM-4.7"):
    return requests.post(f"{base}/v1/chat/completions", headers=AUTH, timeout=30, json={
        "model": model, "stream": False, "messages": [{"role": "user", "content": "Hello"}]})


def test_the_web_chat_answers_first(both, api, web):
    response = hello(both)
    assert response.status_code == 200 and response.headers["x-ztoapi-upstream"] == "web"
    assert api_chats(api) == []


def test_a_firewall_block_is_answered_by_the_api(both, api, web):
    for _ in range(3):
        web.script_next(fault="waf405")
    response = hello(both)
    assert response.status_code == 200 and response.headers["x-ztoapi-upstream"] == "api"
    assert web_chats(web)   # chat.z.ai was asked first


def test_a_web_chat_down_after_its_retries_is_answered_by_the_api(both, api, web):
    for _ in range(3):
        web.script_next(fault="http500")
    response = hello(both)
    assert response.status_code == 200 and response.headers["x-ztoapi-upstream"] == "api"
    assert web_chats(web)   # chat.z.ai was asked first


def test_a_model_reserved_for_signed_in_users_is_answered_by_the_api(both, api, web):
    response = hello(both, "GLM-5.2")
    assert response.status_code == 200, response.text
    assert response.headers["x-ztoapi-upstream"] == "api" and api_chats(api)[-1]["body"]["model"] == "glm-5.2"


def test_no_usable_web_credential_is_answered_by_the_api(both, api, web):
    assert hello(both).headers["x-ztoapi-upstream"] == "web"   # a guest is in the pool now
    for token in list(web.issued_tokens):
        web.revoke(token)                                       # ... and chat.z.ai forgets it
    web.auths_fault = "http500"                                 # while no new guest can be had
    response = hello(both)
    assert response.status_code == 200, response.text
    assert response.headers["x-ztoapi-upstream"] == "api"


# the CAPTCHA tests last: chat.z.ai asking guests for one rests every guest for 5 minutes

def test_a_captcha_for_guests_is_answered_by_the_api(both, api, web):
    web.captcha = "guests"
    response = hello(both)
    assert response.status_code == 200, response.text
    assert response.headers["x-ztoapi-upstream"] == "api"
    assert response.json()["choices"][0]["message"]["content"] == "Echo: Hello"
    assert response.json()["model"] == "GLM-4.7" and api_chats(api)[-1]["body"]["model"] == "glm-4.7"


def test_failovers_are_counted(both, api, web):
    web.captcha = "guests"
    assert hello(both).status_code == 200
    metrics = requests.get(f"{both}/metrics", timeout=5).text
    assert 'ztoapi_upstream_failovers_total{source="web",target="api"}' in metrics
    assert 'ztoapi_upstream_replies_total{upstream="api"}' in metrics


def test_when_both_refuse_the_web_chat_s_error_says_what_the_api_answered(both, api, web):
    web.captcha = "guests"
    api.fault = "http429_1113"
    response = hello(both)
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "upstream_captcha_required"
    assert "Z.ai's API, tried next, failed too" in error["message"] and "1113" in error["message"]
