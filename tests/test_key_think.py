"""A client key's `think=<mode>` option: where its chat completions put GLM's reasoning."""
import json
import os
import subprocess
import sys

import pytest

from config.settings import Settings
from config.settings import SettingsError
from tests.conftest import AUTH
from tests.conftest import ROOT
from tests.conftest import settings_for
from ztoapi import create_app
from ztoapi.keys import KeyRing

ALICE_KEY = "sk-alice-0123456789"
ALICE = {"Authorization": f"Bearer {ALICE_KEY}"}
BOB = {"Authorization": "Bearer sk-bob-9876543210"}
KEYS = f"alice:{ALICE_KEY}:rpm=60:think=strip, bob:sk-bob-9876543210"
USER = [{"role": "user", "content": "Hello"}]
REASONING = "The user wrote: Hello\nI will echo it."


@pytest.fixture
def client(fake, tmp_path):
    return create_app(settings_for(fake, data_dir=str(tmp_path), api_keys=KEYS)).test_client()


def message(client, headers, path="/v1/chat/completions", **body):
    response = client.post(path, headers=headers,
                           json={"model": "GLM-4.5", "messages": USER, "stream": False, **body})
    assert response.status_code == 200
    return response.get_json()


def streamed(client, headers):
    """(content, reasoning_content) of a streamed chat completion."""
    response = client.post("/v1/chat/completions", headers=headers,
                           json={"model": "GLM-4.5", "messages": USER, "stream": True})
    deltas = [json.loads(block[6:])["choices"][0]["delta"]
              for block in response.get_data(as_text=True).split("\n\n")
              if block.startswith("data: {") and json.loads(block[6:])["choices"]]
    return ("".join(d.get("content") or "" for d in deltas),
            "".join(d.get("reasoning_content") or "" for d in deltas))


def test_the_think_option_parses_with_the_limits():
    ring = KeyRing.from_settings(Settings.from_env({}, api_keys=KEYS + ", carol:sk-carol-1111:think=Think"))
    alice = ring.find(ALICE_KEY)
    assert (alice.rpm, alice.think) == (60, "strip")
    assert ring.find("sk-bob-9876543210").think is None
    assert ring.find("sk-carol-1111").think == "think"
    assert ring.find("sk-your-key").think is None


def test_a_key_with_think_strip_gets_no_reasoning_while_another_key_does(client):
    alice = message(client, ALICE)["choices"][0]["message"]
    bob = message(client, BOB)["choices"][0]["message"]
    assert alice["content"] == "Echo: Hello" and "reasoning_content" not in alice
    assert (bob["content"], bob["reasoning_content"]) == ("Echo: Hello", REASONING)
    assert streamed(client, ALICE) == ("Echo: Hello", "")
    assert streamed(client, BOB) == ("Echo: Hello", REASONING)


def test_the_header_overrides_the_key(client):
    alice = message(client, {**ALICE, "X-Think-Tags-Mode": "reasoning"})["choices"][0]["message"]
    bob = message(client, {**BOB, "X-Think-Tags-Mode": "think"})["choices"][0]["message"]
    assert alice["reasoning_content"] == REASONING
    assert bob["content"] == f"<think>\n{REASONING}\n</think>\n\nEcho: Hello" and "reasoning_content" not in bob
    refused = client.post("/v1/chat/completions", headers={**ALICE, "X-Think-Tags-Mode": "loud"},
                          json={"model": "GLM-4.5", "messages": USER, "stream": False})
    assert refused.status_code == 400


def test_the_key_overrides_think_tags_mode(fake, tmp_path):
    client = create_app(settings_for(fake, data_dir=str(tmp_path), think_tags_mode="think",
                                     api_keys=f"alice:{ALICE_KEY}:think=reasoning")).test_client()
    assert message(client, ALICE)["choices"][0]["message"]["reasoning_content"] == REASONING
    assert message(client, AUTH)["choices"][0]["message"]["content"].startswith("<think>\n")


def test_the_anthropic_surface_keeps_its_thinking_blocks(client):
    body = message(client, {**ALICE, "anthropic-version": "2023-06-01"}, path="/v1/messages", max_tokens=2048,
                   thinking={"type": "enabled", "budget_tokens": 1024})
    assert [block["type"] for block in body["content"]] == ["thinking", "text"]
    assert body["content"][0]["thinking"] == REASONING


@pytest.mark.parametrize("entry", [f"alice:{ALICE_KEY}:think=loud", f"alice:{ALICE_KEY}:think=",
                                   f"alice:{ALICE_KEY}:think"])
def test_a_bad_mode_is_a_setting_error_naming_the_entry_and_the_modes(entry):
    with pytest.raises(SettingsError) as caught:
        KeyRing.from_settings(Settings.from_env({}, api_keys=entry))
    assert "'alice'" in str(caught.value) and "reasoning, think, strip, raw" in str(caught.value)
    assert "0123456789" not in str(caught.value)


def test_a_bad_mode_refuses_start_up(tmp_path):
    env = dict(os.environ, DATA_DIR=str(tmp_path), API_KEYS=f"ok:sk-ok-1111,alice:{ALICE_KEY}:think=loud")
    result = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py",
                             "--bind", "127.0.0.1:0", "wsgi:app"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "API key 'alice': think must be one of reasoning, think, strip, raw, got 'loud'" in result.stderr
    assert "0123456789" not in result.stderr
