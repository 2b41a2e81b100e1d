"""Attacks on the real server (gunicorn, gevent workers) that the hardening answers: a worker killed
with streams in flight, a store that is down, slow clients, malformed requests, key guessing,
a kept copy of a signed-out session cookie."""
import json
import os
import select
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import KEY
from tests.conftest import free_port
from tests.conftest import start_gunicorn
from tests.conftest import stop_gunicorn

pytestmark = pytest.mark.dialect("2025")

AUTH = {"Authorization": f"Bearer {KEY}"}
ALICE_KEY = "sk-alice-0123456789"
ALICE = {"Authorization": f"Bearer {ALICE_KEY}"}
READ_TIMEOUT = 2.5   # REQUEST_READ_TIMEOUT of the hardened server


def start(fake, **env):
    return start_gunicorn({"UPSTREAM_URL": f"{fake.url}/api/chat/completions", "DEFAULT_KEY": KEY,
                           "WEB_CONCURRENCY": "2", **env})


@pytest.fixture(scope="module")
def hardened(fake):
    process, base = start(fake, REQUEST_READ_TIMEOUT=str(READ_TIMEOUT), AUTH_FAILURES_PER_MINUTE="5",
                          API_KEYS=f"alice:{ALICE_KEY}")
    yield base
    stop_gunicorn(process)


def port_of(base):
    return int(base.rsplit(":", 1)[1])


def chat_body(stream, content="Hello", **extra):
    return {"model": "GLM-4.5", "stream": stream, "messages": [{"role": "user", "content": content}], **extra}


def slow_answer(seconds):
    script = json.dumps({"answer": " ".join(["word"] * int(seconds * 5)), "chunk": 1, "delay_ms": 200})
    return f"[[fake {script}]]"


def raw_request(port, method, path, headers, body=b""):
    """The bytes of an HTTP/1.1 request, on a new connection; returns the socket."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return sock


def read_head(sock):
    """(status, head bytes, what came after the head) of the response on `sock`."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, rest


def read_all(sock, seconds=10):
    sock.settimeout(seconds)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def envelope(raw):
    """(status, headers, error object) of a whole raw response in the JSON error envelope."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split(" ", 2)[1]), headers, json.loads(body)["error"]


# -- concurrency slots die with their worker --------------------------------------------------

def gunicorn_workers(master):
    workers = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if parent == master:
                workers.append(int(entry))
    return workers


def worker_serving(master, server_port, client_port):
    """The worker pid holding the server side of the connection from `client_port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                local, remote = int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16)
                if local == server_port and remote == client_port:
                    inodes.add(f"socket:[{fields[9]}]")
    for pid in gunicorn_workers(master):
        try:
            if inodes & {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}:
                return pid
        except OSError:
            continue
    raise AssertionError(f"no worker holds the connection from port {client_port}")


def open_stream(port, headers, seconds):
    """A stream lasting about `seconds`, admitted and under way: (socket, status)."""
    body = json.dumps(chat_body(True, slow_answer(seconds))).encode()
    sock = raw_request(port, "POST", "/v1/chat/completions",
                       {**headers, "Content-Type": "application/json"}, body)
    status, _, rest = read_head(sock)
    while status == 200 and b"data:" not in rest:
        rest += sock.recv(65536)
    return sock, status


@pytest.fixture(params=["sqlite", "redis"])
def two_workers_two_slots(request, fake, tmp_path):
    env = {"API_KEYS": f"alice:{ALICE_KEY}:streams=2", "DATA_DIR": str(tmp_path)}
    if request.param == "redis":
        import redis
        url = request.getfixturevalue("redis_url")
        redis.Redis.from_url(url).flushdb()
        env["REDIS_URL"] = url
    process, base = start(fake, **env)
    yield process, base
    stop_gunicorn(process)


def test_a_killed_workers_slots_are_free_within_seconds(two_workers_two_slots):
    process, base = two_workers_two_slots
    port = port_of(base)
    streams = [open_stream(port, ALICE, 60) for _ in range(2)]
    assert [status for _, status in streams] == [200, 200]
    assert open_stream(port, ALICE, 1)[1] == 429
    holders = {worker_serving(process.pid, port, sock.getsockname()[1]) for sock, _ in streams}
    for pid in holders:
        os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    for sock, _ in streams:
        sock.close()
    assert open_stream(port, ALICE, 1)[1] == 429   # the dead worker's slots, still leased
    admitted = None
    while admitted is None and time.monotonic() - killed < 20:
        time.sleep(0.5)
        try:
            response = requests.post(f"{base}/v1/chat/completions", headers=ALICE, json=chat_body(False),
                                     timeout=5)
        except requests.ConnectionError:   # the master is replacing the worker
            continue
        if response.status_code != 429:
            admitted = (response.status_code, time.monotonic() - killed)
    assert admitted is not None, "the killed worker's slots were still taken after 20 s"
    status, after = admitted
    assert status == 200 and after <= 15
    both = [open_stream(port, ALICE, 2) for _ in range(2)]   # the key has both its slots back
    assert [status for _, status in both] == [200, 200]
    for sock, _ in both:
        sock.close()


# -- the limits hold per worker while the store is down ------------------------------------------

def test_with_redis_down_each_worker_still_enforces_the_limits(fake):
    process, base = start(fake, WEB_CONCURRENCY="1", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
                          API_KEYS=f"alice:{ALICE_KEY}:rpm=3,bob:sk-bob-9876543210:streams=1")
    try:
        statuses = [requests.get(f"{base}/v1/models", headers=ALICE, timeout=10).status_code
                    for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        bob = {"Authorization": "Bearer sk-bob-9876543210"}
        stream, status = open_stream(port_of(base), bob, 10)
        assert status == 200
        assert requests.post(f"{base}/v1/chat/completions", headers=bob, json=chat_body(False),
                             timeout=10).status_code == 429
        stream.close()
    finally:
        stop_gunicorn(process)


# -- a total deadline for reading each request -------------------------------------------------

def test_slow_clients_are_closed_at_the_read_deadline(hardened):
    port = port_of(hardened)
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(10)]   # send nothing at all
    trickling = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
    for sock in trickling:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
    started = time.monotonic()
    closed, answers = {}, []
    while len(closed) < 50 and time.monotonic() - started < READ_TIMEOUT + 4:
        readable, _, _ = select.select([s for s in idle + trickling if s not in closed], [], [], 0.2)
        for sock in readable:
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if data:
                answers.append(data)
            closed[sock] = time.monotonic() - started
        for sock in trickling:
            if sock not in closed:
                try:
                    sock.sendall(b"X")   # one byte of a header line at a time
                except OSError:
                    closed[sock] = time.monotonic() - started
        healthz = requests.get(f"{hardened}/healthz", timeout=5)   # the server serves others meanwhile
        assert healthz.status_code == 200
    assert len(closed) == 50, f"{50 - len(closed)} slow connections still open after {READ_TIMEOUT + 4} s"
    assert max(closed.values()) <= READ_TIMEOUT + 1.5
    status, headers, error = envelope(answers[0])
    assert (status, headers["content-type"], error["code"]) == (408, "application/json", "request_timeout")
    for sock in idle + trickling:
        sock.close()


def test_a_trickled_body_is_answered_408_and_closed(hardened):
    sock = raw_request(port_of(hardened), "POST", "/v1/chat/completions",
                       {**AUTH, "Content-Type": "application/json", "Content-Length": "1000"})
    started = time.monotonic()
    sock.setblocking(False)
    response = b""
    while time.monotonic() - started < READ_TIMEOUT + 4:
        if time.monotonic() - started < READ_TIMEOUT - 0.5:   # one byte at a time, then nothing more
            sock.send(b" ")
        time.sleep(0.3)
        try:
            chunk = sock.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            break
        if not chunk:
            break
        response += chunk
    sock.close()
    status, headers, error = envelope(response)
    assert (status, error["code"], error["type"]) == (408, "request_timeout", "invalid_request_error")
    assert headers["connection"] == "close"
    assert time.monotonic() - started <= READ_TIMEOUT + 1.5


def test_a_trickled_chunked_body_is_cut_at_the_deadline(hardened):
    sock = raw_request(port_of(hardened), "POST", "/v1/chat/completions",
                       {**AUTH, "Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    started = time.monotonic()
    while time.monotonic() - started < READ_TIMEOUT - 0.5:
        sock.sendall(b"1\r\n \r\n")   # one byte a chunk
        time.sleep(0.3)
    response = read_all(sock, seconds=READ_TIMEOUT + 4)
    sock.close()
    status, headers, error = envelope(response)
    # 408 from the read deadline; raw_body (ztoapi/requestbody.py) reports failed chunked reads as 400
    assert status in (400, 408) and headers["connection"] == "close"
    assert time.monotonic() - started <= READ_TIMEOUT + 1.5


def test_a_steady_upload_within_the_deadline_works(hardened):
    """2 MB in ten pieces over about 1.2 s, to a route that calls no upstream."""
    body = json.dumps({"model": "GLM-4.5", "messages": [{"role": "user", "content": "x" * 2_000_000}]})
    headers = {"x-api-key": KEY, "Content-Type": "application/json", "Content-Length": str(len(body))}
    sock = raw_request(port_of(hardened), "POST", "/anthropic/v1/messages/count_tokens", headers)
    piece = len(body) // 10 + 1
    for start in range(0, len(body), piece):
        sock.sendall(body[start:start + piece].encode())
        time.sleep(0.12)
    status, _, rest = read_head(sock)
    while b"}" not in rest:
        rest += sock.recv(65536)
    assert status == 200 and b"input_tokens" in rest
    sock.close()


def test_streams_and_kept_alive_connections_outlast_the_deadline(hardened):
    body = chat_body(True, slow_answer(READ_TIMEOUT + 1))
    response = requests.post(f"{hardened}/v1/chat/completions", headers=AUTH, json=body, timeout=30)
    assert response.status_code == 200 and response.text.endswith("data: [DONE]\n\n")
    sock = raw_request(port_of(hardened), "GET", "/healthz", {})
    status, _, _ = read_head(sock)
    time.sleep(READ_TIMEOUT + 1)   # idle between requests: keepalive's business, not the deadline's
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    again, _, _ = read_head(sock)
    assert (status, again) == (200, 200)
    sock.close()


def test_a_body_refused_unread_is_drained_and_the_connection_kept(hardened):
    body = json.dumps(chat_body(False, "x" * 1_000_000)).encode()
    sock = raw_request(port_of(hardened), "POST", "/v1/chat/completions",
                       {"Authorization": f"Bearer {KEY}-wrong", "Content-Type": "application/json"}, body)
    status, head, rest = read_head(sock)
    length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
                 .split(b":")[1])
    while len(rest) < length:
        rest += sock.recv(65536)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    again, _, _ = read_head(sock)
    assert (status, again) == (401, 200)
    sock.close()


# -- gunicorn's own rejections and 405s in the JSON envelope ----------------------------------

@pytest.mark.parametrize("request_bytes, status, code", [
    (b"GET /v1/models HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400, "invalid_request"),
    (b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-\x01: y\r\n\r\n", 400, "invalid_request"),
    (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "request_line_too_long"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(120)) + b"\r\n",
     431, "request_headers_too_large"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n", 431, "request_headers_too_large"),
], ids=["invalid header", "control character", "414", "too many headers", "header too large"])
def test_gunicorns_rejections_are_json(hardened, request_bytes, status, code):
    sock = socket.create_connection(("127.0.0.1", port_of(hardened)), timeout=10)
    sock.sendall(request_bytes)
    answer, headers, error = envelope(read_all(sock))
    sock.close()
    assert (answer, headers["content-type"], error["code"]) == (status, "application/json", code)
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"


def test_405_is_json_with_allow(hardened):
    openai = requests.get(f"{hardened}/v1/chat/completions", headers=AUTH, timeout=5)
    assert openai.status_code == 405 and openai.headers["Allow"] == "OPTIONS, POST"
    assert set(openai.json()["error"]) == {"message", "type", "param", "code"}
    anthropic = requests.delete(f"{hardened}/anthropic/v1/messages", headers=AUTH, timeout=5)
    assert anthropic.status_code == 405 and anthropic.headers["Allow"] == "OPTIONS, POST"
    assert anthropic.json()["type"] == "error"


# -- key guessing is throttled per client address ----------------------------------------------

def test_key_guessing_is_throttled_across_workers(hardened):
    proxied = {"X-Forwarded-For": "198.51.100.7"}   # through a proxy on this machine (trusted)
    with ThreadPoolExecutor(5) as pool:
        guesses = list(pool.map(lambda n: requests.get(
            f"{hardened}/v1/models", headers={**proxied, "Authorization": f"Bearer sk-guess-{n}"},
            timeout=5).status_code, range(5)))
    assert guesses == [401] * 5
    refused = requests.get(f"{hardened}/v1/models", headers={**proxied, **AUTH}, timeout=5)
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"]["code"] == "too_many_auth_failures"
    anthropic = requests.post(f"{hardened}/anthropic/v1/messages", timeout=5,
                              headers={**proxied, "x-api-key": KEY},
                              json={"model": "GLM-4.5", "max_tokens": 5,
                                    "messages": [{"role": "user", "content": "x"}]})
    assert anthropic.status_code == 429 and anthropic.json()["error"]["type"] == "rate_limit_error"
    sign_in = requests.post(f"{hardened}/dashboard/login", data={"key": KEY}, headers=proxied,
                            allow_redirects=False, timeout=5)
    assert sign_in.status_code == 429 and "Too many failed sign-ins" in sign_in.text
    other = requests.get(f"{hardened}/v1/models", headers={"X-Forwarded-For": "198.51.100.8", **AUTH},
                         timeout=5)
    assert other.status_code == 200


# -- signing out of the dashboard ends the session -------------------------------------------------

def test_sign_out_revokes_every_copy_of_the_cookie(hardened):
    session = requests.Session()
    signed_in = session.post(f"{hardened}/dashboard/login", data={"key": KEY}, allow_redirects=False,
                             timeout=5)
    assert signed_in.status_code == 303
    copy = {"ztoapi_dashboard": session.cookies["ztoapi_dashboard"]}
    assert requests.get(f"{hardened}/dashboard/api/summary", cookies=copy, timeout=5).status_code == 200
    session.post(f"{hardened}/dashboard/logout", allow_redirects=False, timeout=5)
    for _ in range(4):   # whichever worker answers
        assert requests.get(f"{hardened}/dashboard/api/summary", cookies=copy, timeout=5).status_code == 401


def test_the_session_cookie_is_secure_behind_tls(hardened):
    behind_tls = requests.post(f"{hardened}/dashboard/login", data={"key": KEY}, allow_redirects=False,
                               headers={"X-Forwarded-Proto": "https"}, timeout=5)
    assert "; Secure" in behind_tls.headers["Set-Cookie"]
    plain = requests.post(f"{hardened}/dashboard/login", data={"key": KEY}, allow_redirects=False, timeout=5)
    assert "Secure" not in plain.headers["Set-Cookie"]
