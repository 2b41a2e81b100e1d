"""Answering a chat completion: open the upstream reply, then stream it or aggregate it."""
import logging
import select
import socket
import time

import orjson
from flask import Response
from flask import stream_with_context

from ztoapi.chat import output
from ztoapi.chat.thinking import CONTENT
from ztoapi.chat.thinking import Shaper
from ztoapi.chat.tools import ToolCallParser
from ztoapi.chat.tools import unfenced
from ztoapi.errors import ApiError
from ztoapi.upstream import TOOL_CALL
from ztoapi.upstream.reply import QUIET
from ztoapi.zai import failures

log = logging.getLogger("ztoapi")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
KEEPALIVE = b": keep-alive\n\n"
LIVENESS_TICK = 1.0   # how often a silent stream checks that its client is still there


class Waits:
    """How long a reader waits for upstream events, when it sends keep-alives, and how long the
    client may leave a write unread."""

    def __init__(self, settings, client_gone=lambda: False):
        self.gap = settings.upstream_read_timeout
        self.keepalive = settings.sse_keepalive_seconds
        self.write_timeout = settings.client_write_timeout
        self.client_gone = client_gone


class ClientConnection:
    """The client's socket under gunicorn: calling it tells whether the client hung up."""

    def __init__(self, sock):
        self.sock = sock

    def __call__(self):
        if self.sock is None:
            return False
        # poll, not select: select() cannot watch descriptors past 1024, which a worker holding a
        # thousand streams (and their upstream connections) reaches
        try:
            poller = select.poll()
            poller.register(self.sock.fileno(), select.POLLIN)
            events = poller.poll(0)
            if not events:
                return False
            if events[0][1] & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                return True
            return self.sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def limit_writes(self, seconds):
        """Give every write to the client a deadline (a client that stops reading is cut, not
        waited for); returns what puts the socket back as it was."""
        if self.sock is None:
            return lambda: None
        before = self.sock.gettimeout()
        self.sock.settimeout(seconds)

        def restore():
            try:
                self.sock.settimeout(before)
            except OSError:
                pass
        return restore


def client_gone_check(environ):
    """The ClientConnection of a request (one that never hangs up outside gunicorn)."""
    return ClientConnection(environ.get("gunicorn.socket"))


def respond(chat, upstream, waits, outcome):
    """The Response for `chat`. Failures before the first event raise ApiError (a real status)."""
    reply = upstream.open(chat)
    outcome["first_event"] = time.perf_counter()
    completion_id = output.new_completion_id()
    return answer(chat, reply, outcome,
                  whole=lambda: aggregate(chat, completion_id, reply, waits),
                  events=lambda: relay(chat, completion_id, reply, waits, outcome), waits=waits)


def answer(chat, reply, outcome, whole, events, waits=None):
    """One JSON body from `whole()`, or an SSE response of `events()`; the reply closed after both.
    A stream's writes to the client get the CLIENT_WRITE_TIMEOUT deadline while it lasts."""
    if not chat.stream:
        try:
            body = whole()
        finally:
            reply.close()
        note_reply(reply, outcome, "ok")
        return Response(orjson.dumps(body), mimetype="application/json")
    response = Response(stream_with_context(events()), mimetype="text/event-stream",
                        headers=SSE_HEADERS)
    response.call_on_close(reply.close)
    if waits is not None and isinstance(waits.client_gone, ClientConnection):
        response.call_on_close(waits.client_gone.limit_writes(waits.write_timeout))
    return response


def relay(chat, completion_id, reply, waits, outcome):
    """SSE bytes: one write per upstream block; a failure becomes an error event, then [DONE]."""
    encoder = output.ChunkEncoder(completion_id, chat.requested_model, chat.include_usage,
                                  tools=bool(chat.tools))
    try:
        head = encoder.first()
        for pairs in shaped(chat, reply, waits, keepalives=True):
            if pairs is QUIET:
                yield KEEPALIVE
                continue
            yield head + encoder.deltas(pairs)
            head = b""
        tail = encoder.finish("tool_calls" if encoder.calls else "stop")
        if chat.include_usage:
            tail += encoder.usage(reply.usage, reply.sent)
        yield head + tail + output.DONE
        note_reply(reply, outcome, "ok")
    except ApiError as error:
        note_reply(reply, outcome, error.code)
        log.warning("upstream failed mid-stream: %s", error.message)
        yield output.error_event(error)
    except ClientGone:
        note_reply(reply, outcome, "client_gone")
    except GeneratorExit:   # the client left (or stopped reading) while a write was pending
        note_reply(reply, outcome, "client_gone")
        raise
    except Exception:
        log.exception("relaying the reply failed")
        note_reply(reply, outcome, "server_error")
        yield output.error_event(ApiError(500, "The server had an error while relaying the reply."))
    finally:
        reply.close()


def shaped(chat, reply, waits, keepalives=False):
    """The reply as lists of (field, value) pairs, one list per upstream block, QUIET when a
    keep-alive is due: ("reasoning_content" | "content", text) and ("tool_call", ToolCall).
    Tool calls are parsed from the answer text unless the upstream made them natively."""
    shaper = Shaper(chat.think_mode)
    parser = ToolCallParser(chat.tools, chat.parallel_tool_calls) \
        if chat.tools and not reply.native_tools else None
    for batch in batches(reply, waits, keepalives):
        if batch is QUIET:
            yield QUIET
            continue
        pairs = shaper.shape(batch)
        if parser:
            pairs = parse_calls(parser, pairs)
        if pairs:
            yield pairs
    closing = shaper.finish()
    if parser:
        closing = parse_calls(parser, closing) + parser.finish()
    closing.append((CONTENT, output.citations(reply.sources)))
    closing = [pair for pair in closing if pair[1]]
    if closing:
        yield closing


def parse_calls(parser, pairs):
    out = []
    for field, text in pairs:
        out += parser.feed(text) if field == CONTENT else [(field, text)]
    return out


class ClientGone(Exception):
    """The client closed its connection while the upstream was silent."""


def batches(reply, waits, keepalives=False):
    """The reply's batches; QUIET when a keep-alive is due (if `keepalives`).

    Raises ApiError when the upstream is silent longer than UPSTREAM_READ_TIMEOUT."""
    last_event = last_write = time.monotonic()
    while True:
        now = time.monotonic()
        wait = min(LIVENESS_TICK, last_event + waits.gap - now)
        if keepalives and waits.keepalive:
            wait = min(wait, last_write + waits.keepalive - now)
        batch = reply.next(max(wait, 0.0))
        now = time.monotonic()
        if batch is None:
            return
        if batch is not QUIET:
            last_event = last_write = now
            yield batch
            continue
        if now - last_event >= waits.gap:
            raise failures.timed_out()
        if waits.client_gone():
            raise ClientGone()
        if keepalives and waits.keepalive and now - last_write >= waits.keepalive:
            last_write = now
            yield QUIET


def note_reply(reply, outcome, result):
    """What the request log and the statistics keep of a reply."""
    outcome["result"] = result
    outcome["events"] = reply.events
    outcome["retries"] = reply.retries
    outcome["usage"] = reply.usage
    outcome["upstream"] = reply.upstream
    log.debug("upstream reply: %d events, usage=%s", reply.events, reply.usage)


def aggregate(chat, completion_id, reply, waits):
    """The whole reply as one chat.completion body."""
    fields, calls = {}, []
    for pairs in shaped(chat, reply, waits):
        for field, value in pairs:
            if field == TOOL_CALL:
                calls.append(value)
            else:
                fields.setdefault(field, []).append(value)
    joined = {field: "".join(texts) for field, texts in fields.items()}
    if chat.json_output and "content" in joined:
        joined["content"] = unfenced(joined["content"])
    return output.completion_body(completion_id, chat.requested_model, joined, reply.usage,
                                  reply.sent, calls)
