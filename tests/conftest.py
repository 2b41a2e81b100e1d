"""Fixtures: the fake chat.z.ai, the app against it, and the real server under gunicorn."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openai
import pytest
import requests

from config.settings import Settings
from tests.fakezai import FakeZai
from ztoapi import create_app

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-test-key"
DATA_DIR = tempfile.mkdtemp(prefix="ztoapi-test-")   # the tests' SQLite store, never ./data
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="session")
def fake(request):
    """The fake chat.z.ai: the 2025 dialect, or the dialect a test module is parametrized with
    (tests/e2e/conftest.py runs the end-to-end suites against both)."""
    upstream = FakeZai(dialect=getattr(request, "param", "2025")).start()
    yield upstream
    upstream.stop()


@pytest.fixture(autouse=True)
def fresh_fake(request):
    """Each test starts with an empty request log and no queued scripts."""
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake").reset()


def settings_for(fake, **overrides):
    return Settings.from_env({}, **{"upstream_url": f"{fake.url}/api/chat/completions", "default_key": KEY,
                                    "data_dir": DATA_DIR, **overrides})


@pytest.fixture
def app(fake):
    return create_app(settings_for(fake))


@pytest.fixture
def client(app):
    return app.test_client()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env_overrides):
    """Run ZtoApi as deployed (gunicorn, gevent worker) on a free loopback port."""
    port = free_port()
    env = dict(os.environ, PORT=str(port), **{"DATA_DIR": tempfile.mkdtemp(prefix="ztoapi-test-"),
                                              **env_overrides})
    log_file = tempfile.TemporaryFile(mode="w+", prefix="ztoapi-gunicorn-")   # a pipe nobody reads would fill
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log_file, text=True)
    process.log_file = log_file
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {server_log(process)}")
        try:
            requests.get(f"{base}/v1/models", timeout=1)
            return process, base
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start in 30 s")


def stop_gunicorn(process):
    """Quick shutdown (SIGINT): tests do not wait for idle keep-alive connections."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
    process.log_file.close()


def server_log(process):
    """What a server started by start_gunicorn has written to stderr so far."""
    process.log_file.seek(0)
    return process.log_file.read()


@pytest.fixture(scope="session")
def server(fake):
    """Base URL (no /v1) of ZtoApi under gunicorn with gevent workers, against the fake."""
    process, base = start_gunicorn({
        "UPSTREAM_URL": f"{fake.url}/api/chat/completions", "DEFAULT_KEY": KEY,
        "WEB_CONCURRENCY": "2", "DEBUG_MODE": "false"})
    yield base
    stop_gunicorn(process)


@pytest.fixture(scope="session")
def docs_server(fake):
    """A server whose DEFAULT_KEY is the documentation's placeholder, `your-api-key`."""
    process, base = start_gunicorn({
        "UPSTREAM_URL": f"{fake.url}/api/chat/completions", "DEFAULT_KEY": "your-api-key"})
    yield base
    stop_gunicorn(process)


@pytest.fixture
def sdk(server):
    """The official OpenAI Python client, validating every response strictly."""
    with openai.OpenAI(base_url=f"{server}/v1", api_key=KEY, max_retries=0,
                       _strict_response_validation=True) as client:
        yield client


@pytest.fixture(scope="session")
def redis_url():
    """A real redis-server on a free loopback port (installed by .ci/run), for the session."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)
