"""Failed authentication, throttled per client address: wrong API keys (401 on /v1, /anthropic and
the dashboard's JSON APIs) and failed dashboard sign-ins. After AUTH_FAILURES_PER_MINUTE failures
from one address within a minute, its further attempts are refused (429 with Retry-After) without
their key being looked at, until that minute is over. 0 turns the throttle off.

Failures are counted in the shared store, so the count holds across workers and instances; while
the store cannot be reached, in each worker's memory (which counts them all the time as well).

The client address is the direct peer (REMOTE_ADDR). When the peer is a proxy trusted with
forwarded headers (gunicorn's FORWARDED_ALLOW_IPS: 127.0.0.1 and ::1 unless set) and it sends
X-Forwarded-For, the address is the last one in that header: the one the proxy itself saw. IPv6
addresses count by their /64 network, which one host usually holds whole. Clients on the machine
itself (a loopback address) are not throttled: health checks, local tools, a proxy that sends no
X-Forwarded-For (all its clients would otherwise share one count)."""
import ipaddress
import logging
import math
import os
from functools import lru_cache

from ztoapi.errors import ApiError
from ztoapi.store import OutageLog

log = logging.getLogger("ztoapi.throttle")

MINUTE = 60.0
DEFAULT_TRUSTED = "127.0.0.1,::1"   # gunicorn's default forwarded_allow_ips


class AuthThrottle:
    def __init__(self, store, memory, limit, trusted=None):
        self.store, self.memory, self.limit = store, memory, limit
        self.trusted = trusted_networks(os.environ.get("FORWARDED_ALLOW_IPS", DEFAULT_TRUSTED)
                                        if trusted is None else trusted)
        self.outage = OutageLog(log)

    def address(self, environ):
        """The address failures of this request count against, or None when it is not throttled."""
        peer = parse_ip(environ.get("REMOTE_ADDR", ""))
        if peer is not None and self._trusts(peer):
            forwarded = environ.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
            peer = parse_ip(forwarded) or peer
        if peer is None or peer.is_loopback:
            return None
        if peer.version == 6:
            return str(ipaddress.ip_network(f"{peer}/64", strict=False))
        return str(peer)

    def retry_after(self, address):
        """Seconds until `address` may try a key again; None when it may now."""
        if not self.limit or address is None:
            return None
        bucket = "authfail:" + address
        try:
            count, reset_after = self.store.peek(bucket)
        except Exception as error:
            self.outage.warn("failed authentication counted in this worker's memory, the store failed: %s",
                             error)
            count, reset_after = self.memory.peek(bucket)
        return reset_after if count >= self.limit else None

    def failed(self, address):
        """Count one failed authentication from `address`."""
        if not self.limit or address is None:
            return
        bucket = "authfail:" + address
        self.memory.hit(bucket, self.limit, MINUTE)
        try:
            self.store.hit(bucket, self.limit, MINUTE)
        except Exception as error:
            self.outage.warn("failed authentication counted in this worker's memory, the store failed: %s",
                             error)

    def _trusts(self, peer):
        return self.trusted == "*" or any(peer in network for network in self.trusted
                                          if network.version == peer.version)


def refused(retry_after):
    """The 429 for an address that failed too often (the route's envelope is chosen by its handler)."""
    seconds = max(math.ceil(retry_after), 1)
    return ApiError(429, f"Too many failed authentication attempts from your address. Try again in "
                         f"{seconds} s.", code="too_many_auth_failures",
                    headers={"Retry-After": str(seconds)})


def trusted_networks(text):
    """gunicorn's forwarded_allow_ips: "*" or comma-separated addresses and networks."""
    if text.strip() == "*":
        return "*"
    networks = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            pass   # gunicorn ignores what it cannot parse too
    return networks


@lru_cache(maxsize=1024)
def parse_ip(text):
    """An address, IPv4-mapped IPv6 taken as the IPv4 it maps; None when `text` is not one
    (remembered: every request parses its peer's address)."""
    try:
        address = ipaddress.ip_address(text.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        return address.ipv4_mapped
    return address
