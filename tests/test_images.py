"""Images from clients: data: URLs, remote URLs, size and type checks, the SSRF guard, the intake limits."""
import base64
import ipaddress
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest
import requests

from config.settings import Settings
from ztoapi.errors import ApiError
from ztoapi.images import ImageLoader
from ztoapi.images import sniff
from ztoapi.netguard import embedded_ipv4
from ztoapi.netguard import is_public

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60
PARAM = "messages[0].content[1]"
FAILED = f"Invalid image in '{PARAM}': fetching the image URL failed."
# Tests stand a "public" host on 127.0.0.2: public.test resolves there, and the guard is told that
# this one address is public; every other address is judged by the real rules.
PUBLIC = ipaddress.ip_address("127.0.0.2")


def data_url(data, mime="image/png"):
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def loader(**settings):
    return ImageLoader(Settings.from_env({}, **settings))


def public_dns(host, port, **kwargs):
    """public.test and other.test resolve to the test's public host; everything else for real."""
    if host in ("public.test", "other.test"):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port))]
    return socket.getaddrinfo(host, port, **kwargs)


def public_or_test_host(address):
    return address == PUBLIC or is_public(address)


def guarded(resolve=public_dns, **settings):
    """A guarded loader (private addresses refused) for which public.test is reachable."""
    return ImageLoader(Settings.from_env({}, **settings), resolve=resolve, public=public_or_test_host)


def never(host, port, **kwargs):
    raise AssertionError(f"{host} was resolved: the URL should have been refused before")


class Images(BaseHTTPRequestHandler):
    """Serves test images by path (the query is ignored) and records every request (path, headers)."""

    def do_GET(self):
        self.server.seen.append((self.path, dict(self.headers)))
        listener = self.server.listener
        routes = {
            "/pixel.png": (200, "image/png", PNG, {}),
            "/photo.jpg": (200, "image/jpeg; charset=binary", JPEG, {}),
            "/page.html": (200, "text/html", b"<html></html>", {}),
            "/fake.png": (200, "image/png", b"not really a png", {}),
            "/big.png": (200, "image/png", PNG + b"\x00" * 5000, {}),
            "/600.png": (200, "image/png", PNG + b"\x00" * (600 - len(PNG)), {}),
            "/slow.png": (200, "image/png", PNG, {}),
            "/cookie.png": (200, "image/png", PNG, {"Set-Cookie": "session=secret; Path=/"}),
            "/to-pixel": (302, "text/plain", b"", {"Location": "/pixel.png"}),
            "/to-local": (302, "text/plain", b"", {"Location": f"http://127.0.0.1:{listener}/pixel.png"}),
            "/to-metadata": (302, "text/plain", b"", {"Location": "http://169.254.169.254/latest/meta-data/"}),
            "/to-mapped": (302, "text/plain", b"", {"Location": f"http://[::ffff:127.0.0.1]:{listener}/x"}),
            "/to-backslash": (302, "text/plain", b"", {"Location": f"http://127.0.0.1:{listener}\\@1.1.1.1/../x"}),
            "/to-userinfo": (302, "text/plain", b"", {"Location": f"http://public.test@127.0.0.1:{listener}/x"}),
            "/to-bad-port": (302, "text/plain", b"", {"Location": "http://public.test:99999/x"}),
            "/to-bad-ipv6": (302, "text/plain", b"", {"Location": "http://[::1/x"}),
            "/to-file": (302, "text/plain", b"", {"Location": "file:///etc/passwd"}),
            "/loop": (302, "text/plain", b"", {"Location": "/loop"}),
        }
        status, mime, body, headers = routes.get(self.path.split("?")[0], (404, "text/plain", b"no", {}))
        if self.path.startswith("/slow.png"):
            time.sleep(0.6)
        if self.path == "/to-pixel-slow-body":   # a redirect whose body comes late, if ever
            self.send_response(302)
            self.send_header("Location", "/pixel.png")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.flush()
            time.sleep(1.5)
            return
        self.send_response(status)
        for name, value in {"Content-Type": mime, "Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Listener:
    """A raw TCP server that records every connection it accepts (and closes it)."""

    def __init__(self, host="127.0.0.1", port=0):
        self.sock = socket.create_server((host, port))
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            self.accepted.append(peer)
            conn.close()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Trickler:
    """Answers every connection one byte at a time, `every` seconds apart: after a whole head, or
    from the first byte of the head on (`head_too`)."""

    HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1000000\r\n\r\n"

    def __init__(self, every, head_too=False):
        self.every = every
        self.head_too = head_too
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.hung_up = []   # when each client went away (monotonic time)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn):
        with conn:
            conn.recv(65536)
            if not self.head_too:
                conn.sendall(self.HEAD + PNG[:8])
            data = (self.HEAD + PNG) if self.head_too else b"\x00" * 1000000
            try:
                for byte in data[:200]:
                    conn.sendall(bytes([byte]))
                    time.sleep(self.every)
            except OSError:
                self.hung_up.append(time.monotonic())

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def listener():
    """A loopback listener that must see no connection from the guarded loader."""
    watch = Listener()
    yield watch
    watch.close()


@pytest.fixture(scope="module")
def image_server(listener):
    """The test's public host (127.0.0.2), with a loopback listener on the same port."""
    server = ThreadingHTTPServer(("127.0.0.2", 0), Images)
    server.seen = []
    server.listener = listener.port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def seen(image_server):
    image_server.seen.clear()
    return image_server.seen


@pytest.fixture(scope="module")
def port(image_server):
    return image_server.server_address[1]


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """An https image host on 127.0.0.2 whose certificate names public.test; (port, CA file, SNIs)."""
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", folder / "key.pem", "-out", folder / "cert.pem", "-subj", "/CN=public.test",
                    "-addext", "subjectAltName=DNS:public.test"], check=True, capture_output=True)
    names = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = ThreadingHTTPServer(("127.0.0.2", 0), Images)
    server.seen = []
    server.listener = 9
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], str(folder / "cert.pem"), names
    server.shutdown()
    server.server_close()


def test_sniff_knows_common_image_types():
    assert sniff(PNG) == "image/png"
    assert sniff(JPEG) == "image/jpeg"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"GIF89a...") == "image/gif"
    assert sniff(b"%PDF-1.7") is None


def test_data_url_image_is_decoded_and_named():
    image = loader().load(data_url(PNG), PARAM)
    assert (image.data, image.mime) == (PNG, "image/png")
    assert image.filename.endswith(".png")


@pytest.mark.parametrize("url, code", [
    ("data:image/png;base64,!!!notbase64", "invalid_image"),
    ("data:image/png,rawtext", "invalid_image"),
    (data_url(b"%PDF-1.7 not an image", "image/png"), "invalid_image"),
    (data_url(PNG, "text/plain"), "invalid_image"),
    ("ftp://example.com/a.png", "invalid_image"),
])
def test_bad_data_urls_are_400s_naming_the_part(url, code):
    with pytest.raises(ApiError) as caught:
        loader().load(url, PARAM)
    assert (caught.value.status, caught.value.code, caught.value.param) == (400, code, PARAM)
    assert PARAM in caught.value.message


def test_oversized_data_url_is_rejected():
    with pytest.raises(ApiError) as caught:
        loader(max_image_bytes=50).load(data_url(PNG + b"\x00" * 100), PARAM)
    assert caught.value.code == "image_too_large"


def test_data_url_of_exactly_max_image_bytes_is_accepted():
    assert len(loader(max_image_bytes=71).load(data_url(PNG + b"\x00"), PARAM).data) == 71


def test_remote_images_are_fetched_when_private_urls_are_allowed(image_server, port):
    images = loader(allow_private_image_urls=True)
    assert images.load(f"http://127.0.0.2:{port}/pixel.png", PARAM).data == PNG
    assert images.load(f"http://127.0.0.2:{port}/photo.jpg", PARAM).mime == "image/jpeg"
    assert images.load(f"http://127.0.0.2:{port}/to-pixel", PARAM).data == PNG


@pytest.mark.parametrize("path, says", [
    ("/page.html", "serves text/html, not an image"),
    ("/fake.png", "not a PNG, JPEG"),
    ("/missing.png", "HTTP 404"),
])
def test_remote_non_images_are_rejected(port, path, says):
    with pytest.raises(ApiError) as caught:
        loader(allow_private_image_urls=True).load(f"http://127.0.0.2:{port}{path}", PARAM)
    assert says in caught.value.message


def test_remote_image_over_the_cap_is_rejected_while_reading(port):
    with pytest.raises(ApiError) as caught:
        loader(allow_private_image_urls=True, max_image_bytes=1000).load(f"http://127.0.0.2:{port}/big.png", PARAM)
    assert caught.value.code == "image_too_large"


# ---------------------------------------------------------------- URL parsing: one parser, refusals

@pytest.mark.parametrize("url, says", [
    ("http://127.0.0.1:1\\@1.1.1.1/../x", "contains a backslash"),
    ("http://public.test\\@127.0.0.1/x.png", "contains a backslash"),
    ("http:\\\\127.0.0.1/x.png", "contains a backslash"),
    ("http://public.test/a\\b.png", "contains a backslash"),
])
def test_backslashes_are_refused(url, says):
    with pytest.raises(ApiError) as caught:
        guarded(resolve=never).load(url, PARAM)
    assert (caught.value.status, caught.value.code, caught.value.param) == (400, "invalid_image", PARAM)
    assert says in caught.value.message


@pytest.mark.parametrize("url", [
    "http://user@public.test/x.png", "http://user:secret@public.test/x.png", "http://@public.test/x.png",
    "http://public.test@127.0.0.1/x.png", "http://127.0.0.1%2f@1.1.1.1/x.png", "http://a.com;@127.0.0.1/x.png",
])
def test_userinfo_is_refused(url):
    with pytest.raises(ApiError) as caught:
        guarded(resolve=never).load(url, PARAM)
    assert caught.value.code == "invalid_image"
    assert "must not carry a user name or password (user@host)" in caught.value.message


@pytest.mark.parametrize("url", [
    "http://public.test/a\tb.png", "http://pub\nlic.test/x.png", " http://public.test/x.png",
    "http://public.test/x.png\r\n", "http://public.test/a b.png", "http://public.test/\x00.png",
    "http://public.test/\x7f.png", "http://public.test/\x85.png", "http://public.test/\u2028.png",
])
def test_whitespace_and_control_characters_are_refused(url):
    with pytest.raises(ApiError) as caught:
        guarded(resolve=never).load(url, PARAM)
    assert "contains whitespace or a control character" in caught.value.message


@pytest.mark.parametrize("url", ["http://bücher.de/x.png", "http://127。0。0。1/x.png", "http://ｌocalhost/x.png"])
def test_non_ascii_hosts_are_refused(url):
    with pytest.raises(ApiError) as caught:
        guarded(resolve=never).load(url, PARAM)
    assert "non-ASCII host" in caught.value.message


@pytest.mark.parametrize("url", ["http://public.test%2e/x.png", "http://%31%32%37.0.0.1/x.png",
                                 "http://[fe80::1%25eth0]/x.png"])
def test_urls_the_parsers_read_differently_are_refused(url):
    with pytest.raises(ApiError) as caught:
        guarded(resolve=never).load(url, PARAM)
    assert "ambiguous: URL parsers disagree on its host or port" in caught.value.message


@pytest.mark.parametrize("url, says", [
    ("http://public.test:99999/x.png", "cannot be parsed"),
    ("http://public.test:1:80/x.png", "cannot be parsed"),
    ("http://[::1/x.png", "cannot be parsed"),
    ("http://[::1", "cannot be parsed"),
    ("http://public.test:+80/x.png", "cannot be parsed"),
    ("http://[::1]x/x.png", "cannot be parsed"),
    ("http://public.test:0/x.png", "port outside 1-65535"),
    ("http:///x.png", "has no host"),
])
def test_urls_the_parser_rejects_are_400s_not_500s(url, says):
    with pytest.raises(ApiError) as caught:
        guarded(resolve=never).load(url, PARAM)
    assert (caught.value.status, caught.value.code, caught.value.param) == (400, "invalid_image", PARAM)
    assert says in caught.value.message


@pytest.mark.parametrize("url", [
    "http://2130706433/x.png", "http://0177.0.0.1/x.png", "http://0x7f.1/x.png", "http://0x7f000001/x.png",
    "http://127.1/x.png", "http://127.0.0.1./x.png", "http://1.2.3.4.5/x.png", "http://public.0x1/x.png",
    "http://017700000001/x.png",
])
def test_ipv4_spellings_other_than_dotted_decimal_are_refused(url):
    with pytest.raises(ApiError) as caught:
        guarded(resolve=never).load(url, PARAM)
    assert "not a plain dotted IPv4 address" in caught.value.message


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_x", "ftp://public.test/x.png",
                                 "javascript:alert(1)", "//public.test/x.png", "http//public.test/x.png",
                                 "http:/public.test/x.png"])
def test_schemes_other_than_http_and_https_are_refused(url):
    with pytest.raises(ApiError) as caught:
        guarded(resolve=never).load(url, PARAM)
    assert "must be a data: URL or an http(s) URL" in caught.value.message


# ---------------------------------------------------------------- addresses

@pytest.mark.parametrize("url", [
    "http://127.0.0.1/pixel.png", "http://10.0.0.1/pixel.png", "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/pixel.png", "http://192.168.1.10/a.png", "http://localhost/a.png",
    "http://[::ffff:127.0.0.1]/a.png", "http://0.0.0.0/a.png", "http://[::]/a.png", "http://100.64.0.1/a.png",
    "http://[fc00::1]/a.png", "http://[fe80::1]/a.png",
])
def test_guard_refuses_non_public_addresses(url):
    with pytest.raises(ApiError) as caught:
        loader().load(url, PARAM)
    assert "non-public address" in caught.value.message
    assert "ALLOW_PRIVATE_IMAGE_URLS" in caught.value.message


@pytest.mark.parametrize("address, inner", [
    ("::ffff:127.0.0.1", ["127.0.0.1"]),                          # IPv4-mapped
    ("::127.0.0.1", ["127.0.0.1"]),                               # IPv4-compatible
    ("::ffff:0:127.0.0.1", ["127.0.0.1"]),                        # IPv4-translated
    ("64:ff9b::7f00:1", ["127.0.0.1"]),                           # NAT64
    ("2002:7f00:1::", ["127.0.0.1"]),                             # 6to4
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", ["65.54.227.120", "127.0.0.1"]),   # Teredo server, client
])
def test_embedded_ipv4_addresses_are_found(address, inner):
    assert [str(a) for a in embedded_ipv4(ipaddress.ip_address(address))] == inner


def test_a_plain_ipv6_address_embeds_nothing():
    assert embedded_ipv4(ipaddress.ip_address("2606:4700::1111")) is None


@pytest.mark.parametrize("address", [
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1", "::169.254.169.254", "::ffff:0:127.0.0.1",
    "::ffff:0:a9fe:a9fe", "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::808:808",
    "2002:7f00:1::", "2002:a9fe:a9fe::1", "2002:c0a8:101::", "2001:0:4136:e378:8000:63bf:80ff:fffe",
    "2001:0:a00:1:8000:63bf:f7f7:f7f7",
])
def test_addresses_embedding_a_non_public_ipv4_are_not_public(address):
    assert is_public(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize("address", ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::",
                                     "2001:0:4136:e378:8000:63bf:f7f7:f7f7"])
def test_addresses_embedding_a_public_ipv4_are_judged_by_it(address):
    assert is_public(ipaddress.ip_address(address)) is True


@pytest.mark.parametrize("address", [
    "0.0.0.0", "0.1.2.3", "10.1.2.3", "100.64.0.1", "127.0.0.1", "127.255.255.254", "169.254.169.254",
    "172.16.0.1", "192.0.0.8", "192.0.2.1", "192.168.0.1", "198.18.0.1", "198.51.100.1", "203.0.113.1",
    "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
    "::", "::1", "100::1", "2001:db8::1", "2001:10::1", "3fff::1", "5f00::1", "fc00::1", "fd12::1",
    "fe80::1", "fec0::1", "ff02::1", "ff0e::1",
])
def test_non_global_ranges_are_not_public(address):
    assert is_public(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111", "2a00:1450::1"])
def test_global_unicast_addresses_are_public(address):
    assert is_public(ipaddress.ip_address(address)) is True


@pytest.mark.parametrize("host", ["[::ffff:127.0.0.1]", "[::127.0.0.1]", "[::ffff:0:7f00:1]", "[64:ff9b::7f00:1]",
                                  "[64:ff9b:1::7f00:1]", "[2002:7f00:1::]", "[2001:0:4136:e378:8000:63bf:80ff:fffe]"])
def test_image_urls_with_embedded_loopback_are_refused_without_a_connection(host, listener):
    with pytest.raises(ApiError) as caught:
        guarded(resolve=never).load(f"http://{host}:{listener.port}/x.png", PARAM)
    assert "non-public address" in caught.value.message
    assert listener.accepted == []


def test_every_resolved_address_is_checked():
    def two_answers(host, port, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port))]
    with pytest.raises(ApiError) as caught:
        guarded(resolve=two_answers).load("http://public.test/x.png", PARAM)
    assert "non-public address" in caught.value.message


def test_a_name_s_next_checked_address_is_tried_when_one_refuses_the_connection(port, seen):
    def two_answers(host, port, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.3", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port))]
    images = ImageLoader(Settings.from_env({}), resolve=two_answers,
                         public=lambda a: str(a) in ("127.0.0.2", "127.0.0.3"))
    assert images.load(f"http://public.test:{port}/pixel.png", PARAM).data == PNG
    assert len(seen) == 1


def test_guard_allows_public_hosts(port, seen):
    assert guarded().load(f"http://public.test:{port}/pixel.png", PARAM).data == PNG
    assert seen[0][0] == "/pixel.png"


def test_the_request_carries_the_url_s_host_and_goes_to_the_checked_address(port, seen):
    guarded().load(f"http://Public.Test:{port}/pixel.png?size=1", PARAM)
    assert seen[0][0] == "/pixel.png?size=1"
    assert seen[0][1]["Host"] == f"public.test:{port}"


def test_dns_rebinding_gains_nothing_the_name_is_resolved_once(port, seen, image_server):
    lookups = []
    loopback = Listener("127.0.0.1", port)   # where the name points on its second answer

    def rebinding(host, port, **kwargs):
        lookups.append(host)
        address = "127.0.0.2" if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
    try:
        assert guarded(resolve=rebinding).load(f"http://public.test:{port}/pixel.png", PARAM).data == PNG
    finally:
        loopback.close()
    assert lookups == ["public.test"]
    assert loopback.accepted == []
    assert len(seen) == 1


def test_https_fetch_sends_the_name_as_sni_and_checks_the_certificate_for_it(tls_server):
    port, ca_file, names = tls_server
    images = guarded()
    images.session.verify = ca_file
    assert images.load(f"https://public.test:{port}/pixel.png", PARAM).data == PNG
    assert names[-1] == "public.test"


def test_https_certificate_for_another_name_fails(tls_server):
    port, ca_file, names = tls_server
    images = guarded()
    images.session.verify = ca_file
    with pytest.raises(ApiError) as caught:
        images.load(f"https://other.test:{port}/pixel.png", PARAM)
    assert caught.value.message == FAILED
    assert names[-1] == "other.test"


def test_https_to_an_untrusted_certificate_fails(tls_server):
    port, _, _ = tls_server
    with pytest.raises(ApiError) as caught:
        guarded().load(f"https://public.test:{port}/pixel.png", PARAM)
    assert caught.value.message == FAILED


def test_a_request_without_a_checked_address_is_never_sent(listener):
    with pytest.raises(requests.exceptions.InvalidURL) as caught:
        loader().session.get(f"http://127.0.0.1:{listener.port}/x.png", timeout=1)
    assert "checked address only" in str(caught.value)
    assert listener.accepted == []


# ---------------------------------------------------------------- redirects

@pytest.mark.parametrize("path", ["/to-local", "/to-metadata", "/to-mapped"])
def test_guard_refuses_redirects_to_non_public_addresses(port, path, listener):
    with pytest.raises(ApiError) as caught:
        guarded().load(f"http://public.test:{port}{path}", PARAM)
    assert "non-public address" in caught.value.message
    assert listener.accepted == []


@pytest.mark.parametrize("path, says", [
    ("/to-backslash", "the image URL's redirect (Location) contains a backslash"),
    ("/to-userinfo", "the image URL's redirect (Location) must not carry a user name or password"),
    ("/to-bad-port", "the image URL's redirect (Location) cannot be parsed"),
    ("/to-bad-ipv6", "the image URL's redirect (Location) cannot be parsed"),
    ("/to-file", "the image URL's redirect (Location) must be an http(s) URL"),
])
def test_redirects_are_parsed_and_refused_like_the_first_url(port, path, says, listener):
    with pytest.raises(ApiError) as caught:
        guarded().load(f"http://public.test:{port}{path}", PARAM)
    assert (caught.value.status, caught.value.code, caught.value.param) == (400, "invalid_image", PARAM)
    assert says in caught.value.message
    assert listener.accepted == []


def test_redirects_are_followed_at_most_three_times(port, seen):
    with pytest.raises(ApiError) as caught:
        guarded().load(f"http://public.test:{port}/loop", PARAM)
    assert "redirects more than 3 times" in caught.value.message
    assert len(seen) == 4


def test_a_redirect_s_body_is_not_read(port):
    start = time.monotonic()
    assert guarded().load(f"http://public.test:{port}/to-pixel-slow-body", PARAM).data == PNG
    assert time.monotonic() - start < 1.0


def test_relative_redirects_on_a_public_host_are_followed(port):
    assert guarded().load(f"http://public.test:{port}/to-pixel", PARAM).data == PNG


# ---------------------------------------------------------------- session and failures

def test_the_image_session_keeps_no_cookies_and_reads_no_environment(port, seen):
    images = guarded()
    images.load(f"http://public.test:{port}/cookie.png", PARAM)
    images.load(f"http://public.test:{port}/pixel.png", PARAM)
    assert len(images.session.cookies) == 0
    assert "Cookie" not in seen[1][1]
    assert images.session.trust_env is False


def test_fetch_failures_read_the_same_whatever_the_port_does():
    closed = Listener()
    closed.close()
    hangs_up = Listener()
    silent = socket.create_server(("127.0.0.1", 0))
    images = loader(allow_private_image_urls=True, image_fetch_timeout=0.5)
    answers = []
    for port in (closed.port, hangs_up.port, silent.getsockname()[1]):
        with pytest.raises(ApiError) as caught:
            images.load(f"http://127.0.0.1:{port}/x.png", PARAM)
        answers.append(caught.value.message)
    silent.close()
    hangs_up.close()
    assert answers == [FAILED, FAILED, FAILED]


# ---------------------------------------------------------------- limits

def test_more_images_than_max_images_is_a_400_before_any_fetch(listener):
    parts = [(f"messages[0].content[{j}]", f"http://127.0.0.1:{listener.port}/{j}.png") for j in range(4)]
    with pytest.raises(ApiError) as caught:
        loader(max_images=3, allow_private_image_urls=True).load_parts(parts)
    assert (caught.value.status, caught.value.code, caught.value.param) == (400, "too_many_images", "messages[0].content[3]")
    assert caught.value.message == "A request may carry at most 3 images (MAX_IMAGES); this one has 4."
    assert listener.accepted == []


def test_max_images_counts_data_urls_too():
    messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": data_url(PNG)}}] * 11}]
    with pytest.raises(ApiError) as caught:
        loader().load_all(messages)
    assert caught.value.code == "too_many_images"
    assert "at most 10 images (MAX_IMAGES)" in caught.value.message
    ten = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": data_url(PNG)}}] * 10}]
    assert len(loader().load_all(ten)) == 10


def test_data_urls_over_the_request_budget_are_refused_before_decoding():
    parts = [("messages[0].content[0]", data_url(PNG + b"\x00" * 330)),
             ("messages[0].content[1]", data_url(PNG + b"\x00" * 330)),
             ("messages[0].content[2]", "data:image/png;base64," + "!" * 800)]   # not even base64
    with pytest.raises(ApiError) as caught:
        loader(max_image_bytes_per_request=1000).load_parts(parts)
    assert (caught.value.code, caught.value.param) == ("image_too_large", "messages[0].content[2]")
    assert "together are larger than MAX_IMAGE_BYTES_PER_REQUEST (1000 bytes)" in caught.value.message


def test_remote_images_share_the_request_budget(port):
    parts = [(f"messages[0].content[{j}]", f"http://127.0.0.2:{port}/600.png?{j}") for j in range(2)]
    with pytest.raises(ApiError) as caught:
        loader(allow_private_image_urls=True, max_image_bytes_per_request=1000).load_parts(parts)
    assert caught.value.code == "image_too_large"
    assert "MAX_IMAGE_BYTES_PER_REQUEST (1000 bytes)" in caught.value.message
    assert len(loader(allow_private_image_urls=True, max_image_bytes_per_request=1200).load_parts(parts)) == 2


def test_a_content_length_over_the_cap_is_refused_before_reading():
    slow = Trickler(every=0.5)
    start = time.monotonic()
    with pytest.raises(ApiError) as caught:
        loader(allow_private_image_urls=True, max_image_bytes=1000).load(f"http://127.0.0.1:{slow.port}/x.png", PARAM)
    slow.close()
    assert caught.value.code == "image_too_large"
    assert time.monotonic() - start < 0.4


def test_a_trickling_body_is_cut_at_the_fetch_deadline():
    slow = Trickler(every=0.3)
    start = time.monotonic()
    with pytest.raises(ApiError) as caught:
        loader(allow_private_image_urls=True, image_fetch_timeout=1.0).load(f"http://127.0.0.1:{slow.port}/x.png", PARAM)
    elapsed = time.monotonic() - start
    time.sleep(0.7)
    slow.close()
    assert caught.value.message == FAILED
    assert 0.9 < elapsed < 1.5
    assert slow.hung_up[0] - start < 1.8, "the connection itself was closed, not left trickling"


def test_a_trickling_head_is_cut_at_the_fetch_deadline():
    slow = Trickler(every=0.3, head_too=True)
    start = time.monotonic()
    with pytest.raises(ApiError) as caught:
        loader(allow_private_image_urls=True, image_fetch_timeout=1.0).load(f"http://127.0.0.1:{slow.port}/x.png", PARAM)
    elapsed = time.monotonic() - start
    slow.close()
    assert caught.value.message == FAILED
    assert 0.9 < elapsed < 1.5


def test_all_of_a_request_s_images_are_cut_at_the_request_deadline():
    slow = Trickler(every=0.3)
    parts = [(f"messages[0].content[{j}]", f"http://127.0.0.1:{slow.port}/{j}.png") for j in range(3)]
    start = time.monotonic()
    with pytest.raises(ApiError) as caught:
        loader(allow_private_image_urls=True, image_fetch_timeout=10.0, image_request_timeout=1.0).load_parts(parts)
    elapsed = time.monotonic() - start
    slow.close()
    assert "fetching the image URL failed" in caught.value.message
    assert 0.9 < elapsed < 1.5


def test_remote_images_are_fetched_side_by_side(port):
    parts = [(f"messages[0].content[{j}]", f"http://127.0.0.2:{port}/slow.png?{j}") for j in range(5)]
    start = time.monotonic()
    images = loader(allow_private_image_urls=True).load_parts(parts)
    elapsed = time.monotonic() - start
    assert [image.data for image in images] == [PNG] * 5
    assert elapsed < 1.2, "five 0.6 s images took the time of one, not of five"


def test_load_all_names_each_part():
    messages = [{"role": "user", "content": [{"type": "text", "text": "look"},
                                             {"type": "image_url", "image_url": {"url": data_url(PNG)}}]},
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]
    with pytest.raises(ApiError) as caught:
        loader().load_all(messages)
    assert caught.value.param == "messages[1].content[0]"
    assert set(loader().load_all(messages[:1])) == {(0, 1)}
