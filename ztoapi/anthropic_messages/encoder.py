"""One reply as Anthropic's message: its SSE events, each framed as `event: <type>` and its JSON,
or the whole message body (see pipeline.relay for the encoder's part)."""
import orjson

from ztoapi.anthropic_messages.errors import error_body
from ztoapi.anthropic_messages.message import Message
from ztoapi.pipeline.tools import unfenced


def frame(event):
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def frames(events):
    return b"".join(frame(event) for event in events)


PING = frame({"type": "ping"})


class MessageEncoder:
    """message_start and a ping, the content blocks' events per upstream block (pings while the
    upstream is quiet), then message_delta and message_stop; reading ends at a stop sequence."""

    keepalive = PING

    def __init__(self, chat, stop_sequences=(), max_tokens=None):
        self.chat = chat
        self.message = Message(chat, stop_sequences, max_tokens)
        self.blocks = self.message.blocks
        self.events = []

    @property
    def stopped(self):
        return self.blocks.stop_sequence is not None

    def start(self):
        return frame(self.message.start()) + PING

    def feed(self, pairs):
        return frames(self.blocks.feed(pairs))

    def finish(self, reply):
        return frames(self.blocks.finish() + [self.message.delta(reply.usage), {"type": "message_stop"}])

    def failed(self, error):
        return frame(error_body(error))

    def collect(self, pairs):
        self.events += self.blocks.feed(pairs)

    def body(self, reply):
        message = self.message.body(self.events + self.blocks.finish(), reply.usage)
        if self.chat.json_output:
            for block in message["content"]:
                if block["type"] == "text":
                    block["text"] = unfenced(block["text"])
        return message
