"""Raw-HTTP conformance of the deployed server: auth, CORS, request ids, routes, content types."""
import json

import pytest
import requests

from tests.conftest import KEY

AUTH = {"Authorization": f"Bearer {KEY}"}
BODY = {"model": "GLM-4.5", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("headers, code", [
    ({}, None),
    ({"Authorization": "Bearer sk-nope"}, "invalid_api_key"),
    ({"Authorization": f"Basic {KEY}"}, None),
])
def test_missing_or_wrong_key_is_401(server, headers, code):
    response = requests.post(f"{server}/v1/chat/completions", json=BODY, headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code
    assert set(error) == {"message", "type", "param", "code"}


def test_bearer_scheme_is_case_insensitive_and_x_api_key_works(server):
    for headers in ({"Authorization": f"bearer {KEY}"}, {"x-api-key": KEY}):
        assert requests.get(f"{server}/v1/models", headers=headers, timeout=5).status_code == 200


def test_preflight_needs_no_key_and_allows_sdk_headers(server):
    asked = "authorization, content-type, x-stainless-os, x-stainless-retry-count, openai-organization"
    response = requests.options(f"{server}/v1/chat/completions", timeout=5, headers={
        "Origin": "http://app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": asked})
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == asked


def test_request_id_on_success_error_and_stream(server):
    ok = requests.get(f"{server}/v1/models", headers=AUTH, timeout=5)
    error = requests.get(f"{server}/v1/models", timeout=5)
    stream = requests.post(f"{server}/v1/chat/completions", json={**BODY, "stream": True},
                           headers=AUTH, timeout=10)
    ids = [r.headers["x-request-id"] for r in (ok, error, stream)]
    assert all(i.startswith("req_") for i in ids) and len(set(ids)) == 3
    assert "x-request-id" in ok.headers["Access-Control-Expose-Headers"]


def test_unknown_route_and_wrong_method(server):
    missing = requests.post(f"{server}/v1/foo", headers=AUTH, timeout=5)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Invalid URL (POST /v1/foo)"
    wrong = requests.delete(f"{server}/v1/chat/completions", headers=AUTH, timeout=5)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["message"] == "Method not allowed (DELETE /v1/chat/completions)"


def test_streaming_with_accept_json_still_streams(server):
    response = requests.post(f"{server}/v1/chat/completions", json={**BODY, "stream": True},
                             headers={**AUTH, "Accept": "application/json"}, timeout=10)
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert "Content-Length" not in response.headers
    assert response.text.endswith("data: [DONE]\n\n")


def test_json_content_type_exact(server):
    response = requests.post(f"{server}/v1/chat/completions", json={**BODY, "stream": False},
                             headers=AUTH, timeout=10)
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.content)["object"] == "chat.completion"


def test_upstream_failure_before_first_token_is_json_not_sse(server):
    body = {**BODY, "stream": True,
            "messages": [{"role": "user", "content": '[[fake {"fault": "waf405"}]]'}]}
    response = requests.post(f"{server}/v1/chat/completions", json=body, headers=AUTH, timeout=10)
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "upstream_blocked"


def test_many_concurrent_streams_do_not_cross_talk(server):
    from concurrent.futures import ThreadPoolExecutor

    def run(i):
        body = {**BODY, "stream": True, "messages": [{"role": "user", "content": f"stream number {i}"}]}
        text = requests.post(f"{server}/v1/chat/completions", json=body, headers=AUTH, timeout=20).text
        chunks = [json.loads(e[6:]) for e in text.split("\n\n") if e.startswith("data: {")]
        return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)

    with ThreadPoolExecutor(20) as pool:
        texts = list(pool.map(run, range(20)))
    assert texts == [f"Echo: stream number {i}" for i in range(20)]


def test_client_disconnect_closes_the_upstream_stream(server, fake):
    import socket
    import time
    answer = " ".join(f"w{i}" for i in range(200))
    script = json.dumps({"answer": answer, "chunk": 4, "delay_ms": 50})
    body = json.dumps({**BODY, "stream": True, "enable_thinking": False,
                       "messages": [{"role": "user", "content": f"[[fake {script}]]"}]}).encode()
    host, port = server.rsplit("/", 1)[1].split(":")
    closed_before = fake.closed_early
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     + f"Authorization: Bearer {KEY}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        assert b"200 OK" in sock.recv(4096)
        time.sleep(0.3)
    deadline = time.monotonic() + 3
    while fake.open_streams and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.open_streams == 0
    assert fake.closed_early == closed_before + 1


def test_chunked_body_over_the_limit_is_413(fake):
    from tests.conftest import start_gunicorn
    from tests.conftest import stop_gunicorn
    process, base = start_gunicorn({"UPSTREAM_URL": f"{fake.url}/api/chat/completions",
                                    "DEFAULT_KEY": KEY, "MAX_REQUEST_BYTES": "1000"})
    try:
        big = json.dumps({**BODY, "messages": [{"role": "user", "content": "x" * 5000}]}).encode()
        chunked = requests.post(f"{base}/v1/chat/completions", data=iter([big[:2000], big[2000:]]),
                                headers={**AUTH, "Content-Type": "application/json"}, timeout=10)
        sized = requests.post(f"{base}/v1/chat/completions", data=big,
                              headers={**AUTH, "Content-Type": "application/json"}, timeout=10)
        small = requests.post(f"{base}/v1/chat/completions", data=iter([json.dumps({**BODY, "stream": False}).encode()]),
                              headers={**AUTH, "Content-Type": "application/json"}, timeout=10)
    finally:
        stop_gunicorn(process)
    assert chunked.request.headers["Transfer-Encoding"] == "chunked"
    assert (chunked.status_code, sized.status_code, small.status_code) == (413, 413, 200)
    assert chunked.json()["error"]["code"] == "request_too_large"
