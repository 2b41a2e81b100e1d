"""Answering a Messages request: open the upstream reply, then stream it or return one message."""
import time

from ztoapi.anthropic.message import Message
from ztoapi.anthropic.stream import relay
from ztoapi.chat.completions import answer
from ztoapi.chat.completions import shaped


def respond(chat, upstream, waits, outcome, stop_sequences=(), max_tokens=None):
    """The Response for `chat`. Failures before the first event raise ApiError (a real status)."""
    reply = upstream.open(chat)
    outcome["first_event"] = time.perf_counter()
    message = Message(chat, stop_sequences, max_tokens)
    return answer(chat, reply, outcome,
                  whole=lambda: aggregate(chat, message, reply, waits),
                  events=lambda: relay(chat, message, reply, waits, outcome), waits=waits)


def aggregate(chat, message, reply, waits):
    """The whole reply as one message body; reading stops at a stop sequence."""
    events = []
    for pairs in shaped(chat, reply, waits):
        events += message.blocks.feed(pairs)
        if message.blocks.stop_sequence is not None:
            break
    return message.body(events + message.blocks.finish(), reply.usage)
