"""Reading one chat.z.ai reply: SSE bytes → events → reasoning and answer pieces."""
import logging
import queue
import socket
import threading

import orjson
import requests
import urllib3

from ztoapi.errors import ApiError
from ztoapi.zai import failures
from ztoapi.zai.document import Document

log = logging.getLogger("ztoapi.upstream")
READ_FAILURES = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)
DRAIN_BYTES = 64 * 1024


class Reply:
    """An open upstream stream. Iterate `batches()` for lists of (kind, text) pieces."""

    def __init__(self, response, keep_markup=False):
        self.response = response
        self.document = Document(keep_markup)
        self.usage = None
        self.events = 0
        self.done = False

    def close(self):
        self.response.close()

    def abort(self):
        """Cut the connection under a reader blocked on it (another greenlet or thread).

        Closing the response there would wait for, or re-enter, the reader's buffered file; a
        socket shutdown wakes the reader instead, and the reader closes the response."""
        connection = getattr(self.response.raw, "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def batches(self):
        """One list of pieces per block read; the first comes once the first event is read.

        Raises ApiError for an upstream error event, a timeout or a stream cut short.
        """
        buffer = b""
        blocks = self.response.iter_content(chunk_size=None)
        while True:
            try:
                block = next(blocks, None)
            except requests.exceptions.ConnectionError as error:
                if "timed out" in str(error).lower():
                    raise failures.timed_out() from None
                raise failures.cut_short() from None
            except READ_FAILURES:
                raise failures.cut_short() from None
            if block is None:
                raise failures.cut_short()
            lines = (buffer + block).split(b"\n")
            buffer = lines.pop()
            pieces = []
            read = self.events
            for line in lines:
                if line.startswith(b"data:"):
                    self._read_event(line[5:].strip(), pieces)
                if self.done:
                    pieces += self.document.finish()
                    yield pieces
                    self._drain(blocks)
                    return
            if self.events > read:
                yield pieces

    def _drain(self, blocks):
        """Read what little follows the last event (`[DONE]`, the chunked end), so the connection
        goes back to the pool instead of being closed. A reply that keeps talking is cut."""
        left = DRAIN_BYTES
        try:
            for block in blocks:
                left -= len(block)
                if left < 0:
                    return
        except READ_FAILURES:
            pass

    def _read_event(self, payload, pieces):
        if not payload or payload == b"[DONE]":
            return
        try:
            event = orjson.loads(payload)
            data = event.get("data", event) if event.get("type", "chat:completion") == "chat:completion" else event
        except (ValueError, AttributeError):
            log.debug("skipped an upstream line that is not a JSON object: %.80r", payload)
            return
        if not isinstance(data, dict):
            return
        self.events += 1
        error = event.get("error") or data.get("error")
        if not error and isinstance(data.get("data"), dict):
            error = data["data"].get("error")
        if error:
            raise failures.from_event(error)
        phase = data.get("phase")
        edit_index, edit_content = data.get("edit_index"), data.get("edit_content")
        delta = data.get("delta_content")
        if type(edit_index) is int and isinstance(edit_content, str):
            pieces += self.document.edit(edit_index, edit_content, phase)
        elif delta and isinstance(delta, str):
            pieces += self.document.append(delta, phase)
        if isinstance(data.get("usage"), dict):
            self.usage = data["usage"]
        if data.get("done") or data.get("phase") == "done":
            self.done = True


QUIET = object()   # Pump.next: nothing arrived within the wait
_END = object()


def _primitives():
    """(Queue, spawn): gevent's own under gevent, where a patched stdlib queue costs several
    switches a call and a patched Thread several locks; the stdlib's otherwise."""
    try:
        from gevent import monkey
        if monkey.is_module_patched("threading"):
            import gevent
            from gevent.queue import Queue as GeventQueue
            return GeventQueue, gevent.spawn
    except ImportError:
        pass
    return queue.Queue, lambda run, *args: threading.Thread(target=run, args=args, daemon=True).start()


Queue, spawn = _primitives()


class Pump:
    """Opens and reads a reply on its own greenlet (a thread without gevent), so readers can wait
    with deadlines, send keep-alives during silences and notice clients that left."""

    def __init__(self, open_reply):
        self.reply = None
        self.retries = 0          # failed attempts before this reply opened
        self.closed = False
        self.finished = False     # the reader is done with the connection
        self.held = None          # the end, read together with the last batch
        self.queue = Queue()
        spawn(self._run, open_reply)

    def next(self, wait):
        """The next batch (all that were read since the last call, as one); None at the end;
        QUIET if nothing came within `wait` seconds. Raises the ApiError that ended the reply.

        Taking everything waiting at once keeps the relay at one client write per wake-up, however
        many events the upstream sent in between."""
        item = self.held
        if item is None:
            try:
                item = self.queue.get(timeout=wait)
            except queue.Empty:
                return QUIET
        self.held = None
        if item is _END:
            return None
        if isinstance(item, BaseException):
            raise item
        while self.queue.qsize():
            more = self.queue.get_nowait()
            if type(more) is not list:
                self.held = more   # the end or an error: after this batch
                break
            item += more
        return item

    def close(self):
        """Stop reading: the upstream response is closed now or as soon as it opens.

        A reply read to its end has given its connection back to the pool: it is left alone."""
        self.closed = True
        if self.reply is not None and not self.finished:
            self.reply.abort()

    def _run(self, open_reply):
        put = self.queue.put
        try:
            self.reply = open_reply()
        except ApiError as error:
            put(error)
            return
        except Exception:
            log.exception("opening the upstream reply failed")
            put(failures.cut_short())
            return
        end = _END
        try:
            if not self.closed:
                for batch in self.reply.batches():
                    put(batch)
        except ApiError as error:
            end = error
        except Exception as error:   # a reply cut under us, or a bug: never leave readers waiting
            log.debug("upstream reader stopped: %r", error)
            end = failures.cut_short()
        finally:
            self.reply.close()
            self.finished = True
        put(end)   # only now: the reader may close the pump as soon as it sees the end
