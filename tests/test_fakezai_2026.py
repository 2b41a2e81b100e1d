"""Self-tests for the fake chat.z.ai in its 2026 dialect (tests/fakezai, FakeZai(dialect="2026"))."""

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.fakezai import FakeZai, make_user_token, sign
from tests.fakezai.dialect2026 import FINGERPRINT_PARAMS
from tests.fakezai.stream2026 import Reply2026, events

ROOT = Path(__file__).resolve().parents[1]
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/153.0.0.0 Safari/537.36"
BROWSER = {"User-Agent": UA}
VERSION = "prod-fe-1.1.98"
USER = make_user_token("user-1")
INTERNAL = {"code": "INTERNAL_ERROR", "error_code": "INTERNAL_ERROR", "detail": "Internal Server Error"}
MISSING_CAPTCHA = {"captcha_error_type": "missing_param", "code": "FRONTEND_CAPTCHA_REQUIRED",
                   "detail": "Please refresh the page to update the app, then try again.",
                   "error_code": "FRONTEND_CAPTCHA_REQUIRED"}
FAILED_CAPTCHA = {"captcha_error_type": "verify_failed", "code": "FRONTEND_CAPTCHA_REQUIRED",
                  "detail": "The captcha verification failed", "error_code": "FRONTEND_CAPTCHA_REQUIRED"}
TIER = {"detail": "Model not available for current user level", "code": 403}
IMAGE_ERROR = {"type": "chat:completion", "data": {"error": {
    "detail": "Something went wrong. Please try again later.", "code": 400}, "done": True}}


@pytest.fixture()
def fake():
    """A running 2026 fake with one seeded real-user token."""
    server = FakeZai(dialect="2026", user_tokens=[USER]).start()
    yield server
    server.stop()


def nested(error: dict) -> list[dict]:
    """The events of a stream that is one double-nested in-band error."""
    return [{"type": "chat:completion", "data": {"data": {"error": error, "done": True}, "error": error, "done": True}}]


def get(fake, path, headers=None, **kwargs):
    """GET with a browser User-Agent."""
    return requests.get(fake.url + path, headers={**BROWSER, **(headers or {})}, timeout=5, **kwargs)


def guest(fake) -> tuple[str, str]:
    """Mint a guest; return (token, user id)."""
    data = get(fake, "/api/v1/auths/").json()
    return data["token"], data["id"]


def user_id(fake, token) -> str:
    """The account id behind token."""
    return get(fake, "/api/v1/auths/", {"Authorization": f"Bearer {token}"}).json()["id"]


def new_chat(fake, token, content="Hello, 世界", model="x-preview-l", headers=None, chat=None):
    """POST /api/v1/chats/new as the SPA does (pieces overridable); return the response."""
    mid = str(uuid.uuid4())
    message = {"id": mid, "parentId": None, "childrenIds": [], "role": "user", "content": content,
               "timestamp": 1789488967, "models": [model]}
    body = {"id": "", "title": "New Chat", "models": [model], "params": {},
            "history": {"messages": {mid: message}, "currentId": mid}, "tags": [], "flags": [],
            "features": [{"server": "tool_selector_h", "status": "hidden", "type": "tool_selector"}],
            "mcp_servers": [], "enable_thinking": True, "message_version": 1, "extra": {},
            "timestamp": 1789488967892, "type": "default", **(chat or {})}
    return requests.post(fake.url + "/api/v1/chats/new", json={"chat": body}, timeout=5, headers={
        **BROWSER, "Authorization": f"Bearer {token}", "X-FE-Version": VERSION, **(headers or {})})


def fingerprint(ts, rid, uid, token, chat_id) -> dict:
    """The 34 query parameters of a 2026 completion."""
    query = {p: "" for p in FINGERPRINT_PARAMS}
    query.update({"timestamp": str(ts), "requestId": rid, "user_id": uid, "version": "0.0.1", "platform": "web",
                  "token": token, "user_agent": UA, "language": "en-US", "languages": "en-US,en",
                  "timezone": "Europe/Paris", "cookie_enabled": "true", "screen_width": "1920",
                  "screen_height": "1080", "screen_resolution": "1920x1080", "viewport_height": "900",
                  "viewport_width": "1600", "viewport_size": "1600x900", "color_depth": "24", "pixel_ratio": "1",
                  "current_url": f"https://chat.z.ai/c/{chat_id}", "pathname": f"/c/{chat_id}", "host": "chat.z.ai",
                  "hostname": "chat.z.ai", "protocol": "https:", "title": "Z.ai", "timezone_offset": "-60",
                  "local_time": "2026-11-30T10:00:00.000Z", "utc_time": "Mon, 30 Nov 2026 09:00:00 GMT",
                  "is_mobile": "false", "is_touch": "false", "max_touch_points": "0", "browser_name": "Chrome",
                  "os_name": "Windows", "signature_timestamp": str(ts)})
    return query


def complete(fake, text="Hello, 世界", *, token=None, model="x-preview-l", thinking=False, features=None, body=None,
             headers=None, query=None, drop=(), prompt=None, messages=None, chat=None, stream=False, content=None):
    """POST a correctly signed 2026 completion for a fresh chat (pieces overridable); return the response."""
    if token is None:
        token, uid = guest(fake)
    else:
        uid = user_id(fake, token)
    if chat is None:
        chat = new_chat(fake, token, text if content is None else content, model).json()
    mid = chat["chat"]["history"]["currentId"]
    ts, rid = int(time.time() * 1000), str(uuid.uuid4())
    signed = text if prompt is None else prompt
    b = {"stream": True, "model": model, "messages": messages or [{"role": "user", "content": content or text}],
         "signature_prompt": signed, "params": {}, "extra": {},
         "features": {"image_generation": False, "web_search": False, "auto_web_search": False,
                      "preview_mode": True, "flags": [], "enable_thinking": thinking, **(features or {})},
         "variables": {"{{USER_NAME}}": "Guest"}, "chat_id": chat["id"], "id": str(uuid.uuid4()),
         "current_user_message_id": mid, "current_user_message_parent_id": None,
         "background_tasks": {"title_generation": True, "tags_generation": True}, **(body or {})}
    h = {**BROWSER, "Authorization": f"Bearer {token}", "X-FE-Version": VERSION, "X-Region": "overseas",
         "X-Device-Id": "uid_0123456789abcdef", "X-Signature": sign(signed, rid, ts, uid), **(headers or {})}
    q = {k: v for k, v in {**fingerprint(ts, rid, uid, token, chat["id"]), **(query or {})}.items() if k not in drop}
    return requests.post(fake.url + "/api/v2/chat/completions", params=q, headers=h, json=b, timeout=10,
                         stream=stream)


def sse_events(resp) -> list[dict]:
    """Parse every JSON `data:` line of an SSE response."""
    return [json.loads(line[6:]) for line in resp.iter_lines(decode_unicode=True) if line.startswith("data: {")
            and line != "data: {oops"]


def datas(evts) -> list[dict]:
    """The data of the chat:completion events."""
    return [e["data"] for e in evts if e["type"] == "chat:completion"]


def answer(evts) -> str:
    """The answer text: answer-phase deltas joined."""
    return "".join(d["delta_content"] for d in datas(evts) if d.get("phase") == "answer" and "delta_content" in d)


def usages(evts) -> list[dict]:
    """The usage objects of the phase-other frames, in order."""
    return [d["usage"] for d in datas(evts) if d.get("phase") == "other"]


def phases(evts) -> list[str]:
    """The phase of each chat:completion event, and the type of every other event."""
    return [e["data"].get("phase") if e["type"] == "chat:completion" else e["type"] for e in evts]


def test_full_flow_thinking_usage_before_last_answer_done_last(fake):
    token, uid = guest(fake)
    chat = new_chat(fake, token).json()
    resp = complete(fake, token=token, chat=chat, thinking=True)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert resp.headers["x-chat-id"] == chat["id"] and "[DONE]" not in resp.text
    evts = sse_events(resp)
    thinking = [d["delta_content"] for d in datas(evts) if d.get("phase") == "thinking"]
    assert "".join(thinking) == "The user wrote: Hello, 世界\nI will echo it."
    assert "<details" not in resp.text and not any(t.startswith("> ") for t in thinking)
    assert answer(evts) == "Echo: Hello, 世界"
    kinds = phases(evts)
    assert kinds[-1] == "done" and evts[-1] == {"type": "chat:completion", "data": {"phase": "done", "done": True}}
    last_answer = max(i for i, k in enumerate(kinds) if k == "answer")
    assert kinds.index("other") < last_answer and kinds.count("other") == 1
    assert usages(evts) == [{"prompt_tokens": 2, "completion_tokens": 12, "total_tokens": 14,
                             "prompt_tokens_details": {"cached_tokens": 0}}]
    assert {"status", "chat:title", "conn:heartbeat"} <= set(kinds)
    extras = {e["type"]: e["data"] for e in evts if e["type"] != "chat:completion"}
    assert extras == {"status": {"status": "thinking"}, "chat:title": {"title": "Hello, 世界"}, "conn:heartbeat": {}}
    body = fake.completions()[-1]
    assert body["messages"] == [{"role": "user", "content": "Hello, 世界"}] and body["chat_id"] == chat["id"]
    assert fake.chats[chat["id"]]["model"] == "x-preview-l" and fake.chats[chat["id"]]["token"] == token
    assert fake.device_ids_by_token() == {token: {"uid_0123456789abcdef"}}
    stats = get(fake, "/__fake/stats").json()
    assert stats["dialect"] == "2026" and stats["chats"] == 1 and stats["chats_by_token"] == {token[-8:]: 1}
    assert fake.chat_requests_by_token() == {token: 1}


def test_chats_new_answers_the_chat_record(fake):
    token, uid = guest(fake)
    resp = new_chat(fake, token, content=[{"type": "text", "text": "look"}])
    assert resp.status_code == 200
    record = resp.json()
    assert record["user_id"] == uid and record["title"] == "New Chat" and record["type"] == "default"
    assert (record["share_id"], record["archived"], record["pinned"], record["meta"], record["folder_id"]) == (
        None, False, False, {}, None)
    assert record["chat"]["id"] == record["id"] and record["chat"]["models"] == ["x-preview-l"]
    assert record["created_at"] == record["updated_at"] and abs(record["created_at"] - time.time()) < 5
    mid = record["chat"]["history"]["currentId"]
    assert fake.chats[record["id"]] == {"id": record["id"], "token": token, "user_id": uid, "model": "x-preview-l",
                                        "message_id": mid, "content": [{"type": "text", "text": "look"}],
                                        "record": record}
    assert new_chat(fake, USER, model="glm-5.2").json()["user_id"] == "user-1"
    assert len(fake.chats) == 2 and fake.stats()["chats_by_token"] == {token[-8:]: 1, USER[-8:]: 1}


def test_chats_new_rejections(fake):
    token, _ = guest(fake)
    assert new_chat(fake, "forged").status_code == 401
    resp = new_chat(fake, token, headers={"Authorization": None})
    assert resp.status_code == 401 and resp.json() == {
        "detail": "Your session has expired or the token is invalid. Please sign in again."}
    assert new_chat(fake, token, model="GLM-4-6-API-V1").json() == {"detail": "Model not found"}
    assert new_chat(fake, token, model="glm-5").json() == {"detail": "Model not found"}
    assert new_chat(fake, token, chat={"models": []}).json() == {"detail": "Field 'chat.models' must be a non-empty list"}
    assert new_chat(fake, token, chat={"history": {"messages": {}, "currentId": "x"}}).json() == {
        "detail": "Field 'chat.history.currentId' must name a message of chat.history.messages"}
    assistant = {"m": {"id": "m", "role": "assistant", "content": "hi"}}
    assert new_chat(fake, token, chat={"history": {"messages": assistant, "currentId": "m"}}).json() == {
        "detail": "The current message must have role 'user'"}
    for content in (3, [], [{"type": "image_url", "image_url": "x"}], [{"type": "text"}]):
        bad = {"m": {"id": "m", "role": "user", "content": content}}
        resp = new_chat(fake, token, chat={"history": {"messages": bad, "currentId": "m"}})
        assert resp.status_code == 400 and "content" in resp.json()["detail"]
    resp = requests.post(fake.url + "/api/v1/chats/new", json={"title": "x"}, timeout=5,
                         headers={**BROWSER, "Authorization": f"Bearer {token}", "X-FE-Version": VERSION})
    assert resp.status_code == 400 and resp.json() == {"detail": "Field 'chat' must be an object"}
    assert fake.chats == {} and [r["path"] for r in fake.requests].count("/api/v1/chats/new") == 12


def test_config_and_its_faults(fake):
    config = get(fake, "/api/config").json()
    assert config["completion_version"] == "2" and config["enable_captcha"] is False
    assert (config["enable_mcp"], config["default_models"], config["name"]) == (True, "glm-5.3", "Z.ai")
    fake.captcha = "guests"
    assert get(fake, "/api/config").json()["enable_captcha"] is True
    fake.config_fault = "http500"
    assert get(fake, "/api/config").status_code == 500
    fake.config_fault = "bad_json"
    resp = get(fake, "/api/config")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        resp.json()
    fake.config_fault = "no_field"
    assert "completion_version" not in get(fake, "/api/config").json()
    fake.config_fault = "http404"
    assert get(fake, "/api/config").json() == {"detail": "Not Found"}
    with pytest.raises(ValueError):
        fake.config_fault = "nope"
    fake.reset()
    assert fake.config_fault is None and fake.captcha is None and get(fake, "/api/config").status_code == 200


def test_index_names_the_newest_build_and_an_older_one(fake):
    page = get(fake, "/").text
    assert "/frontend/prod-fe-1.1.98/assets/" in page
    found = re.findall(r"/frontend/prod-fe-(\d+\.\d+\.\d+)/assets/", page)
    assert found[0] == "1.0.272" and set(found) == {"1.0.272", "1.1.98"}
    assert (fake.fe_version, fake.min_fe_version) == ("1.1.98", "1.1.0")
    fake.fe_version = "1.1.120"
    assert "/frontend/prod-fe-1.1.120/assets/" in get(fake, "/").text


def test_waf_blocks_non_browser_user_agents(fake):
    for path in ("/", "/api/v1/auths/", "/api/models", "/api/config", "/nope"):
        resp = requests.get(fake.url + path, timeout=5)
        assert resp.status_code == 405 and "<title>405</title>" in resp.text and "aliyun" in resp.text, path
    for agent in ("Go-http-client/1.1", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
                  "curl/8.0 Chrome/1"):
        assert get(fake, "/api/models", {"User-Agent": agent}).status_code == 405, agent
    assert get(fake, "/api/models").status_code == 200
    assert requests.get(fake.url + "/__fake/stats", timeout=5).status_code == 200
    assert [r["path"] for r in fake.requests][:5] == ["/", "/api/v1/auths/", "/api/models", "/api/config", "/nope"]
    assert fake.issued_tokens == []


def test_waf_blocks_stale_or_missing_fe_version_on_chat_posts(fake):
    token, _ = guest(fake)
    for version in (None, "prod-fe-1.0.272", "garbage"):
        resp = new_chat(fake, token, headers={"X-FE-Version": version})
        assert resp.status_code == 405 and "<title>405</title>" in resp.text, version
        resp = complete(fake, token=token, headers={"X-FE-Version": version})
        assert resp.status_code == 405, version
    assert fake.chats and fake.completions() == []  # the WAF answers before the app sees the completion
    assert new_chat(fake, token, headers={"X-FE-Version": "prod-fe-1.1.0"}).status_code == 200
    fake.min_fe_version = "1.1.99"
    assert new_chat(fake, token).status_code == 405
    assert get(fake, "/api/models").status_code == 200  # only the chat POSTs check the version


def test_catalogue_2026(fake):
    models = {m["id"]: m for m in get(fake, "/api/models").json()["data"]}
    active = {k: m["name"] for k, m in models.items() if m["info"]["is_active"]}
    assert active == {
        "x-preview-l": "GLM-5.3-Flash", "glm-5.3": "GLM-5.3", "glm-5.2": "GLM-5.2", "GLM-5-Turbo": "GLM-5-Turbo",
        "GLM-5v-Turbo": "GLM-5V-Turbo", "glm-4.7": "GLM-4.7", "glm-4.6v": "GLM-4.6V", "glm-4-flash": "GLM-4-Flash",
        "glm-4-air-250414": "GLM-4-Air", "0727-106B-API": "GLM-4.5-Air", "0727-360B-API": "GLM-4.5",
        "GLM-4.1V-Thinking-FlashX": "GLM-4.1V-Thinking-FlashX", "deep-research": "Z1-Rumination", "zero": "Z1-32B",
        "0808-360B-DR": "GLM-4.5-DR"}
    assert len(models) == 16 and "GLM-4-6-API-V1" not in models and "glm-4.5v" not in models
    caps = {k: m["info"]["meta"]["capabilities"] for k, m in models.items()}
    assert {k for k, c in caps.items() if c["reasoning_effort"]} == {"glm-5.2"}
    assert {k for k, c in caps.items() if c["vision"] and models[k]["info"]["is_active"]} == {
        "GLM-5v-Turbo", "glm-4.6v", "GLM-4.1V-Thinking-FlashX"}
    assert all({"think", "vision", "web_search", "mcp", "returnFc", "reasoning_effort"} <= set(c) for c in caps.values())
    assert models["glm-5.3"]["openai"]["id"] == "glm-5.3" and models["glm-5.3"]["info"]["name"] == "GLM-5.3"
    fake.dialect = "2025"
    old = {m["id"] for m in requests.get(fake.url + "/api/models", timeout=5).json()["data"]}
    assert old == {"0727-360B-API", "0727-106B-API", "glm-4.5v", "GLM-4-6-API-V1", "main_chat"}


def test_endpoints_follow_the_dialect(fake):
    token, _ = guest(fake)
    resp = requests.post(fake.url + "/api/chat/completions", json={}, timeout=5,
                         headers={**BROWSER, "Authorization": f"Bearer {token}"})
    assert resp.status_code == 404 and resp.json() == {"detail": "Not Found"}
    fake.dialect = "2025"
    for method, path in (("POST", "/api/v2/chat/completions"), ("GET", "/api/config"),
                         ("POST", "/api/v1/chats/new")):
        resp = requests.request(method, fake.url + path, json={}, timeout=5)
        assert resp.status_code == 404 and resp.json() == {"detail": "Not Found"}, path
    assert "prod-fe-1.0.98/_app" in requests.get(fake.url + "/", timeout=5).text
    assert fake.completions() == [] and fake.chat_requests_by_token() == {}


def test_token_query_and_header_rejections(fake):
    token, _ = guest(fake)
    resp = complete(fake, token=token, headers={"Authorization": "Bearer forged"})
    assert resp.status_code == 401 and resp.json() == {
        "detail": "Your session has expired or the token is invalid. Please sign in again."}
    assert complete(fake, drop=("screen_width", "os_name")).json() == {
        "detail": "Missing required query parameter(s): screen_width, os_name"}
    assert complete(fake, drop=("token",)).json() == {"detail": "Missing required query parameter(s): token"}
    assert complete(fake, drop=("requestId",)).json() == {"detail": "Missing required query parameter(s): requestId"}
    assert complete(fake, query={"token": "other"}).json() == {
        "detail": "Query parameter 'token' does not match the Authorization token"}
    assert complete(fake, query={"user_id": "other"}).status_code == 400
    assert complete(fake, query={"signature_timestamp": "1"}).status_code == 400
    assert complete(fake, headers={"X-Region": None}).json() == {"detail": "Header 'X-Region' must be 'overseas'"}
    assert complete(fake, headers={"X-Region": "cn"}).status_code == 400
    assert complete(fake, headers={"X-Device-Id": None}).json() == {"detail": "Missing required header 'X-Device-Id'"}
    assert complete(fake, headers={"X-Device-Id": ""}).status_code == 400
    assert complete(fake, token=token, headers={"X-Device-Id": "uid_a"}).status_code == 200
    assert complete(fake, token=token, headers={"X-Device-Id": "uid_b"}).status_code == 200
    assert fake.device_ids_by_token()[token] == {"uid_a", "uid_b"}
    assert len(fake.completions()) == 13


def test_signature_absent_426_wrong_400(fake):
    resp = complete(fake, headers={"X-Signature": None})
    assert resp.status_code == 426 and resp.json() == {"detail": "New version detected, please refresh the page"}
    bad = {"detail": "403: Signature validation failed: 签名验证失败"}
    resp = complete(fake, headers={"X-Signature": "0" * 64})
    assert resp.status_code == 400 and resp.json() == bad
    assert complete(fake, prompt="something else").json() == bad
    parts = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    resp = complete(fake, "a\nb", content=parts)
    assert resp.status_code == 200 and answer(sse_events(resp)) == "Echo: a\nb"
    assert complete(fake, "a b", content=parts).json() == bad
    with FakeZai(dialect="2026", signature_mode="off") as lax:
        assert complete(lax, headers={"X-Signature": None}).status_code == 200


def test_body_must_fit_the_chat(fake):
    token, _ = guest(fake)
    chat = new_chat(fake, token).json()
    other, _ = guest(fake)
    foreign = new_chat(fake, other).json()
    assert complete(fake, token=token, chat=foreign).json() == {"detail": "Chat not found"}
    assert complete(fake, token=token, chat=chat, body={"chat_id": str(uuid.uuid4())}).json() == {
        "detail": "Chat not found"}
    assert complete(fake, token=token, chat=chat, body={"model": "GLM-4-6-API-V1"}).json() == {
        "detail": "Model not found"}
    assert complete(fake, token=token, chat=chat, body={"model": "glm-4.7"}).json() == {
        "detail": "Field 'model' does not match the chat's model"}
    assert complete(fake, token=token, chat=chat, body={"current_user_message_id": "m0"}).json() == {
        "detail": "Field 'current_user_message_id' is not the chat's current message"}
    assert complete(fake, "Other text", token=token, chat=chat).json() == {
        "detail": "The user message differs from the chat's current message"}
    assert complete(fake, token=token, chat=chat, body={"id": ""}).json() == {
        "detail": "Field 'id' must be a non-empty string"}
    resp = complete(fake, token=token, chat=chat, body={"current_user_message_parent_id": 5})
    assert resp.json() == {"detail": "Field 'current_user_message_parent_id' must be a string or null"}
    assert complete(fake, token=token, chat=chat, body={"features": {}}).json() == {
        "detail": "Field 'features.enable_thinking' must be a boolean"}
    assert complete(fake, token=token, chat=chat, body={"features": None}).status_code == 400
    assert complete(fake, token=token, chat=chat, body={"current_user_message_parent_id": "a1"}).status_code == 200


def test_parent_id_is_required(fake):
    token, uid = guest(fake)
    chat = new_chat(fake, token).json()
    ts, rid = int(time.time() * 1000), str(uuid.uuid4())
    body = {"stream": True, "model": "x-preview-l", "messages": [{"role": "user", "content": "Hello, 世界"}],
            "signature_prompt": "Hello, 世界", "features": {"enable_thinking": False}, "chat_id": chat["id"],
            "id": "a1", "current_user_message_id": chat["chat"]["history"]["currentId"]}
    resp = requests.post(fake.url + "/api/v2/chat/completions", params=fingerprint(ts, rid, uid, token, chat["id"]),
                         json=body, timeout=5, headers={
                             **BROWSER, "Authorization": f"Bearer {token}", "X-FE-Version": VERSION,
                             "X-Region": "overseas", "X-Device-Id": "d", "X-Signature": sign("Hello, 世界", rid, ts, uid)})
    assert resp.json() == {"detail": "Field 'current_user_message_parent_id' is required (null allowed)"}


def test_invalid_json_and_bad_directive(fake):
    token, uid = guest(fake)
    chat = new_chat(fake, token).json()
    ts, rid = int(time.time() * 1000), str(uuid.uuid4())
    resp = requests.post(fake.url + "/api/v2/chat/completions", params=fingerprint(ts, rid, uid, token, chat["id"]),
                         data="{not json", timeout=5, headers={
                             **BROWSER, "Authorization": f"Bearer {token}", "X-FE-Version": VERSION,
                             "X-Region": "overseas", "X-Device-Id": "d", "X-Signature": sign("", rid, ts, uid)})
    assert resp.status_code == 400 and resp.json() == {"detail": "Invalid JSON body"}
    assert fake.completions()[-1] is None
    resp = complete(fake, 'hi [[fake {"fault": "nope"}]]')
    assert resp.status_code == 400 and resp.json()["detail"].startswith("unknown fault 'nope'")
    resp = complete(fake, "<|user|>\nold [[fake {oops}]]\n<|assistant|>\nx\n<|user|>\nnew")
    assert answer(sse_events(resp)) == "Echo: new"  # a broken directive in an earlier turn is not read


def test_one_message_rule_internal_error(fake):
    user_msg = {"role": "user", "content": "Hello, 世界"}
    for messages in ([{"role": "system", "content": "be brief"}, user_msg],
                     [{"role": "user", "content": "first"}, user_msg],
                     [{"role": "assistant", "content": "hi"}, user_msg],
                     [{"role": "tool", "content": "{}"}, user_msg],
                     [{"role": "developer", "content": "x"}, user_msg]):
        resp = complete(fake, messages=messages)
        assert resp.status_code == 200 and sse_events(resp) == nested(INTERNAL) and resp.text.count("data: ") == 1
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    assert sse_events(complete(fake, body={"tools": tools})) == nested(INTERNAL)
    assert answer(sse_events(complete(fake, body={"tools": None}))) == "Echo: Hello, 世界"
    assert sse_events(complete(fake, features={"reasoning_effort": "max"})) == nested(INTERNAL)
    resp = complete(fake, token=USER, model="glm-5.2", features={"reasoning_effort": "max"})
    assert answer(sse_events(resp)) == "Echo: Hello, 世界"
    assert [len(b["messages"]) for b in fake.completions()] == [2, 2, 2, 2, 2, 1, 1, 1, 1]


def test_captcha_gate_guests_vs_seeded_users(fake):
    fake.captcha = "guests"
    resp = complete(fake)
    assert resp.status_code == 200 and sse_events(resp) == nested(MISSING_CAPTCHA)
    assert sse_events(complete(fake, body={"captcha_verify_param": "opaque"})) == nested(FAILED_CAPTCHA)
    assert sse_events(complete(fake, body={"captcha_verify_param": None})) == nested(MISSING_CAPTCHA)
    assert answer(sse_events(complete(fake, token=USER))) == "Echo: Hello, 世界"
    fake.captcha = "all"
    assert sse_events(complete(fake, token=USER)) == nested(MISSING_CAPTCHA)
    assert fake.stats()["captcha_refusals"] == 4
    with pytest.raises(ValueError):
        fake.captcha = "sometimes"
    fake.reset()
    assert fake.captcha is None and fake.stats()["captcha_refusals"] == 0
    assert answer(sse_events(complete(fake))) == "Echo: Hello, 世界"


def test_captcha_comes_after_the_one_message_rule_and_before_the_tier(fake):
    fake.captcha = "all"
    two = [{"role": "system", "content": "s"}, {"role": "user", "content": "Hello, 世界"}]
    assert sse_events(complete(fake, messages=two)) == nested(INTERNAL)
    assert sse_events(complete(fake, model="glm-5.3")) == nested(MISSING_CAPTCHA)


def test_tier_refusal_for_guests(fake):
    resp = complete(fake, model="glm-5.3")
    assert resp.status_code == 200 and sse_events(resp) == nested(TIER)
    for model in ("x-preview-l", "glm-4.7", "0727-360B-API", "0727-106B-API", "glm-4-flash"):
        assert answer(sse_events(complete(fake, model=model))) == "Echo: Hello, 世界", model
    assert answer(sse_events(complete(fake, token=USER, model="glm-5.3"))) == "Echo: Hello, 世界"
    fake.guest_models.add("glm-5.3")
    assert answer(sse_events(complete(fake, model="glm-5.3"))) == "Echo: Hello, 世界"
    fake.guest_models = ["glm-4.7"]
    assert sse_events(complete(fake)) == nested(TIER)
    fake.reset()
    assert fake.guest_models == {"x-preview-l", "glm-4.7", "0727-360B-API", "0727-106B-API", "glm-4-flash"}
    with pytest.raises(ValueError):
        fake.guest_models = "glm-4.7"


def test_search_phases_and_citations(fake):
    resp = complete(fake, "news", thinking=True, features={"web_search": True})
    evts = sse_events(resp)
    tool = [d for d in datas(evts) if d.get("phase") in ("tool_call", "tool_response")]
    first, args, response = tool[0], tool[1:-1], tool[-1]
    call_id = first["metadata"]["tool_call_id"]
    assert re.fullmatch(r"call_[0-9a-f]{24}", call_id) and first["delta_name"] == "search"
    assert first["delta_arguments"] == '{"' and first["metadata"]["type"] == "function"
    assert 2 <= len(args) <= 3 and all(a["metadata"] == {"type": "function"} and "delta_name" not in a for a in args)
    arguments = json.loads(first["delta_arguments"] + "".join(a["delta_arguments"] for a in args))
    assert arguments == {"search_query": [{"q": "news", "recency": 30}]}
    assert response == {"phase": "tool_response", "tool_name": "search", "status": "completed",
                        "delta_content": "[ref_id=turn0search0†Result 1 for news†https://example.com/1]\n"
                                         "Date: 2026-11-30\nSnippet 1 about news.\n\n"
                                         "[ref_id=turn0search1†Result 2 for news†https://example.com/2]\n"
                                         "Date: 2026-11-30\nSnippet 2 about news.",
                        "metadata": {"browser": {"search_result": [
                            {"title": "Result 1 for news", "url": "https://example.com/1", "text": "Snippet 1 about news."},
                            {"title": "Result 2 for news", "url": "https://example.com/2", "text": "Snippet 2 about news."}]},
                            "tool_call_id": call_id}}
    assert answer(evts) == "Echo: news [searched: news]【turn0search0】【turn0search1】"
    kinds = [d["phase"] for d in datas(evts)]
    assert kinds.index("thinking") < kinds.index("tool_call") < kinds.index("tool_response") < kinds.index("answer")
    assert kinds[kinds.index("tool_response") + 1] == "other" and kinds.count("other") == 2
    assert kinds.index("other", kinds.index("tool_response") + 2) < max(i for i, k in enumerate(kinds) if k == "answer")
    assert sum(u["completion_tokens"] for u in usages(evts)) == 12 and sum(u["prompt_tokens"] for u in usages(evts)) == 1


def test_search_switches_and_sources(fake):
    evts = sse_events(complete(fake, "q", features={"auto_web_search": True}))
    assert answer(evts) == "Echo: q [searched: q]【turn0search0】【turn0search1】"
    text = 'q [[fake {"sources": [{"title": "T", "url": "https://t.test/"}]}]]'
    evts = sse_events(complete(fake, text, features={"web_search": True}))
    response = next(d for d in datas(evts) if d.get("phase") == "tool_response")
    assert response["delta_content"] == "[ref_id=turn0search0†T†https://t.test/]\nDate: 2026-11-30\n"
    assert response["metadata"]["browser"]["search_result"] == [{"title": "T", "url": "https://t.test/", "text": ""}]
    assert answer(evts) == "Echo: q [searched: q]【turn0search0】"
    fake.script_next(search=True, sources=[])
    evts = sse_events(complete(fake, "z"))
    assert answer(evts) == "Echo: z [searched: z]" and "tool_call" in phases(evts)
    assert next(d for d in datas(evts) if d.get("phase") == "tool_response")["delta_content"] == ""
    fake.script_next(search=False)
    evts = sse_events(complete(fake, "n", features={"web_search": True}))
    assert answer(evts) == "Echo: n" and "tool_call" not in phases(evts)
    fake.script_next(answer="A")
    assert answer(sse_events(complete(fake, "n", features={"web_search": True}))) == "A"


def test_hops_split_usage(fake):
    fake.script_next(hops=3, answer="one two three four five", chunk=4)
    evts = sse_events(complete(fake, "a b c d"))
    assert usages(evts) == [
        {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2, "prompt_tokens_details": {"cached_tokens": 0}},
        {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2, "prompt_tokens_details": {"cached_tokens": 0}},
        {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5, "prompt_tokens_details": {"cached_tokens": 0}}]
    kinds = [k for k in phases(evts) if k in ("answer", "other")]
    assert kinds == ["other", "other"] + ["answer"] * 5 + ["other", "answer"]
    with pytest.raises(ValueError):
        fake.script_next(hops=0)


def test_think_style_details(fake):
    fake.script_next(think_style="details")
    evts = sse_events(complete(fake, thinking=True))
    ds = datas(evts)
    assert ds[0]["delta_content"].startswith('<details type="reasoning" done="false"') and ds[0]["phase"] == "thinking"
    edit = next(d for d in ds if "edit_index" in d)
    assert edit["edit_index"] == 32 and edit["phase"] == "answer" and "\n</details>\n" in edit["edit_content"]
    tail = edit["edit_content"].split("\n</details>\n", 1)[1]
    assert tail + answer(evts) == "Echo: Hello, 世界"
    kinds = phases(evts)
    assert kinds[-1] == "done" and kinds.index("other") < max(i for i, k in enumerate(kinds) if k == "answer")
    with pytest.raises(ValueError):
        fake.script_next(think_style="fancy")


def test_extra_events_vary_with_seed():
    positions = set()
    for seed in range(8):
        reply = Reply2026("Echo: hi there", "think", "x-preview-l", {
            "prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "prompt_tokens_details": {"cached_tokens": 0}},
            seed=seed)
        items = events(reply)
        kinds = [e["type"] for _, e in items]
        assert {"status", "chat:title", "conn:heartbeat"} <= set(kinds) and items[-1][0] == "tail"
        positions.add(tuple(i for i, k in enumerate(kinds) if k != "chat:completion"))
        assert events(reply) == items
    assert len(positions) > 3


def test_folded_transcript_answers_the_last_user_turn(fake):
    text = ('<|system|>\nBe brief.\n<|user|>\nFirst question [[fake {"answer": "old"}]]\n<|assistant|>\nold\n'
            '<|user|>\nSecond question')
    resp = complete(fake, text)
    assert answer(sse_events(resp)) == "Echo: Second question"
    assert fake.completions()[-1]["messages"] == [{"role": "user", "content": text}]
    text = '<|user|>\nearlier\n<|assistant|>\nok\n<|user|>\nnow [[fake {"answer": "scripted", "chunk": 3}]]'
    ds = datas(sse_events(complete(fake, text)))
    assert [d["delta_content"] for d in ds if d.get("phase") == "answer"] == ["scr", "ipt", "ed"]
    assert answer(sse_events(complete(fake, "plain <|user|> inline\nline two"))) == \
        "Echo: plain <|user|> inline\nline two"
    evts = sse_events(complete(fake, "<|user|>\nmulti\nline\n\n<|assistant|>\nx\n<|user|>\nlast", thinking=True))
    assert answer(evts) == "Echo: last"
    assert "".join(d["delta_content"] for d in datas(evts) if d["phase"] == "thinking").startswith("The user wrote: last")


def test_faults_in_2026(fake):
    for fault, status in (("http500", 500), ("http429", 429), ("waf405", 405), ("http426", 426),
                          ("config_404", 404), ("http401", 401), ("signature", 400)):
        fake.script_next(fault=fault)
        assert complete(fake).status_code == status, fault
    fake.script_next(fault="http426")
    assert complete(fake).json() == {"detail": "New version detected, please refresh the page"}
    fake.script_next(fault="config_404")
    assert complete(fake).json() == {"detail": "Not Found"}
    fake.script_next(fault="captcha")
    assert sse_events(complete(fake, token=USER)) == nested(MISSING_CAPTCHA)
    fake.script_next(fault="captcha")
    assert sse_events(complete(fake, body={"captcha_verify_param": "x"})) == nested(FAILED_CAPTCHA)
    fake.script_next(fault="tier")
    assert sse_events(complete(fake, token=USER)) == nested(TIER)
    fake.script_next(fault="internal_error")
    assert sse_events(complete(fake)) == nested(INTERNAL)
    fake.script_next(fault="busy_event")
    assert sse_events(complete(fake))[0]["data"]["error"]["code"] == 429
    assert fake.stats()["captcha_refusals"] == 2


def test_stream_faults_in_2026(fake):
    evts = sse_events(complete(fake, 'hi [[fake {"answer": "one two three four", "chunk": 4, "fault": "error_mid"}]]'))
    assert evts[-1] == {"type": "chat:completion", "data": {"error": {
        "detail": "Something went wrong, please try again later", "code": 500}}} and answer(evts) == "one two "
    fake.script_next(fault="cut", chunk=2)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        complete(fake)
    fake.script_next(fault="malformed", after=1)
    resp = complete(fake, thinking=True)
    assert "data: {oops\n\n" in resp.text and ": ping\n\n" in resp.text
    assert answer(sse_events(resp)) == "Echo: Hello, 世界" and phases(sse_events(resp))[-1] == "done"
    fake.script_next(fault="stall", stall_s=0.3)
    started = time.monotonic()
    assert answer(sse_events(complete(fake))) == "Echo: Hello, 世界" and time.monotonic() - started >= 0.3
    fake.script_next(fault="version426")
    assert sse_events(complete(fake))[0]["data"]["error"]["code"] == 426


def test_stream_limit_per_token(fake):
    fake.max_streams_per_token = 0
    resp = complete(fake, token=USER)
    assert resp.status_code == 429 and resp.json() == {"detail": "Too many requests, concurrency limit exceeded"}


def upload(fake, token, name, data, content_type) -> dict:
    """Upload one file with token and return the JSON record."""
    resp = requests.post(fake.url + "/api/v1/files/", files={"file": (name, data, content_type)}, timeout=5,
                         headers={**BROWSER, "Authorization": "Bearer " + token})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_vision_models_resolve_uploads(fake):
    png = upload(fake, USER, "a.png", b"\x89PNG\r\n\x1a\n\x00\xff\r\n", "image/png")
    parts = [{"type": "text", "text": "What is"}, {"type": "image_url", "image_url": {"url": f"{png['id']}_a.png"}},
             {"type": "text", "text": "this?"}]
    for model in ("glm-4.6v", "GLM-5v-Turbo", "GLM-4.1V-Thinking-FlashX"):
        resp = complete(fake, "What is\nthis?", token=USER, model=model, content=parts)
        assert answer(sse_events(resp)) == "Echo: What is\nthis? [image image/png 12 bytes]", model
    broken = [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "https://img.test/x.png"}}]
    assert sse_events(complete(fake, "hi", token=USER, model="glm-4.6v", content=broken)) == [IMAGE_ERROR]
    resp = complete(fake, "What is\nthis?", token=USER, model="glm-5.3", content=parts)
    assert resp.status_code == 400 and resp.json() == {"detail": "This model does not support image input"}


def test_runtime_dialect_switch_and_reset():
    with FakeZai(user_tokens=[USER]) as server:
        assert (server.dialect, server.fe_version, server.min_fe_version) == ("2025", "1.0.98", "1.0.94")
        assert requests.get(server.url + "/api/config", timeout=5).status_code == 404
        server.dialect = "2026"
        assert (server.fe_version, server.min_fe_version) == ("1.1.98", "1.1.0")
        assert requests.get(server.url + "/api/config", timeout=5).status_code == 405
        assert get(server, "/api/config").json()["completion_version"] == "2"
        assert answer(sse_events(complete(server, token=USER))) == "Echo: Hello, 世界"
        server.fe_version = "1.2.0"
        server.reset()
        assert (server.dialect, server.fe_version, server.min_fe_version) == ("2025", "1.0.98", "1.0.94")
        assert server.chats == {} and server.completions() == [] and server.device_ids_by_token() == {}
        with pytest.raises(ValueError):
            server.dialect = "2027"
    with FakeZai(dialect="2026", fe_version="1.1.200", min_fe_version="1.1.150") as server:
        server.dialect = "2025"
        assert (server.fe_version, server.min_fe_version) == ("1.1.200", "1.1.150")


def test_chat_made_before_a_switch_is_kept_but_reset_forgets_it(fake):
    token, _ = guest(fake)
    chat = new_chat(fake, token).json()
    fake.dialect = "2025"
    fake.dialect = "2026"
    assert complete(fake, token=token, chat=chat).status_code == 200
    fake.reset()
    fake.dialect = "2026"
    assert complete(fake, token=token, chat=chat).json() == {"detail": "Chat not found"}


def test_cli_dialect_2026():
    command = [sys.executable, "-m", "tests.fakezai", "--dialect", "2026", "--port", "0", "--captcha", "guests"]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}) as proc:
        try:
            line = proc.stdout.readline()
            assert re.fullmatch(r"READY \d+\n", line)
            base = f"http://127.0.0.1:{int(line.split()[1])}"
            config = requests.get(base + "/api/config", headers=BROWSER, timeout=5).json()
            assert config["completion_version"] == "2" and config["enable_captcha"] is True
            assert requests.get(base + "/api/models", timeout=5).status_code == 405
        finally:
            proc.terminate()
