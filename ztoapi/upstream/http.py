"""What both HTTP upstreams (chat.z.ai, Z.ai's API) share: requests prepared and sent directly,
one call with its failures as the upstream's ApiErrors, and an open streamed response read block
by block. Their sessions come from ztoapi.upstream.pools.

`failures` is the upstream's own module of errors (ztoapi.zai.failures, ztoapi.zaiapi.failures):
each has `unreachable(error)`, `timed_out(connecting=False)` and `cut_short()`, worded for it.
"""
import socket

import requests
import urllib3
from requests.structures import CaseInsensitiveDict

from ztoapi.errors import ApiError

READ_FAILURES = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)
DRAIN_BYTES = 64 * 1024


def prepared_request(method, url, headers, data=None, **other):
    """What requests.Request(...).prepare() makes, made directly for the common case: a URL this
    gateway built already quoted and a bytes body. Parsing and re-quoting the URL, checking each
    header and encoding the body again cost a tenth of a stream's CPU in the benchmark's profile
    (http.client still checks every header it sends). Anything else (a multipart upload) is
    prepared by requests as usual."""
    if other or not isinstance(data, (bytes, type(None))) or not url.isascii():
        return requests.Request(method, url, headers=headers, data=data, **other).prepare()
    request = requests.PreparedRequest()
    request.method = method
    request.url = url
    request.headers = CaseInsensitiveDict(headers)
    request.body = data
    if data is not None or method not in ("GET", "HEAD"):
        request.headers["Content-Length"] = str(len(data or b""))
    return request


def send(session, failures, method, url, headers, timeout, stream=False, **body):
    """One request on `session`; a connection or timeout failure as the upstream's ApiError.

    Sent by the session's adapter itself: Session.send's hooks, cookie jar and redirect handling
    do nothing for these sessions (no hooks, no cookies kept, no redirects followed) and cost as
    much as the pool lookup."""
    try:
        adapter = session.get_adapter(url)
        response = adapter.send(prepared_request(method, url, headers, **body), stream=stream, timeout=timeout,
                                verify=session.verify, cert=session.cert, proxies=session.proxies)
        if not stream:
            response.content   # read now, as Session.send does, so the connection goes back to the pool
        return response
    except requests.ConnectTimeout:
        raise failures.timed_out(connecting=True) from None
    except requests.Timeout:
        raise failures.timed_out() from None
    except requests.RequestException as error:
        raise failures.unreachable(error) from None


class StreamedResponse:
    """An open streamed response: its body's blocks as they arrive, and the ways to end it."""

    def __init__(self, response, failures):
        self.response = response
        self.failures = failures

    def blocks(self):
        """The body's blocks; a read that times out or fails raises the upstream's ApiError."""
        blocks = self.response.iter_content(chunk_size=None)
        while True:
            try:
                block = next(blocks, None)
            except requests.exceptions.ConnectionError as error:
                if "timed out" in str(error).lower():
                    raise self.failures.timed_out() from None
                raise self.failures.cut_short() from None
            except READ_FAILURES:
                raise self.failures.cut_short() from None
            if block is None:
                return
            yield block

    def drain(self, blocks):
        """Read the little that follows the end (`[DONE]`, the chunked end), so the connection
        goes back to the pool instead of being closed; a reply that keeps talking is cut."""
        left = DRAIN_BYTES
        try:
            for block in blocks:
                left -= len(block)
                if left < 0:
                    return
        except ApiError:   # cut while draining: the reply was read whole already
            pass

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
