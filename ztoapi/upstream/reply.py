"""A Reply: an upstream stream read on its own greenlet, handed to the pipeline in batches.

An upstream opens its stream inside the reader (`open_stream()` returns an object with
`batches()`, `close()`, `abort()` and the attributes `usage`, `sources` and `events`); the pipeline
waits on `next(wait)` with deadlines, sends keep-alives during silences and notices clients that
left, and the reader never blocks it. The reader holds at most about `buffer_limit` characters the
pipeline has not taken: past that it stops reading the upstream until the client catches up, so a
client that does not read costs a bounded amount of memory.
"""
import logging
import queue
import threading

from ztoapi.errors import ApiError
from ztoapi.upstream import ANSWER
from ztoapi.upstream import REASONING

log = logging.getLogger("ztoapi.upstream")

QUIET = object()   # next(): nothing arrived within the wait
_END = object()
_NOTHING = object()


def _primitives():
    """(Queue, Event, spawn): gevent's own under gevent, where a patched stdlib queue costs several
    switches a call and a patched Thread several locks; the stdlib's otherwise."""
    try:
        from gevent import monkey
        if monkey.is_module_patched("threading"):
            import gevent
            from gevent.event import Event as GeventEvent
            from gevent.queue import Queue as GeventQueue
            return GeventQueue, GeventEvent, gevent.spawn
    except ImportError:
        pass
    return (queue.Queue, threading.Event,
            lambda run, *args: threading.Thread(target=run, args=args, daemon=True).start())


Queue, Event, spawn = _primitives()
DRAIN_WAIT = 1.0   # how often a paused reader looks again whether the reply was closed


def size_of(batch):
    """The characters of text a batch holds (what the buffer limit counts)."""
    return sum(len(value) for _, value in batch if type(value) is str)


class Reply:
    """One upstream reply. `next(wait)` gives all batches read since the last call as one list of
    (kind, value) pieces, None at the end, or QUIET; it raises the ApiError that ended the reply.

    `upstream` names who answered, `retries` counts the failed attempts before it opened, and
    `native_tools` says the upstream calls tools itself (else the pipeline parses calls from text)."""

    def __init__(self, open_stream, upstream, native_tools=False, on_error=None, buffer_limit=None):
        self.upstream = upstream
        self.native_tools = native_tools
        self.retries = 0
        self.stream = None
        self.closed = False
        self.finished = False     # the reader is done with the connection
        self.sent = {REASONING: 0, ANSWER: 0}   # characters handed out, for token estimates
        self._held = None         # the end or an error, read together with the last batch
        self._first = _NOTHING    # the batch first() waited for, until next() hands it out
        self._queue = Queue()
        self._on_error = on_error   # maps an unexpected reader failure to an ApiError
        self._limit = buffer_limit
        self._put = self._taken = 0   # characters queued by the reader / taken by next(): each
        self._drained = Event()       # side writes only its own counter, so no lock is needed
        spawn(self._run, open_stream)

    @property
    def usage(self):
        return getattr(self.stream, "usage", None)

    @property
    def sources(self):
        return getattr(self.stream, "sources", None) or []

    @property
    def events(self):
        return getattr(self.stream, "events", 0)

    def first(self, wait):
        """Wait up to `wait` seconds for the first batch (kept for the next `next()`). False when
        nothing came: the caller decides what a silent upstream means. Raises its ApiError."""
        batch = self.next(wait)
        if batch is QUIET:
            return False
        self._first = batch
        return True

    def next(self, wait):
        if self._first is not _NOTHING:
            batch, self._first = self._first, _NOTHING
            return batch
        item = self._held
        if item is None:
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                return QUIET
        self._held = None
        if item is _END:
            return None
        if isinstance(item, BaseException):
            raise item
        while self._queue.qsize():
            more = self._queue.get_nowait()
            if type(more) is not list:
                self._held = more   # the end or an error: after this batch
                break
            item += more
        taken = 0
        for kind, value in item:
            if type(value) is str:
                taken += len(value)
                if kind in self.sent:
                    self.sent[kind] += len(value)
        self._taken += taken
        self._drained.set()
        return item

    def close(self):
        """Stop reading: the upstream response is closed now or as soon as it opens.

        A reply read to its end has given its connection back to the pool: it is left alone."""
        self.closed = True
        self._drained.set()
        if self.stream is not None and not self.finished:
            self.stream.abort()

    def _run(self, open_stream):
        put = self._queue.put
        try:
            self.stream = open_stream()
        except ApiError as error:
            put(error)
            return
        except Exception as error:
            log.exception("opening the upstream reply failed")
            put(self._unexpected(error))
            return
        end = _END
        try:
            if not self.closed:
                for batch in self.stream.batches():
                    put(batch)
                    if self._limit:
                        self._put += size_of(batch)
                        self._wait_for_room()
                    if self.closed:
                        break
        except ApiError as error:
            end = error
        except Exception as error:   # a reply cut under us, or a bug: never leave readers waiting
            log.debug("upstream reader stopped: %r", error)
            end = self._unexpected(error)
        finally:
            self.stream.close()
            self.finished = True
        put(end)   # only now: the reader may close the reply as soon as it sees the end

    def _wait_for_room(self):
        """Pause reading while the pipeline holds more than the limit untaken."""
        while self._put - self._taken > self._limit and not self.closed:
            self._drained.clear()
            if self._put - self._taken > self._limit and not self.closed:
                self._drained.wait(DRAIN_WAIT)

    def _unexpected(self, error):
        if self._on_error is not None:
            return self._on_error(error)
        return ApiError(502, "The upstream reply ended unexpectedly.", code="upstream_stream_cut",
                        type="server_error")
