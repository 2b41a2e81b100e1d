"""Which URLs and addresses the gateway fetches from: one parse, one resolution, one verdict.

A URL is read once, by the parser the connection uses (urllib3's), and refused when another reader
(urllib.parse, a browser) could see a different host in it. Its name is resolved once; every address
must be public, and the connection goes to a checked address (ztoapi.imagefetch), never to a new
DNS answer, so a name that changes its answer between check and connect gains nothing.
"""
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import Url
from urllib3.util import parse_url

DEFAULT_PORTS = {"http": 80, "https": 443}
# WHATWG URL: a host whose last label is a number is an IPv4 address in any of its spellings
# (2130706433, 0177.0.0.1, 0x7f.1); only the plain dotted form reads the same everywhere.
NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)

# Embedding forms whose IPv4 address is judged in their place (RFC 4291, 2765, 6052, 3056, 4380)
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Not globally reachable, whatever the running Python's ipaddress tables say (IANA special-purpose
# registries; the ranges older Pythons count as global are the reason for this list)
NON_GLOBAL = tuple(ipaddress.ip_network(net) for net in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20", "fc00::/7", "fe80::/10",
    "fec0::/10", "ff00::/8"))
GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")


class Refused(ValueError):
    """A URL or an address the gateway does not fetch; the message says why, for the client."""


@dataclass(frozen=True)
class Target:
    """An http(s) URL as the connection reads it."""
    url: str            # normalized, without fragment
    scheme: str
    host: str           # lowercase name, or an IP address without brackets
    port: int
    netloc: str         # the Host header: host[:port] as written
    request_uri: str    # path and query for the request line


def parse_target(url, what="the image URL"):
    """The Target of an http(s) URL, or Refused; `what` names the URL in the reason."""
    check_characters(url, what)
    if not url[:8].lower().startswith(("http://", "https://")):
        raise Refused(f"{what} must be an http(s) URL")
    authority = re.split(r"[/?#]", url.partition("//")[2], maxsplit=1)[0]
    if not authority.isascii():
        raise Refused(f"{what} has a non-ASCII host (write international names in their xn-- form)")
    try:
        parsed = parse_url(url)
        split = urlsplit(url)
        split_port = split.port
    except (LocationParseError, ValueError):
        raise Refused(f"{what} cannot be parsed (check its host and port)") from None
    if parsed.auth is not None or "@" in split.netloc:
        raise Refused(f"{what} must not carry a user name or password (user@host)")
    if not parsed.host:
        raise Refused(f"{what} has no host")
    host = parsed.host.strip("[]") if parsed.host.startswith("[") else parsed.host
    port = parsed.port if parsed.port is not None else DEFAULT_PORTS[parsed.scheme]
    if not 0 < port < 65536:
        raise Refused(f"{what} has a port outside 1-65535")
    if "%" in host or (split.scheme.lower(), (split.hostname or "").lower(), split_port or port) != \
            (parsed.scheme, host, port):
        raise Refused(f"{what} is ambiguous: URL parsers disagree on its host or port")
    check_numeric_host(host, what)
    return Target(url=Url(parsed.scheme, host=parsed.host, port=parsed.port, path=parsed.path,
                          query=parsed.query).url,
                  scheme=parsed.scheme, host=host, port=port, netloc=parsed.netloc,
                  request_uri=parsed.request_uri)


def check_characters(url, what="the image URL"):
    """Refuse what URL parsers read differently: backslashes, whitespace, control characters."""
    if "\\" in url:
        raise Refused(f"{what} contains a backslash")
    if any(char.isspace() or ord(char) < 0x20 or 0x7f <= ord(char) <= 0x9f for char in url):
        raise Refused(f"{what} contains whitespace or a control character")


def check_numeric_host(host, what):
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()
    if ":" in host or not NUMERIC_LABEL.fullmatch(labels[-1]):
        return
    try:
        plain = str(ipaddress.IPv4Address(host)) == host
    except ValueError:
        plain = False
    if not plain:
        raise Refused(f"{what} has a host that is not a plain dotted IPv4 address (write it as a.b.c.d)")


def literal_address(host):
    """The IP address `host` is written as, or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def checked_addresses(target, resolve=socket.getaddrinfo, public=None):
    """The addresses to connect to for `target`: its name resolved once, each address judged by
    `public` (None: all allowed), in the resolver's order without repeats."""
    address = literal_address(target.host)
    if address is not None:
        addresses = [address]
    else:
        try:
            infos = resolve(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            infos = []
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        if not addresses:
            raise Refused(f"the image host {target.host} does not resolve")
    if public is not None and not all(public(address) for address in addresses):
        raise Refused("the image URL points to a non-public address; "
                      "set ALLOW_PRIVATE_IMAGE_URLS=true to allow it")
    return addresses


def embedded_ipv4(address):
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, translated, NAT64, 6to4,
    Teredo server and client), or None when it carries none."""
    if address.version != 6:
        return None
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped:
        return (address.ipv4_mapped,)
    if address in IPV4_COMPATIBLE or address in IPV4_TRANSLATED or address in NAT64:
        return (low32,)
    if address.sixtofour:
        return (address.sixtofour,)
    if address.teredo:
        return address.teredo
    return None


def is_public(address):
    """Whether an address is globally reachable; one that embeds IPv4 is judged by what it embeds."""
    embedded = embedded_ipv4(address)
    if embedded is not None:
        return all(is_public(inner) for inner in embedded)
    if address.version == 6 and address not in GLOBAL_UNICAST:
        return False
    if any(address in network for network in NON_GLOBAL if network.version == address.version):
        return False
    return address.is_global and not (address.is_multicast or address.is_private or address.is_reserved
                                      or address.is_loopback or address.is_link_local
                                      or address.is_unspecified)
