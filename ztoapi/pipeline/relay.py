"""Answering a request through its protocol's encoder: open the upstream reply, then stream it
(one guarded relay for every protocol) or return it whole.

An encoder writes one reply in its protocol's terms; the pipeline calls it with the shaped pairs
(see shaping.shaped) and never looks inside what it writes:

    start()        the bytes that open the stream (sent with the first content or keep-alive)
    feed(pairs)    the bytes for one upstream block (b"" when it has nothing to send yet)
    keepalive      the bytes sent while the upstream is silent
    finish(reply)  the bytes that close a complete stream
    failed(error)  the bytes that end a stream after a failure (the error event)
    collect(pairs) take one block for the whole body
    body(reply)    the whole answer as a JSON-ready dict
    stopped        true once the reply need not be read further (a stop sequence)
"""
import logging
import time

import orjson
from flask import Response
from flask import stream_with_context

from ztoapi.errors import ApiError
from ztoapi.pipeline.reading import ClientConnection
from ztoapi.pipeline.reading import ClientGone
from ztoapi.pipeline.shaping import shaped
from ztoapi.upstream.reply import QUIET

log = logging.getLogger("ztoapi")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def respond(chat, upstream, encoder, waits, outcome):
    """The Response for `chat`. Failures before the first event raise ApiError (a real status);
    a stream's writes to the client get the CLIENT_WRITE_TIMEOUT deadline while it lasts."""
    reply = upstream.open(chat)
    outcome["first_event"] = time.perf_counter()
    if not chat.stream:
        try:
            body = whole(chat, reply, encoder, waits)
        finally:
            reply.close()
        note_reply(reply, outcome, "ok")
        return Response(orjson.dumps(body), mimetype="application/json",
                        headers={"x-ztoapi-upstream": reply.upstream})
    response = Response(stream_with_context(relay(chat, reply, encoder, waits, outcome)),
                        mimetype="text/event-stream",
                        headers={**SSE_HEADERS, "x-ztoapi-upstream": reply.upstream})
    response.call_on_close(reply.close)
    if isinstance(waits.client_gone, ClientConnection):
        response.call_on_close(waits.client_gone.limit_writes(waits.write_timeout))
    return response


def whole(chat, reply, encoder, waits):
    """The whole reply as one body; reading stops early when the encoder has what it needs."""
    for pairs in shaped(chat, reply, waits):
        encoder.collect(pairs)
        if encoder.stopped:
            break
    return encoder.body(reply)


def relay(chat, reply, encoder, waits, outcome):
    """SSE bytes: one write per upstream block (the opening joins the first); a failure becomes
    the protocol's error event (after the opening, if it is still due), and the end of the stream."""
    head = b""
    try:
        head = encoder.start()
        for pairs in shaped(chat, reply, waits, keepalives=True):
            data = encoder.keepalive if pairs is QUIET else encoder.feed(pairs)
            if data or head:
                yield head + data
                head = b""
            if encoder.stopped:
                break
        yield head + encoder.finish(reply)
        note_reply(reply, outcome, "ok")
    except ApiError as error:
        note_reply(reply, outcome, error.code)
        log.warning("upstream failed mid-stream: %s", error.message)
        yield head + encoder.failed(error)
    except ClientGone:
        note_reply(reply, outcome, "client_gone")
    except GeneratorExit:   # the client left (or stopped reading) while a write was pending
        note_reply(reply, outcome, "client_gone")
        raise
    except Exception:
        log.exception("relaying the reply failed")
        note_reply(reply, outcome, "server_error")
        yield head + encoder.failed(ApiError(500, "The server had an error while relaying the reply."))
    finally:
        reply.close()


def note_reply(reply, outcome, result):
    """What the request log and the statistics keep of a reply."""
    outcome["result"] = result
    outcome["events"] = reply.events
    outcome["retries"] = reply.retries
    outcome["usage"] = reply.usage
    outcome["upstream"] = reply.upstream
    log.debug("upstream reply: %d events, usage=%s", reply.events, reply.usage)
