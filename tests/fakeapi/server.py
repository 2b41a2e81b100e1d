"""The fake Z.ai API's HTTP plumbing: FakeZaiApi (state, settings, test API) and its request handler."""

import json
import select
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import catalog, demo, replies, rules
from .errors import BAD_KEY, CONCURRENCY, MISSING_KEY, ApiError, body as error_body, http_fault, unsupported

GENERAL_BASE = "/api/paas/v4"
CODING_BASE = "/api/coding/paas/v4"
MODELS_FAULTS = ("http404", "http500")
JSON = "application/json"
JSON_OK = "application/json; charset=UTF-8"
EVENT_STREAM = "text/event-stream;charset=UTF-8"


class FakeZaiApi:
    """An api.z.ai look-alike: start() serves it on 127.0.0.1 from a background thread."""

    def __init__(self, keys=(), base_path: str = GENERAL_BASE, fault: str | None = None,
                 models_fault: str | None = None, max_streams_per_key: int | None = None, models=None,
                 demo: bool = False):
        self.base_path = base_path.rstrip("/")
        self.demo = demo   # answers from tests.fakeapi.demo where no script says what to answer
        self.fault = fault
        self.models_fault = models_fault
        self.max_streams_per_key = max_streams_per_key
        self.models = {m.id: replace(m) for m in models} if models is not None else catalog.catalogue()
        self.keys = set(keys)
        self._defaults = {"fault": fault, "models_fault": models_fault, "max_streams_per_key": max_streams_per_key,
                          "models": {k: replace(m) for k, m in self.models.items()}, "keys": set(keys)}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._requests: list[dict] = []
        self._scripts: deque[dict] = deque()
        self._open_streams = self._closed_early = self._generation = 0
        self._chats_by_key: dict[str, int] = {}
        self._in_flight_by_key: dict[str, int] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> "FakeZaiApi":
        """Bind and serve in a daemon thread; return self."""
        self._stopping.clear()
        self._server = _Server((host, port), self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), name="fakeapi", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake sleeping replies and close the listening socket."""
        self._stopping.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> "FakeZaiApi":
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
        """Server root, e.g. http://127.0.0.1:PORT (the /__fake/* endpoints live here)."""
        return f"http://{self._server.server_address[0]}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base a client is configured with, e.g. http://127.0.0.1:PORT/api/paas/v4."""
        return self.url + self.base_path

    # -- runtime settings ------------------------------------------------------------------------------------------
    @property
    def fault(self) -> str | None:
        """Fault applied to every chat request whose script names none (None: answer normally)."""
        return self._fault

    @fault.setter
    def fault(self, value: str | None) -> None:
        if value is not None and value not in replies.FAULTS:
            raise ValueError(f"fault must be None or one of {list(replies.FAULTS)}, got {value!r}")
        self._fault = value

    @property
    def models_fault(self) -> str | None:
        """GET /models fails: "http404" (as if the route did not exist) or "http500"; None: list the models."""
        return self._models_fault

    @models_fault.setter
    def models_fault(self, value: str | None) -> None:
        if value is not None and value not in MODELS_FAULTS:
            raise ValueError(f"models_fault must be None or one of {MODELS_FAULTS}, got {value!r}")
        self._models_fault = value

    @property
    def max_streams_per_key(self) -> int | None:
        """Concurrent chat requests allowed per key (None: unlimited); more get 429 1302."""
        return self._max_streams_per_key

    @max_streams_per_key.setter
    def max_streams_per_key(self, value: int | None) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValueError(f"max_streams_per_key must be None or an int >= 0, got {value!r}")
        self._max_streams_per_key = value

    # -- test API --------------------------------------------------------------------------------------------------
    @property
    def requests(self) -> list[dict]:
        """Snapshot of recorded requests: {method, path, query, headers (lower-case keys), body, key,
        unknown_fields}."""
        with self._lock:
            return list(self._requests)

    @property
    def open_streams(self) -> int:
        """Number of SSE responses currently being written."""
        return self._open_streams

    @property
    def closed_early(self) -> int:
        """Chat requests whose client went away before the reply was complete (received since the last reset())."""
        return self._closed_early

    def chat_requests_by_key(self) -> dict[str, int]:
        """Presented key -> POST chat/completions received with it (rejected ones included; no header: not
        counted)."""
        with self._lock:
            return dict(self._chats_by_key)

    def open_streams_by_key(self) -> dict[str, int]:
        """Key -> chat requests in flight with it (streamed or not: what max_streams_per_key counts)."""
        with self._lock:
            return {k: n for k, n in self._in_flight_by_key.items() if n}

    def stats(self) -> dict:
        """Counters served at GET /__fake/stats."""
        with self._lock:
            return {"open_streams": self._open_streams, "closed_early": self._closed_early,
                    "requests": len(self._requests), "queued_scripts": len(self._scripts),
                    "chat_requests_by_key": dict(self._chats_by_key),
                    "open_streams_by_key": {k: n for k, n in self._in_flight_by_key.items() if n}}

    def reset(self) -> None:
        """Forget requests, queued scripts, per-key counts and closed_early; restore keys, models and the
        settings (fault, models_fault, max_streams_per_key) to their constructor values."""
        with self._lock:
            self._requests.clear()
            self._scripts.clear()
            self._chats_by_key.clear()
            self._closed_early = 0
            self._generation += 1  # replies begun before this reset no longer count in closed_early
            self.keys = set(self._defaults["keys"])
            self.models = {k: replace(m) for k, m in self._defaults["models"].items()}
            for name in ("fault", "models_fault", "max_streams_per_key"):
                setattr(self, name, self._defaults[name])

    def script_next(self, **script) -> None:
        """Queue a script (same keys as the [[fake]] directive) for the next chat request (FIFO)."""
        replies.check_script(script)
        with self._lock:
            self._scripts.append(script)

    def add_key(self, key: str) -> None:
        """Accept key from now on."""
        with self._lock:
            self.keys.add(key)

    def revoke(self, key: str) -> None:
        """Stop accepting key: requests with it get 401 1002."""
        with self._lock:
            self.keys.discard(key)

    def set_model(self, model_id: str, **flags) -> catalog.Model:
        """Change a catalogue entry's flags (vision, thinking, free, efforts, tool_stream, tools, created), adding
        the model if it is new; return it."""
        with self._lock:
            model = self.models.get(model_id) or catalog.Model(model_id, int(time.time()))
            self.models[model_id] = replace(model, **flags)
            return self.models[model_id]

    def remove_model(self, model_id: str) -> None:
        """Drop a model: requests naming it get 400 1211 and GET /models stops listing it."""
        with self._lock:
            self.models.pop(model_id, None)

    # -- internals used by the handler -----------------------------------------------------------------------------
    def _record(self, entry: dict) -> None:
        """Append one request record."""
        with self._lock:
            self._requests.append(entry)

    def _auth_error(self, header: str | None) -> ApiError | None:
        """401 1001 without a key (no header, a blank one, or "Bearer" alone), 401 1002 for anything but
        "Bearer <known key>"."""
        scheme, _, key = (header or "").strip().partition(" ")
        if not scheme or (scheme.lower() == "bearer" and not key.strip()):
            return ApiError(401, "1001", MISSING_KEY)
        with self._lock:
            known = scheme.lower() == "bearer" and key.strip() in self.keys
        return None if known else ApiError(401, "1002", BAD_KEY)

    def _count_chat(self, key: str | None) -> None:
        """Account one chat request to the key it presented."""
        if key is not None:
            with self._lock:
                self._chats_by_key[key] = self._chats_by_key.get(key, 0) + 1

    def _acquire(self, key: str) -> bool:
        """Take one of key's concurrent-request slots; False if max_streams_per_key are in use."""
        with self._lock:
            used = self._in_flight_by_key.get(key, 0)
            if self._max_streams_per_key is not None and used >= self._max_streams_per_key:
                return False
            self._in_flight_by_key[key] = used + 1
            return True

    def _next_script(self) -> dict:
        """Pop the oldest queued script ({} if none)."""
        with self._lock:
            return self._scripts.popleft() if self._scripts else {}

    def _stream_started(self) -> None:
        """Count an SSE response as open."""
        with self._lock:
            self._open_streams += 1

    def _reply_ended(self, key: str, aborted: bool, generation: int, stream: bool) -> None:
        """Give back key's slot and count the reply as ended (and as closed early if aborted, unless its request
        came before the last reset()), under one lock so observers never see one without the other."""
        with self._lock:
            self._in_flight_by_key[key] -= 1
            self._open_streams -= stream
            if aborted and generation == self._generation:
                self._closed_early += 1


def _presented_key(header: str | None) -> str | None:
    """The key a request presented: the Bearer token, or the whole header value for other schemes."""
    if header is None:
        return None
    scheme, _, rest = header.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else header.strip()


class _Server(ThreadingHTTPServer):
    """Threading HTTP server that knows its FakeZaiApi and ignores client disconnects."""

    daemon_threads = True
    request_queue_size = 1024   # the default backlog of 5 drops connections under load

    def __init__(self, address, fake: FakeZaiApi):
        super().__init__(address, _Handler)
        self.fake = fake

    def handle_error(self, request, client_address):
        """Report unexpected handler errors, but not clients that went away."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the API endpoints and the /__fake/* control endpoints."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # headers and body are separate writes
    server: _Server
    controls = {("GET", "/__fake/requests"): "fake_requests", ("GET", "/__fake/stats"): "fake_stats",
                ("POST", "/__fake/reset"): "fake_reset", ("POST", "/__fake/script"): "fake_script",
                ("POST", "/__fake/config"): "fake_config", ("POST", "/__fake/keys"): "fake_keys"}

    def version_string(self) -> str:
        """Value of the Server header."""
        return "nginx"

    def log_message(self, format, *args):
        """Keep test output quiet."""

    def do_GET(self):
        """Dispatch any method: /__fake/* control endpoints (not logged), else log it and route under base_path."""
        fake = self.server.fake
        self.generation = fake._generation
        url = urlsplit(self.path)
        path = url.path
        self.raw = self._read_body()
        try:
            self.body = json.loads(self.raw) if self.raw else None
        except ValueError:
            self.body = None
        self.authorization = self.headers.get("Authorization")
        self.key = _presented_key(self.authorization)
        self.entry = {"method": self.command, "path": path, "query": dict(parse_qsl(url.query)),
                      "headers": {k.lower(): v for k, v in self.headers.items()}, "body": self.body, "key": self.key,
                      "unknown_fields": []}
        if path.startswith("/__fake/"):
            route = self.controls.get((self.command, path))
            return getattr(self, route)() if route else self._error(ApiError(404, "1222", f"API {path} does not exist"))
        fake._record(self.entry)
        routes = {fake.base_path + "/chat/completions": ("POST", self.chat),
                  fake.base_path + "/models": ("GET", self.models)}
        if path not in routes:
            return self._error(ApiError(404, "1222", f"API {path} does not exist"))
        method, handler = routes[path]
        if self.command != method:
            return self._error(ApiError(405, "1212", f"Current API does not support {self.command} call method"))
        handler()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    # -- plumbing --------------------------------------------------------------------------------------------------
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

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        """Send a complete response with Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _json(self, status: int, obj, content_type: str = JSON) -> None:
        """Send compact JSON with raw UTF-8."""
        self._send(status, json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode(), content_type)

    def _error(self, error: ApiError) -> None:
        """Send an ApiError."""
        self._json(error.status, error.payload)

    def _client_gone(self) -> bool:
        """True if the client closed (or reset) its end of the connection."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _sleep(self, seconds: float) -> None:
        """Sleep, returning early when the fake stops; ConnectionAbortedError as soon as the client goes away."""
        fake = self.server.fake
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not fake._stopping.is_set():
            if self._client_gone():
                raise ConnectionAbortedError("client went away")
            fake._stopping.wait(min(left, 0.02))

    def _cut(self) -> None:
        """Drop the connection at once."""
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    # -- API endpoints ---------------------------------------------------------------------------------------------
    def models(self):
        """GET {base}/models: the catalogue in the OpenAI list shape (models_fault is checked before the key)."""
        fake = self.server.fake
        if fake.models_fault == "http404":
            return self._error(ApiError(404, "1222", f"API {fake.base_path}/models does not exist"))
        if fake.models_fault == "http500":
            return self._error(http_fault("http500"))
        problem = fake._auth_error(self.authorization)
        if problem:
            return self._error(problem)
        with fake._lock:
            listing = catalog.model_list(fake.models)
        self._json(200, listing, JSON_OK)

    def chat(self):
        """POST {base}/chat/completions: key, script, validation, slot, first delay, then a fault or the reply."""
        fake = self.server.fake
        fake._count_chat(self.key)
        problem = fake._auth_error(self.authorization)
        if problem:
            return self._error(problem)
        queued = fake._next_script()
        try:
            if not isinstance(self.body, dict):
                raise unsupported()
            try:
                directive = replies.directive_of(self.body)
            except ValueError as exc:
                raise ApiError(400, "1210", f"[[fake]] directive rejected: {exc}") from None
            with fake._lock:
                models = dict(fake.models)
            self.entry["unknown_fields"] = rules.check_chat(self.body, models)
        except ApiError as error:
            return self._error(error)
        script = {**directive, **queued}
        if fake.demo and not {"answer", "tool_calls"} & set(script):
            script.update(demo.script_for(self.body))
        if not fake._acquire(self.key):
            return self._error(ApiError(429, "1302", CONCURRENCY))
        self.stream_open, ended = False, []

        def end(aborted: bool = False) -> None:
            """Free the slot and count the reply as ended, once; called before the last write, so a client that
            has read the whole reply never sees it still open."""
            if not ended:
                ended.append(True)
                fake._reply_ended(self.key, aborted, self.generation, self.stream_open)

        try:
            self._sleep(script.get("first_delay_ms", 0) / 1000)
            fault = script.get("fault", fake.fault)
            if fault in replies.HTTP_FAULTS:
                end()
                return self._error(http_fault(fault))
            reply = replies.build_reply(self.body, script, models[self.body["model"]], fault)
            if self.body.get("stream") is True:
                self._stream(reply, end)
            else:
                self._complete(reply, end)
        except ConnectionError:
            self.close_connection = True
            end(aborted=True)
        finally:
            end()

    def _complete(self, reply: replies.Reply, end) -> None:
        """Answer with one JSON body; cut sends half of it, stall waits first, mid_error is a 500."""
        if reply.fault == "mid_error":
            end()
            return self._error(http_fault("http500"))
        if reply.fault == "stall":
            self._sleep(reply.stall_s)
        payload = json.dumps(replies.completion(reply), ensure_ascii=False, separators=(",", ":")).encode()
        end()
        if reply.fault != "cut":
            return self._send(200, payload, JSON_OK)
        self.send_response(200)
        self.send_header("Content-Type", JSON_OK)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload[:len(payload) // 2])
        self.wfile.flush()
        self._cut()

    def _stream(self, reply: replies.Reply, end) -> None:
        """Send the reply as a chunked event stream, one HTTP chunk and flush per event."""
        self.send_response(200)
        self.send_header("Content-Type", EVENT_STREAM)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.stream_open = True
        self.server.fake._stream_started()
        for frame in replies.frames(reply, self._sleep):
            if frame is replies.CUT:
                end()
                return self._cut()
            if frame is replies.END:
                self.close_connection = True
                break
            data = frame.encode()
            self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        end()
        self.wfile.write(b"0\r\n\r\n")

    # -- control endpoints -----------------------------------------------------------------------------------------
    def fake_requests(self):
        """GET /__fake/requests: the request log."""
        self._json(200, self.server.fake.requests)

    def fake_stats(self):
        """GET /__fake/stats: request, stream and per-key counters."""
        self._json(200, self.server.fake.stats())

    def fake_reset(self):
        """POST /__fake/reset: see FakeZaiApi.reset."""
        self.server.fake.reset()
        self._json(200, {"ok": True})

    def fake_script(self):
        """POST /__fake/script: queue a script for the next chat request."""
        try:
            if not isinstance(self.body, dict):
                raise ValueError("body must be a JSON object")
            self.server.fake.script_next(**self.body)
        except ValueError as exc:
            return self._json(400, error_body("1214", str(exc)))
        self._json(200, {"queued": self.server.fake.stats()["queued_scripts"]})

    def fake_config(self):
        """POST /__fake/config: set fault, models_fault and/or max_streams_per_key."""
        fake, body = self.server.fake, self.body
        try:
            if not isinstance(body, dict) or set(body) - {"fault", "models_fault", "max_streams_per_key"}:
                raise ValueError("body must be an object with fault, models_fault and/or max_streams_per_key")
            for name, value in body.items():
                setattr(fake, name, value)
        except ValueError as exc:
            return self._json(400, error_body("1214", str(exc)))
        self._json(200, {"fault": fake.fault, "models_fault": fake.models_fault,
                         "max_streams_per_key": fake.max_streams_per_key})

    def fake_keys(self):
        """POST /__fake/keys: {"add": [...], "revoke": [...]}; answers the sorted accepted keys."""
        fake, body = self.server.fake, self.body
        if not isinstance(body, dict) or set(body) - {"add", "revoke"} or not all(
                isinstance(v, list) and all(isinstance(k, str) and k for k in v) for v in body.values()):
            return self._json(400, error_body("1214", "body must be {\"add\": [keys], \"revoke\": [keys]}"))
        for key in body.get("add", []):
            fake.add_key(key)
        for key in body.get("revoke", []):
            fake.revoke(key)
        with fake._lock:
            self._json(200, {"keys": sorted(fake.keys)})
