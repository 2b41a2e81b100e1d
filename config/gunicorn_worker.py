"""ZtoApi's gunicorn worker: gunicorn's gevent worker with a total read deadline per request, and
its own errors in the JSON error envelope.

- Reading a request (its request line, headers and body) must end within REQUEST_READ_TIMEOUT
  seconds, counted from the connection's accept for its first request and from the first byte of
  each later one. gunicorn's gevent worker gives a request's line and headers `keepalive` (75 s
  here) and its body no limit at all, so clients sending a byte a second could hold hundreds of
  connections for minutes. When the deadline
  passes the client is answered 408 (while the headers are being read: here; while the body is:
  by the app, in its route's envelope) and the connection is closed. Idle waits between the
  requests of a kept-alive connection stay gunicorn's `keepalive`; what the application writes is
  not limited here.
- gunicorn's own rejections (a malformed request 400, a request line too long 414, too many or too
  large headers 431, and the others) are written as {"error": {"message", "type", "param", "code"}}
  instead of an HTML page; the status stays the one gunicorn chose.

Imported by the master before gevent patches anything: no Flask, werkzeug or requests at import
time (werkzeug is imported when a deadline first passes, in a patched worker).
"""
import json
import logging
import ssl
import time

import gevent
from gunicorn import util
from gunicorn.sock import is_http2_negotiated
from gunicorn.workers.ggevent import GeventWorker

from config.settings import Settings

READ_SIZE = 8192
CODES = {400: "invalid_request", 403: "forbidden", 408: "request_timeout", 414: "request_line_too_long",
         417: "expectation_failed", 431: "request_headers_too_large", 501: "not_implemented"}

_timeout_error = None


def read_timeout_error():
    """The exception a read past the deadline raises: werkzeug's 408, which the app turns into its
    route's error envelope when it happens while the body is read (made on first use, after the
    worker has patched)."""
    global _timeout_error
    if _timeout_error is None:
        from werkzeug.exceptions import RequestTimeout

        class RequestReadTimeout(RequestTimeout):
            description = "The request was not received in time: send its headers and body faster."
        _timeout_error = RequestReadTimeout
    return _timeout_error


class DeadlineSocket:
    """A client socket whose reads for a request must end by that request's deadline. Everything
    else (writes, peeks, timeouts, close) goes to the socket itself."""

    def __init__(self, sock, seconds, log):
        self.sock, self.seconds, self.log = sock, seconds, log
        self.deadline = time.monotonic() + seconds   # the first request: counted from the accept
        self.passed = False
        self.request = None   # the request being served (its body may still be read)

    def recv(self, size, flags=0):
        if flags:   # a peek (is the client still there?) reads no request
            return self.sock.recv(size, flags)
        if self.deadline is None:   # between requests: gunicorn's keepalive bounds the wait
            data = self.sock.recv(size)
            self.deadline = time.monotonic() + self.seconds
            return data
        remaining = self.deadline - time.monotonic()
        if remaining > 0 and not self.passed:
            with gevent.Timeout(remaining, False):
                return self.sock.recv(size)
        return self._pass()

    def finish(self, req):
        """After a response: drain what the app left unread of the request's body (a request
        refused before its body was read), within the deadline, so that the next request starts a
        clock of its own. False when the connection must close instead."""
        body = getattr(req, "body", None)
        try:
            while body is not None and body.read(READ_SIZE):
                pass
        except Exception:
            return False
        if self.passed:
            return False
        self.deadline = None
        return True

    def _pass(self):
        if self.request is not None:
            self.request.must_close = True   # the answer says Connection: close
        if not self.passed:
            self.passed = True
            self.log.info("Closing a slow client's connection: its request was not received within %.0f s",
                          self.seconds)
        raise read_timeout_error()()

    def __getattr__(self, name):
        return getattr(self.sock, name)


class ZtoApiWorker(GeventWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read_timeout = Settings.from_env().request_read_timeout

    def handle(self, listener, client, addr):
        if isinstance(client, ssl.SSLSocket):
            # what gunicorn does for a TLS socket it recognises, here, before the socket is wrapped
            if not self.cfg.do_handshake_on_connect and not self.shake_hands(client):
                util.close(client)
                return
            if is_http2_negotiated(client):   # HTTP/2 streams have their own flow control: unwrapped
                super().handle(listener, client, addr)
                return
        super().handle(listener, DeadlineSocket(client, self.read_timeout, self.log), addr)

    def shake_hands(self, client):
        """Complete a TLS handshake within the read deadline; False when it failed or took too long."""
        with gevent.Timeout(self.read_timeout, False):
            try:
                client.do_handshake()
            except OSError as error:   # ssl.SSLError included
                self.log.debug("TLS handshake failed: %s", error)
                return False
            return True
        return False

    def handle_request(self, listener_name, req, sock, addr):
        if not isinstance(sock, DeadlineSocket):
            return super().handle_request(listener_name, req, sock, addr)
        sock.request = req
        try:
            keep_alive = super().handle_request(listener_name, req, sock, addr)
        except TimeoutError:   # a write the client left unread past CLIENT_WRITE_TIMEOUT
            self.log.info("closed the connection of a client that stopped reading (CLIENT_WRITE_TIMEOUT)")
            raise StopIteration() from None
        finally:
            sock.request = None
        if not sock.finish(req):
            raise StopIteration()   # gunicorn closes the connection
        return keep_alive

    def handle_error(self, req, client, addr, exc):
        """gunicorn's handling (logging, status), its HTML page replaced by the JSON envelope."""
        if isinstance(exc, read_timeout_error()):
            write_json_error(client, 408, "Request Timeout", exc.description)
            return
        page = ErrorPage()
        super().handle_error(req, page, addr, exc)
        status, reason = page.status()
        if status is None:
            return
        detail = str(exc) if status < 500 else ""
        message = f"{reason}: {detail}" if detail else reason
        write_json_error(client, status, reason, message)


class ErrorPage:
    """Stands in for the client socket while gunicorn writes its HTML error page, to learn the
    status it chose."""

    def __init__(self):
        self.written = b""

    def gettimeout(self):
        return 0.0

    def setblocking(self, flag):
        pass

    def sendall(self, data):
        self.written += data

    def status(self):
        """(status, reason) of the page, or (None, None) when nothing was written."""
        line = self.written.split(b"\r\n", 1)[0].decode("latin-1")
        _, _, rest = line.partition(" ")
        code, _, reason = rest.partition(" ")
        return (int(code), reason) if code.isdigit() else (None, None)


def write_json_error(sock, status, reason, message):
    """One error response in the JSON envelope; the connection closes after it."""
    body = json.dumps({"error": {"message": message[:1000], "type": error_type(status), "param": None,
                                 "code": CODES.get(status)}}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    try:
        util.write_nonblock(sock, head + body)
    except Exception:
        logging.getLogger("gunicorn.error").debug("Failed to send the error response.")


def error_type(status):
    if status == 429:
        return "rate_limit_error"
    if status == 403:
        return "permission_error"
    return "server_error" if status >= 500 else "invalid_request_error"
