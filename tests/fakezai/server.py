"""Strict fake of the chat.z.ai web-chat upstream (Oct 2025 protocol, or the 2026 dialect) on a real local
HTTP server."""

import email.parser
import email.policy
import json
import select
import socket
import sys
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import catalog, demo, dialect2026, inband, stream
from .auth import DEFAULT_SECRET, SIGNATURE_MODES, make_token, signature_valid, token_payload
from .catalog import GUEST_MODELS_2026
from .common import (BAD_SIGNATURE, CONCURRENCY_LIMIT, NO_IMAGE_INPUT, NO_PERMISSION, NOT_FOUND, SESSION_EXPIRED,
                     parse_version, query_error, waf_page)
from .handler2026 import Handler2026
from .state2026 import Dialect2026

HTTP_FAULT_JSON = {
    "http500": (500, {"detail": "Internal Server Error"}),
    "http429": (429, CONCURRENCY_LIMIT),
    "version426_http": (426, {"detail": "Your client version check is failed"}),
    "http401": (401, {"detail": SESSION_EXPIRED}),
    "http426": (426, dialect2026.NEW_VERSION),
    "config_404": (404, NOT_FOUND),
}
AUTHS_FAULTS = ("http500", "waf405", "no_token", "bad_json")
UPSTREAM_MODELS = catalog.active("2025")
VISION_MODELS = catalog.vision("2025")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")
DIALECT_ROUTES = {"chat": "2025", "config": "2026", "chats_new": "2026", "chat_v2": "2026"}


def _header_value(value) -> str:
    """Render a Retry-After value: strings as given, integral numbers without a fraction."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


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
    if body["model"] not in VISION_MODELS and any(stream.image_urls(m) for m in body["messages"]):
        return NO_IMAGE_INPUT
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


class FakeZai(Dialect2026):
    """A chat.z.ai look-alike: start() serves it on 127.0.0.1 from a background thread."""

    def __init__(self, secret: str = DEFAULT_SECRET, min_fe_version: str | None = None,
                 signature_mode: str = "hmac-b64", user_tokens=(), fe_version: str | None = None,
                 max_streams_per_token: int | None = None, auths_fault: str | None = None, dialect: str = "2025",
                 captcha: str | None = None, guest_models=GUEST_MODELS_2026, config_fault: str | None = None,
                 demo: bool = False):
        if signature_mode not in SIGNATURE_MODES:
            raise ValueError(f"signature_mode must be one of {SIGNATURE_MODES}")
        self.dialect = dialect  # first: fe_version and min_fe_version left as None follow it
        self.demo = demo        # answers from tests.fakezai.demo instead of the bare echo
        self.secret, self.signature_mode, self.fe_version = secret, signature_mode, fe_version
        self.min_fe_version = min_fe_version
        self.max_streams_per_token = max_streams_per_token
        self.auths_fault = auths_fault
        self._defaults = {"fe_version": fe_version, "min_fe_version": min_fe_version and self.min_fe_version,
                          "max_streams_per_token": max_streams_per_token, "auths_fault": auths_fault}
        self._init_2026(dialect, captcha, guest_models, config_fault)
        self.files: dict[str, dict] = {}        # file id -> the upload's JSON record
        self.file_bytes: dict[str, bytes] = {}  # file id -> the uploaded bytes
        self._file_owners: dict[str, str] = {}  # file id -> the uploading Bearer token
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._users: dict[str, dict] = {}
        self._issued: list[str] = []
        self._requests: list[dict] = []
        self._scripts: deque[dict] = deque()
        self._open_streams = self._closed_early = self._generation = 0
        self._streams_by_token: dict[str, int] = {}
        self._chats_by_token: dict[str, int] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for token in user_tokens:
            self.add_user_token(token)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> "FakeZai":
        """Bind and serve in a daemon thread; return self."""
        self._stopping.clear()
        self._server = _Server((host, port), self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), name="fakezai", daemon=True)
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

    # -- runtime settings ------------------------------------------------------------------------
    @property
    def fe_version(self) -> str:
        """Version published on GET / as prod-fe-<fe_version>; settable, None: the dialect's default."""
        return self._fe_version or self._dialect_default("fe_version")

    @fe_version.setter
    def fe_version(self, value: str | None) -> None:
        self._fe_version = value

    @property
    def min_fe_version(self) -> str:
        """Lowest accepted X-FE-Version, as "1.0.94"; settable (also "prod-fe-1.0.94"; None: the dialect's)."""
        return ".".join(map(str, self._min_fe_version))

    @min_fe_version.setter
    def min_fe_version(self, value: str | None) -> None:
        parsed = parse_version(value) if isinstance(value, str) else None
        if parsed is None and value is not None:
            raise ValueError(f"min_fe_version must look like 1.0.94, got {value!r}")
        self._min_fe_set = parsed

    @property
    def _min_fe_version(self) -> tuple[int, ...]:
        """min_fe_version as a tuple."""
        return self._min_fe_set or parse_version(self._dialect_default("min_fe_version"))

    @property
    def max_streams_per_token(self) -> int | None:
        """Concurrent chat requests allowed per token (None: unlimited); more get HTTP 429."""
        return self._max_streams_per_token

    @max_streams_per_token.setter
    def max_streams_per_token(self, value: int | None) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValueError(f"max_streams_per_token must be None or an int >= 0, got {value!r}")
        self._max_streams_per_token = value

    @property
    def auths_fault(self) -> str | None:
        """Failure for every unauthenticated GET /api/v1/auths/ (None: mint guests normally)."""
        return self._auths_fault

    @auths_fault.setter
    def auths_fault(self, value: str | None) -> None:
        if value is not None and value not in AUTHS_FAULTS:
            raise ValueError(f"auths_fault must be None or one of {AUTHS_FAULTS}, got {value!r}")
        self._auths_fault = value

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
        """Number of SSE responses aborted because the client went away (requests received since the last
        reset() only, so a late abort of an earlier test's stream does not count)."""
        return self._closed_early

    def chat_requests_by_token(self) -> dict[str, int]:
        """Bearer token -> completions (POST /api/chat/completions, or /api/v2/chat/completions past the 2026
        WAF) received with it (rejected ones included)."""
        with self._lock:
            return dict(self._chats_by_token)

    def open_streams_by_token(self) -> dict[str, int]:
        """Bearer token -> chat requests in flight with it (the ones max_streams_per_token counts)."""
        with self._lock:
            return {t: n for t, n in self._streams_by_token.items() if n}

    def stats(self) -> dict:
        """Counters served at GET /__fake/stats (per-token maps keyed by the token's last 8 chars)."""
        def short(counts: dict[str, int]) -> dict[str, int]:
            out: dict[str, int] = {}
            for token, n in counts.items():
                if n:
                    out[token[-8:]] = out.get(token[-8:], 0) + n
            return out

        with self._lock:
            return {"open_streams": self._open_streams, "closed_early": self._closed_early,
                    "requests": len(self._requests), "queued_scripts": len(self._scripts),
                    "issued_tokens": len(self._issued), "chat_requests_by_token": short(self._chats_by_token),
                    "open_streams_by_token": short(self._streams_by_token), **self._stats_2026(short)}

    def reset(self) -> None:
        """Forget recorded requests, queued scripts, per-token request counts, the closed_early counter and
        the 2026 records (chats, completions, device ids, captcha refusals), and restore fe_version,
        min_fe_version, max_streams_per_token, auths_fault, dialect, captcha, guest_models and config_fault to
        their constructor values (tokens, uploads and open-stream counts are kept)."""
        with self._lock:
            self._requests.clear()
            self._scripts.clear()
            self._chats_by_token.clear()
            self._reset_2026()
            self._closed_early = 0
            self._generation += 1  # streams opened before this reset no longer count in closed_early
            for name, value in self._defaults.items():
                setattr(self, name, value)

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

    def _count_chat(self, token: str | None) -> None:
        """Account one chat request to its Bearer token (requests without one are not counted)."""
        if token:
            with self._lock:
                self._chats_by_token[token] = self._chats_by_token.get(token, 0) + 1

    def _acquire_stream(self, token: str) -> bool:
        """Take one of the token's concurrent-stream slots; False if max_streams_per_token are in use."""
        with self._lock:
            used = self._streams_by_token.get(token, 0)
            limit = self._max_streams_per_token
            if limit is not None and used >= limit:
                return False
            self._streams_by_token[token] = used + 1
            return True

    def _release_stream(self, token: str) -> None:
        """Give back a slot taken by _acquire_stream."""
        with self._lock:
            left = self._streams_by_token.get(token, 0) - 1
            if left > 0:
                self._streams_by_token[token] = left
            else:
                self._streams_by_token.pop(token, None)

    def _resolve_images(self, token: str, messages: list) -> list[dict] | None:
        """Resolve every image part of messages to an upload of token ("<file_id>_<filename>"); return the
        file metas of the last user message's images, or None if any reference does not resolve."""
        users = [i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"]
        metas = []
        with self._lock:
            for i, message in enumerate(messages):
                for url in stream.image_urls(message):
                    file_id, _, name = url.partition("_") if isinstance(url, str) else ("", "", "")
                    record = self.files.get(file_id)
                    if record is None or record["filename"] != name or self._file_owners.get(file_id) != token:
                        return None
                    if users and i == users[-1]:
                        metas.append(dict(record["meta"]))
        return metas

    def _next_script(self) -> dict:
        """Pop the oldest queued script ({} if none)."""
        with self._lock:
            return self._scripts.popleft() if self._scripts else {}

    def _stream_ended(self, aborted: bool, generation: int) -> None:
        """Count a stream as ended (and as closed early if aborted, unless its request came before the last
        reset()), both under one lock so observers never see one without the other."""
        with self._lock:
            self._open_streams -= 1
            if aborted and generation == self._generation:
                self._closed_early += 1

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
    request_queue_size = 1024   # the default backlog of 5 drops connections under load

    def __init__(self, address, fake: FakeZai):
        super().__init__(address, _Handler)
        self.fake = fake

    def handle_error(self, request, client_address):
        """Report unexpected handler errors, but not clients that went away."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(Handler2026, BaseHTTPRequestHandler):
    """Routes requests to the fake's endpoints."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # headers and body are separate writes
    server: _Server
    routes = {
        ("GET", "/"): "index", ("GET", "/api/v1/auths/"): "auths", ("GET", "/api/models"): "models",
        ("POST", "/api/chat/completions"): "chat", ("POST", "/api/v1/files/"): "upload",
        ("GET", "/api/config"): "config", ("POST", "/api/v1/chats/new"): "chats_new",
        ("POST", "/api/v2/chat/completions"): "chat_v2",
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
        self.generation, self.dialect = self.server.fake._generation, self.server.fake.dialect
        url = urlsplit(self.path)
        # An HTTP forward-proxy client sends the absolute URI ("POST http://host/path?query"): route by its path.
        self.proxied = self.path.lower().startswith(("http://", "https://"))
        path = (url.path or "/") if self.proxied else url.path
        self.query = dict(parse_qsl(url.query, keep_blank_values=True))
        self.raw = self._read_body()
        try:
            self.body = json.loads(self.raw) if self.raw else None
        except ValueError:
            self.body = None
        if not path.startswith("/__fake/"):
            self.server.fake._record({"method": self.command, "path": path, "query": self.query,
                                      "headers": {k.lower(): v for k, v in self.headers.items()}, "body": self.body,
                                      "proxied": self.proxied})
        route = self.routes.get((self.command, path))
        if self.dialect == "2026" and not path.startswith("/__fake/") and dialect2026.waf_blocks(
                self.command, path, self.headers, self.server.fake._min_fe_version):
            self._send(405, waf_page(), "text/html; charset=utf-8")
        elif DIALECT_ROUTES.get(route, self.dialect) != self.dialect:
            self._json(404, NOT_FOUND)
        elif route:
            getattr(self, route)()
        elif (self.command, path + "/") in self.routes:
            self._send(307, b"", "text/plain", {"Location": path + "/" + (f"?{url.query}" if url.query else "")})
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

    def _json(self, status: int, obj, headers: dict | None = None) -> None:
        """Send compact JSON, as FastAPI does."""
        self._send(status, json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode(), "application/json",
                   headers)

    def _client_gone(self) -> bool:
        """True if the client closed (or reset) its end of the connection."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _sleep(self, seconds: float) -> None:
        """Sleep like FakeZai._sleep, but raise ConnectionAbortedError as soon as the client goes away."""
        fake = self.server.fake
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not fake._stopping.is_set():
            if self._client_gone():
                raise ConnectionAbortedError("client went away")
            fake._stopping.wait(min(left, 0.02))

    def _bearer(self) -> str | None:
        """The Authorization token: None if the header is absent, "" if it is not a Bearer."""
        value = self.headers.get("Authorization")
        if value is None:
            return None
        scheme, _, token = value.strip().partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    def _sse(self, chat_id: str, frames, on_end=lambda: None) -> None:
        """Send frames as a chunked text/event-stream, one chunk and flush per frame.

        on_end (idempotent) runs once the last frame is written, before the terminating chunk (so a client
        that saw the last event cannot race it), or when the stream is cut or aborted."""
        fake = self.server.fake
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("x-chat-id", chat_id)
        self.send_header("x-trace-id", uuid.uuid4().hex)
        self.end_headers()
        fake._count("_open_streams")
        aborted = False
        try:
            for frame in frames:
                if frame is stream.CUT:
                    on_end()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                data = frame.encode()
                self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            on_end()
            self.wfile.write(b"0\r\n\r\n")
        except ConnectionError:
            self.close_connection = True
            aborted = True
        finally:
            on_end()
            fake._stream_ended(aborted, self.generation)

    # -- upstream endpoints ----------------------------------------------------------------------
    def index(self):
        """GET /: landing page whose asset URLs carry prod-fe-<fe_version>."""
        if self.dialect == "2026":
            return self.index_2026()
        fake = self.server.fake
        base = f"https://z-cdn.chatglm.cn/z-ai/frontend/prod-fe-{fake.fe_version}/_app/immutable"
        old = f"https://z-cdn.chatglm.cn/z-ai/frontend/prod-fe-{fake._dialect_default('old_fe_version')}/_app/immutable"
        html = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Z.ai Chat</title>\n'
                f'<link rel="prefetch" href="{old}/assets/legacy-polyfills.js">\n'
                f'<link rel="stylesheet" href="{base}/assets/0.css">\n'
                f'<link rel="modulepreload" href="{base}/entry/start.js">\n</head>\n'
                f'<body><div id="app"></div><script type="module" src="{base}/entry/app.js"></script></body></html>\n')
        self._send(200, html.encode(), "text/html; charset=utf-8")

    def auths(self):
        """GET /api/v1/auths/: mint a guest (or fail as auths_fault says), or return the Bearer user's profile."""
        fake, token = self.server.fake, self._bearer()
        if token is None:
            fault = fake.auths_fault
            if fault == "http500":
                return self._json(500, {"detail": "Internal Server Error"})
            if fault == "waf405":
                return self._send(405, waf_page(), "text/html; charset=utf-8")
            if fault == "bad_json":
                page = b"<!doctype html><html><head><title>Z.ai</title></head><body>{\"id\": oops</body></html>\n"
                return self._send(200, page, "text/html; charset=utf-8")
            if fault == "no_token":
                ms = int(time.time() * 1000)
                return self._json(200, {"id": str(uuid.uuid4()), "email": f"Guest-{ms}@guest.com",
                                        "name": f"Guest-{ms}", "role": "guest", "profile_image_url": "/user.png",
                                        "idp": "z.ai"})
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
        self._json(200, catalog.catalogue(self.dialect))

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
        if not filename.lower().endswith(IMAGE_EXTENSIONS):
            return self._json(400, {"detail": "Unsupported file type"})
        now = int(time.time())
        record = {"id": str(uuid.uuid4()), "user_id": user["id"], "hash": None, "filename": filename, "data": {},
                  "meta": {"name": filename, "content_type": content_type, "size": len(data)},
                  "created_at": now, "updated_at": now}
        with fake._lock:
            fake.files[record["id"]] = record
            fake.file_bytes[record["id"]] = data
            fake._file_owners[record["id"]] = self._bearer()
        self._json(200, record)

    def chat(self):
        """Validate like the Oct 2025 upstream, then stream the (scripted) reply."""
        self._completion(stream.last_user_text, self._chat_stream)

    def _completion(self, directive_text, run) -> None:
        """Count the request, take its script (directive from directive_text(messages), then the queue), apply
        HTTP faults, the token check and the stream slot, then run(fake, token, user, body, script, release),
        which returns an HTTP error (a 400 detail or (status, body)) or None once it streamed."""
        fake, token = self.server.fake, self._bearer()
        fake._count_chat(token)
        body = self.body if isinstance(self.body, dict) else {}
        try:
            directive, _ = stream.parse_directive(directive_text(body.get("messages")))
        except ValueError as exc:
            return self._json(400, {"detail": str(exc)})
        script = {**directive, **fake._next_script()}
        if fake.demo and "answer" not in script:
            script.update(demo.script_for(body.get("messages")))
        fault = script.get("fault")
        if fault == "waf405":
            return self._send(405, waf_page(), "text/html; charset=utf-8")
        if fault in HTTP_FAULT_JSON:
            retry = {"Retry-After": _header_value(script["retry_after"])} \
                if fault == "http429" and "retry_after" in script else None
            return self._json(*HTTP_FAULT_JSON[fault], retry)
        user = fake._user(token)
        if user is None:
            return self._json(401, {"detail": SESSION_EXPIRED})
        if not fake._acquire_stream(token):
            return self._json(429, CONCURRENCY_LIMIT)
        released = []

        def release() -> None:
            if not released:
                released.append(True)
                fake._release_stream(token)

        try:
            error = run(fake, token, user, body, script, release)
        finally:
            release()
        if error:  # sent after the slot is free, so a client retrying at once cannot race the release
            self._json(*((400, {"detail": error}) if isinstance(error, str) else error))

    def _chat_stream(self, fake: FakeZai, token: str, user: dict, body: dict, script: dict, release) -> str | None:
        """The rest of chat() while holding one of the token's stream slots; return a 400 detail, or None
        once the stream was sent."""
        fault = script.get("fault")
        problem = query_error(self.query, token, user)
        if problem:
            return problem
        chat_id = str(body.get("chat_id", ""))
        version = parse_version(self.headers.get("X-FE-Version", ""))
        if fault == "version426" or version is None or version < fake._min_fe_version:
            return self._sse(chat_id, [stream.version_426_event()], release)
        if not isinstance(self.body, dict):
            return "Invalid JSON body"
        if fault == "signature" or not self._signature_ok(body):
            return BAD_SIGNATURE
        problem = _body_error(body)
        if problem:
            return problem
        images = None
        if body["model"] in VISION_MODELS:
            images = fake._resolve_images(token, body["messages"])
            if images is None:
                return self._sse(chat_id, [stream.image_error_event()], release)
        event = inband.fault_event(fault, body)
        if event:
            return self._sse(chat_id, [event], release)
        reply = stream.build_reply(body, script, images)
        try:
            self._sleep(script.get("first_delay_ms", 0) / 1000)
        except ConnectionError:
            self.close_connection = True
            return None
        return self._sse(chat_id, stream.frames(reply, self._sleep), release)

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
