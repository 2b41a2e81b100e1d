"""Reading one chat.z.ai reply: SSE bytes → events → pieces (see ztoapi.zai.phases)."""
import logging
import socket

import orjson
import requests
import urllib3

from ztoapi.zai import failures
from ztoapi.zai.phases import Reading

log = logging.getLogger("ztoapi.upstream")
READ_FAILURES = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)
DRAIN_BYTES = 64 * 1024


class ZaiStream:
    """An open upstream response. `batches()` yields lists of (kind, value) pieces, one per block
    read that held events; it raises ApiError for an error event, a timeout or a stream cut short."""

    def __init__(self, response, keep_markup=False, shape=None, dialect="2026"):
        self.response = response
        self.shape = shape   # the request's fields and roles, for the debug log of a rejection
        self.reading = Reading(keep_markup, dialect)
        self.events = 0

    @property
    def usage(self):
        return self.reading.usage

    @property
    def sources(self):
        return self.reading.sources

    @property
    def done(self):
        return self.reading.done

    def close(self):
        self.response.close()

    def abort(self):
        """Cut the connection under a reader blocked on it (another greenlet or thread).

        Closing the response there would wait for, or re-enter, the reader's buffered file; a
        socket shutdown wakes the reader instead, and the reader closes the response."""
        connection = getattr(self.response.raw, "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def batches(self):
        """A reply ends at its `done` event, or at the clean end of a body that held events
        (a connection cut short is an error, not an end)."""
        buffer = b""
        blocks = self.response.iter_content(chunk_size=None)
        while True:
            try:
                block = next(blocks, None)
            except requests.exceptions.ConnectionError as error:
                if "timed out" in str(error).lower():
                    raise failures.timed_out() from None
                raise failures.cut_short() from None
            except READ_FAILURES:
                raise failures.cut_short() from None
            if block is None:
                if not self.events:
                    raise failures.cut_short()
                yield self.reading.finish()
                return
            lines = (buffer + block).split(b"\n")
            buffer = lines.pop()
            pieces = []
            read = self.events
            for line in lines:
                if line.startswith(b"data:"):
                    pieces += self._read_event(line[5:].strip())
                if self.reading.done:
                    yield pieces
                    self._drain(blocks)
                    return
            if self.events > read:
                yield pieces

    def _drain(self, blocks):
        """Read what little follows the last event (`[DONE]`, the chunked end), so the connection
        goes back to the pool instead of being closed. A reply that keeps talking is cut."""
        left = DRAIN_BYTES
        try:
            for block in blocks:
                left -= len(block)
                if left < 0:
                    return
        except READ_FAILURES:
            pass

    def _read_event(self, payload):
        if not payload or payload == b"[DONE]":
            return []
        try:
            event = orjson.loads(payload)
            kind = event.get("type", "chat:completion")
        except (ValueError, AttributeError):
            log.debug("skipped an upstream line that is not a JSON object: %.80r", payload)
            return []
        if kind != "chat:completion":
            if event.get("error"):
                raise failures.from_event(event["error"])
            log.debug("skipped an upstream %r event", kind)   # status, chat:title, heartbeats…
            return []
        data = event.get("data", event)
        if not isinstance(data, dict):
            return []
        self.events += 1
        error = event.get("error") or data.get("error")
        if not error and isinstance(data.get("data"), dict):
            error = data["data"].get("error")
        if error:
            raise failures.from_event(error)
        return self.reading.read(data)
