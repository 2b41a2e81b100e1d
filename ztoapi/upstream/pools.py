"""The upstreams' requests.Session: pooled keep-alive connections, no cookies, no proxy settings
read per request, and less work per request than requests and urllib3 do by default."""
import http.cookiejar
import select

import requests
from gevent.monkey import get_original
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.connectionpool import HTTPSConnectionPool

MAX_ORIGINS = 16
_poll = get_original("select", "poll")   # the system's poll: gevent's costs 50 µs a call


def make_session(settings):
    """A pooled session that keeps no cookies and reads no proxy settings per request."""
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = OriginPools(pool_connections=4, pool_maxsize=settings.upstream_pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if settings.upstream_proxy:
        session.proxies = {"http": settings.upstream_proxy, "https": settings.upstream_proxy}
    return session


class OriginPools(HTTPAdapter):
    """An HTTPAdapter that finds the connection pool of an origin once, not on every request
    (requests parses the URL and builds the pool's key each time: 2 % of a stream's CPU in the
    benchmark's profile). Through a proxy, requests picks the pool each time as usual."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._pools = {}

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": CheckedPool, "https": CheckedHTTPSPool}

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        if proxies or cert:
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        url = request.url
        key = (url[:url.find("/", url.find("//") + 2)], verify)
        pool = self._pools.get(key)
        if pool is None:
            if len(self._pools) >= MAX_ORIGINS:
                self._pools.clear()
            pool = self._pools[key] = super().get_connection_with_tls_context(request, verify)
        return pool


def readable_now(sock):
    """Whether `sock` has something to read this instant (data, or the peer's end of the
    connection), asked without yielding to other greenlets."""
    poller = _poll()
    poller.register(sock.fileno(), select.POLLIN)
    return bool(poller.poll(0))


class CheckedConnection(HTTPConnection):
    """A connection whose check before reuse (is it still open and quiet?) asks the system
    directly: urllib3 asks through gevent's poll, which sets up and tears down a watcher."""

    @property
    def is_connected(self):
        return self.sock is not None and not readable_now(self.sock)


class CheckedHTTPSConnection(HTTPSConnection):
    is_connected = CheckedConnection.is_connected


class CheckedPool(HTTPConnectionPool):
    ConnectionCls = CheckedConnection


class CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = CheckedHTTPSConnection
