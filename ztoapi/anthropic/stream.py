"""The streamed message: Anthropic's SSE events, each framed as `event: <type>` and its JSON."""
import logging

import orjson

from ztoapi.anthropic.errors import error_body
from ztoapi.chat.completions import ClientGone
from ztoapi.chat.completions import note_reply
from ztoapi.chat.completions import shaped
from ztoapi.errors import ApiError
from ztoapi.upstream.reply import QUIET

log = logging.getLogger("ztoapi")


def frame(event):
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def frames(events):
    return b"".join(frame(event) for event in events)


PING = frame({"type": "ping"})


def relay(chat, message, reply, waits, outcome):
    """SSE bytes: message_start and a ping, the blocks' events per upstream block (pings while it
    is quiet), then message_delta and message_stop. A failure becomes an error event, then the end."""
    try:
        yield frame(message.start()) + PING
        for pairs in shaped(chat, reply, waits, keepalives=True):
            if pairs is QUIET:
                yield PING
                continue
            events = message.blocks.feed(pairs)
            if events:
                yield frames(events)
            if message.blocks.stop_sequence is not None:
                break
        yield frames(message.blocks.finish() + [message.delta(reply.usage), {"type": "message_stop"}])
        note_reply(reply, outcome, "ok")
    except ApiError as error:
        note_reply(reply, outcome, error.code)
        log.warning("upstream failed mid-stream: %s", error.message)
        yield frame(error_body(error))
    except ClientGone:
        note_reply(reply, outcome, "client_gone")
    except GeneratorExit:   # the client left (or stopped reading) while a write was pending
        note_reply(reply, outcome, "client_gone")
        raise
    except Exception:
        log.exception("relaying the reply failed")
        note_reply(reply, outcome, "server_error")
        yield frame(error_body(ApiError(500, "The server had an error while relaying the reply.")))
    finally:
        reply.close()
