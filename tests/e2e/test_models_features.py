"""Models, thinking controls, think-tag modes, vision and web search through the OpenAI SDK."""
import base64
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import openai
import pytest

from tests.conftest import KEY
from tests.conftest import start_gunicorn
from tests.conftest import stop_gunicorn
from tests.fakezai import make_user_token
from tests.sent import last_chat
from tests.sent import models_of

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
HELLO = [{"role": "user", "content": "hello"}]
REASONING = "The user wrote: hello\nI will echo it."


def image_message(url, text="What is this?"):
    return [{"role": "user", "content": [{"type": "text", "text": text},
                                         {"type": "image_url", "image_url": {"url": url}}]}]


@pytest.mark.dialect("2025")
@pytest.mark.parametrize("model, upstream_id, thinking, search", [
    ("GLM-4.5", "0727-360B-API", True, False), ("GLM-4.6", "GLM-4-6-API-V1", True, False),
    ("GLM-4.5V", "glm-4.5v", True, False), ("GLM-4.5-Air", "0727-106B-API", True, False),
    ("GLM-4.5-Thinking", "0727-360B-API", True, False), ("GLM-4.5-Search", "0727-360B-API", True, True),
    ("GLM-4.6-Thinking", "GLM-4-6-API-V1", True, False), ("GLM-4.6-Search", "GLM-4-6-API-V1", True, True),
    ("GLM-4.5-Air-Thinking", "0727-106B-API", True, False), ("GLM-4.5-Air-Search", "0727-106B-API", True, True),
    ("glm-4.6", "GLM-4-6-API-V1", True, False), ("0727-360B-API", "0727-360B-API", True, False),
])
def test_every_model_and_variant(sdk, fake, model, upstream_id, thinking, search):
    completion = sdk.chat.completions.create(model=model, messages=HELLO)
    assert completion.model == model
    assert completion.choices[0].message.content.startswith("Echo: hello")
    sent = last_chat(fake)
    assert sent["model"] == upstream_id
    assert sent["features"]["enable_thinking"] is thinking
    assert sent["features"]["web_search"] is search
    assert sent["mcp_servers"] == (["deep-web-search"] if search else [])


@pytest.mark.dialect("2026")
@pytest.mark.parametrize("model, upstream_id, search", [
    ("GLM-4.5", "0727-360B-API", False), ("GLM-4.7", "glm-4.7", False),
    ("GLM-4.5-Air", "0727-106B-API", False), ("GLM-5.3-Flash", "x-preview-l", False),
    ("GLM-4.7-Thinking", "glm-4.7", False), ("GLM-4.7-Search", "glm-4.7", True),
    ("GLM-5.3-Flash-Search", "x-preview-l", True), ("glm-4.7", "glm-4.7", False),
    ("x-preview-l", "x-preview-l", False), ("0727-360B-API", "0727-360B-API", False),
])
def test_every_guest_model_and_variant_in_2026(sdk, fake, model, upstream_id, search):
    completion = sdk.chat.completions.create(model=model, messages=HELLO)
    assert completion.model == model
    assert completion.choices[0].message.content.startswith("Echo: hello")
    sent = last_chat(fake)
    assert sent["model"] == upstream_id
    assert sent["features"]["enable_thinking"] is True
    assert sent["features"]["auto_web_search"] is search
    assert "mcp_servers" not in sent and "model_item" not in sent


@pytest.mark.parametrize("model, extra, thinks", [
    ("GLM-4.5", {"enable_thinking": False}, False),
    ("GLM-4.5", {"thinking": {"type": "disabled"}}, False),
    ("GLM-4.5", {"reasoning_effort": "none"}, False),
    ("GLM-4.5", {"reasoning_effort": "high"}, True),
    ("GLM-4.5-Thinking", {"reasoning_effort": "minimal"}, False),
    ("GLM-4.5-Thinking", {}, True),
    ("GLM-4.5", {}, True),
])
def test_thinking_by_each_control(sdk, fake, model, extra, thinks):
    completion = sdk.chat.completions.create(model=model, messages=HELLO, extra_body=extra)
    message = completion.choices[0].message
    assert last_chat(fake)["features"]["enable_thinking"] is thinks
    assert (message.model_extra.get("reasoning_content") == REASONING) is thinks
    details = completion.usage.completion_tokens_details
    assert (details.reasoning_tokens > 0) is thinks
    assert details.reasoning_tokens < completion.usage.completion_tokens


@pytest.mark.parametrize("mode, content, reasoning", [
    ("reasoning", "Echo: hello", REASONING),
    ("think", f"<think>\n{REASONING}\n</think>\n\nEcho: hello", None),
    ("strip", "Echo: hello", None),
])
@pytest.mark.parametrize("stream", [False, True])
def test_think_tags_mode_per_request(sdk, mode, content, reasoning, stream):
    headers = {"X-Think-Tags-Mode": mode}
    if stream:
        chunks = list(sdk.chat.completions.create(model="GLM-4.5", messages=HELLO, stream=True,
                                                  extra_headers=headers))
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        thought = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content", "") for c in chunks)
    else:
        message = sdk.chat.completions.create(model="GLM-4.5", messages=HELLO, extra_headers=headers).choices[0].message
        text, thought = message.content, message.model_extra.get("reasoning_content", "")
    assert text == content
    assert thought == (reasoning or "")


@pytest.mark.dialect("2025")
def test_raw_mode_keeps_the_upstream_markup(sdk):
    message = sdk.chat.completions.create(model="GLM-4.5", messages=HELLO,
                                          extra_headers={"X-Think-Tags-Mode": "raw"}).choices[0].message
    assert message.content.startswith('<details type="reasoning"')
    assert message.content.endswith("> I will echo it.\n</details>\nEcho: hello")


@pytest.mark.dialect("2026")
def test_raw_mode_passes_the_2026_text_as_it_came(sdk, fake):
    message = sdk.chat.completions.create(model="GLM-4.5", messages=HELLO,
                                          extra_headers={"X-Think-Tags-Mode": "raw"}).choices[0].message
    assert message.content == REASONING + "Echo: hello"
    fake.script_next(think_style="details")
    message = sdk.chat.completions.create(model="GLM-4.5", messages=HELLO,
                                          extra_headers={"X-Think-Tags-Mode": "raw"}).choices[0].message
    assert message.content.startswith('<details type="reasoning"')
    assert message.content.endswith("> I will echo it.\n</details>\nEcho: hello")


@pytest.mark.dialect("2026")
@pytest.mark.parametrize("mode, content, reasoning", [
    ("reasoning", "Echo: hello", REASONING),
    ("think", f"<think>\n{REASONING}\n</think>\n\nEcho: hello", None),
    ("strip", "Echo: hello", None),
])
def test_the_2025_markup_in_a_2026_reply_reads_in_every_mode(sdk, fake, mode, content, reasoning):
    fake.script_next(think_style="details")
    message = sdk.chat.completions.create(model="GLM-4.5", messages=HELLO,
                                          extra_headers={"X-Think-Tags-Mode": mode}).choices[0].message
    assert message.content == content
    assert message.model_extra.get("reasoning_content", "") == (reasoning or "")


def test_unknown_think_mode_header_is_a_bad_request(sdk):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="GLM-4.5", messages=HELLO, extra_headers={"X-Think-Tags-Mode": "loud"})
    assert caught.value.param == "X-Think-Tags-Mode"


def test_multi_turn_history_is_forwarded_in_order(sdk, fake):
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "first question"},
                {"role": "assistant", "content": "first answer"},
                {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "question"}]}]
    completion = sdk.chat.completions.create(model=models_of(fake)["second"], messages=messages)
    sent = last_chat(fake)
    assert sent["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "first question"},
                                {"role": "assistant", "content": "first answer"},
                                {"role": "user", "content": "second\nquestion"}]
    assert sent["signature_prompt"] == sent.get("folded", "second\nquestion")
    assert completion.choices[0].message.content == "Echo: second\nquestion"


def test_images_to_a_text_model_suggest_the_vision_model(sdk, fake):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model=models_of(fake)["second"], messages=image_message(PNG_URL))
    assert caught.value.code == "model_not_vision"
    assert caught.value.param == "messages[0].content[1]"
    assert models_of(fake)["vision"] in caught.value.message


class Images(BaseHTTPRequestHandler):
    def do_GET(self):
        body, mime = {"/pixel.png": (PNG, "image/png"), "/page.html": (b"<html/>", "text/html")}.get(
            self.path, (b"", "text/plain"))
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def image_host():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def vision(fake):
    """A server with a logged-in token: (client, private-URL client, its vision model)."""
    token = make_user_token("user-vision")
    fake.add_user_token(token)
    env = {"UPSTREAM_URL": f"{fake.url}/api/chat/completions", "DEFAULT_KEY": KEY, "ZAI_TOKEN": token,
           "MAX_IMAGE_BYTES": "2000"}
    guarded, guarded_base = start_gunicorn(env)
    private, private_base = start_gunicorn({**env, "ALLOW_PRIVATE_IMAGE_URLS": "true"})
    with openai.OpenAI(base_url=f"{guarded_base}/v1", api_key=KEY, max_retries=0) as one, \
            openai.OpenAI(base_url=f"{private_base}/v1", api_key=KEY, max_retries=0) as two:
        yield one, two, models_of(fake)["vision"]
    stop_gunicorn(guarded)
    stop_gunicorn(private)


def test_data_url_image_is_uploaded_and_referenced(vision, fake):
    client, _, model = vision
    completion = client.chat.completions.create(model=model, messages=image_message(PNG_URL))
    assert completion.choices[0].message.content == f"Echo: What is this? [image image/png {len(PNG)} bytes]"
    uploads = [r for r in fake.requests if r["path"] == "/api/v1/files/"]
    assert len(uploads) == 1
    part = last_chat(fake)["messages"][0]["content"][1]
    assert part["type"] == "image_url" and part["image_url"]["url"].endswith(".png")


def test_remote_image_from_a_private_host_when_allowed(vision, image_host):
    _, client, model = vision
    completion = client.chat.completions.create(model=model, messages=image_message(f"{image_host}/pixel.png"))
    assert completion.choices[0].message.content.endswith(f"[image image/png {len(PNG)} bytes]")


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/pixel.png", "http://10.0.0.1/pixel.png",
                                 "http://169.254.169.254/latest/meta-data/"])
def test_ssrf_guard_refuses_private_addresses(vision, fake, url):
    client, _, model = vision
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=model, messages=image_message(url))
    assert caught.value.code == "invalid_image"
    assert caught.value.param == "messages[0].content[1]"
    assert "non-public address" in caught.value.message
    assert [r for r in fake.requests if r["method"] == "POST"] == []


@pytest.mark.parametrize("url, code", [
    ("data:image/png;base64," + base64.b64encode(PNG + b"\x00" * 3000).decode(), "image_too_large"),
    ("data:image/png;base64," + base64.b64encode(b"%PDF-1.4 not an image").decode(), "invalid_image"),
])
def test_oversized_and_non_image_payloads_are_rejected(vision, url, code):
    client, _, model = vision
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=model, messages=image_message(url))
    assert caught.value.code == code


def test_remote_non_image_is_rejected(vision, image_host):
    _, client, model = vision
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=model, messages=image_message(f"{image_host}/page.html"))
    assert "not an image" in caught.value.message


SOURCES = ("\n\nSources:\n1. [Result 1 for hello](https://example.com/1)\n"
           "2. [Result 2 for hello](https://example.com/2)")
CITED = {"2025": "Echo: hello [searched: hello]", "2026": "Echo: hello [searched: hello][1][2]"}


def test_search_blocks_never_reach_content_and_sources_are_cited(sdk, fake):
    completion = sdk.chat.completions.create(model=models_of(fake)["second"] + "-Search", messages=HELLO)
    content = completion.choices[0].message.content
    assert "glm_block" not in content and "turn0search" not in content
    assert content == CITED[fake.dialect] + SOURCES


def test_search_streams_the_same_text(sdk, fake):
    chunks = list(sdk.chat.completions.create(model="GLM-4.5", messages=HELLO, stream=True,
                                              extra_body={"web_search": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "glm_block" not in text and "【" not in text
    assert text == CITED[fake.dialect] + SOURCES
