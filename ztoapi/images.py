"""Images from clients: data: URLs and http(s) URLs, checked and bounded before anything goes upstream.

A request carries at most MAX_IMAGES images and MAX_IMAGE_BYTES_PER_REQUEST bytes of them (each at
most MAX_IMAGE_BYTES). Remote URLs are fetched side by side, each within IMAGE_FETCH_TIMEOUT and all
within IMAGE_REQUEST_TIMEOUT, only from public addresses unless ALLOW_PRIVATE_IMAGE_URLS=true
(ztoapi.netguard judges URLs and addresses, ztoapi.imagefetch connects).
"""
import base64
import binascii
import queue
import socket
import threading
import time
import uuid
from dataclasses import dataclass

from ztoapi.errors import ApiError
from ztoapi.imagefetch import FETCH_FAILED
from ztoapi.imagefetch import Deadline
from ztoapi.imagefetch import FetchError
from ztoapi.imagefetch import ImageFetcher
from ztoapi.netguard import Refused
from ztoapi.netguard import check_characters
from ztoapi.netguard import is_public
from ztoapi.netguard import parse_target

EXPIRY_GRACE = 1.0   # seconds a fetch gets to wind down after its deadline shut its sockets
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


class Budget:
    """The bytes a request's images may still take (MAX_IMAGE_BYTES_PER_REQUEST), shared by its fetches."""

    def __init__(self, total):
        self.total = total
        self.left = total
        self._lock = threading.Lock()

    def check(self, size, param):
        if size > self.left:
            raise over_budget(param, self.total)

    def take(self, size, param):
        with self._lock:
            self.check(size, param)
            self.left -= size


class Meter:
    """Counts one image's bytes against MAX_IMAGE_BYTES and the request's Budget."""

    def __init__(self, param, limit, budget):
        self.param = param
        self.limit = limit
        self.budget = budget
        self.size = 0

    def expect(self, size):
        """A size announced before the bytes come (Content-Length, a data: URL's length)."""
        if self.size + size > self.limit:
            raise too_large(self.param, self.limit)
        self.budget.check(size, self.param)

    def take(self, size):
        self.expect(size)
        self.budget.take(size, self.param)
        self.size += size


class ImageLoader:
    """Turns image URLs into checked image bytes; one per app, its own session. `resolve` and
    `public` (which addresses count as public) let tests stand in for DNS and a public host."""

    def __init__(self, settings, resolve=socket.getaddrinfo, public=is_public):
        self.max_bytes = settings.max_image_bytes
        self.max_images = settings.max_images
        self.max_request_bytes = settings.max_image_bytes_per_request
        self.fetch_timeout = settings.image_fetch_timeout
        self.request_timeout = settings.image_request_timeout
        self.fetcher = ImageFetcher(resolve, None if settings.allow_private_image_urls else public)
        self.session = self.fetcher.session

    def load_all(self, messages):
        """{(i, j): Image} for the request's image parts; a bad one is a 400 naming it."""
        wheres = [where for where, _ in image_parts(messages)]
        images = self.load_parts([(f"messages[{i}].content[{j}]", url)
                                  for (i, j), url in image_parts(messages)])
        return dict(zip(wheres, images))

    def load(self, url, param):
        return self.load_parts([(param, url)])[0]

    def load_parts(self, parts):
        """The Images of [(param, url)], in order. Everything that needs no network is checked
        before the first fetch starts: the count, every URL, every data: URL against the budget."""
        if len(parts) > self.max_images:
            raise too_many_images(parts[self.max_images][0], self.max_images, len(parts))
        deadline = time.monotonic() + self.request_timeout
        budget = Budget(self.max_request_bytes)
        inline, remote = {}, {}
        for param, url in parts:
            if isinstance(url, str) and url.startswith("data:"):
                inline[param] = self._data_url(url, param)
            else:
                remote[param] = self._target(url, param)
        announced = 0
        for param, (payload, _) in inline.items():   # sizes the lengths tell, before decoding
            size = len(payload) * 3 // 4 - payload[-2:].count("=")
            if size > self.max_bytes:
                raise too_large(param, self.max_bytes)
            announced += size
            if announced > budget.total:
                raise over_budget(param, budget.total)
        images = {}
        for param, (payload, mime) in inline.items():
            data = decode(payload, param)
            Meter(param, self.max_bytes, budget).take(len(data))
            images[param] = checked(data, mime, param)
        images.update(self._fetch_all(remote, budget, deadline))
        return [images[param] for param, _ in parts]

    def _data_url(self, url, param):
        header, _, payload = url[5:].partition(",")
        mime, *options = header.split(";")
        if "base64" not in options:
            raise bad_image(param, "data: URLs must be base64-encoded")
        return payload, mime.strip().lower()

    def _target(self, url, param):
        if not isinstance(url, str):
            raise bad_image(param, "the image URL must be a data: URL or an http(s) URL")
        try:
            check_characters(url)
            if not url[:8].lower().startswith(("http://", "https://")):
                raise Refused("the image URL must be a data: URL or an http(s) URL")
            return parse_target(url)
        except Refused as refusal:
            raise bad_image(param, str(refusal)) from None

    def _fetch_all(self, targets, budget, request_deadline):
        """{param: Image} for {param: Target}, fetched side by side (threads, greenlets under gevent).
        The first failure is raised and the other fetches are cut."""
        done = queue.Queue()
        running = {}
        for param, target in targets.items():
            deadline = Deadline(min(time.monotonic() + self.fetch_timeout, request_deadline))
            running[param] = deadline
            threading.Thread(target=self._fetch_one, args=(done, param, target, deadline, budget),
                             daemon=True).start()
        images = {}
        try:
            while running:
                try:
                    param, outcome = done.get(timeout=next_wake(running.values()))
                except queue.Empty:
                    expire_due(running)
                    continue
                del running[param]
                if isinstance(outcome, Exception):
                    raise outcome
                images[param] = outcome
        finally:
            for deadline in running.values():
                deadline.expire()
        return images

    def _fetch_one(self, done, param, target, deadline, budget):
        try:
            data, mime = self.fetcher.fetch(target, deadline, Meter(param, self.max_bytes, budget))
            outcome = checked(data, mime, param)
        except (Refused, FetchError) as refusal:
            outcome = bad_image(param, str(refusal))
        except Exception as error:   # handed to the request's thread, which raises it
            outcome = error
        finally:
            deadline.close()
        done.put((param, outcome))


def next_wake(deadlines):
    """Seconds until the next deadline passes, or until an expired fetch's grace ends."""
    ends = [d.remaining() + (EXPIRY_GRACE if d.expired else 0) for d in deadlines]
    return max(min(ends), 0.01)


def expire_due(running):
    """Shut the fetches whose deadline passed; one still running after its grace is a failure."""
    for param, deadline in running.items():
        if deadline.remaining() <= 0:
            deadline.expire()
        if deadline.remaining() <= -EXPIRY_GRACE:
            raise bad_image(param, FETCH_FAILED)


def decode(payload, param):
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise bad_image(param, "the data: URL is not valid base64") from None


def checked(data, mime, param):
    real = sniff(data)
    if real is None or not mime.startswith("image/"):
        raise bad_image(param, "the content is not a PNG, JPEG, GIF, WebP or BMP image")
    return Image(data, real, f"{uuid.uuid4().hex}.{EXTENSIONS[real]}")


def bad_image(param, why):
    return ApiError(400, f"Invalid image in '{param}': {why}.", code="invalid_image", param=param)


def too_large(param, limit):
    return ApiError(400, f"Invalid image in '{param}': larger than MAX_IMAGE_BYTES ({limit} bytes).",
                    code="image_too_large", param=param)


def over_budget(param, limit):
    return ApiError(400, f"Invalid image in '{param}': the request's images together are larger than "
                         f"MAX_IMAGE_BYTES_PER_REQUEST ({limit} bytes).", code="image_too_large", param=param)


def too_many_images(param, limit, count):
    return ApiError(400, f"A request may carry at most {limit} images (MAX_IMAGES); this one has {count}.",
                    code="too_many_images", param=param)
