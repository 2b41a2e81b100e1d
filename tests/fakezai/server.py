"""Strict fake of the chat.z.ai web-chat upstream (Oct 2025 protocol) on a real local HTTP server."""

import email.parser
import email.policy
import json
import re
import socket
import sys
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import stream
from .auth import DEFAULT_SECRET, SIGNATURE_MODES, make_token, signature_valid, token_payload

SESSION_EXPIRED = "Your session has expired or the token is invalid. Please sign in again."
NO_PERMISSION = "You do not have permission to access this resource. Please contact your administrator for assistance."
BAD_SIGNATURE = "403: Signature validation failed: 签名验证失败"
QUERY_PARAMS = ("timestamp", "requestId", "user_id", "signature_timestamp")
HTTP_FAULT_JSON = {
    "http500": (500, {"detail": "Internal Server Error"}),
    "http429": (429, {"detail": "Too many requests, concurrency limit exceeded"}),
    "version426_http": (426, {"detail": "Your client version check is failed"}),
}
WAF_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>405</title></head>
<body><div class="block"><img src="https://errors.aliyun.com/images/TB1TpamHpXXXXaJXXXXeB7nYVXX-104-162.png" alt="405">
<h1>Sorry, your request has been blocked as it may cause potential threats to the server's security.</h1>
<p>traceid: {trace}</p></div></body></html>
"""
# (upstream id, display name, vision, active)
MODELS = (
    ("0727-360B-API", "GLM-4.5", False, True),
    ("0727-106B-API", "GLM-4.5-Air", False, True),
    ("glm-4.5v", "GLM-4.5V", True, True),
    ("GLM-4-6-API-V1", "GLM-4.6", False, True),
    ("main_chat", "GLM-4-32B", False, False),
)
UPSTREAM_MODELS = {m[0] for m in MODELS if m[3]}


def _version(text: str) -> tuple[int, ...] | None:
    """Parse "1.0.98" or "prod-fe-1.0.98" into a tuple; None if absent."""
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text or "")
    return tuple(map(int, match.groups())) if match else None


def _model_entry(model_id: str, name: str, vision: bool, active: bool) -> dict:
    """Return one Open WebUI-shaped /api/models entry."""
    capabilities = {"vision": vision, "citations": False, "preview_mode": False, "web_search": True,
                    "language_detection": False, "restore_n_source": False, "mcp": True, "file_qa": True,
                    "returnFc": True, "returnThink": True, "think": True}
    meta = {"profile_image_url": "/static/favicon.png", "description": f"{name} by Z.ai", "hidden": False,
            "suggestion_prompts": [{"prompt": "Write a haiku about the sea"}], "capabilities": capabilities,
            "mcpServerIds": ["deep-web-search", "vibe-coding", "ppt-maker", "image-search"]}
    info = {"id": model_id, "user_id": "api", "base_model_id": None, "name": name,
            "params": {"top_p": 0.95, "temperature": 0.6, "max_tokens": 80000}, "meta": meta,
            "access_control": None, "is_active": active, "updated_at": 1759276800, "created_at": 1753574400}
    openai = {"id": model_id, "name": name, "owned_by": "openai", "openai": {"id": model_id}, "urlIdx": 1}
    return {"id": model_id, "name": name, "owned_by": "openai", "openai": openai, "urlIdx": 1, "info": info}


def _query_error(query: dict, token: str, user: dict) -> str | None:
    """Return why the signing query parameters are unacceptable, or None."""
    missing = [p for p in QUERY_PARAMS if not query.get(p)]
    if missing:
        return "Missing required query parameter(s): " + ", ".join(missing)
    if "token" in query and query["token"] != token:
        return "Query parameter 'token' does not match the Authorization token"
    if query["user_id"] != user["id"]:
        return "Query parameter 'user_id' does not match the token's user id"
    if not query["timestamp"].isdigit():
        return "Query parameter 'timestamp' must be an integer number of milliseconds"
    if query["timestamp"] != query["signature_timestamp"]:
        return "Query parameters 'timestamp' and 'signature_timestamp' differ"
    return None


def _body_error(body: dict) -> str | None:
    """Return why a chat body is unacceptable, or None."""
    if body.get("model") not in UPSTREAM_MODELS:
        return "Model not found"
    if not isinstance(body.get("messages"), list):
        return "Field 'messages' must be a list"
    features = body.get("features") or {}
    if not isinstance(features, dict) or not isinstance(features.get("enable_thinking", False), bool):
        return "Field 'features.enable_thinking' must be a boolean"
    for key in ("chat_id", "id"):
        if not isinstance(body.get(key), str) or not body[key]:
            return f"Field '{key}' must be a non-empty string"
    return None


def _multipart_file(content_type: str, raw: bytes) -> tuple[str, str, bytes] | None:
    """Return (filename, content type, bytes) of the multipart field `file`, or None."""
    if not content_type.startswith("multipart/form-data"):
        return None
    head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            return part.get_filename() or "", part.get_content_type(), part.get_payload(decode=True) or b""
    return None


class FakeZai:
    """A chat.z.ai look-alike: start() serves it on 127.0.0.1 from a background thread."""

    def __init__(self, secret: str = DEFAULT_SECRET, min_fe_version: str = "1.0.94",
                 signature_mode: str = "hmac-b64", user_tokens=(), fe_version: str = "1.0.98"):
        if signature_mode not in SIGNATURE_MODES:
            raise ValueError(f"signature_mode must be one of {SIGNATURE_MODES}")
        self.secret, self.signature_mode, self.fe_version = secret, signature_mode, fe_version
        self.min_fe_version = _version(min_fe_version)
        if self.min_fe_version is None:
            raise ValueError(f"min_fe_version must look like 1.0.94, got {min_fe_version!r}")
        self.files: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._users: dict[str, dict] = {}
        self._issued: list[str] = []
        self._requests: list[dict] = []
        self._scripts: deque[dict] = deque()
        self._open_streams = self._closed_early = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for token in user_tokens:
            self.add_user_token(token)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> "FakeZai":
        """Bind and serve in a daemon thread; return self."""
        self._stopping.clear()
        self._server = _Server((host, port), self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fakezai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake sleeping streams and close the listening socket."""
        self._stopping.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> "FakeZai":
        """Start (if needed) for a with-block."""
        return self.start() if self._server is None else self

    def __exit__(self, *exc) -> None:
        """Stop at the end of a with-block."""
        self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT."""
        return f"http://{self._server.server_address[0]}:{self.port}"

    # -- test API --------------------------------------------------------------------------------
    @property
    def requests(self) -> list[dict]:
        """Snapshot of recorded requests: {method, path, headers (lower-case keys), query, body}."""
        with self._lock:
            return list(self._requests)

    @property
    def issued_tokens(self) -> list[str]:
        """Guest tokens minted so far, oldest first."""
        with self._lock:
            return list(self._issued)

    @property
    def open_streams(self) -> int:
        """Number of SSE responses currently being written."""
        return self._open_streams

    @property
    def closed_early(self) -> int:
        """Number of SSE responses aborted because the client went away."""
        return self._closed_early

    def stats(self) -> dict:
        """Counters served at GET /__fake/stats."""
        with self._lock:
            return {"open_streams": self._open_streams, "closed_early": self._closed_early,
                    "requests": len(self._requests), "queued_scripts": len(self._scripts),
                    "issued_tokens": len(self._issued)}

    def reset(self) -> None:
        """Forget recorded requests, queued scripts and the closed_early counter (tokens are kept)."""
        with self._lock:
            self._requests.clear()
            self._scripts.clear()
            self._closed_early = 0

    def script_next(self, **script) -> None:
        """Queue a script (same keys as the [[fake]] directive) for the next chat request (FIFO)."""
        stream.check_script(script)
        with self._lock:
            self._scripts.append(script)

    def add_user_token(self, token: str) -> dict:
        """Register a pre-seeded "real user" token (see make_user_token); return its profile."""
        payload = token_payload(token)
        if not payload or not payload.get("id"):
            raise ValueError("user token must be a JWT whose payload has an 'id'")
        email = payload.get("email") or f"{payload['id']}@example.com"
        profile = {"id": payload["id"], "email": email, "name": email.split("@")[0], "role": "user",
                   "profile_image_url": "/user.png", "idp": "z.ai"}
        with self._lock:
            self._users[token] = profile
        return profile

    def revoke(self, token: str) -> None:
        """Expire a token: the next request with it gets 401, as an expired session does."""
        with self._lock:
            self._users.pop(token, None)

    # -- internals used by the handler -----------------------------------------------------------
    def _mint_guest(self) -> dict:
        """Create a guest account and return its profile plus token."""
        ms = int(time.time() * 1000)
        profile = {"id": str(uuid.uuid4()), "email": f"Guest-{ms}@guest.com", "name": f"Guest-{ms}",
                   "role": "guest", "profile_image_url": "/user.png", "idp": "z.ai"}
        token = make_token({"id": profile["id"], "email": profile["email"]})
        with self._lock:
            self._users[token] = profile
            self._issued.append(token)
        return {**profile, "token": token}

    def _user(self, token: str | None) -> dict | None:
        """Profile for a token the fake issued or was seeded with."""
        with self._lock:
            return self._users.get(token) if token else None

    def _record(self, entry: dict) -> None:
        """Append one request record."""
        with self._lock:
            self._requests.append(entry)

    def _next_script(self) -> dict:
        """Pop the oldest queued script ({} if none)."""
        with self._lock:
            return self._scripts.popleft() if self._scripts else {}

    def _count(self, name: str, delta: int = 1) -> None:
        """Adjust a counter attribute under the lock."""
        with self._lock:
            setattr(self, name, getattr(self, name) + delta)

    def _sleep(self, seconds: float) -> None:
        """Sleep, returning early when the fake is stopped."""
        self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    """Threading HTTP server that knows its FakeZai and ignores client disconnects."""

    daemon_threads = True

    def __init__(self, address, fake: FakeZai):
        super().__init__(address, _Handler)
        self.fake = fake

    def handle_error(self, request, client_address):
        """Report unexpected handler errors, but not clients that went away."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the fake's endpoints."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # headers and body are separate writes
    server: _Server
    routes = {
        ("GET", "/"): "index", ("GET", "/api/v1/auths/"): "auths", ("GET", "/api/models"): "models",
        ("POST", "/api/chat/completions"): "chat", ("POST", "/api/v1/files/"): "upload",
        ("GET", "/__fake/requests"): "fake_requests", ("GET", "/__fake/stats"): "fake_stats",
        ("POST", "/__fake/reset"): "fake_reset", ("POST", "/__fake/script"): "fake_script",
    }

    def version_string(self) -> str:
        """Value of the Server header."""
        return "nginx"

    def log_message(self, format, *args):
        """Keep test output quiet."""

    def do_GET(self):
        """Dispatch any method through the route table."""
        url = urlsplit(self.path)
        self.query = dict(parse_qsl(url.query, keep_blank_values=True))
        self.raw = self._read_body()
        try:
            self.body = json.loads(self.raw) if self.raw else None
        except ValueError:
            self.body = None
        if not url.path.startswith("/__fake/"):
            self.server.fake._record({"method": self.command, "path": url.path, "query": self.query,
                                      "headers": {k.lower(): v for k, v in self.headers.items()}, "body": self.body})
        route = self.routes.get((self.command, url.path))
        if route:
            getattr(self, route)()
        elif (self.command, url.path + "/") in self.routes:
            self._send(307, b"", "text/plain", {"Location": url.path + "/" + (f"?{url.query}" if url.query else "")})
        else:
            self._json(404, {"detail": "Not Found"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    # -- plumbing --------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        """Read a Content-Length or chunked request body."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, payload: bytes, content_type: str, headers: dict | None = None) -> None:
        """Send a complete response with Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _json(self, status: int, obj) -> None:
        """Send compact JSON, as FastAPI does."""
        self._send(status, json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode(), "application/json")

    def _bearer(self) -> str | None:
        """The Authorization token: None if the header is absent, "" if it is not a Bearer."""
        value = self.headers.get("Authorization")
        if value is None:
            return None
        scheme, _, token = value.strip().partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    def _sse(self, chat_id: str, frames) -> None:
        """Send frames as a chunked text/event-stream, one chunk and flush per frame."""
        fake = self.server.fake
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("x-chat-id", chat_id)
        self.send_header("x-trace-id", uuid.uuid4().hex)
        self.end_headers()
        fake._count("_open_streams")
        try:
            for frame in frames:
                if frame is stream.CUT:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                data = frame.encode()
                self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except ConnectionError:
            self.close_connection = True
            fake._count("_closed_early")
        finally:
            fake._count("_open_streams", -1)

    # -- upstream endpoints ----------------------------------------------------------------------
    def index(self):
        """GET /: landing page whose asset URLs carry prod-fe-<fe_version>."""
        base = f"https://z-cdn.chatglm.cn/z-ai/frontend/prod-fe-{self.server.fake.fe_version}/_app/immutable"
        html = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Z.ai Chat</title>\n'
                f'<link rel="stylesheet" href="{base}/assets/0.css">\n'
                f'<link rel="modulepreload" href="{base}/entry/start.js">\n</head>\n'
                f'<body><div id="app"></div><script type="module" src="{base}/entry/app.js"></script></body></html>\n')
        self._send(200, html.encode(), "text/html; charset=utf-8")

    def auths(self):
        """GET /api/v1/auths/: mint a guest, or return the Bearer user's profile."""
        fake, token = self.server.fake, self._bearer()
        if token is None:
            return self._json(200, fake._mint_guest())
        user = fake._user(token)
        if user is None:
            return self._json(401, {"detail": SESSION_EXPIRED})
        self._json(200, {**user, "token": token})

    def models(self):
        """GET /api/models: Open WebUI-shaped catalogue."""
        token = self._bearer()
        if token is not None and self.server.fake._user(token) is None:
            return self._json(401, {"detail": SESSION_EXPIRED})
        self._json(200, {"data": [_model_entry(*m) for m in MODELS]})

    def upload(self):
        """POST /api/v1/files/: multipart upload, real users only."""
        fake = self.server.fake
        user = fake._user(self._bearer())
        if user is None:
            return self._json(401, {"detail": SESSION_EXPIRED})
        if user["role"] == "guest":
            return self._json(403, {"detail": NO_PERMISSION})
        part = _multipart_file(self.headers.get("Content-Type", ""), self.raw)
        if part is None:
            return self._json(400, {"detail": "No file provided (multipart field 'file')"})
        filename, content_type, data = part
        now = int(time.time())
        record = {"id": str(uuid.uuid4()), "user_id": user["id"], "hash": None, "filename": filename, "data": {},
                  "meta": {"name": filename, "content_type": content_type, "size": len(data)},
                  "created_at": now, "updated_at": now}
        with fake._lock:
            fake.files[record["id"]] = record
        self._json(200, record)

    def chat(self):
        """Validate like the Oct 2025 upstream, then stream the (scripted) reply."""
        fake = self.server.fake
        body = self.body if isinstance(self.body, dict) else {}
        try:
            directive, _ = stream.parse_directive(stream.last_user_text(body.get("messages")))
        except ValueError as exc:
            return self._json(400, {"detail": str(exc)})
        script = {**directive, **fake._next_script()}
        fault = script.get("fault")
        if fault == "waf405":
            page = WAF_PAGE.replace("{trace}", uuid.uuid4().hex)
            return self._send(405, page.encode(), "text/html; charset=utf-8")
        if fault in HTTP_FAULT_JSON:
            return self._json(*HTTP_FAULT_JSON[fault])
        token = self._bearer()
        user = fake._user(token)
        if user is None:
            return self._json(401, {"detail": SESSION_EXPIRED})
        problem = _query_error(self.query, token, user)
        if problem:
            return self._json(400, {"detail": problem})
        chat_id = str(body.get("chat_id", ""))
        version = _version(self.headers.get("X-FE-Version", ""))
        if fault == "version426" or version is None or version < fake.min_fe_version:
            return self._sse(chat_id, [stream.version_426_event()])
        if not isinstance(self.body, dict):
            return self._json(400, {"detail": "Invalid JSON body"})
        if fault == "signature" or not self._signature_ok(body):
            return self._json(400, {"detail": BAD_SIGNATURE})
        problem = _body_error(body)
        if problem:
            return self._json(400, {"detail": problem})
        reply = stream.build_reply(body, script)
        fake._sleep(script.get("first_delay_ms", 0) / 1000)
        self._sse(chat_id, stream.frames(reply, fake._sleep))

    def _signature_ok(self, body: dict) -> bool:
        """Check X-Signature and that signature_prompt is the last user message's text."""
        fake, q = self.server.fake, self.query
        if fake.signature_mode == "off":
            return True
        prompt = body.get("signature_prompt")
        return (isinstance(prompt, str) and prompt == stream.last_user_text(body.get("messages"))
                and signature_valid(self.headers.get("X-Signature", ""), prompt, q["requestId"], int(q["timestamp"]),
                                    q["user_id"], fake.secret, fake.signature_mode))

    # -- control endpoints -----------------------------------------------------------------------
    def fake_requests(self):
        """GET /__fake/requests: the request log."""
        self._json(200, self.server.fake.requests)

    def fake_stats(self):
        """GET /__fake/stats: stream and request counters."""
        self._json(200, self.server.fake.stats())

    def fake_reset(self):
        """POST /__fake/reset: clear log, scripts and counters."""
        self.server.fake.reset()
        self._json(200, {"ok": True})

    def fake_script(self):
        """POST /__fake/script: queue a script for the next chat request."""
        try:
            if not isinstance(self.body, dict):
                raise ValueError("body must be a JSON object")
            self.server.fake.script_next(**self.body)
        except ValueError as exc:
            return self._json(400, {"detail": str(exc)})
        self._json(200, {"queued": self.server.fake.stats()["queued_scripts"]})
