"""Fetching one image URL: to the checked address only, within one wall-clock deadline, every
redirect checked like the first URL.

The connection goes to an address ztoapi.netguard resolved and judged, with the URL's own name in
the Host header and, for https, as the TLS server name and the name the certificate must match.
A failure to connect, a timeout or a broken answer all read the same ("fetching the image URL
failed"), so answers do not tell an open port from a closed one.
"""
import http.client
import http.cookiejar
import socket
import threading
import time
from contextlib import contextmanager
from urllib.parse import urljoin

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.exceptions import InvalidURL
from urllib3.connection import HTTPConnection
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from ztoapi.netguard import Refused
from ztoapi.netguard import check_characters
from ztoapi.netguard import checked_addresses
from ztoapi.netguard import is_public
from ztoapi.netguard import parse_target

MAX_REDIRECTS = 3
CHUNK = 64 * 1024
FETCH_FAILED = "fetching the image URL failed"
REDIRECT = "the image URL's redirect (Location)"


class FetchError(Exception):
    """The image URL was reached but gave no image; the message says why, for the client."""


class Deadline:
    """One fetch's wall-clock limit. Whoever waits for the fetch calls expire() when it passes: the
    fetch's sockets are shut, which ends any read or connect, however slowly the server trickles."""

    def __init__(self, at):
        self.at = at
        self.expired = False
        self._sockets = []
        self._lock = threading.Lock()

    def remaining(self):
        return self.at - time.monotonic()

    def watch(self, sock):
        twin = sock.dup()   # the same connection even after TLS takes the socket object over
        with self._lock:
            self._sockets.append(twin)
            expired = self.expired
        if expired:
            shut(twin)

    def expire(self):
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            shut(sock)

    def close(self):
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()


def shut(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Watched:
    """A connection whose socket its fetch's Deadline can shut."""

    def __init__(self, *args, deadline, **kwargs):
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def _new_conn(self):
        sock = super()._new_conn()
        self.deadline.watch(sock)
        return sock


class WatchedHTTPConnection(Watched, HTTPConnection):
    pass


class WatchedHTTPSConnection(Watched, HTTPSConnection):
    pass


class PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


class Pin:
    """Where one request goes: the checked address, with the URL's name for Host, SNI and the
    certificate check. Its pool serves this request only."""

    def __init__(self, target, address, deadline):
        self.target = target
        if target.scheme == "https":
            self.pool = PinnedHTTPSPool(str(address), target.port, maxsize=1, deadline=deadline,
                                        server_hostname=target.host, assert_hostname=target.host)
        else:
            self.pool = PinnedHTTPPool(str(address), target.port, maxsize=1, deadline=deadline)


class PinnedAdapter(HTTPAdapter):
    """Sends a request over its Pin's pool; a request without a Pin is refused, so nothing is ever
    sent to a fresh DNS answer."""

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        pin = getattr(request, "pin", None)
        if pin is None:
            raise InvalidURL("image requests go to a checked address only", request=request)
        return pin.pool

    def request_url(self, request, proxies):
        return request.pin.target.request_uri


class ImageSession(requests.Session):
    """Leaves redirects to the fetcher, which checks each one. requests would otherwise read a
    redirect's whole body (however large) to prepare `response.next`, even with allow_redirects=False."""

    def get_redirect_target(self, resp):
        return None


def image_session():
    """A session that keeps no cookies, reads no proxy settings and sends only pinned requests."""
    session = ImageSession()
    session.trust_env = False
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = PinnedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class ImageFetcher:
    """Fetches image URLs through one session; `public` judges addresses (None: all allowed)."""

    def __init__(self, resolve=socket.getaddrinfo, public=is_public):
        self.resolve = resolve
        self.public = public
        self.session = image_session()

    def fetch(self, target, deadline, meter):
        """(bytes, mime) of the image at `target` (a netguard.Target). Refusals raise
        netguard.Refused, bad answers FetchError; `meter` counts the bytes and may raise."""
        try:
            for _ in range(MAX_REDIRECTS + 1):
                addresses = checked_addresses(target, self.resolve, self.public)
                with self._answer(target, addresses, deadline) as response:
                    if response.is_redirect:
                        target = redirect_target(target, response.headers["Location"])
                        continue
                    mime = image_type(response)
                    data = read_body(response, meter)
                if deadline.expired:
                    raise FetchError(FETCH_FAILED)
                return data, mime
        except (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException,
                OSError):
            raise FetchError(FETCH_FAILED) from None
        raise FetchError(f"the image URL redirects more than {MAX_REDIRECTS} times")

    @contextmanager
    def _answer(self, target, addresses, deadline):
        """The response of the first checked address that takes the connection."""
        for address in addresses:
            if deadline.remaining() <= 0:
                raise FetchError(FETCH_FAILED)
            pin = Pin(target, address, deadline)
            request = self.session.prepare_request(requests.Request("GET", target.url, headers={
                "Host": target.netloc, "Accept": "image/*", "Accept-Encoding": "identity"}))
            request.pin = pin
            try:
                response = self.session.send(request, stream=True, allow_redirects=False,
                                             timeout=(left := max(deadline.remaining(), 0.001), left))
            except Exception as error:
                pin.pool.close()
                if address == addresses[-1] or not connection_refused(error):
                    raise
                continue
            break
        try:
            yield response
        finally:
            response.close()
            pin.pool.close()


def connection_refused(error):
    """Whether a send failed before anything was sent, so the next address may be tried."""
    reason = getattr(error.args[0] if error.args else None, "reason", None)
    return isinstance(error, requests.ConnectionError) and isinstance(reason, NewConnectionError)


def redirect_target(current, location):
    """The checked Target a redirect leads to."""
    try:
        location = location.encode("latin1").decode("utf8")   # as requests reads Location
    except UnicodeError:
        pass
    check_characters(location, REDIRECT)
    try:
        url = urljoin(current.url, location)
    except ValueError:
        raise Refused(f"{REDIRECT} cannot be parsed (check its host and port)") from None
    return parse_target(url, REDIRECT)


def image_type(response):
    if response.status_code != 200:
        raise FetchError(f"fetching the image URL gave HTTP {response.status_code}")
    mime = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not mime.startswith("image/"):
        raise FetchError(f"the image URL serves {mime or 'no content type'}, not an image")
    return mime


def read_body(response, meter):
    """The body as sent (no content decoding), counted by `meter` before and while reading."""
    length = response.headers.get("Content-Length", "").strip()
    if length.isdigit():
        meter.expect(int(length))
    data = bytearray()
    for block in response.raw.stream(CHUNK, decode_content=False):
        meter.take(len(block))
        data += block
    return bytes(data)
