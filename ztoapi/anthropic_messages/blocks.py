"""The shaped reply as Anthropic content blocks: the events that open, fill and close them."""
import base64
import hashlib
import json

from ztoapi.anthropic_messages.stops import StopSequences
from ztoapi.pipeline.thinking import CONTENT
from ztoapi.pipeline.thinking import REASONING_CONTENT

SIGNATURE_PREFIX = "ztoapi-"


class ContentBlocks:
    """Turns (field, value) pairs into content_block_start/delta/stop events, indexed in order.

    Blank text opens no block on its own (it is kept for the text that may follow), and text
    stops at the first stop sequence: nothing after it is sent."""

    def __init__(self, stop_sequences=()):
        self.stops = StopSequences(stop_sequences)
        self.index = -1
        self.open = None        # the type of the block being filled
        self.thinking = []      # the open thinking block's text, signed when it closes
        self.blank = ""         # whitespace waiting for a text block
        self.tool_uses = 0
        self.output = []        # everything sent, for an output estimate when the upstream has none

    @property
    def stop_sequence(self):
        return self.stops.hit

    def feed(self, pairs):
        events = []
        for field, value in pairs:
            if self.stops.hit is not None:
                break
            if field == CONTENT:
                events += self._text(self.stops.feed(value))
                continue
            events += self._text(self.stops.flush())
            if field == REASONING_CONTENT:
                events += self._thinking(value)
            elif field == "tool_call":
                events += self._tool_use(value)
        return events

    def finish(self):
        held = self.stops.flush() if self.stops.hit is None else ""
        return self._text(held) + self._close()

    def _thinking(self, text):
        if not text:
            return []
        events = [] if self.open == "thinking" else self._open({"type": "thinking", "thinking": "",
                                                                 "signature": ""})
        self.thinking.append(text)
        return events + [self._delta({"type": "thinking_delta", "thinking": text}, text)]

    def _text(self, text):
        if not text:
            return []
        events = []
        if self.open != "text":
            text, self.blank = self.blank + text, ""
            if not text.strip():
                self.blank = text
                return []
            events = self._open({"type": "text", "text": ""})
        return events + [self._delta({"type": "text_delta", "text": text}, text)]

    def _tool_use(self, call):
        self.tool_uses += 1
        events = self._open({"type": "tool_use", "id": tool_use_id(call.id), "name": call.name,
                             "input": {}})
        events.append(self._delta({"type": "input_json_delta", "partial_json": call.arguments},
                                  call.arguments))
        return events + self._close()

    def _open(self, block):
        events = self._close()
        self.index += 1
        self.open = block["type"]
        return events + [{"type": "content_block_start", "index": self.index, "content_block": block}]

    def _close(self):
        if self.open is None:
            return []
        events = []
        if self.open == "thinking":
            events.append(self._delta({"type": "signature_delta",
                                       "signature": signature("".join(self.thinking))}))
            self.thinking = []
        self.open = None
        return events + [{"type": "content_block_stop", "index": self.index}]

    def _delta(self, delta, sent=""):
        self.output.append(sent)
        return {"type": "content_block_delta", "index": self.index, "delta": delta}


def tool_use_id(call_id):
    """toolu_ and the 24 characters of the parser's call_ id."""
    return "toolu_" + call_id.removeprefix("call_")


def signature(thinking):
    """An opaque signature for a thinking block. Nothing checks it: clients only send it back,
    and the gateway drops thinking blocks from history."""
    return SIGNATURE_PREFIX + base64.b64encode(hashlib.sha256(thinking.encode()).digest()).decode()


def apply(content, event):
    """Add one content-block event to a message's content list, as a client accumulates them."""
    if event["type"] == "content_block_start":
        content.append(dict(event["content_block"]))
        return
    if event["type"] != "content_block_delta":
        return
    block, delta = content[event["index"]], event["delta"]
    if delta["type"] == "text_delta":
        block["text"] += delta["text"]
    elif delta["type"] == "thinking_delta":
        block["thinking"] += delta["thinking"]
    elif delta["type"] == "signature_delta":
        block["signature"] = delta["signature"]
    elif delta["type"] == "input_json_delta":
        block["input"] = json.loads(delta["partial_json"])   # a call's input comes in one delta
