"""Images from clients: data: URLs and http(s) URLs, checked before anything goes upstream.

Remote URLs are fetched with a timeout and a size cap, and only from public addresses (checked
after DNS resolution and again on every redirect) unless ALLOW_PRIVATE_IMAGE_URLS=true.
"""
import base64
import binascii
import ipaddress
import socket
import uuid
from dataclasses import dataclass
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests

from ztoapi.errors import ApiError

MAX_REDIRECTS = 3
SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
              (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"), (b"BM", "image/bmp"))
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp",
              "image/bmp": "bmp"}


@dataclass(frozen=True)
class Image:
    data: bytes
    mime: str
    filename: str


def sniff(data):
    """The image type the bytes really are, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in SIGNATURES if data.startswith(magic)), None)


def image_parts(messages):
    """((i, j), url) for every image_url part, in order."""
    for i, message in enumerate(messages):
        content = message.get("content")
        if isinstance(content, list):
            for j, part in enumerate(content):
                if part.get("type") == "image_url":
                    image = part["image_url"]
                    yield (i, j), image["url"] if isinstance(image, dict) else image


class ImageLoader:
    """Turns image URLs into checked image bytes; one per app, its own session."""

    def __init__(self, settings, resolve=socket.getaddrinfo):
        self.resolve = resolve
        self.max_bytes = settings.max_image_bytes
        self.timeout = (min(settings.image_fetch_timeout, 5.0), settings.image_fetch_timeout)
        self.allow_private = settings.allow_private_image_urls
        self.session = requests.Session()
        self.session.trust_env = False

    def load_all(self, messages):
        """{(i, j): Image} for the request's image parts; a bad one is a 400 naming it."""
        return {where: self.load(url, f"messages[{where[0]}].content[{where[1]}]")
                for where, url in image_parts(messages)}

    def load(self, url, param):
        if url.startswith("data:"):
            return self._checked(*self._decode(url, param), param)
        if urlsplit(url).scheme in ("http", "https"):
            return self._checked(*self._fetch(url, param), param)
        raise bad_image(param, "the image URL must be a data: URL or an http(s) URL")

    def _decode(self, url, param):
        header, _, payload = url[5:].partition(",")
        mime, *options = header.split(";")
        if "base64" not in options:
            raise bad_image(param, "data: URLs must be base64-encoded")
        if len(payload) * 3 // 4 > self.max_bytes:
            raise too_large(param, self.max_bytes)
        try:
            return base64.b64decode(payload, validate=True), mime.strip().lower()
        except (binascii.Error, ValueError):
            raise bad_image(param, "the data: URL is not valid base64") from None

    def _fetch(self, url, param):
        try:
            for _ in range(MAX_REDIRECTS + 1):
                self._check_address(url, param)
                with self.session.get(url, stream=True, timeout=self.timeout,
                                      allow_redirects=False) as response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers["Location"])
                        continue
                    if response.status_code != 200:
                        raise bad_image(param, f"fetching the image URL gave HTTP {response.status_code}")
                    mime = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                    if not mime.startswith("image/"):
                        raise bad_image(param, f"the image URL serves {mime or 'no content type'}, "
                                               "not an image")
                    return self._read_capped(response, param), mime
        except requests.RequestException as error:
            raise bad_image(param, f"fetching the image URL failed ({type(error).__name__})") from None
        raise bad_image(param, f"the image URL redirects more than {MAX_REDIRECTS} times")

    def _read_capped(self, response, param):
        data = bytearray()
        for block in response.iter_content(64 * 1024):
            data += block
            if len(data) > self.max_bytes:
                raise too_large(param, self.max_bytes)
        return bytes(data)

    def _check_address(self, url, param):
        if self.allow_private:
            return
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad_image(param, "the image URL must be an http(s) URL")
        try:
            infos = self.resolve(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
        except OSError:
            raise bad_image(param, f"the image host {parts.hostname} does not resolve") from None
        for info in infos:
            address = ipaddress.ip_address(info[4][0].split("%")[0])
            if not is_public(address):
                raise bad_image(param, f"the image URL points to a non-public address ({address}); "
                                       "set ALLOW_PRIVATE_IMAGE_URLS=true to allow it")

    def _checked(self, data, mime, param):
        if len(data) > self.max_bytes:
            raise too_large(param, self.max_bytes)
        real = sniff(data)
        if real is None or not mime.startswith("image/"):
            raise bad_image(param, "the content is not a PNG, JPEG, GIF, WebP or BMP image")
        return Image(data, real, f"{uuid.uuid4().hex}.{EXTENSIONS[real]}")


def is_public(address):
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def bad_image(param, why):
    return ApiError(400, f"Invalid image in '{param}': {why}.", code="invalid_image", param=param)


def too_large(param, limit):
    return ApiError(400, f"Invalid image in '{param}': larger than MAX_IMAGE_BYTES ({limit} bytes).",
                    code="image_too_large", param=param)
