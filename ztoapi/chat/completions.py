"""Answering a chat completion: open the upstream reply, then stream it or aggregate it."""
import logging

import orjson
from flask import Response
from flask import stream_with_context

from ztoapi.chat import output
from ztoapi.chat.thinking import Shaper
from ztoapi.errors import ApiError

log = logging.getLogger("ztoapi")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def respond(chat, client, outcome):
    """The Response for `chat`. Failures before the first event raise ApiError (a real status)."""
    reply = client.open(chat, keep_markup=chat.think_mode == "raw")
    try:
        batches = reply.batches()
        first = next(batches)
    except BaseException:
        reply.close()
        raise
    completion_id = output.new_completion_id()
    if not chat.stream:
        with reply:
            body = aggregate(chat, completion_id, first, batches, reply)
        note_reply(reply, outcome, "ok")
        return Response(orjson.dumps(body), mimetype="application/json")
    response = Response(stream_with_context(relay(chat, completion_id, first, batches, reply, outcome)),
                        mimetype="text/event-stream", headers=SSE_HEADERS)
    response.call_on_close(reply.close)
    return response


def relay(chat, completion_id, first, batches, reply, outcome):
    """SSE bytes: one write per upstream block; a failure becomes an error event, then [DONE]."""
    encoder = output.ChunkEncoder(completion_id, chat.requested_model, chat.include_usage)
    shaper = Shaper(chat.think_mode)
    try:
        yield encoder.first() + encoder.deltas(shaper.shape(first))
        for batch in batches:
            pairs = shaper.shape(batch)
            if pairs:
                yield encoder.deltas(pairs)
        tail = encoder.deltas(shaper.finish()) + encoder.finish("stop")
        if chat.include_usage:
            tail += encoder.usage(reply.usage)
        yield tail + output.DONE
        note_reply(reply, outcome, "ok")
    except ApiError as error:
        note_reply(reply, outcome, error.code)
        log.warning("upstream failed mid-stream: %s", error.message)
        yield output.error_event(error)
    finally:
        reply.close()


def note_reply(reply, outcome, result):
    outcome["result"] = result
    outcome["events"] = reply.events
    log.debug("upstream reply: %d events, done=%s, usage=%s", reply.events, reply.done, reply.usage)


def aggregate(chat, completion_id, first, batches, reply):
    """The whole reply as one chat.completion body."""
    shaper = Shaper(chat.think_mode)
    fields = {}
    for batch in _chain(first, batches):
        for field, text in shaper.shape(batch):
            fields.setdefault(field, []).append(text)
    for field, text in shaper.finish():
        fields.setdefault(field, []).append(text)
    joined = {field: "".join(texts) for field, texts in fields.items()}
    return output.completion_body(completion_id, chat.requested_model, joined, reply.usage)


def _chain(first, rest):
    yield first
    yield from rest
