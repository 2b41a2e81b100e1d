"""The chat.z.ai client in the 2026 dialect, against a `responses` mock: chat creation, the one
folded message, headers, query and body, and every new refusal with its recovery.

§ numbers refer to /work/shared/reference/zai-protocol-2026.md.
"""
import json
import time
from urllib.parse import urlsplit

import pytest
import responses
from responses import matchers

from config.settings import Settings
from tests.zai_mock import Clock
from tests.zai_mock import GUEST_ID
from tests.zai_mock import GUEST_TOKEN
from tests.zai_mock import SSE_TYPE
from tests.zai_mock import T1
from tests.zai_mock import T1_ID
from tests.zai_mock import T2
from tests.zai_mock import USER_TOKEN
from tests.zai_mock import read_all
from tests.zai_mock import sent_query
from tests.zai_mock import sse
from ztoapi.catalog import Catalog
from ztoapi.errors import ApiError
from ztoapi.pipeline.request import chat_request
from ztoapi.zai.client import ZaiClient
from ztoapi.zai.models import MODELS_2026
from ztoapi.zai.models import RETIRED
from ztoapi.zai.signing import sign

ORIGIN = "https://upstream.test"
HOME = f"{ORIGIN}/"
CONFIG = f"{ORIGIN}/api/config"
AUTHS = f"{ORIGIN}/api/v1/auths/"
NEW_CHAT = f"{ORIGIN}/api/v1/chats/new"
V2 = f"{ORIGIN}/api/v2/chat/completions"
V1 = f"{ORIGIN}/api/chat/completions"
VERSION = "prod-fe-1.1.98"
ANSWER = sse({"delta_content": "Hi", "phase": "answer"}, {"phase": "done", "done": True})
CAPTCHA = {"captcha_error_type": "missing_param", "code": "FRONTEND_CAPTCHA_REQUIRED",
           "detail": "Please refresh the page to update the app, then try again.",
           "error_code": "FRONTEND_CAPTCHA_REQUIRED"}
TIER = {"detail": "Model not available for current user level", "code": 403}
INTERNAL = {"code": "INTERNAL_ERROR", "error_code": "INTERNAL_ERROR", "detail": "Internal Server Error"}
FINGERPRINT = ("user_agent", "language", "languages", "timezone", "cookie_enabled", "screen_width",
               "screen_height", "screen_resolution", "viewport_height", "viewport_width", "viewport_size",
               "color_depth", "pixel_ratio", "current_url", "pathname", "host", "hostname", "protocol",
               "title", "timezone_offset", "local_time", "utc_time", "is_mobile", "is_touch",
               "max_touch_points", "browser_name", "os_name")
HELLO = {"model": "GLM-4.7", "messages": [{"role": "user", "content": "Hello, 世界"}]}
CONVERSATION = {"model": "GLM-4.7", "temperature": 0.5, "messages": [
    {"role": "developer", "content": "Be brief."},
    {"role": "user", "content": "First question"},
    {"role": "assistant", "content": "First answer"},
    {"role": "user", "content": "Hello, 世界"}]}


def in_band(error):
    """The one event of a refusal: the double-nested error object."""
    return sse({"data": {"error": error, "done": True}, "error": error, "done": True})


def settings(**overrides):
    return Settings.from_env({}, upstream_url=f"{ORIGIN}/api/chat/completions",
                             **{"zai_dialect": "2026", "models_source": "builtin", **overrides})


def make_client(**overrides):
    return ZaiClient(settings(**overrides), sleep=lambda seconds: None)


def chat(body=HELLO, config=None):
    model = Catalog(lambda: (MODELS_2026, RETIRED)).get_or_404(body["model"])
    return chat_request(body, config or settings(), model)


@pytest.fixture
def upstream():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def add_home(upstream, version=VERSION):
    upstream.get(HOME, content_type="text/html",
                 body=f'<script src="https://cdn.test/frontend/{version}/assets/index.js"></script>'
                      '<link href="https://cdn.test/frontend/prod-fe-1.0.272/assets/old.css">')


def add_guest(upstream, token=GUEST_TOKEN):
    upstream.get(AUTHS, json={"id": GUEST_ID, "role": "guest", "token": token})


def add_chat(upstream, chat_id="chat-1", **kwargs):
    upstream.post(NEW_CHAT, json={"id": chat_id, "title": "New Chat", "chat": {}}, **kwargs)


def add_completion(upstream, body=ANSWER, url=V2, **kwargs):
    upstream.post(url, body=body, content_type=SSE_TYPE, **kwargs)


def paths(upstream):
    return [f"{call.request.method} {urlsplit(call.request.url).path}" for call in upstream.calls]


def sent(upstream, path):
    return [call.request for call in upstream.calls if urlsplit(call.request.url).path == path]


def completions(upstream):
    return sent(upstream, "/api/v2/chat/completions")


def raised(client, request):
    with pytest.raises(ApiError) as caught:
        client.open(request)
    return caught.value


def for_token(token):
    return [matchers.header_matcher({"Authorization": f"Bearer {token}"})]


def guest_flow(upstream, completion=ANSWER):
    add_home(upstream)
    add_guest(upstream)
    add_chat(upstream)
    add_completion(upstream, completion)


# ---------------------------------------------------------------- the request flow (§2, §3.1-3.2)

def test_a_chat_is_created_then_completed_with_one_user_message(upstream):
    guest_flow(upstream)
    reply = make_client().open(chat(CONVERSATION))
    assert read_all(reply) == [("answer", "Hi")]
    assert paths(upstream) == ["GET /", "GET /api/v1/auths/", "POST /api/v1/chats/new",
                               "POST /api/v2/chat/completions"]
    created = json.loads(sent(upstream, "/api/v1/chats/new")[0].body)["chat"]
    body = json.loads(completions(upstream)[0].body)
    folded = ("<|system|>\nBe brief.\n<|user|>\nFirst question\n<|assistant|>\nFirst answer\n"
              "<|user|>\nHello, 世界")
    assert body["messages"] == [{"role": "user", "content": folded}]
    assert body["signature_prompt"] == folded
    message_id = created["history"]["currentId"]
    assert created["history"]["messages"][message_id]["content"] == folded
    assert created["history"]["messages"][message_id]["role"] == "user"
    assert created["models"] == ["glm-4.7"] and created["type"] == "default"
    assert body["chat_id"] == "chat-1"
    assert body["current_user_message_id"] == message_id
    assert body["current_user_message_parent_id"] is None
    assert body["id"] not in (message_id, "chat-1")


def test_the_completion_body_has_the_page_s_fields_and_none_of_the_old_ones(upstream):
    guest_flow(upstream)
    make_client().open(chat(CONVERSATION))
    body = json.loads(completions(upstream)[0].body)
    assert set(body) == {"stream", "model", "messages", "signature_prompt", "params", "extra", "features",
                         "variables", "chat_id", "id", "current_user_message_id",
                         "current_user_message_parent_id", "background_tasks"}
    assert body["stream"] is True and body["model"] == "glm-4.7"
    assert body["params"] == {"temperature": 0.5}
    assert body["features"] == {"image_generation": False, "web_search": False, "auto_web_search": False,
                                "preview_mode": True, "flags": [], "vlm_tools_enable": False,
                                "vlm_web_search_enable": False, "vlm_website_mode": False,
                                "enable_thinking": True}
    assert body["background_tasks"] == {"title_generation": True, "tags_generation": True}
    assert "{{CURRENT_DATE}}" in body["variables"]


def test_headers_query_and_signature_are_the_page_s(upstream):
    guest_flow(upstream)
    make_client().open(chat())
    request = completions(upstream)[0]
    query = sent_query(type("Call", (), {"request": request}))
    assert request.headers["X-Region"] == "overseas"
    assert request.headers["X-FE-Version"] == VERSION
    assert request.headers["X-Device-Id"].startswith("uid_") and len(request.headers["X-Device-Id"]) == 20
    assert request.headers["Referer"] == f"{ORIGIN}/c/chat-1"
    assert "Mozilla/5.0" in request.headers["User-Agent"] and "Chrome/156" in request.headers["User-Agent"]
    assert '"Google Chrome";v="156"' in request.headers["sec-ch-ua"]
    assert request.headers["Authorization"] == f"Bearer {GUEST_TOKEN}"
    assert set(FINGERPRINT) <= set(query)
    assert len(query) == 34
    assert query["current_url"] == f"{ORIGIN}/c/chat-1" and query["pathname"] == "/c/chat-1"
    assert query["user_agent"] == request.headers["User-Agent"]
    assert query["timestamp"] == query["signature_timestamp"] and query["token"] == GUEST_TOKEN
    assert request.headers["X-Signature"] == sign("Hello, 世界", query["requestId"], int(query["timestamp"]),
                                                  GUEST_ID)
    created = sent(upstream, "/api/v1/chats/new")[0]
    assert created.headers["X-Region"] == "overseas" and created.headers["X-FE-Version"] == VERSION


def test_the_device_id_is_stable_per_credential_and_differs_between_them(upstream):
    add_home(upstream)
    add_chat(upstream)
    add_completion(upstream)
    client = make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False)
    for _ in range(4):
        client.open(chat())
    ids = [request.headers["X-Device-Id"] for request in completions(upstream)]
    assert ids[0] == ids[2] and ids[1] == ids[3] and ids[0] != ids[1]
    assert T1 not in ids[0]


def test_reasoning_effort_goes_only_to_models_that_take_it(upstream):
    guest_flow(upstream)
    client = make_client()
    client.open(chat({"model": "GLM-5.2", "reasoning_effort": "medium", "messages": HELLO["messages"]}))
    client.open(chat({"model": "GLM-5.2", "messages": HELLO["messages"]}))
    client.open(chat({"model": "GLM-4.7", "reasoning_effort": "high", "messages": HELLO["messages"]}))
    client.open(chat({"model": "GLM-5.2", "enable_thinking": False, "messages": HELLO["messages"]}))
    efforts = [json.loads(request.body)["features"].get("reasoning_effort") for request in completions(upstream)]
    assert efforts == ["high", "max", None, None]


def test_search_turns_on_the_page_s_web_search_toggle(upstream):
    guest_flow(upstream)
    make_client().open(chat({"model": "GLM-4.7-Search", "messages": HELLO["messages"]}))
    assert json.loads(completions(upstream)[0].body)["features"]["auto_web_search"] is True
    assert json.loads(sent(upstream, "/api/v1/chats/new")[0].body)["chat"]["auto_web_search"] is True


def test_only_the_last_turn_s_images_are_uploaded(upstream):
    from tests.test_images import PNG
    import base64
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    add_home(upstream)
    upstream.post(f"{ORIGIN}/api/v1/files/", json={"id": "file-1", "filename": "a.png", "meta": {"size": 10}})
    add_chat(upstream)
    add_completion(upstream)
    config = settings(zai_token=USER_TOKEN)
    image = {"type": "image_url", "image_url": {"url": url}}
    body = {"model": "GLM-4.6V", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "First"}, image]},
        {"role": "assistant", "content": "A dot."},
        {"role": "user", "content": [{"type": "text", "text": "And now?"}, image]}]}
    model = Catalog(lambda: (MODELS_2026, RETIRED)).get_or_404("GLM-4.6V")
    from ztoapi.images import ImageLoader
    images = ImageLoader(config).load_all(body["messages"])
    request = chat_request(body, config, model, images=images)
    ZaiClient(config, sleep=lambda s: None).open(request)
    assert len(sent(upstream, "/api/v1/files/")) == 1
    message = json.loads(completions(upstream)[0].body)["messages"][0]
    assert message["content"] == [
        {"type": "text", "text": "<|user|>\nFirst\n[image]\n<|assistant|>\nA dot.\n<|user|>\nAnd now?"},
        {"type": "image_url", "image_url": {"url": "file-1_a.png"}}]


# ---------------------------------------------------------------- CAPTCHA (§2, §3)

def test_a_guest_asked_for_a_captcha_is_503_and_guests_are_not_tried_again(upstream):
    guest_flow(upstream, in_band(CAPTCHA))
    client = make_client()
    error = raised(client, chat())
    assert (error.status, error.code) == (503, "upstream_captcha_required")
    assert "ZtoApi never completes CAPTCHAs" in error.message and "ZAI_TOKEN" in error.message
    assert len(completions(upstream)) == 1
    started = time.monotonic()
    again = raised(client, chat())
    assert time.monotonic() - started < 1
    assert again.code == "upstream_captcha_required"
    assert len(upstream.calls) == 4, "no more guests minted, nothing sent"
    assert client.pool.state()[0]["state"].startswith("captcha")
    assert client.status()["ready"] is False and "CAPTCHA" in client.status()["reason"]


def test_a_configured_token_answers_while_guests_are_asked_for_captchas(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_chat(upstream)
    add_completion(upstream, in_band(CAPTCHA), match=for_token(GUEST_TOKEN))
    add_completion(upstream, ANSWER, match=for_token(T1))
    clock = Clock()
    client = make_client(zai_token=T1)
    client.pool.clock = clock
    client.pool.rate_limited(client.pool.configured[0].credential, 5)   # T1 rests: a guest goes first
    assert raised(client, chat()).code == "upstream_captcha_required"
    clock.now += 6
    assert read_all(client.open(chat())) == [("answer", "Hi")]
    assert read_all(client.open(chat())) == [("answer", "Hi")]
    bearers = [request.headers["Authorization"][7:] for request in completions(upstream)]
    assert bearers == [GUEST_TOKEN, T1, T1]


def test_a_token_asked_for_a_captcha_rests_and_the_next_one_answers(upstream):
    add_home(upstream)
    add_chat(upstream)
    add_completion(upstream, in_band(CAPTCHA), match=for_token(T1))
    add_completion(upstream, ANSWER, match=for_token(T2))
    client = make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False)
    assert read_all(client.open(chat())) == [("answer", "Hi")]
    assert read_all(client.open(chat())) == [("answer", "Hi")]
    bearers = [request.headers["Authorization"][7:] for request in completions(upstream)]
    assert bearers == [T1, T2, T2]
    assert client.pool.state()[0]["state"].startswith("captcha")


def test_a_captcha_on_every_credential_is_503(upstream):
    add_home(upstream)
    add_chat(upstream)
    add_completion(upstream, in_band(CAPTCHA))
    error = raised(make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False), chat())
    assert error.code == "upstream_captcha_required"
    assert len(completions(upstream)) == 2


# ---------------------------------------------------------------- models reserved for signed-in users

def test_a_tier_refusal_of_a_guest_is_retried_with_a_logged_in_token(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_chat(upstream)
    add_completion(upstream, in_band(TIER), match=for_token(GUEST_TOKEN))
    add_completion(upstream, ANSWER, match=for_token(T1))
    clock = Clock()
    client = make_client(zai_token=T1)
    client.pool.clock = clock
    client.pool.rate_limited(client.pool.configured[0].credential, 5)   # T1 rests: a guest goes first
    with pytest.raises(ApiError):
        client.open(chat({"model": "GLM-5.3", "messages": HELLO["messages"]}))
    clock.now += 6
    assert read_all(client.open(chat({"model": "GLM-5.3", "messages": HELLO["messages"]}))) == [("answer", "Hi")]
    assert read_all(client.open(chat({"model": "GLM-5.3", "messages": HELLO["messages"]}))) == [("answer", "Hi")]
    bearers = [request.headers["Authorization"][7:] for request in completions(upstream)]
    assert bearers == [GUEST_TOKEN, T1, T1]


def test_a_tier_refusal_without_a_token_is_403_naming_the_model_and_is_remembered(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_chat(upstream)

    def answer(request):   # guests may use GLM-4.7, not GLM-5.3
        refused = json.loads(request.body)["model"] == "glm-5.3"
        return 200, {"Content-Type": SSE_TYPE}, in_band(TIER) if refused else ANSWER
    upstream.add_callback(responses.POST, V2, callback=answer)
    clock = Clock()
    client = ZaiClient(settings(), sleep=lambda s: None, clock=clock)
    error = raised(client, chat({"model": "glm-5.3", "messages": HELLO["messages"]}))
    assert (error.status, error.code, error.param) == (403, "model_requires_login", "model")
    assert "glm-5.3" in error.message and "ZAI_TOKEN" in error.message
    assert raised(client, chat({"model": "GLM-5.3", "messages": HELLO["messages"]})).code == "model_requires_login"
    assert len(completions(upstream)) == 1, "remembered: guests are not sent there again"
    assert read_all(client.open(chat())) == [("answer", "Hi")], "other models still go to guests"
    clock.now += 601
    raised(client, chat({"model": "GLM-5.3", "messages": HELLO["messages"]}))
    assert len(completions(upstream)) == 3


# ---------------------------------------------------------------- the firewall, 426 and INTERNAL_ERROR

WAF = "<!DOCTYPE html><html><head><title>405</title></head><body>blocked</body></html>"


def test_a_firewall_405_rereads_the_version_tries_once_more_then_is_upstream_blocked(upstream):
    add_home(upstream)
    add_home(upstream, "prod-fe-1.1.99")
    add_guest(upstream)
    add_chat(upstream)
    upstream.post(V2, status=405, body=WAF, content_type="text/html")
    error = raised(make_client(), chat())
    assert (error.status, error.code) == (502, "upstream_blocked")
    assert [request.headers["X-FE-Version"] for request in completions(upstream)] == [VERSION, "prod-fe-1.1.99"]


def test_a_firewall_405_on_chat_creation_is_upstream_blocked(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(NEW_CHAT, status=405, body=WAF, content_type="text/html")
    error = raised(make_client(), chat())
    assert error.code == "upstream_blocked"
    assert len(sent(upstream, "/api/v1/chats/new")) == 2
    assert completions(upstream) == []


def test_http_426_rereads_the_version_once_then_is_upstream_signature_rejected(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_chat(upstream)
    upstream.post(V2, status=426, json={"detail": "New version detected, please refresh the page"})
    error = raised(make_client(), chat())
    assert (error.status, error.code) == (502, "upstream_signature_rejected")
    assert "New version detected" in error.message and "ZAI_SIGNING_SECRET" in error.message
    assert len(completions(upstream)) == 1, "the version did not change: no second try"
    assert paths(upstream).count("GET /") == 2


def test_internal_error_is_upstream_rejected_and_its_shape_is_in_the_debug_log(upstream, caplog):
    guest_flow(upstream, in_band(INTERNAL))
    with caplog.at_level("DEBUG", logger="ztoapi.upstream"):
        error = raised(make_client(), chat(CONVERSATION))
    assert (error.status, error.code) == (502, "upstream_rejected")
    assert "INTERNAL_ERROR" in error.message
    shape = [r.getMessage() for r in caplog.records if "rejected a 2026-dialect request" in r.getMessage()]
    assert len(shape) == 1
    assert '"roles":["user"]' in shape[0] and '"chat_id"' in shape[0]
    assert "Hello" not in shape[0] and GUEST_TOKEN not in shape[0]


def test_a_404_on_the_v2_path_rereads_the_dialect_and_speaks_2025_if_chat_z_ai_went_back(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.get(CONFIG, json={"completion_version": "2"})
    add_chat(upstream)
    upstream.post(V2, status=404, json={"detail": "Not Found"})
    clock = Clock()
    client = ZaiClient(settings(zai_dialect="auto"), sleep=lambda s: None, clock=clock)
    client.detector.current()
    clock.now += 6
    upstream.replace(responses.GET, CONFIG, status=404)
    add_home(upstream, "prod-fe-1.0.300")
    add_completion(upstream, ANSWER, url=V1)
    assert read_all(client.open(chat({"model": "GLM-4.5", "messages": HELLO["messages"]}))) == [("answer", "Hi")]
    assert paths(upstream)[-4:] == ["POST /api/v2/chat/completions", "GET /api/config", "GET /",
                                    "POST /api/chat/completions"]
    assert sent(upstream, "/api/chat/completions")[0].headers["X-FE-Version"] == "prod-fe-1.0.300"
    assert client.detector.current() == "2025"


def test_a_request_follows_a_dialect_another_request_read_first(upstream, monkeypatch):
    add_home(upstream)
    add_guest(upstream)
    upstream.get(CONFIG, json={"completion_version": "2"})
    add_chat(upstream)
    upstream.post(V2, status=404, json={"detail": "Not Found"})
    add_completion(upstream, ANSWER, url=V1)
    client = ZaiClient(settings(zai_dialect="auto"), sleep=lambda s: None)
    client.detector.current()

    def read_moments_ago_by_another_request():
        client.detector.known = "2025"
        return False   # rate-limited: this request's own re-read did not happen
    monkeypatch.setattr(client.detector, "recheck", read_moments_ago_by_another_request)
    assert read_all(client.open(chat({"model": "GLM-4.5", "messages": HELLO["messages"]}))) == [("answer", "Hi")]
    assert paths(upstream)[-1] == "POST /api/chat/completions"


def test_a_vision_model_searches_through_its_own_flag(upstream):
    guest_flow(upstream)
    model = Catalog(lambda: (MODELS_2026, RETIRED)).get_or_404("GLM-4.6V")
    request = chat_request({"model": "GLM-4.6V", "web_search": True, "messages": HELLO["messages"]},
                           settings(), model)
    make_client().open(request)
    features = json.loads(completions(upstream)[0].body)["features"]
    assert (features["vlm_web_search_enable"], features["auto_web_search"]) == (True, False)


@pytest.mark.parametrize("status, body, code", [
    (403, {"detail": "Model not available for current user level", "code": 403}, "model_requires_login"),
    (400, {"error": {"code": "FRONTEND_CAPTCHA_REQUIRED", "detail": "Please refresh the page"}},
     "upstream_captcha_required"),
    (500, {"code": "INTERNAL_ERROR", "detail": "x"}, "upstream_rejected"),
])
def test_2026_markers_in_a_non_200_body_mean_what_they_say(upstream, status, body, code):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(NEW_CHAT, status=status, json=body)
    assert raised(make_client(), chat()).code == code
