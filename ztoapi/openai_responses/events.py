"""One response of OpenAI's Responses API as it grows: its output items, the streamed events that
build them, and the Response object they end in.

The shaped reply arrives as (field, value) pairs: reasoning becomes a `reasoning` item with one
summary part, answer text a `message` item with one `output_text` part, each tool call a
`function_call` item. Each item is opened, filled and closed in the order OpenAI streams it
(output_item.added → content or summary part → deltas → done events → output_item.done), every
event carries the next `sequence_number`, and `response.completed` repeats the whole output.
"""
import secrets
import time

from ztoapi.pipeline.thinking import CONTENT
from ztoapi.pipeline.thinking import REASONING_CONTENT
from ztoapi.upstream import TOOL_CALL


def new_id(prefix):
    return f"{prefix}_{secrets.token_hex(24)}"


def usage_of(usage, reasoning_tokens):
    """The Responses API's usage from an OpenAI-shaped one (prompt/completion tokens)."""
    usage = usage or {}
    prompt = usage.get("prompt_tokens") or 0
    completion = usage.get("completion_tokens") or 0
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return {"input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": prompt + completion}


class ResponseEvents:
    """The events and the final object of one response. `echo` holds the request's settings the
    Response object repeats (model, instructions, tools, text, reasoning, ...)."""

    def __init__(self, echo, response_id=None, created_at=None):
        self.id = response_id or new_id("resp")
        self.created_at = created_at or int(time.time())
        self.echo = echo
        self.sequence = 0
        self.output = []       # the finished items
        self.open = None       # (kind, item, text so far) of the item being filled
        self.calls = 0

    # -------------------------------------------------------------- the object

    def response(self, status, usage=None, error=None, incomplete=None):
        """The Response object in its current state."""
        return {"id": self.id, "object": "response", "created_at": self.created_at, "status": status,
                "background": False, "error": error, "incomplete_details": incomplete,
                "completed_at": int(time.time()) if status == "completed" else None,
                **self.echo, "output": list(self.output), "usage": usage}

    # -------------------------------------------------------------- streaming

    def start(self):
        created = self.response("in_progress")
        return [self._event("response.created", response=created),
                self._event("response.in_progress", response=created)]

    def feed(self, pairs):
        events = []
        for field, value in pairs:
            if field == REASONING_CONTENT:
                events += self._text("reasoning", value)
            elif field == CONTENT:
                events += self._text("message", value)
            elif field == TOOL_CALL:
                events += self._close() + self._call(value)
        return events

    def finish(self, usage):
        return self._close() + [self._event("response.completed",
                                            response=self.response("completed", usage))]

    def failed(self, error):
        """The end of a stream that failed: every client stops at `response.failed` (some ignore
        `error` events), and the SDKs raise at the nested `error` event before it."""
        detail = {"code": error.code or "server_error", "message": error.message}
        return [self._event("error", error={"type": error.type, "code": error.code,
                                            "message": error.message, "param": error.param}),
                self._event("response.failed", response=self.response("failed", error=detail))]

    # -------------------------------------------------------------- the whole object at once

    def complete(self, usage):
        """The finished Response (the JSON answer): every open item closed."""
        self._close()
        return self.response("completed", usage)

    # -------------------------------------------------------------- items

    def _text(self, kind, text):
        if not text:
            return []
        events = []
        if self.open is None or self.open[0] != kind:
            events = self._close() + self._open_text(kind)
        kind, item, parts = self.open
        parts.append(text)
        if kind == "reasoning":
            return events + [self._event("response.reasoning_summary_text.delta", item_id=item["id"],
                                         output_index=len(self.output), summary_index=0, delta=text)]
        return events + [self._event("response.output_text.delta", item_id=item["id"],
                                     output_index=len(self.output), content_index=0, delta=text,
                                     logprobs=[])]

    def _open_text(self, kind):
        index = len(self.output)
        if kind == "reasoning":
            item = {"id": self._item_id("rs"), "type": "reasoning", "content": [], "summary": []}
            self.open = (kind, item, [])
            return [self._event("response.output_item.added", item=item, output_index=index),
                    self._event("response.reasoning_summary_part.added", item_id=item["id"],
                                output_index=index, summary_index=0,
                                part={"type": "summary_text", "text": ""})]
        item = {"id": self._item_id("msg"), "type": "message", "status": "in_progress", "content": [],
                "role": "assistant"}
        self.open = (kind, item, [])
        return [self._event("response.output_item.added", item=item, output_index=index),
                self._event("response.content_part.added", item_id=item["id"], output_index=index,
                            content_index=0, part=output_text(""))]

    def _close(self):
        """The done events of the item being filled, which joins the output."""
        if self.open is None:
            return []
        kind, item, parts = self.open
        self.open = None
        text, index = "".join(parts), len(self.output)
        if kind == "reasoning":
            part = {"type": "summary_text", "text": text}
            done = {**item, "summary": [part]}
            events = [self._event("response.reasoning_summary_text.done", item_id=item["id"],
                                  output_index=index, summary_index=0, text=text),
                      self._event("response.reasoning_summary_part.done", item_id=item["id"],
                                  output_index=index, summary_index=0, part=part)]
        else:
            done = {**item, "status": "completed", "content": [output_text(text)]}
            events = [self._event("response.output_text.done", item_id=item["id"], output_index=index,
                                  content_index=0, text=text, logprobs=[]),
                      self._event("response.content_part.done", item_id=item["id"], output_index=index,
                                  content_index=0, part=output_text(text))]
        self.output.append(done)
        return events + [self._event("response.output_item.done", item=done, output_index=index)]

    def _call(self, call):
        index = len(self.output)
        item_id = self._item_id("fc")
        opened = {"id": item_id, "type": "function_call", "status": "in_progress", "arguments": "",
                  "call_id": call.id, "name": call.name}
        done = {**opened, "status": "completed", "arguments": call.arguments}
        self.output.append(done)
        self.calls += 1
        return [self._event("response.output_item.added", item=opened, output_index=index),
                self._event("response.function_call_arguments.delta", item_id=item_id,
                            output_index=index, delta=call.arguments),
                self._event("response.function_call_arguments.done", item_id=item_id,
                            output_index=index, arguments=call.arguments),
                self._event("response.output_item.done", item=done, output_index=index)]

    def _item_id(self, prefix):
        """The id of the item opened next: it names this response and the item's place in its
        output, so that an `item_reference` to it can be found again (see item_place)."""
        return f"{prefix}_{self.id.removeprefix('resp_')}_{len(self.output)}"

    def _event(self, kind, **fields):
        event = {"type": kind, **fields, "sequence_number": self.sequence}
        self.sequence += 1
        return event


def item_place(item_id):
    """(response id, output index) of an item id made by ResponseEvents, or None."""
    prefix, _, rest = item_id.partition("_")
    token, _, index = rest.rpartition("_")
    if not token or not index.isdigit():
        return None
    return f"resp_{token}", int(index)


def output_text(text):
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
