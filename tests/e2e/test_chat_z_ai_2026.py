"""chat.z.ai as it answers today, end to end: a 2026 upstream that asks guests for a CAPTCHA, a
logged-in token that passes, and an upstream that changes dialect under a running server."""
import json
import time

import anthropic
import openai
import pytest
import requests

from tests.conftest import KEY
from tests.conftest import start_gunicorn
from tests.conftest import stop_gunicorn
from tests.fakezai import make_user_token
from tests.sent import last_chat

AUTH = {"Authorization": f"Bearer {KEY}"}
HELLO = [{"role": "user", "content": "Hello, please introduce yourself"}]
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                            "parameters": {"type": "object", "properties": {
                                                "city": {"type": "string"}}, "required": ["city"]}}}


def directive(**script):
    return f"[[fake {json.dumps(script)}]]"


@pytest.fixture
def gated(fake):
    """chat.z.ai asking every guest for a CAPTCHA."""
    fake.captcha = "guests"
    yield fake
    fake.captcha = None


@pytest.fixture
def servers(gated):
    started = []

    def start(**env):
        process, base = start_gunicorn({"UPSTREAM_URL": f"{gated.url}/api/chat/completions",
                                        "DEFAULT_KEY": KEY, **env})
        started.append(process)
        return base
    yield start
    for process in started:
        stop_gunicorn(process)


@pytest.mark.dialect("2026")
def test_guests_only_get_a_clear_503_within_a_second(servers, gated):
    base = servers()
    for _ in range(3):
        started = time.monotonic()
        response = requests.post(f"{base}/v1/chat/completions", headers=AUTH, timeout=10,
                                 json={"model": "GLM-4.5", "messages": HELLO, "stream": True})
        assert time.monotonic() - started < 1
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "upstream_captcha_required"
        assert "never completes CAPTCHAs" in error["message"] and "ZAI_TOKEN" in error["message"]
    assert gated.stats()["captcha_refusals"] == 1, "the guest pool rests: no retry storm"
    ready = requests.get(f"{base}/readyz", timeout=5)
    assert ready.status_code == 503
    assert "CAPTCHA" in ready.json()["checks"]["credentials"]
    assert ready.json()["upstream"]["web"]["dialect"] == "2026"
    message = anthropic.Anthropic(base_url=base, api_key=KEY, max_retries=0)
    with pytest.raises(anthropic.InternalServerError) as caught:
        message.messages.create(model="GLM-4.5", max_tokens=64, messages=HELLO)
    assert caught.value.status_code == 503
    assert "never completes CAPTCHAs" in caught.value.body["error"]["message"]


@pytest.mark.dialect("2026")
def test_a_logged_in_token_passes_the_gate_for_everything(servers, gated):
    token = make_user_token("user-2026")
    gated.add_user_token(token)
    base = servers(ZAI_TOKEN=token)
    client = openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0)

    completion = client.chat.completions.create(model="GLM-5.3", messages=HELLO)
    assert completion.choices[0].message.content == "Echo: Hello, please introduce yourself"
    assert completion.choices[0].message.model_extra["reasoning_content"].startswith("The user wrote:")

    chunks = list(client.chat.completions.create(model="GLM-4.7", messages=HELLO, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Echo: Hello, please introduce yourself"

    gated.script_next(answer='{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}')
    called = client.chat.completions.create(model="GLM-4.7", tools=[WEATHER], messages=[
        {"role": "system", "content": "Use tools."}, {"role": "user", "content": "Weather in Paris?"}])
    call = called.choices[0].message.tool_calls[0]
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Paris"})
    gated.script_next(answer="Sunny, 18 °C.")
    final = client.chat.completions.create(model="GLM-4.7", tools=[WEATHER], messages=[
        {"role": "system", "content": "Use tools."}, {"role": "user", "content": "Weather in Paris?"},
        called.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 18"}])
    assert final.choices[0].message.content == "Sunny, 18 °C."
    turns = last_chat(gated)["messages"]
    assert [turn["role"] for turn in turns] == ["system", "user", "assistant", "user"]
    assert turns[-1]["content"].startswith(f"Tool result from get_weather (call {call.id})")

    searched = client.chat.completions.create(model="GLM-4.7-Search", messages=HELLO)
    assert searched.choices[0].message.content.endswith("2. [Result 2 for Hello, please introduce "
                                                        "yourself](https://example.com/2)")

    message = anthropic.Anthropic(base_url=base, api_key=KEY, max_retries=0).messages.create(
        model="GLM-4.7", max_tokens=256, system="Be brief.", messages=HELLO)
    assert message.content[0].text == "Echo: Hello, please introduce yourself"

    bodies = gated.completions()
    assert len(bodies) == 6
    for body in bodies:
        assert len(body["messages"]) == 1 and body["messages"][0]["role"] == "user"
        assert gated.chats[body["chat_id"]]["token"] == token
        assert body["current_user_message_id"] == gated.chats[body["chat_id"]]["message_id"]
    assert len(gated.chats) == 6
    assert gated.stats()["captcha_refusals"] == 0


@pytest.mark.dialect("2026")
def test_a_guest_turned_away_for_a_model_gets_403_and_the_token_gets_it(servers, gated):
    gated.captcha = None
    base = servers()
    response = requests.post(f"{base}/v1/chat/completions", headers=AUTH, timeout=10,
                             json={"model": "GLM-5.3", "messages": HELLO})
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("model_requires_login", "model")
    assert "GLM-5.3" in error["message"] and "ZAI_TOKEN" in error["message"]
    token = make_user_token("user-tier")
    gated.add_user_token(token)
    with_token = servers(ZAI_TOKEN=token)
    assert requests.post(f"{with_token}/v1/chat/completions", headers=AUTH, timeout=10,
                         json={"model": "GLM-5.3", "messages": HELLO}).status_code == 200


@pytest.mark.dialect("2025")
def test_the_server_follows_chat_z_ai_from_2025_to_2026(fake):
    process, base = start_gunicorn({"UPSTREAM_URL": f"{fake.url}/api/chat/completions", "DEFAULT_KEY": KEY})
    try:
        ask = {"model": "GLM-4.5", "messages": HELLO, "stream": False}
        assert requests.post(f"{base}/v1/chat/completions", headers=AUTH, json=ask, timeout=10).status_code == 200
        assert requests.get(f"{base}/readyz", timeout=5).json()["upstream"]["web"]["dialect"] == "2025"
        fake.dialect = "2026"
        time.sleep(5.5)   # a dialect re-read waits RECHECK_SECONDS after the last
        response = requests.post(f"{base}/v1/chat/completions", headers=AUTH, json=ask, timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["content"] == "Echo: Hello, please introduce yourself"
        calls = [(r["method"], r["path"]) for r in fake.requests if r["path"] != "/api/models"]
        assert calls[-5:] == [("POST", "/api/chat/completions"), ("GET", "/api/config"), ("GET", "/"),
                              ("POST", "/api/v1/chats/new"), ("POST", "/api/v2/chat/completions")]
        assert requests.get(f"{base}/readyz", timeout=5).json()["upstream"]["web"]["dialect"] == "2026"
    finally:
        fake.dialect = "2025"
        stop_gunicorn(process)
