"""A fast fake chat.z.ai (and Z.ai API) for the benchmark, in its own process (asyncio, hand-written
HTTP/1.1).

    python -m bench.fakeupstream --port 0 [--delay-ms 2] [--framing chunked|close] [--dialect 2025|2026|api]

Prints `listening on http://127.0.0.1:PORT` once ready. It speaks one upstream at a time (its
dialect, set at start or by POST /__bench/settings), and answers the others' chat routes 404:
- always: GET / (home page naming prod-fe-x.y.z), GET /api/v1/auths/ (mints a guest token);
- 2025: GET /api/models, POST /api/chat/completions (the reply: bench/upstream_stream.py);
- 2026: GET /api/config (completion_version "2"), GET /api/models, POST /api/v1/chats/new (a chat
  holding the user message), POST /api/v2/chat/completions (the reply: bench/stream_2026.py);
- api: GET /api/paas/v4/models, POST /api/paas/v4/chat/completions (bench/stream_api.py).

A chat request is checked, without the HMAC (too slow for a fake that must not be the bottleneck).
chat.z.ai, both dialects: Bearer token minted here; X-FE-Version `prod-fe-x.y.z`; X-Signature 64 hex
characters; query `timestamp` (digits) == `signature_timestamp`, `requestId`, `user_id` == the
token's user; a known `model`; `signature_prompt` == the last user text; a boolean
`features.enable_thinking` (true: the reply starts with a reasoning phase). 2025: `messages` a list.
2026 (bench/fake_2026.py): chats/new names a known model and a current user message; the completion
has `X-Region: overseas` and an `X-Device-Id`, no `model_item`, exactly one user message equal to
the chat's, and names a chat the same user created (`chat_id`) and its message
(`current_user_message_id`). API (bench/fake_api.py): the one Bearer key; a known model; messages
ending with a user message; `stream` true; `thinking.type` enabled or disabled.
A failed check is a 400 (401 for a credential) and counts in the stats.

Admin: POST /__bench/settings {"delay_ms": float, "cut_every": int, "dialect": str}, each optional
(pause between events from the next request on, fault injection, the upstream spoken);
GET /__bench/stats (own CPU seconds, utime+stime, and counters); POST /__bench/reset (counters);
POST /__bench/chat-spans (the 2026 chats' creation → completion times since the last call, then
forgotten).
"""
import argparse
import asyncio
import base64
import json
import re
import signal
import sys
import time
import uuid

import orjson

from bench import fake_2026
from bench import fake_api
from bench import runtime
from bench import stream_2026
from bench import stream_api
from bench import upstream_stream
from bench.dialects import API_BASE
from bench.http_server import HttpConnection
from bench.http_server import response_bytes

FE_VERSION = "prod-fe-1.0.106"
MODELS = ("0727-360B-API", "0727-106B-API", "glm-4.5v", "GLM-4-6-API-V1")
SESSION_EXPIRED = "Your session has expired or the token is invalid."
HEX64 = re.compile(r"[0-9a-f]{64}")
FE_PATTERN = re.compile(r"prod-fe-\d+\.\d+\.\d+")
DIALECTS = ("2025", "2026", "api")
WEB_STREAM = "text/event-stream; charset=utf-8"
API_STREAM = "text/event-stream;charset=UTF-8"
HOME = (f'<!doctype html><html><head><title>Z.ai Chat</title>'
        f'<link rel="modulepreload" href="https://z-cdn.chatglm.cn/z-ai/frontend/{FE_VERSION}/_app/entry/start.js">'
        f'</head><body><div id="app"></div></body></html>').encode()


def guest_token(user_id, email):
    """A JWT-shaped token (ES256 header, payload {id, email}, random signature), as chat.z.ai mints."""
    def b64(raw):
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    header = b64(b'{"alg":"ES256","typ":"JWT"}')
    payload = b64(json.dumps({"id": user_id, "email": email}, separators=(",", ":")).encode())
    return f"{header}.{payload}.{b64(uuid.uuid4().bytes * 4)}"


def last_user_text(messages):
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return "\n".join(p.get("text", "") for p in content
                                 if isinstance(p, dict) and p.get("type") == "text")
            return content if isinstance(content, str) else ""
    return ""


class FakeUpstream:
    """Routes, checks and counters; the replies are prebuilt byte strings."""

    def __init__(self, delay_ms=0.0, chunked=True, dialect="2025"):
        self.delay = delay_ms / 1000
        self.chunked = chunked
        self.dialect = dialect
        self.cut_every = 0         # cut every n-th stream half-way (fault injection); 0 = none
        self.users = {}            # token -> user id
        self.chats = fake_2026.Chats()
        self.replies = {}          # (dialect, model, thinking) -> list of frames
        self.common = {("GET", "/"): self.home, ("GET", "/api/v1/auths/"): self.auths,
                       ("GET", "/__bench/stats"): self.show_stats, ("POST", "/__bench/settings"): self.settings,
                       ("POST", "/__bench/reset"): self.reset_counts,
                       ("POST", "/__bench/chat-spans"): self.chat_spans}
        self.routes = {
            "2025": {("GET", "/api/models"): self.models_2025, ("POST", "/api/chat/completions"): self.chat},
            "2026": {("GET", "/api/config"): self.config_2026, ("GET", "/api/models"): self.models_2026,
                     ("POST", "/api/v1/chats/new"): self.new_chat,
                     ("POST", "/api/v2/chat/completions"): self.chat_2026},
            "api": {("GET", API_BASE + "/models"): self.api_models,
                    ("POST", API_BASE + "/chat/completions"): self.api_chat},
        }
        self.reset()

    def reset(self):
        self.counts = {"streams": 0, "completed": 0, "aborted": 0, "rejected": 0, "guests": 0, "chats": 0,
                       "connections": 0, "open_connections": 0, "max_open_streams": 0, "cut": 0}
        self.open_streams = 0
        self.reasons = {}

    def stats(self):
        return {"cpu_s": runtime.cpu_seconds(), "delay_ms": self.delay * 1000, "cut_every": self.cut_every,
                "dialect": self.dialect, "open_streams": self.open_streams, "open_chats": len(self.chats.open),
                "reasons": self.reasons, **self.counts}

    def connection(self):
        def opened():
            self.counts["connections"] += 1
            self.counts["open_connections"] += 1

        def closed():
            self.counts["open_connections"] -= 1
        return HttpConnection(self.handle, opened, closed)

    def handle(self, connection, request):
        route = (request.method, request.path)
        handler = self.routes[self.dialect].get(route) or self.common.get(route)
        if handler is None:
            self.send_json(connection, request, 404, {"detail": "Not Found"})
        else:
            handler(connection, request)

    def send(self, connection, request, status, body, content_type="application/json"):
        connection.write(response_bytes(status, body, content_type, request.keep_alive))
        connection.finished()

    def send_json(self, connection, request, status, obj):
        self.send(connection, request, status, orjson.dumps(obj))

    def home(self, connection, request):
        self.send(connection, request, 200, HOME, "text/html; charset=utf-8")

    def show_stats(self, connection, request):
        self.send_json(connection, request, 200, self.stats())

    def settings(self, connection, request):
        settings = orjson.loads(request.body or b"{}")
        self.delay = float(settings.get("delay_ms", self.delay * 1000)) / 1000
        self.cut_every = int(settings.get("cut_every", self.cut_every))
        if settings.get("dialect") in DIALECTS:
            self.dialect = settings["dialect"]
        self.send_json(connection, request, 200, {"delay_ms": self.delay * 1000, "cut_every": self.cut_every,
                                                  "dialect": self.dialect})

    def reset_counts(self, connection, request):
        self.reset()
        self.send_json(connection, request, 200, self.stats())

    def chat_spans(self, connection, request):
        self.send_json(connection, request, 200, self.chats.take_spans())

    def models_2025(self, connection, request):
        self.send_json(connection, request, 200, {"data": [
            {"id": model, "name": model, "info": {"id": model, "is_active": True}} for model in MODELS]})

    def models_2026(self, connection, request):
        self.send_json(connection, request, 200, fake_2026.model_list())

    def config_2026(self, connection, request):
        self.send(connection, request, 200, fake_2026.CONFIG)

    def api_models(self, connection, request):
        if not fake_api.key_ok(request.headers):
            return self.reject(connection, request, 401, "API key", fake_api.BAD_KEY)
        self.send_json(connection, request, 200, fake_api.model_list())

    def auths(self, connection, request):
        user_id = str(uuid.uuid4())
        ms = int(time.time() * 1000)
        token = guest_token(user_id, f"Guest-{ms}@guest.com")
        self.users[token] = user_id
        self.counts["guests"] += 1
        self.send_json(connection, request, 200, {
            "id": user_id, "email": f"Guest-{ms}@guest.com", "name": f"Guest-{ms}", "role": "guest",
            "profile_image_url": "/user.png", "idp": "z.ai", "token": token})

    def reject(self, connection, request, status, reason, answer=None):
        self.counts["rejected"] += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        self.send_json(connection, request, status, answer or {"detail": reason})

    def user_of(self, request):
        """The user id of the request's Bearer token, if this fake minted it."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return self.users.get(token) if scheme.lower() == "bearer" else None

    def chat(self, connection, request):
        """POST /api/chat/completions (2025)."""
        user_id = self.user_of(request)
        if user_id is None:
            return self.reject(connection, request, 401, SESSION_EXPIRED)
        problem = request_problem(request.headers, request.query(), user_id)
        body, problem = parsed(request, problem)
        problem = problem or body_problem(body)
        if problem:
            return self.reject(connection, request, 400, problem)
        thinking = body["features"]["enable_thinking"]
        self.stream(connection, request, body["model"], thinking, lambda: upstream_stream.frames(
            body["model"], thinking, self.chunked), web_headers(body.get("chat_id", "")))

    def new_chat(self, connection, request):
        """POST /api/v1/chats/new (2026): a chat holding the user message, for the token's user."""
        user_id = self.user_of(request)
        if user_id is None:
            return self.reject(connection, request, 401, SESSION_EXPIRED)
        body, problem = parsed(request)
        problem, chat = (problem, None) if problem else fake_2026.new_chat_problem(body)
        if problem:
            return self.reject(connection, request, 400, problem)
        self.counts["chats"] += 1
        self.send_json(connection, request, 200, self.chats.create(user_id, body["chat"], chat))

    def chat_2026(self, connection, request):
        """POST /api/v2/chat/completions (2026): completes a chat created here by the same user."""
        user_id = self.user_of(request)
        if user_id is None:
            return self.reject(connection, request, 401, SESSION_EXPIRED)
        problem = (request_problem(request.headers, request.query(), user_id)
                   or fake_2026.header_problem(request.headers))
        body, problem = parsed(request, problem)
        if not problem:
            chat = self.chats.take(body.get("chat_id") if isinstance(body, dict) else None, user_id)
            problem = fake_2026.completion_problem(body, chat)
        if problem:
            return self.reject(connection, request, 400, problem)
        thinking = body["features"]["enable_thinking"]
        self.stream(connection, request, body["model"], thinking,
                    lambda: stream_2026.frames(thinking, self.chunked), web_headers(body["chat_id"]))

    def api_chat(self, connection, request):
        """POST /api/paas/v4/chat/completions (Z.ai's API)."""
        if not fake_api.key_ok(request.headers):
            return self.reject(connection, request, 401, "API key", fake_api.BAD_KEY)
        body, problem = parsed(request)
        problem = problem or fake_api.body_problem(body)
        if problem:
            return self.reject(connection, request, 400, problem, {"error": {"code": "1214", "message": problem}})
        thinking = fake_api.thinks(body)
        self.stream(connection, request, body["model"], thinking, lambda: stream_api.frames(
            body["model"], thinking, self.chunked), f"Content-Type: {API_STREAM}\r\n")

    def stream(self, connection, request, model, thinking, build, headers):
        """Send the reply (built once per dialect, model and thinking) with these extra head lines."""
        key = (self.dialect, model, thinking)
        frames = self.replies.get(key)
        if frames is None:
            frames = self.replies[key] = build()
        Stream(self, connection, request, frames, headers).start()


def parsed(request, problem=None):
    """(body, problem): the JSON body, unless there is a problem already or it is not JSON."""
    if problem:
        return None, problem
    try:
        return orjson.loads(request.body), None
    except orjson.JSONDecodeError:
        return None, "body is not JSON"


def web_headers(chat_id):
    """The head lines particular to chat.z.ai's reply."""
    return f"Content-Type: {WEB_STREAM}\r\nx-chat-id: {chat_id}\r\n"


def request_problem(headers, query, user_id):
    """Why the headers or query of a chat request are not what chat.z.ai expects, or None."""
    if not FE_PATTERN.fullmatch(headers.get("x-fe-version", "")):
        return "X-FE-Version missing or not prod-fe-x.y.z"
    if not HEX64.fullmatch(headers.get("x-signature", "")):
        return "X-Signature missing or not 64 hex characters"
    for name in ("timestamp", "requestId", "user_id", "signature_timestamp"):
        if not query.get(name):
            return f"query parameter {name} missing"
    if not query["timestamp"].isdigit() or query["timestamp"] != query["signature_timestamp"]:
        return "query timestamp and signature_timestamp differ"
    if query["user_id"] != user_id:
        return "query user_id is not the token's user"
    return None


def body_problem(body):
    """Why a chat body is not what chat.z.ai expects, or None."""
    if not isinstance(body, dict) or body.get("model") not in MODELS:
        return "Model not found"
    if not isinstance(body.get("messages"), list):
        return "messages must be a list"
    if body.get("signature_prompt") != last_user_text(body["messages"]):
        return "signature_prompt is not the last user message"
    features = body.get("features")
    if not isinstance(features, dict) or not isinstance(features.get("enable_thinking"), bool):
        return "features.enable_thinking must be a boolean"
    return None


class Stream:
    """Writes one prebuilt reply: all at once without a delay, else one event per timer tick."""

    def __init__(self, fake, connection, request, frames, headers):
        self.fake = fake
        self.connection = connection
        self.request = request
        self.frames = frames
        self.next = 0
        self.timer = None
        self.head = self._head(headers)

    def _head(self, headers):
        framing = "Transfer-Encoding: chunked\r\n" if self.fake.chunked else ""
        keep = "keep-alive" if self.fake.chunked and self.request.keep_alive else "close"
        return (f"HTTP/1.1 200 OK\r\nServer: nginx\r\n{headers}"
                f"{framing}Connection: {keep}\r\nCache-Control: no-cache\r\n\r\n").encode()

    def start(self):
        counts = self.fake.counts
        counts["streams"] += 1
        self.fake.open_streams += 1
        counts["max_open_streams"] = max(counts["max_open_streams"], self.fake.open_streams)
        if not self.fake.chunked:
            self.connection.keep_alive = False
        if self.fake.cut_every and counts["streams"] % self.fake.cut_every == 0:
            self._cut()
            return
        if self.fake.delay <= 0:
            self.connection.write(self.head + b"".join(self.frames))
            self._end()
            return
        self.connection.cleanup = self._abort
        self.connection.write(self.head + self.frames[0])
        self.next = 1
        self.timer = asyncio.get_running_loop().call_later(self.fake.delay, self._tick)

    def _cut(self):
        """Send half the reply, then drop the connection (an upstream stream cut mid-way)."""
        self.connection.write(self.head + b"".join(self.frames[:len(self.frames) // 2]))
        self.fake.open_streams -= 1
        self.fake.counts["cut"] += 1
        self.connection.transport.close()

    def _tick(self):
        self.connection.write(self.frames[self.next])
        self.next += 1
        if self.next < len(self.frames):
            self.timer = asyncio.get_running_loop().call_later(self.fake.delay, self._tick)
        else:
            self._end()

    def _end(self):
        if self.fake.chunked:
            self.connection.write(b"0\r\n\r\n")
        self.fake.open_streams -= 1
        self.fake.counts["completed"] += 1
        self.connection.finished()

    def _abort(self):
        if self.timer:
            self.timer.cancel()
        self.fake.open_streams -= 1
        self.fake.counts["aborted"] += 1


async def serve(host, port, fake):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(fake.connection, host, port, backlog=4096, reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    print(f"listening on http://{host}:{bound}", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    sys.stderr.write(f"fakeupstream: {orjson.dumps(fake.stats()).decode()}\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="pause between upstream events")
    parser.add_argument("--framing", choices=("chunked", "close"), default="chunked",
                        help="chunked keep-alive (default, as the test fake) or close-delimited SSE")
    parser.add_argument("--dialect", choices=DIALECTS, default="2025", help="the upstream spoken")
    args = parser.parse_args(argv)
    runtime.raise_fd_limit()
    runtime.use_fast_event_loop()
    asyncio.run(serve(args.host, args.port, FakeUpstream(args.delay_ms, args.framing == "chunked", args.dialect)))


if __name__ == "__main__":
    main()
