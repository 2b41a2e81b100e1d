"""Reading one chat.z.ai reply: SSE bytes → events → pieces (see ztoapi.zai.phases)."""
import logging

import orjson

from ztoapi.upstream.http import StreamedResponse
from ztoapi.zai import failures
from ztoapi.zai.phases import Reading

log = logging.getLogger("ztoapi.upstream")


class ZaiStream(StreamedResponse):
    """An open upstream response. `batches()` yields lists of (kind, value) pieces, one per block
    read that held events; it raises ApiError for an error event, a timeout or a stream cut short."""

    def __init__(self, response, keep_markup=False, shape=None, dialect="2026"):
        super().__init__(response, failures)
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

    def batches(self):
        """A reply ends at its `done` event, or at the clean end of a body that held events
        (a connection cut short is an error, not an end)."""
        buffer = b""
        blocks = self.blocks()
        for block in blocks:
            lines = (buffer + block).split(b"\n")
            buffer = lines.pop()
            pieces = []
            read = self.events
            for line in lines:
                if line.startswith(b"data:"):
                    pieces += self._read_event(line[5:].strip())
                if self.reading.done:
                    yield pieces
                    self.drain(blocks)
                    return
            if self.events > read:
                yield pieces
        if not self.events:
            raise failures.cut_short()
        yield self.reading.finish()

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
