"""Reading one chat.z.ai reply: SSE bytes → events → reasoning and answer pieces."""
import logging

import orjson
import requests
import urllib3

from ztoapi.zai import failures
from ztoapi.zai.document import Document

log = logging.getLogger("ztoapi.upstream")
READ_FAILURES = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)


class Reply:
    """An open upstream stream. Iterate `batches()` for lists of (kind, text) pieces."""

    def __init__(self, response, keep_markup=False):
        self.response = response
        self.document = Document(keep_markup)
        self.usage = None
        self.events = 0
        self.done = False

    def close(self):
        self.response.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def batches(self):
        """One list of pieces per block read; the first comes once the first event is read.

        Raises ApiError for an upstream error event, a timeout or a stream cut short.
        """
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
                raise failures.cut_short()
            lines = (buffer + block).split(b"\n")
            buffer = lines.pop()
            pieces = []
            read = self.events
            for line in lines:
                if line.startswith(b"data:"):
                    self._read_event(line[5:].strip(), pieces)
                if self.done:
                    pieces += self.document.finish()
                    yield pieces
                    return
            if self.events > read:
                yield pieces

    def _read_event(self, payload, pieces):
        if not payload or payload == b"[DONE]":
            return
        try:
            event = orjson.loads(payload)
            data = event.get("data", event) if event.get("type", "chat:completion") == "chat:completion" else event
        except (ValueError, AttributeError):
            log.debug("skipped an upstream line that is not a JSON object: %.80r", payload)
            return
        if not isinstance(data, dict):
            return
        self.events += 1
        error = event.get("error") or data.get("error")
        if not error and isinstance(data.get("data"), dict):
            error = data["data"].get("error")
        if error:
            raise failures.from_event(error)
        if data.get("edit_index") is not None and data.get("edit_content") is not None:
            pieces += self.document.edit(data["edit_index"], data["edit_content"])
        elif data.get("delta_content"):
            pieces += self.document.append(data["delta_content"])
        if data.get("usage"):
            self.usage = data["usage"]
        if data.get("done") or data.get("phase") == "done":
            self.done = True
