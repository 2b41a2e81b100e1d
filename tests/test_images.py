"""Images from clients: data: URLs, remote URLs, size and type checks, and the SSRF guard."""
import base64
import socket
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from config.settings import Settings
from ztoapi.errors import ApiError
from ztoapi.images import ImageLoader
from ztoapi.images import sniff

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60
PARAM = "messages[0].content[1]"


def data_url(data, mime="image/png"):
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def loader(**settings):
    return ImageLoader(Settings.from_env({}, **settings))


class Images(BaseHTTPRequestHandler):
    """Serves test images by path; also answers absolute-URI (proxied) requests."""

    def do_GET(self):
        path = urlsplit(self.path).path
        port = self.server.server_address[1]
        routes = {
            "/pixel.png": (200, "image/png", PNG, None),
            "/photo.jpg": (200, "image/jpeg; charset=binary", JPEG, None),
            "/page.html": (200, "text/html", b"<html></html>", None),
            "/fake.png": (200, "image/png", b"not really a png", None),
            "/big.png": (200, "image/png", PNG + b"\x00" * 5000, None),
            "/missing.png": (404, "text/plain", b"no", None),
            "/to-local": (302, "text/plain", b"", f"http://127.0.0.1:{port}/pixel.png"),
            "/to-metadata": (302, "text/plain", b"", "http://169.254.169.254/latest/meta-data/"),
            "/to-pixel": (302, "text/plain", b"", "/pixel.png"),
        }
        status, mime, body, location = routes.get(path, (404, "text/plain", b"", None))
        self.send_response(status)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def image_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def public_dns(host, port, **kwargs):
    """public.test resolves to a public address; everything else resolves for real."""
    if host == "public.test":
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
    return socket.getaddrinfo(host, port, **kwargs)


def guarded(image_server):
    """A guarded loader that reaches public.test through the test server (as a proxy)."""
    images = ImageLoader(Settings.from_env({}), resolve=public_dns)
    images.session.proxies = {"http": image_server}
    return images


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


def test_remote_images_are_fetched_when_private_urls_are_allowed(image_server):
    images = loader(allow_private_image_urls=True)
    assert images.load(f"{image_server}/pixel.png", PARAM).data == PNG
    assert images.load(f"{image_server}/photo.jpg", PARAM).mime == "image/jpeg"
    assert images.load(f"{image_server}/to-pixel", PARAM).data == PNG


@pytest.mark.parametrize("path, says", [
    ("/page.html", "serves text/html, not an image"),
    ("/fake.png", "not a PNG, JPEG"),
    ("/missing.png", "HTTP 404"),
])
def test_remote_non_images_are_rejected(image_server, path, says):
    with pytest.raises(ApiError) as caught:
        loader(allow_private_image_urls=True).load(f"{image_server}{path}", PARAM)
    assert says in caught.value.message


def test_remote_image_over_the_cap_is_rejected_while_reading(image_server):
    with pytest.raises(ApiError) as caught:
        loader(allow_private_image_urls=True, max_image_bytes=1000).load(f"{image_server}/big.png", PARAM)
    assert caught.value.code == "image_too_large"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/pixel.png", "http://10.0.0.1/pixel.png", "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/pixel.png", "http://192.168.1.10/a.png", "http://localhost/a.png",
    "http://[::ffff:127.0.0.1]/a.png", "http://0.0.0.0/a.png",
])
def test_guard_refuses_non_public_addresses(url):
    with pytest.raises(ApiError) as caught:
        loader().load(url, PARAM)
    assert "non-public address" in caught.value.message
    assert "ALLOW_PRIVATE_IMAGE_URLS" in caught.value.message


def test_guard_allows_public_hosts(image_server):
    assert guarded(image_server).load("http://public.test/pixel.png", PARAM).data == PNG


@pytest.mark.parametrize("path", ["/to-local", "/to-metadata"])
def test_guard_refuses_redirects_to_non_public_addresses(image_server, path):
    with pytest.raises(ApiError) as caught:
        guarded(image_server).load(f"http://public.test{path}", PARAM)
    assert "non-public address" in caught.value.message


def test_load_all_names_each_part():
    messages = [{"role": "user", "content": [{"type": "text", "text": "look"},
                                             {"type": "image_url", "image_url": {"url": data_url(PNG)}}]},
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]
    with pytest.raises(ApiError) as caught:
        loader().load_all(messages)
    assert caught.value.param == "messages[1].content[0]"
    assert set(loader().load_all(messages[:1])) == {(0, 1)}
