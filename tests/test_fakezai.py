"""Self-tests for the fake chat.z.ai upstream in tests/fakezai."""

import base64
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.fakezai import FakeZai, make_user_token, sign, start_in_thread
from tests.fakezai.stream import Reply, events, search_block

ROOT = Path(__file__).resolve().parents[1]
CAPTURE = Path(__file__).resolve().parent / "fixtures" / "zai-glm46-thinking.sse"
VERSION = "prod-fe-1.0.98"
IMAGE_ERROR = {"type": "chat:completion", "data": {"error": {
    "detail": "Something went wrong. Please try again later.", "code": 400}, "done": True}}


@pytest.fixture()
def fake():
    """A running fake with one seeded real-user token."""
    server = start_in_thread(user_tokens=[make_user_token("user-1")])
    yield server
    server.stop()


def guest(fake) -> tuple[str, str]:
    """Mint a guest; return (token, user id)."""
    data = requests.get(fake.url + "/api/v1/auths/", timeout=5).json()
    return data["token"], data["id"]


def chat(fake, text="Hello, 世界", *, thinking=False, token=None, query=None, headers=None, body=None,
         prompt=None, ts=None, stream=False, via_proxy=False):
    """POST a correctly signed chat request (pieces overridable) and return the response."""
    if token is None:
        token, user_id = guest(fake)
    else:
        user_id = requests.get(fake.url + "/api/v1/auths/", headers={"Authorization": f"Bearer {token}"},
                               timeout=5).json()["id"]
    ts = ts or int(time.time() * 1000)
    rid = str(uuid.uuid4())
    q = {"timestamp": str(ts), "requestId": rid, "user_id": user_id, "token": token, "signature_timestamp": str(ts)}
    b = {"stream": True, "model": "GLM-4-6-API-V1", "messages": [{"role": "user", "content": text}],
         "signature_prompt": text if prompt is None else prompt, "features": {"enable_thinking": thinking},
         "chat_id": "c1", "id": "m1"}
    h = {"Authorization": f"Bearer {token}", "X-FE-Version": VERSION,
         "X-Signature": sign(text if prompt is None else prompt, rid, ts, user_id)}
    base, proxies = ("http://zai.invalid", {"http": fake.url}) if via_proxy else (fake.url, None)
    return requests.post(base + "/api/chat/completions", params={**q, **(query or {})}, proxies=proxies,
                         headers={**h, **(headers or {})}, json={**b, **(body or {})}, timeout=10, stream=stream)


def sse_events(resp) -> list[dict]:
    """Parse every JSON `data:` line of an SSE response."""
    return [json.loads(line[6:]) for line in resp.iter_lines(decode_unicode=True) if line.startswith("data: {")
            and line != "data: {oops"]


def replay(datas) -> str:
    """Apply delta_content (append) and edit_index/edit_content (replace from offset) to a document."""
    doc = ""
    for d in datas:
        if "edit_index" in d:
            doc = doc[:d["edit_index"]] + d["edit_content"]
        elif "delta_content" in d:
            doc += d["delta_content"]
    return doc


def test_signature_vectors():
    args = ("Hello, 世界", "11111111-2222-3333-4444-555555555555", 1760000000000,
            "316bcb48-ff2f-4a15-853d-f2a29b67ff0f")
    assert sign(*args) == "03199b8ca007f27213062e9fe436153a8165b01d725cc7c63d16e5c4992ba813"
    assert sign(*args, mode="hmac-raw") == "dda7b4ff15f5b970a213db2b74645306f0f49908352e283c9716963267914b03"
    assert sign(*args, secret="junjie") == "6dfb3f662e27b042a2fd13b1d0a46a849e98f82c97558246d8a8202a8cea266f"
    assert sign(*args, secret="junjie", mode="hmac-raw") == \
        "e3aec9551206fb663e65ca85c07927f639f0e95a32cd521c6945fd5ed5932888"


def test_replay_matches_real_capture_conventions():
    if CAPTURE.exists():
        datas = [json.loads(l[6:])["data"] for l in CAPTURE.read_text("utf-8").splitlines() if l.startswith("data: ")]
        doc = replay(datas)
        assert len(doc) == datas[-1]["edit_index"] == 6308
        assert doc.endswith("</details>\nHey there! I'm doing great, thanks for asking. As an AI, I'm always "
                            "ready and eager to help.\n\nWhat can I do for you today?")
    reasoning, answer = "Plan:\n\n 世界 👋🏽 split\nend", "Hi 世界! 🎉 ok"
    for seed in range(20):
        datas = [d for _, d in events(Reply(answer, reasoning, "GLM-4-6-API-V1", {}, seed=seed))]
        doc = replay(datas)
        assert doc.endswith('seconds</summary>\n> Plan:\n> \n>  世界 👋🏽 split\n> end\n</details>\n' + answer)
        assert datas[-1]["edit_index"] == len(doc) and datas[-1]["edit_content"] == ""
        edit = next(d for d in datas if "edit_index" in d)
        assert edit["edit_index"] == 32 and edit["phase"] == "answer"


def test_guest_mint_profile_and_index(fake):
    data = requests.get(fake.url + "/api/v1/auths/", timeout=5).json()
    assert data["email"] == data["name"] + "@guest.com" and data["role"] == "guest" and data["idp"] == "z.ai"
    head, payload, sig = data["token"].split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    assert json.loads(base64.urlsafe_b64decode(pad(head))) == {"alg": "ES256", "typ": "JWT"}
    assert json.loads(base64.urlsafe_b64decode(pad(payload))) == {"id": data["id"], "email": data["email"]}
    assert "=" not in sig and fake.issued_tokens == [data["token"]]
    me = requests.get(fake.url + "/api/v1/auths/", headers={"Authorization": "Bearer " + data["token"]}, timeout=5)
    assert me.json() == data
    bad = requests.get(fake.url + "/api/v1/auths/", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert bad.status_code == 401 and "expired" in bad.json()["detail"]
    assert "prod-fe-1.0.98" in requests.get(fake.url + "/", timeout=5).text
    models = {m["id"]: m for m in requests.get(fake.url + "/api/models", timeout=5).json()["data"]}
    assert {"0727-360B-API", "0727-106B-API", "glm-4.5v", "GLM-4-6-API-V1"} <= set(models)
    assert models["glm-4.5v"]["info"]["meta"]["capabilities"]["vision"] is True
    assert [m for m in models.values() if not m["info"]["is_active"]]
    assert requests.get(fake.url + "/nope", timeout=5).json() == {"detail": "Not Found"}


def test_upload_user_ok_guest_rejected(fake):
    files = {"file": ("a.png", b"\x89PNG\r\n\x1a\n\x00\xff\r\n", "image/png")}
    user_token = make_user_token("user-1")  # unknown: a fresh random signature part
    assert requests.post(fake.url + "/api/v1/files/", files=files, timeout=5,
                         headers={"Authorization": "Bearer " + user_token}).status_code == 401
    seeded = next(t for t in fake._users if fake._users[t]["role"] == "user")
    resp = requests.post(fake.url + "/api/v1/files/", files=files, headers={"Authorization": "Bearer " + seeded},
                         timeout=5).json()
    assert resp["filename"] == "a.png" and resp["user_id"] == "user-1" and resp["hash"] is None
    assert resp["meta"] == {"name": "a.png", "content_type": "image/png", "size": 12}
    gtoken, _ = guest(fake)
    denied = requests.post(fake.url + "/api/v1/files/", files=files, headers={"Authorization": "Bearer " + gtoken},
                           timeout=5)
    assert denied.status_code == 403 and "detail" in denied.json()
    for name in ("a.txt", "png", "a.png.exe"):
        bad = requests.post(fake.url + "/api/v1/files/", files={"file": (name, b"x", "image/png")}, timeout=5,
                            headers={"Authorization": "Bearer " + seeded})
        assert bad.status_code == 400 and bad.json() == {"detail": "Unsupported file type"}
    jpeg = upload(fake, seeded, "Photo.JPEG", b"\xff\xd8\xff", "image/jpeg")
    assert jpeg["meta"] == {"name": "Photo.JPEG", "content_type": "image/jpeg", "size": 3}
    assert fake.file_bytes[jpeg["id"]] == b"\xff\xd8\xff" and fake.files[jpeg["id"]] == jpeg


def upload(fake, token, name, data, content_type) -> dict:
    """Upload one file with token and return the JSON record."""
    resp = requests.post(fake.url + "/api/v1/files/", files={"file": (name, data, content_type)}, timeout=5,
                         headers={"Authorization": "Bearer " + token})
    assert resp.status_code == 200, resp.text
    return resp.json()


def vision(fake, token, *parts, model="glm-4.5v", history=()):
    """Chat with a list-content user message (str parts are text, dict parts are image refs)."""
    content = [{"type": "text", "text": p} if isinstance(p, str) else {"type": "image_url", "image_url": p}
               for p in parts]
    text = "\n".join(p for p in parts if isinstance(p, str))
    return chat(fake, text, token=token, body={"model": model, "messages": [*history, {"role": "user",
                                                                                       "content": content}]})


def test_vision_resolves_uploaded_images_of_the_same_token(fake):
    user = next(t for t in fake._users if fake._users[t]["role"] == "user")
    other = make_user_token("user-2")
    fake.add_user_token(other)
    png = upload(fake, user, "a.png", b"\x89PNG\r\n\x1a\n\x00\xff\r\n", "image/png")
    gif = upload(fake, user, "b_c.gif", b"GIF89a", "image/gif")
    ref = lambda f: {"url": f"{f['id']}_{f['filename']}"}  # noqa: E731
    resp = vision(fake, user, "What is", ref(png), "this?", ref(gif))
    assert replay(e["data"] for e in sse_events(resp)) == \
        "Echo: What is\nthis? [image image/png 12 bytes] [image image/gif 6 bytes]"
    resp = chat(fake, "Q", token=user, body={"model": "glm-4.5v", "mcp_servers": ["deep-web-search"], "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Q"}, {"type": "image_url", "image_url": ref(gif)}]}]})
    assert split_search_doc(replay(e["data"] for e in sse_events(resp)), False)[1] == \
        "Echo: Q [image image/gif 6 bytes] [searched: Q]"
    earlier = {"role": "user", "content": [{"type": "image_url", "image_url": ref(gif)}]}
    resp = vision(fake, user, ref(png), history=[earlier, {"role": "assistant", "content": "ok"}])
    assert replay(e["data"] for e in sse_events(resp)) == "Echo: [image image/png 12 bytes]"
    foreign = upload(fake, other, "c.webp", b"RIFF", "image/webp")
    for bad in ({"url": "data:image/png;base64,iVBORw0KGgo="}, {"url": "https://img.test/cat.png"},
                {"url": f"{uuid.uuid4()}_a.png"}, {"url": png["id"] + "_other.png"}, ref(foreign), {}):
        resp = vision(fake, user, "hi", bad)
        assert resp.status_code == 200 and sse_events(resp) == [IMAGE_ERROR] and resp.text.count("data: ") == 1
    broken = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://img.test/x.png"}}]}
    assert sse_events(vision(fake, user, "hi", history=[broken])) == [IMAGE_ERROR]  # any message's image counts
    assert sse_events(vision(fake, other, "hi", ref(png))) == [IMAGE_ERROR]
    resp = vision(fake, user, "hi", ref(png), model="GLM-4-6-API-V1")
    assert resp.status_code == 400 and resp.json() == {"detail": "This model does not support image input"}
    assert chat(fake, body={"model": "0727-360B-API", "messages": [earlier, {"role": "user", "content": "x"}]},
                prompt="x").json() == {"detail": "This model does not support image input"}


def test_thinking_stream_replays_into_document(fake):
    resp = chat(fake, "Hello, 世界", thinking=True)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert resp.headers["x-chat-id"] == "c1" and resp.headers["x-trace-id"]
    assert '"phase": "thinking"' in resp.text and "世界" in resp.text and "[DONE]" not in resp.text
    datas = [e["data"] for e in sse_events(resp)]
    assert datas[0]["delta_content"].startswith('<details type="reasoning" done="false" view="" '
                                                'last_tool_call_name="">\n<summary>Thinking…</summary>\n> ')
    doc = replay(datas)
    assert doc.endswith("> The user wrote: Hello, 世界\n> I will echo it.\n</details>\nEcho: Hello, 世界")
    assert [d["phase"] for d in datas[-4:]] == ["other", "answer", "done", "other"]
    assert datas[-1]["edit_index"] == len(doc) and datas[-3]["model"] == "GLM-4-6-API-V1"
    answer, reasoning = "Echo: Hello, 世界", "The user wrote: Hello, 世界\nI will echo it."
    assert datas[-1]["usage"] == {"prompt_tokens": 2, "completion_tokens": 12, "total_tokens": 14,
                                  "prompt_tokens_details": {"cached_tokens": 0}, "words": len(answer + reasoning)}
    req = fake.requests[-1]
    assert req["path"] == "/api/chat/completions" and req["headers"]["x-fe-version"] == VERSION
    assert req["body"]["chat_id"] == "c1" and req["query"]["requestId"]


def test_directive_without_thinking(fake):
    text = 'Say [[fake {"answer": "abcdefg", "chunk": 3}]]'
    datas = [e["data"] for e in sse_events(chat(fake, text))]
    assert [d.get("delta_content") for d in datas[:3]] == ["abc", "def", "g"]
    assert all(d["phase"] != "thinking" for d in datas) and replay(datas) == "abcdefg"
    fake.script_next(chunk=100)
    datas = [e["data"] for e in sse_events(chat(fake, 'Say again [[fake {"seed": 5}]]'))]
    assert datas[0] == {"delta_content": "Echo: Say again", "phase": "answer"} and len(datas) == 5


def test_signature_and_prompt_checks(fake):
    bad = {"detail": "403: Signature validation failed: 签名验证失败"}
    assert chat(fake, headers={"X-Signature": "0" * 64}).json() == bad
    assert chat(fake, prompt="something else").json() == bad
    assert chat(fake, headers={"X-Signature": None}).json() == bad
    now = int(time.time() * 1000)
    assert chat(fake, ts=now - 300_000).status_code == 200
    assert chat(fake, ts=now - 600_000).json() == bad
    parts = [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "x"}},
             {"type": "text", "text": "b"}]
    resp = chat(fake, "list", body={"model": "glm-4.5v", "messages": [{"role": "user", "content": parts}]},
                prompt="a\nb")
    assert resp.status_code == 200 and sse_events(resp) == [IMAGE_ERROR]  # signed fine; the image is unknown
    resp = chat(fake, "list", body={"messages": [{"role": "user", "content": parts[::2]}]}, prompt="a\nb")
    assert replay(e["data"] for e in sse_events(resp)) == "Echo: a\nb"


def test_auth_query_model_errors(fake):
    assert chat(fake, headers={"Authorization": "Bearer forged"}).status_code == 401
    for query in ({"user_id": "other"}, {"signature_timestamp": "1"}, {"token": "x"}, {"requestId": ""}):
        resp = chat(fake, query=query)
        assert resp.status_code == 400 and resp.json()["detail"]
    assert chat(fake, body={"model": "GLM-4.6"}).json() == {"detail": "Model not found"}
    assert chat(fake, body={"chat_id": None}).status_code == 400


@pytest.mark.parametrize("headers", [{"X-FE-Version": None}, {"X-FE-Version": "prod-fe-1.0.79"}])
def test_outdated_version_gets_inband_426(fake, headers):
    resp = chat(fake, headers=headers)
    assert resp.status_code == 200
    error = {"detail": "Your client version (unknown) is outdated. Minimum required: 1.0.0. Please refresh the page",
             "code": 426}
    assert sse_events(resp) == [{"type": "chat:completion",
                                 "data": {"data": {"error": error, "done": True}, "error": error, "done": True}}]


@pytest.mark.parametrize("fault, status", [("http500", 500), ("http429", 429), ("waf405", 405),
                                           ("version426_http", 426), ("signature", 400)])
def test_http_faults(fake, fault, status):
    fake.script_next(fault=fault)
    resp = chat(fake)
    assert resp.status_code == status
    assert ("<title>405</title>" in resp.text) if fault == "waf405" else resp.json()["detail"]


def test_stream_faults(fake):
    text = 'hi [[fake {"answer": "one two three four", "chunk": 4, "fault": "error_mid"}]]'
    events_ = sse_events(chat(fake, text))
    assert len(events_) == 3 and events_[-1]["data"]["error"]["code"] == 500
    fake.script_next(fault="error_start")
    assert [e["data"] for e in sse_events(chat(fake))] == [
        {"error": {"detail": "Something went wrong, please try again later", "code": 500}}]
    fake.script_next(fault="toplevel_error", after=0)
    assert sse_events(chat(fake)) == [{"error": {"detail": "Something went wrong, please try again later",
                                                 "code": 500}}]
    fake.script_next(fault="cut", chunk=2)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        chat(fake)
    fake.script_next(fault="malformed", after=1)
    resp = chat(fake, thinking=True)
    for junk in ("data: {oops\n\n", "data: \n\n", ": ping\n\n", '"phase": "mystery"'):
        assert junk in resp.text
    datas = [e["data"] for e in sse_events(resp)]
    assert replay(datas).endswith("</details>\nEcho: Hello, 世界") and datas[-1]["edit_index"] == len(replay(datas))
    fake.script_next(fault="stall", stall_s=0.3, chunk=100)
    started = time.monotonic()
    assert replay(e["data"] for e in sse_events(chat(fake))) == "Echo: Hello, 世界"
    assert time.monotonic() - started >= 0.3


def test_control_endpoints_and_closed_early(fake):
    assert requests.post(fake.url + "/__fake/script", json={"fault": "nope"}, timeout=5).status_code == 400
    assert requests.post(fake.url + "/__fake/script", json={"answer": "scripted"}, timeout=5).json() == {"queued": 1}
    assert replay(e["data"] for e in sse_events(chat(fake))) == "scripted"
    fake.script_next(answer="x" * 200, chunk=1, delay_ms=20)
    resp = chat(fake, stream=True)
    lines = resp.iter_lines()  # keep the generator: discarding it makes urllib3 close the connection
    next(lines)
    assert requests.get(fake.url + "/__fake/stats", timeout=5).json()["open_streams"] == 1
    resp.close()
    deadline = time.monotonic() + 5
    while fake.closed_early == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake.closed_early == 1 and fake.open_streams == 0
    logged = requests.get(fake.url + "/__fake/requests", timeout=5).json()
    assert logged and not any(r["path"].startswith("/__fake") for r in logged)
    assert requests.post(fake.url + "/__fake/reset", timeout=5).json() == {"ok": True}
    assert fake.requests == [] and fake.stats()["closed_early"] == 0
    with pytest.raises(ValueError):
        fake.script_next(chunk=0)


def test_cli_prints_ready_and_serves():
    with subprocess.Popen([sys.executable, "-m", "tests.fakezai", "--port", "0", "--signature-mode", "off"],
                          cwd=ROOT, stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}) as proc:
        try:
            line = proc.stdout.readline()
            assert line.startswith("READY ")
            fake_url = f"http://127.0.0.1:{int(line.split()[1])}"
            assert requests.get(fake_url + "/api/models", timeout=5).status_code == 200
        finally:
            proc.terminate()


def test_signature_mode_off_and_min_version():
    with FakeZai(signature_mode="off", min_fe_version="1.0.99") as server:
        assert sse_events(chat(server, headers={"X-Signature": None}))[0]["data"]["error"]["code"] == 426
        resp = chat(server, headers={"X-Signature": None, "X-FE-Version": "prod-fe-1.0.99"}, prompt="x")
        assert replay(e["data"] for e in sse_events(resp)) == "Echo: Hello, 世界"


def wait_for(condition, timeout=3.0) -> bool:
    """Poll condition() until true or timeout; return its last value."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_http429_retry_after_and_http401(fake):
    fake.script_next(fault="http429", retry_after=7)
    resp = chat(fake)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "7" and "concurrency" in resp.json()["detail"]
    resp = chat(fake, 'x [[fake {"fault": "http429", "retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"}]]')
    assert resp.headers["Retry-After"] == "Wed, 21 Oct 2015 07:28:00 GMT"
    fake.script_next(fault="http429")
    assert "Retry-After" not in chat(fake).headers
    for bad in ([1], -1, "a\nb", True):
        with pytest.raises(ValueError):
            fake.script_next(retry_after=bad)
    user = next(t for t in fake._users if fake._users[t]["role"] == "user")
    fake.script_next(fault="http401")
    resp = chat(fake, token=user)
    assert resp.status_code == 401
    assert resp.json() == {"detail": "Your session has expired or the token is invalid. Please sign in again."}
    assert chat(fake, token=user).status_code == 200


def test_busy_event(fake):
    fake.script_next(fault="busy_event")
    resp = chat(fake, thinking=True)
    assert resp.status_code == 200 and resp.text.count("data: ") == 1
    assert sse_events(resp) == [{"type": "chat:completion", "data": {"error": {
        "detail": "Too many concurrent requests, concurrency limit exceeded", "code": 429}, "done": True}}]


def test_concurrency_limit_per_token(fake):
    assert fake.max_streams_per_token is None
    fake.max_streams_per_token = 1
    user = next(t for t in fake._users if fake._users[t]["role"] == "user")
    fake.script_next(answer="x" * 500, chunk=1, delay_ms=10)
    first = chat(fake, token=user, stream=True)
    lines = first.iter_lines()
    next(lines)
    assert fake.open_streams_by_token() == {user: 1}
    busy = chat(fake, token=user)
    assert busy.status_code == 429 and busy.json() == {"detail": "Too many requests, concurrency limit exceeded"}
    assert chat(fake).status_code == 200  # another token is not limited
    first.close()  # client disconnect frees the slot (noticed within the inter-chunk sleep)
    assert wait_for(lambda: not fake.open_streams_by_token())
    for fault in ("cut", "error_mid", "busy_event", "signature"):
        fake.script_next(fault=fault, after=0)
        try:
            chat(fake, token=user).content
        except requests.exceptions.ChunkedEncodingError:
            assert fault == "cut"
        assert chat(fake, token=user).status_code == 200, fault
    fake.script_next(fault="stall", stall_s=30)
    stalled = chat(fake, token=user, stream=True)
    lines = stalled.iter_lines()
    next(lines)
    stalled.close()
    assert wait_for(lambda: not fake.open_streams_by_token(), 1) and wait_for(lambda: fake.closed_early == 2, 1)
    assert fake.chat_requests_by_token()[user] == 11
    with pytest.raises(ValueError):
        fake.max_streams_per_token = -1
    fake.reset()
    assert fake.max_streams_per_token is None and fake.chat_requests_by_token() == {}


@pytest.mark.parametrize("fault", ["http500", "waf405", "no_token", "bad_json"])
def test_auths_faults(fake, fault):
    fake.auths_fault = fault
    resp = requests.get(fake.url + "/api/v1/auths/", timeout=5)
    if fault == "http500":
        assert resp.status_code == 500 and resp.json()["detail"]
    elif fault == "waf405":
        assert resp.status_code == 405 and "<title>405</title>" in resp.text and "aliyun" in resp.text
    elif fault == "no_token":
        assert resp.status_code == 200 and resp.json()["role"] == "guest" and "token" not in resp.json()
    else:
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
        with pytest.raises(ValueError):
            resp.json()
    assert fake.issued_tokens == []
    user = next(t for t in fake._users if fake._users[t]["role"] == "user")
    me = requests.get(fake.url + "/api/v1/auths/", headers={"Authorization": f"Bearer {user}"}, timeout=5)
    assert me.json()["token"] == user
    fake.reset()
    assert fake.auths_fault is None and requests.get(fake.url + "/api/v1/auths/", timeout=5).json()["token"]
    with pytest.raises(ValueError):
        fake.auths_fault = "nope"


def test_runtime_fe_versions(fake):
    import re
    assert fake.min_fe_version == "1.0.94"
    fake.fe_version, fake.min_fe_version = "1.0.120", "prod-fe-1.0.120"
    assert fake.min_fe_version == "1.0.120"
    page = requests.get(fake.url + "/", timeout=5).text
    found = re.findall(r"prod-fe-(\d+\.\d+\.\d+)", page)
    assert "1.0.50" in found and "1.0.120" in found and found[0] != "1.0.120"
    assert sse_events(chat(fake))[0]["data"]["error"]["code"] == 426
    assert replay(e["data"] for e in sse_events(chat(fake, headers={"X-FE-Version": "prod-fe-1.0.120"}))) \
        == "Echo: Hello, 世界"
    with pytest.raises(ValueError):
        fake.min_fe_version = "new"
    fake.reset()
    assert (fake.fe_version, fake.min_fe_version) == ("1.0.98", "1.0.94")


def test_chat_requests_by_token_and_stats(fake):
    token, _ = guest(fake)
    chat(fake, token=token)
    fake.script_next(fault="http500")
    chat(fake, token=token)
    chat(fake, token=token, headers={"X-Signature": "0" * 64})
    chat(fake, headers={"Authorization": "Bearer forged-token-0123456789"})
    counts = fake.chat_requests_by_token()
    assert counts[token] == 3 and counts["forged-token-0123456789"] == 1
    stats = requests.get(fake.url + "/__fake/stats", timeout=5).json()
    assert stats["chat_requests_by_token"][token[-8:]] == 3 and stats["chat_requests_by_token"]["23456789"] == 1
    fake.reset()
    assert fake.chat_requests_by_token() == {} and fake.stats()["chat_requests_by_token"] == {}


def test_forward_proxy_mode(fake):
    proxies = {"http": fake.url}
    data = requests.get("http://zai.invalid/api/v1/auths/", proxies=proxies, timeout=5).json()
    assert data["token"] == fake.issued_tokens[-1]
    resp = chat(fake, token=data["token"], via_proxy=True, query={"extra": "1"})
    assert replay(e["data"] for e in sse_events(resp)) == "Echo: Hello, 世界"
    log = fake.requests
    assert [(r["method"], r["path"], r["proxied"]) for r in log] == [
        ("GET", "/api/v1/auths/", True), ("GET", "/api/v1/auths/", False), ("POST", "/api/chat/completions", True)]
    assert log[-1]["query"]["extra"] == "1" and log[-1]["headers"]["host"] == "zai.invalid"
    assert fake.chat_requests_by_token() == {data["token"]: 1}
    assert requests.get("http://zai.invalid/api/models", proxies=proxies, timeout=5).status_code == 200
    assert requests.get("http://zai.invalid/nope", proxies=proxies, timeout=5).status_code == 404


def split_search_doc(doc: str, thinking: bool) -> tuple[dict, str]:
    """Split a replayed search document into (the block's parsed JSON, the answer after the block)."""
    if thinking:
        assert "\n</details>\n" in doc
        doc = doc.split("\n</details>\n", 1)[1]
    head = '<glm_block view="" tool_call_name="search">'
    assert doc.startswith(head) and "</glm_block>" in doc
    body, answer = doc[len(head):].split("</glm_block>", 1)
    return json.loads(body), answer


def test_search_block_stream_replays(fake):
    for seed, thinking, query in ((0, True, "Hello, 世界"), (1, False, 'say "hi" \\ 👋🏽'), (2, True, "x")):
        reply = Reply("Done 世界", "think" if thinking else None, "GLM-4-6-API-V1", {}, seed=seed, chunk=4,
                      search_query=query)
        kinds_datas = list(events(reply))
        datas = [d for _, d in kinds_datas]
        doc = replay(datas)
        block, answer = split_search_doc(doc, thinking)
        assert answer == "Done 世界" and datas[-1]["edit_index"] == len(doc)
        meta = block["data"]["metadata"]
        assert json.loads(meta["arguments"]) == {"query": query} and meta["name"] == "search"
        assert json.loads(meta["result"]) == [
            {"title": f"Result {i} for {query}", "url": f"https://example.com/{i}",
             "text": f"Snippet {i} about {query}."} for i in (1, 2)]
        assert len(meta["id"]) == 15 and meta["id"].startswith("call_") and meta["id"][5:].isalnum()
        assert block["data"]["browser"] is None and meta["is_error"] is False and meta["status"] == "completed"
        assert doc.endswith(search_block(query, json.loads(meta["result"]), meta["id"]) + "Done 世界")
        tool = [d for k, d in kinds_datas if k == "tool"]
        assert [d["phase"] for d in tool] == ["tool_call"] * (len(tool) - 1) + ["other"] and 5 <= len(tool) <= 6
        assert tool[0]["edit_content"].endswith('"arguments": "') and tool[0]["edit_index"] == len(doc) - len(
            answer) - len(search_block(query, json.loads(meta["result"]), meta["id"]))
        args = "".join(d["edit_content"] for d in tool[1:-2])
        assert json.loads('"' + args + '"') == meta["arguments"] and '"result": ""' in tool[-2]["edit_content"]
        assert tool[-2]["edit_content"].endswith("}}</glm_block>") and tool[-1]["edit_content"].startswith('"[{')
        if thinking:
            switch = next(d for d in datas if d.get("edit_index") == 32)
            assert switch["edit_content"].endswith("\n</details>\n")


def test_search_over_http_features_and_scripts(fake):
    resp = chat(fake, "news", thinking=True, body={"features": {"enable_thinking": True, "web_search": True}})
    datas = [e["data"] for e in sse_events(resp)]
    block, answer = split_search_doc(replay(datas), True)
    assert answer == "Echo: news [searched: news]" and json.loads(block["data"]["metadata"]["arguments"]) == {
        "query": "news"}
    assert fake.requests[-1]["body"]["features"]["web_search"] is True
    text = 'q [[fake {"sources": [{"title": "T", "url": "https://t.test/"}]}]]'
    datas = [e["data"] for e in sse_events(chat(fake, text, body={"mcp_servers": ["deep-web-search"]}))]
    block, answer = split_search_doc(replay(datas), False)
    assert json.loads(block["data"]["metadata"]["result"]) == [{"title": "T", "url": "https://t.test/"}]
    assert answer == "Echo: q [searched: q]" and fake.requests[-1]["body"]["mcp_servers"] == ["deep-web-search"]
    fake.script_next(search=True, sources=[], answer="A")
    block, answer = split_search_doc(replay(e["data"] for e in sse_events(chat(fake, "z"))), False)
    assert block["data"]["metadata"]["result"] == "[]" and answer == "A"
    fake.script_next(search=False)
    assert replay(e["data"] for e in sse_events(chat(fake, "n", body={"features": {"web_search": True}}))) == "Echo: n"
    for bad in ({"search": 1}, {"sources": [{"title": "T"}]}, {"sources": "x"}, {"sources": [{"title": 1, "url": ""}]}):
        with pytest.raises(ValueError):
            fake.script_next(**bad)


def test_faults_and_keys_added_for_2026_also_work_in_2025(fake):
    fake.script_next(fault="http426")
    resp = chat(fake)
    assert resp.status_code == 426 and resp.json() == {"detail": "New version detected, please refresh the page"}
    fake.script_next(fault="config_404")
    resp = chat(fake)
    assert resp.status_code == 404 and resp.json() == {"detail": "Not Found"}
    captcha = {"captcha_error_type": "missing_param", "code": "FRONTEND_CAPTCHA_REQUIRED",
               "detail": "Please refresh the page to update the app, then try again.",
               "error_code": "FRONTEND_CAPTCHA_REQUIRED"}
    tier = {"detail": "Model not available for current user level", "code": 403}
    internal = {"code": "INTERNAL_ERROR", "error_code": "INTERNAL_ERROR", "detail": "Internal Server Error"}
    for fault, error in (("captcha", captcha), ("tier", tier), ("internal_error", internal)):
        fake.script_next(fault=fault)
        resp = chat(fake)
        assert resp.status_code == 200 and sse_events(resp) == [
            {"type": "chat:completion", "data": {"data": {"error": error, "done": True}, "error": error, "done": True}}]
    fake.script_next(think_style="details", hops=3)  # 2026-only keys: accepted, no effect in 2025
    assert replay(e["data"] for e in sse_events(chat(fake))) == "Echo: Hello, 世界"
    assert fake.stats()["dialect"] == "2025" and fake.stats()["captcha_refusals"] == 0
    assert requests.get(fake.url + "/api/config", timeout=5).json() == {"detail": "Not Found"}
