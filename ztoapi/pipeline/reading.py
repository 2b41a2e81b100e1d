"""Reading an upstream reply for a client: how long to wait, when a keep-alive is due, and whether
the client is still there."""
import select
import socket
import time

from ztoapi.upstream.reply import QUIET
from ztoapi.zai import failures

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
