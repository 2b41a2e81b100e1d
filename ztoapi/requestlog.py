"""Request ids, and one record per request when it ends (for a stream: after its last byte).

For API requests (/v1, /anthropic) the record goes to every sink in
`app.extensions["record_sinks"]` (metrics, token limits, credential notes) at once, and to the log
(one line, text or JSON) and the shared store through `app.extensions["records"]`, which writes
them in batches off the request's path (ztoapi.recordwriter). A sink or store that fails is
logged and skipped: nothing here can break a response.

In a text line every value a client chose (path, model, user agent; key names too) is escaped:
a value with a space, quote, backslash, `=` or anything unprintable is written in double quotes,
its quotes, backslashes and unprintable characters escaped as Python writes them in a string
literal, so no value can end its field, forge another or start a new line."""
import logging
import secrets
import time

import orjson
from flask import current_app
from flask import g
from flask import request

from ztoapi.errors import protocol_of

log = logging.getLogger("ztoapi.access")
CLIENT_CHARS = 60
ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
BARE_UNSAFE = frozenset(' "\\=')   # a bare field value with one of these is quoted


def configure_logging(debug, log_format="text"):
    level = logging.DEBUG if debug else logging.INFO
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.ztoapi = True
    root = logging.getLogger()
    for previous in [h for h in root.handlers if getattr(h, "ztoapi", False)]:
        root.removeHandler(previous)   # an app made again (tests) replaces its own handler only
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("ztoapi").setLevel(level)
    logging.getLogger("urllib3").setLevel(logging.INFO if debug else logging.WARNING)


class JsonFormatter(logging.Formatter):
    """One JSON object a line; a request's line carries its whole record."""

    def format(self, record):
        entry = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        entry.update((name, value) for name, value in (getattr(record, "request", None) or {}).items()
                     if name != "time")
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def init_app(app):
    app.extensions["record_sinks"] = []


def start_request():
    g.request_id = "req_" + secrets.token_hex(16)
    g.started = time.perf_counter()
    g.wall_started = time.time()
    g.outcome = {}
    g.summary = {}


def finish_request(response):
    """Stamp the request id; the record is kept when the response ends (a stream: its last byte)."""
    response.headers["x-request-id"] = g.get("request_id") or "req_" + secrets.token_hex(16)
    finish = Finish(request_record(response), g.get("started") or time.perf_counter(),
                    g.get("outcome", {}), current_app.extensions["record_sinks"],
                    current_app.extensions.get("records"))
    if response.is_streamed:
        response.call_on_close(finish)
    else:
        finish()
    return response


def request_record(response):
    """The record's fields known when the response starts; Finish adds the rest at the end."""
    summary = g.get("summary", {})
    client_key = g.get("client_key")
    return {"time": g.get("wall_started") or time.time(), "request_id": response.headers["x-request-id"],
            "method": request.method, "path": request.path, "api": summary.get("api") or protocol_of(request.path, request.headers),
            "key": client_key.name if client_key else None, "model": summary.get("model"),
            "stream": summary.get("stream"), "status": response.status_code,
            "client": request.headers.get("User-Agent", "")[:CLIENT_CHARS],
            "error": g.get("error_code")}




class Finish:
    """Completes a request's record when it ends, logs it and hands it to the sinks."""

    def __init__(self, record, started, outcome, sinks, writer=None):
        self.record, self.started, self.outcome, self.sinks = record, started, outcome, sinks
        self.writer = writer   # ztoapi.recordwriter.RecordWriter: the log line and the store

    def __call__(self):
        record, outcome = self.record, self.outcome
        record["duration_ms"] = round((time.perf_counter() - self.started) * 1000, 1)
        first = outcome.get("first_event")
        record["ttft_ms"] = round((first - self.started) * 1000, 1) if first else None
        usage = outcome.get("usage") or {}
        record["tokens_in"] = count(usage.get("prompt_tokens"))
        record["tokens_out"] = count(usage.get("completion_tokens"))
        record["retries"] = outcome.get("retries", 0)
        record["upstream"] = outcome.get("upstream")
        if outcome.get("result") not in (None, "ok"):
            record["error"] = outcome["result"]
        if record["api"] is None:   # health checks, scrapes, pages: not API traffic
            log.debug("%s", text_line(record), extra={"request": record})
            return
        for sink in self.sinks:
            try:
                sink(record)
            except Exception as error:   # a sink must never break a response
                log.warning("request record not kept by %s: %s", getattr(sink, "__qualname__", sink), error)
        if self.writer is None:
            keep_records(None, [record])
        else:
            self.writer.add(record)   # the log line and the store, batched off the request's path


def keep_records(store, records):
    """The log line of each record, then the records into the store (one transaction)."""
    for record in records:
        log.info("%s", text_line(record), extra={"request": record})
    if store is None:
        return
    try:
        store.record_many(records)
    except Exception as error:   # a store that is down costs the statistics, never a response
        log.warning("%d request records not kept by the store: %s", len(records), error)


def text_line(record):
    parts = [record["request_id"], bare(record["method"]), bare(record["path"]), str(record["status"]),
             f"{record['duration_ms']:.1f}ms"]
    parts += [f"{name}={bare(record[name])}" for name in ("key", "model", "stream", "error")
              if record[name] is not None]
    if record["ttft_ms"] is not None:
        parts.append(f"ttft={record['ttft_ms']:.1f}ms")
    if record["tokens_in"] or record["tokens_out"]:
        parts.append(f"tokens={record['tokens_in']}/{record['tokens_out']}")
    if record["retries"]:
        parts.append(f"retries={record['retries']}")
    if record.get("upstream"):
        parts.append(f"upstream={record['upstream']}")
    parts.append(f"agent={quoted(record['client'])}")
    return " ".join(parts)


def bare(value):
    """A field value as it is when nothing in it could be misread, else quoted."""
    text = str(value)
    if text and text.isprintable() and BARE_UNSAFE.isdisjoint(text):
        return text
    return quoted(text)


def quoted(value):
    """`value` in double quotes, with quotes, backslashes and unprintable characters escaped."""
    text = str(value)
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return '"' + "".join(ESCAPES.get(char) or (char if char.isprintable() else hex_escape(char))
                         for char in text) + '"'


def hex_escape(char):
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def count(value):
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else 0
