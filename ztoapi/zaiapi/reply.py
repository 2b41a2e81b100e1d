"""Reading one Z.ai API reply: SSE chunks (OpenAI's chat.completion.chunk) → pieces.

delta.reasoning_content is REASONING, delta.content ANSWER; tool calls are gathered by their index
(id and name from their first delta, arguments joined) and handed out whole, as TOOL_CALL, once
the next call begins or the reply finishes; with one_call (the client's parallel_tool_calls: false,
not a field of the API's) only the first is handed out. The usage comes in the final chunk, with
its finish_reason; `data: [DONE]` ends the stream.
"""
import logging

import orjson

from ztoapi.errors import ApiError
from ztoapi.pipeline.tools import ToolCall
from ztoapi.pipeline.tools import new_call_id
from ztoapi.upstream import ANSWER
from ztoapi.upstream import REASONING
from ztoapi.upstream import TOOL_CALL
from ztoapi.upstream.http import StreamedResponse
from ztoapi.zaiapi import failures

log = logging.getLogger("ztoapi.upstream")


class ApiStream(StreamedResponse):
    """An open API response. `batches()` yields lists of (kind, value) pieces, one per block read
    that held chunks; it raises ApiError for an error chunk, a timeout or a stream cut short."""

    def __init__(self, response, one_call=False):
        super().__init__(response, failures)
        self.one_call = one_call
        self.handed_out = 0   # tool calls handed out so far
        self.events = 0
        self.usage = None
        self.sources = []
        self.finish_reason = None
        self.done = False
        self.calls = {}    # index → {"id", "name", "arguments"} of the calls not handed out yet

    def batches(self):
        buffer = b""
        blocks = self.blocks()
        for block in blocks:
            lines = (buffer + block).split(b"\n")
            buffer = lines.pop()
            pieces, read = [], self.events
            try:
                for line in lines:
                    if line.startswith(b"data:"):
                        pieces += self._read(line[5:].strip())
                    if self.done:
                        break
            except ApiError:
                if pieces:
                    yield pieces   # what came before the error chunk, then the error
                raise
            if self.done:
                yield pieces + self._calls_out()
                if self.finish_reason == "network_error":
                    raise failures.network_error()
                self.drain(blocks)
                return
            if self.events > read:
                yield pieces
        if self.finish_reason is None:   # no final chunk, no [DONE]: cut short
            raise failures.cut_short()
        yield self._calls_out()

    def _read(self, payload):
        """The pieces of one `data:` line."""
        if payload == b"[DONE]":
            self.done = True
            return []
        try:
            chunk = orjson.loads(payload)
        except ValueError:
            log.debug("skipped an API line that is not JSON: %.80r", payload)
            return []
        if not isinstance(chunk, dict):
            return []
        if chunk.get("error"):
            raise failures.from_event(chunk["error"])
        self.events += 1
        if isinstance(chunk.get("usage"), dict):
            self.usage = dict(chunk["usage"])
        pieces = []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            if isinstance(delta.get("reasoning_content"), str) and delta["reasoning_content"]:
                pieces.append((REASONING, delta["reasoning_content"]))
            if isinstance(delta.get("content"), str) and delta["content"]:
                pieces.append((ANSWER, delta["content"]))
            for call in delta.get("tool_calls") or ():
                pieces += self._call_delta(call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        if self.finish_reason and not self.done:
            self.done = self.usage is not None or self.finish_reason == "network_error"
        return pieces

    def _call_delta(self, call):
        """Join one tool-call delta to its call; a new index hands out the calls before it."""
        if not isinstance(call, dict):
            return []
        index = call.get("index", len(self.calls))
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        out = []
        if index not in self.calls:
            out = self._calls_out()
            self.calls[index] = {"id": call.get("id"), "name": function.get("name"), "arguments": ""}
        gathered = self.calls[index]
        gathered["id"] = gathered["id"] or call.get("id")
        gathered["name"] = gathered["name"] or function.get("name")
        if isinstance(function.get("arguments"), str):
            gathered["arguments"] += function["arguments"]
        return out

    def _calls_out(self):
        calls, self.calls = list(self.calls.values()), {}   # in the order they began
        if self.one_call:
            calls = calls[:max(0, 1 - self.handed_out)]
        self.handed_out += len(calls)
        return [(TOOL_CALL, ToolCall(call["id"] or new_call_id(), call["name"] or "", call["arguments"] or "{}"))
                for call in calls]
