"""A minimal HTTP/1.1 server connection on asyncio: keep-alive, Content-Length bodies, one request
at a time. The fake upstream's plumbing; handlers write the response themselves."""
import asyncio
from urllib.parse import parse_qsl

MAX_HEAD = 64 * 1024
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 411: "Length Required"}


class Request:
    __slots__ = ("method", "path", "query_string", "headers", "body", "keep_alive")

    def __init__(self, method, path, query_string, headers, body, keep_alive):
        self.method = method
        self.path = path
        self.query_string = query_string
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive

    def query(self):
        return dict(parse_qsl(self.query_string, keep_blank_values=True))


def parse_head(head):
    """(method, target, version, headers with lower-case names) of a request head."""
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, target, version, headers


def response_bytes(status, body, content_type="application/json", keep_alive=True):
    """A whole response with Content-Length."""
    head = (f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\nServer: nginx\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n")
    return head.encode() + body


class HttpConnection(asyncio.Protocol):
    """Parses requests off one connection and hands each to `handle(connection, request)`.

    The handler calls `finished()` once its response is written (now or after a stream)."""

    def __init__(self, handle, on_open=lambda: None, on_close=lambda: None):
        self.handle = handle
        self.on_open = on_open
        self.on_close = on_close
        self.transport = None
        self.buffer = bytearray()
        self.busy = False
        self.keep_alive = True
        self.closed = False
        self.cleanup = None   # set by a handler streaming a response, run if the client leaves

    def connection_made(self, transport):
        self.transport = transport
        self.on_open()

    def connection_lost(self, exc):
        self.closed = True
        if self.cleanup:
            self.cleanup()
            self.cleanup = None
        self.on_close()

    def data_received(self, data):
        self.buffer += data
        if not self.busy:
            self._next_request()

    def write(self, data):
        if not self.closed:
            self.transport.write(data)

    def finished(self):
        """The current response is complete: close, or read the next request."""
        self.busy = False
        self.cleanup = None
        if not self.keep_alive:
            self.transport.close()
            return
        if self.buffer:
            self._next_request()

    def _next_request(self):
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD:
                self.transport.close()
            return
        try:
            method, target, version, headers = parse_head(bytes(self.buffer[:end]))
        except ValueError:
            self.transport.close()
            return
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self.keep_alive = False
            self.write(response_bytes(411, b'{"detail":"chunked request bodies are not supported"}',
                                      keep_alive=False))
            self.transport.close()
            return
        length = int(headers.get("content-length") or 0)
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4:end + 4 + length])
        del self.buffer[:end + 4 + length]
        connection = headers.get("connection", "").lower()
        self.keep_alive = connection != "close" and (version == "HTTP/1.1" or connection == "keep-alive")
        path, _, query_string = target.partition("?")
        self.busy = True
        self.handle(self, Request(method, path, query_string, headers, body, self.keep_alive))
