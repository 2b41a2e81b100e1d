"""A minimal keep-alive HTTP/1.1 client on asyncio protocols, cheap enough not to be the bottleneck.

A response body is handed to a `watch` callback payload by payload until it has seen what it waits
for (the first content delta, for TTFT); after that the bytes are only kept, and decoded once at
the end.
"""
import asyncio
import time


class ChunkedBody:
    """An HTTP/1.1 chunked body, decoded incrementally or all at once."""

    def __init__(self):
        self.raw = bytearray()
        self.at = 0
        self.complete = False

    def decode(self):
        """The payloads complete since the last call."""
        raw, at, payloads = self.raw, self.at, []
        while not self.complete:
            line_end = raw.find(b"\r\n", at)
            if line_end < 0:
                break
            size = int(bytes(raw[at:line_end]).split(b";")[0], 16)
            if size == 0:
                if len(raw) >= line_end + 4:
                    self.complete = True
                    at = line_end + 4
                break
            start = line_end + 2
            if len(raw) < start + size + 2:
                break
            payloads.append(bytes(raw[start:start + size]))
            at = start + size + 2
        self.at = at
        return payloads

    def may_be_complete(self):
        """A cheap test for the terminating chunk; decode() confirms it."""
        return self.raw.endswith(b"\r\n0\r\n\r\n") or self.raw == b"0\r\n\r\n"


class Exchange:
    """One response being received. `done` resolves when it is complete (or failed)."""

    def __init__(self, watch=None):
        self.watch = watch            # payload -> True once it saw what it waits for
        self.done = asyncio.get_running_loop().create_future()
        self.head = bytearray()
        self.status = None
        self.headers = {}
        self.chunked = None
        self.length = None
        self.body = bytearray()
        self.payloads = []
        self.marked = None            # perf_counter when `watch` said yes
        self.finished = None
        self.close_after = False
        self.error = None

    def feed(self, data, now):
        if self.status is None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            self._read_head(bytes(self.head[:end]))
            data = bytes(self.head[end + 4:])
            self.head = None
        if self.chunked is not None:
            self._feed_chunked(data, now)
        else:
            self.body += data
            if self.watch and self.marked is None and data and self.watch(data):
                self.marked = now
            if self.length is not None and len(self.body) >= self.length:
                self._finish(now)

    def _read_head(self, head):
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ", 2)[1])
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            self.chunked = ChunkedBody()
        elif "content-length" in self.headers:
            self.length = int(self.headers["content-length"])
        self.close_after = self.headers.get("connection", "").lower() == "close" or (
            self.chunked is None and self.length is None)

    def _feed_chunked(self, data, now):
        body = self.chunked
        body.raw += data
        if self.watch and self.marked is None:
            for payload in body.decode():
                self.payloads.append(payload)
                if self.marked is None and self.watch(payload):
                    self.marked = now
        elif body.may_be_complete():
            self.payloads += body.decode()
        if body.complete:
            self._finish(now)

    def _finish(self, now):
        if not self.done.done():
            self.finished = now
            self.done.set_result(self)

    def lost(self, exc, now):
        """The connection closed: the end of a close-delimited body, else a failure."""
        if self.done.done():
            return
        if self.status is not None and self.chunked is None and self.length is None:
            self._finish(now)
            return
        self.error = exc or ConnectionResetError("connection closed before the response ended")
        self.done.set_result(self)

    def content(self):
        """The whole body: the concatenated payloads when chunked."""
        if self.chunked is not None:
            return b"".join(self.payloads)
        return bytes(self.body)


class ClientConnection(asyncio.Protocol):
    """One connection; `send()` one request at a time."""

    def __init__(self):
        self.transport = None
        self.exchange = None
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if self.exchange is not None:
            self.exchange.feed(data, time.perf_counter())

    def connection_lost(self, exc):
        self.closed = True
        if self.exchange is not None:
            self.exchange.lost(exc, time.perf_counter())

    def send(self, request_bytes, watch=None):
        """Write a request; returns its Exchange (await `exchange.done`)."""
        self.exchange = Exchange(watch)
        self.transport.write(request_bytes)
        return self.exchange

    def close(self):
        if not self.closed:
            self.closed = True
            self.transport.abort()


async def connect(host, port):
    _, connection = await asyncio.get_running_loop().create_connection(ClientConnection, host, port)
    return connection


def request_bytes(method, host, port, path, body=b"", headers=()):
    """A complete HTTP/1.1 request with Content-Length (and a User-Agent and Accept unless given)."""
    given = {name.lower() for name, _ in headers}
    defaults = [("User-Agent", "ztoapi-bench/1"), ("Accept", "*/*")]
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in defaults if name.lower() not in given]
    lines += [f"Content-Length: {len(body)}"] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
