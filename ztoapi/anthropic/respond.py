"""Answering a Messages request: open the upstream reply, then stream it or return one message."""
import time

from ztoapi.anthropic.message import Message
from ztoapi.anthropic.stream import relay
from ztoapi.chat.completions import answer
from ztoapi.chat.completions import shaped


def respond(chat, client, waits, outcome, stop_sequences=(), max_tokens=None):
    """The Response for `chat`. Failures before the first event raise ApiError (a real status)."""
    pump, first = client.start(chat)
    outcome["first_event"] = time.perf_counter()
    message = Message(chat, stop_sequences, max_tokens)
    return answer(chat, pump, outcome,
                  whole=lambda: aggregate(chat, message, first, pump, waits),
                  events=lambda: relay(chat, message, first, pump, waits, outcome))


def aggregate(chat, message, first, pump, waits):
    """The whole reply as one message body; reading stops at a stop sequence."""
    events = []
    for pairs in shaped(chat, first, pump, waits):
        events += message.blocks.feed(pairs)
        if message.blocks.stop_sequence is not None:
            break
    return message.body(events + message.blocks.finish(), pump.reply.usage)
