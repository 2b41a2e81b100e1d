"""The SSRF guard and the image intake limits against the real server (gunicorn, gevent workers).

A loopback listener records every connection it accepts; for every bypass form it must see none,
and the client gets a 400 in OpenAI's envelope that reads the same whether the port is open or closed.
"""
import base64
import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest
import requests

from tests.conftest import AUTH
from tests.conftest import KEY
from tests.conftest import start_gunicorn
from tests.conftest import stop_gunicorn
from tests.fakezai import make_user_token
from tests.sent import models_of
from tests.test_images import Listener
from tests.test_images import Trickler

pytestmark = pytest.mark.dialect("2025")   # the guard is the same whatever chat.z.ai speaks

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
PARAM = "messages[0].content[1]"


def image_message(*urls):
    return [{"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                         *({"type": "image_url", "image_url": {"url": url}} for url in urls)]}]


def ask(base, model, *urls):
    return requests.post(f"{base}/v1/chat/completions", headers=AUTH, timeout=30,
                         json={"model": model, "stream": False, "messages": image_message(*urls)})


def uploads(fake):
    return [r for r in fake.requests if r["path"] == "/api/v1/files/"]


class Redirects(BaseHTTPRequestHandler):
    """A loopback host whose redirects use the parser tricks, and a slow image."""

    def do_GET(self):
        listener = self.server.listener
        locations = {"/to-backslash": f"http://127.0.0.1:{listener}\\@1.1.1.1/../x",
                     "/to-userinfo": f"http://1.1.1.1@127.0.0.1:{listener}/x",
                     "/to-bad-port": "http://127.0.0.1:99999/x"}
        if self.path.startswith("/slow.png"):
            time.sleep(0.6)
        self.send_response(302 if self.path in locations else 200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        if self.path in locations:
            self.send_header("Location", locations[self.path])
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def listener():
    watch = Listener()
    yield watch
    watch.close()


@pytest.fixture(scope="module")
def closed_port():
    gone = Listener()
    gone.close()
    return gone.port


@pytest.fixture(scope="module")
def redirector(listener):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirects)
    server.listener = listener.port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def servers(fake):
    """(guarded base URL, base URL with ALLOW_PRIVATE_IMAGE_URLS=true, vision model)."""
    token = make_user_token("user-ssrf")
    fake.add_user_token(token)
    env = {"UPSTREAM_URL": f"{fake.url}/api/chat/completions", "DEFAULT_KEY": KEY, "ZAI_TOKEN": token,
           "IMAGE_FETCH_TIMEOUT": "1"}
    guarded, guarded_base = start_gunicorn(env)
    private, private_base = start_gunicorn({**env, "ALLOW_PRIVATE_IMAGE_URLS": "true"})
    yield guarded_base, private_base, models_of(fake)["vision"]
    stop_gunicorn(guarded)
    stop_gunicorn(private)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}\\@1.1.1.1/../x",
    "http://127.0.0.1:{port}\\@1.1.1.1/../any/path.png",
    "http://1.1.1.1@127.0.0.1:{port}/x.png",
    "http://user:secret@127.0.0.1:{port}/x.png",
    "http://127.0.0.1:{port}%2f@1.1.1.1/x.png",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[::127.0.0.1]:{port}/",
    "http://[::ffff:0:7f00:1]:{port}/",
    "http://[64:ff9b::7f00:1]:{port}/",
    "http://[2002:7f00:1::]:{port}/",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{port}/",
    "http://2130706433:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://0x7f.1:{port}/",
    "http://localhost:{port}/x.png",
    "http://127.0.0.1:{port}/x.png",
])
def test_no_bypass_form_reaches_the_loopback_listener(servers, fake, listener, closed_port, url):
    guarded, _, model = servers
    rv = ask(guarded, model, url.format(port=listener.port))
    closed = ask(guarded, model, url.format(port=closed_port))
    assert rv.status_code == 400
    assert rv.json()["error"]["type"] == "invalid_request_error"
    assert rv.json()["error"]["code"] == "invalid_image"
    assert rv.json()["error"]["param"] == PARAM
    assert rv.json()["error"]["message"].startswith(f"Invalid image in '{PARAM}': ")
    assert closed.status_code == 400
    assert closed.json() == rv.json()
    assert listener.accepted == []
    assert uploads(fake) == []


@pytest.mark.parametrize("path, says", [
    ("/to-backslash", "the image URL's redirect (Location) contains a backslash"),
    ("/to-userinfo", "the image URL's redirect (Location) must not carry a user name or password"),
    ("/to-bad-port", "the image URL's redirect (Location) cannot be parsed"),
])
def test_redirects_using_the_tricks_are_not_followed(servers, fake, listener, redirector, path, says):
    _, private, model = servers
    rv = ask(private, model, f"{redirector}{path}")
    assert rv.status_code == 400
    assert rv.json()["error"]["code"] == "invalid_image"
    assert says in rv.json()["error"]["message"]
    assert listener.accepted == []
    assert uploads(fake) == []


@pytest.mark.parametrize("url, says", [
    ("http://127.0.0.1:99999/x.png", "cannot be parsed"),
    ("http://127.0.0.1:1:80/x.png", "cannot be parsed"),
    ("http://[::1", "cannot be parsed"),
    ("http://[::1/x.png", "cannot be parsed"),
])
def test_image_urls_the_parser_rejects_are_400s(servers, url, says):
    guarded, _, model = servers
    rv = ask(guarded, model, url)
    assert rv.status_code == 400
    assert rv.json()["error"]["code"] == "invalid_image"
    assert rv.json()["error"]["param"] == PARAM
    assert says in rv.json()["error"]["message"]


def test_fetch_failures_read_the_same_for_closed_open_and_silent_ports(servers, closed_port):
    _, private, model = servers
    hangs_up = Listener()
    trickler = Trickler(every=0.3)
    closed = ask(private, model, f"http://127.0.0.1:{closed_port}/x.png")
    hung_up = ask(private, model, f"http://127.0.0.1:{hangs_up.port}/x.png")
    trickled = ask(private, model, f"http://127.0.0.1:{trickler.port}/x.png")
    hangs_up.close()
    trickler.close()
    assert closed.status_code == hung_up.status_code == trickled.status_code == 400
    assert closed.json()["error"]["message"] == f"Invalid image in '{PARAM}': fetching the image URL failed."
    assert hung_up.json() == closed.json()
    assert trickled.json() == closed.json()


def test_a_trickling_image_is_cut_at_the_fetch_deadline_under_gevent(servers):
    _, private, model = servers
    trickler = Trickler(every=0.3)
    start = time.monotonic()
    rv = ask(private, model, f"http://127.0.0.1:{trickler.port}/x.png")
    elapsed = time.monotonic() - start
    time.sleep(0.7)
    trickler.close()
    assert rv.status_code == 400
    assert elapsed < 1.6, "IMAGE_FETCH_TIMEOUT=1 is the whole fetch, not one read"
    assert trickler.hung_up[0] - start < 1.8, "the server's connection was closed, not left trickling"


def test_remote_images_are_fetched_side_by_side_under_gevent(servers, fake, redirector):
    _, private, model = servers
    start = time.monotonic()
    rv = ask(private, model, *(f"{redirector}/slow.png?{j}" for j in range(4)))
    elapsed = time.monotonic() - start
    assert rv.status_code == 200
    assert len(uploads(fake)) == 4
    assert elapsed < 2.0, "four 0.6 s images took about the time of one"


def test_more_images_than_max_images_are_refused_before_any_upload(servers, fake):
    guarded, _, model = servers
    rv = ask(guarded, model, *[PNG_URL] * 11)
    assert rv.status_code == 400
    assert rv.json()["error"]["code"] == "too_many_images"
    assert rv.json()["error"]["message"] == "A request may carry at most 10 images (MAX_IMAGES); this one has 11."
    assert uploads(fake) == []
