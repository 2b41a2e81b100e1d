"""The benchmark's processes: the fake upstream and ZtoApi under gunicorn, each pinned to a CPU."""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench import procstat
from bench import runtime
from bench.serverlog import LogReader

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "sk-bench"


def pinning():
    """(ZtoApi's command prefix, the fake's and load generator's): taskset on CPU 0 and CPU 1,
    or no pinning when taskset or a second CPU is missing."""
    cpus = os.sched_getaffinity(0)
    if shutil.which("taskset") and {0, 1} <= cpus:
        return ["taskset", "-c", "0"], ["taskset", "-c", "1"]
    return [], []


def code_fingerprint():
    """A short hash of ZtoApi's code as it is on disk now (ztoapi/, config/, wsgi.py): a run
    whose scenarios started ZtoApi from different code says so."""
    digest = hashlib.sha256()
    for path in sorted([*ROOT.glob("ztoapi/**/*.py"), *ROOT.glob("config/*.py"), ROOT / "wsgi.py"]):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_json(method, url, body=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


class FakeUpstream:
    """bench/fakeupstream.py in its own process."""

    def __init__(self, prefix, log_path, framing="chunked", dialect="2025"):
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            prefix + [sys.executable, "-m", "bench.fakeupstream", "--port", "0", "--framing", framing,
                      "--dialect", dialect],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"the fake upstream did not start (see {log_path})")
        self.url = line.split()[-1]
        self.pid = self.process.pid

    def set_delay(self, delay_ms, cut_every=0):
        http_json("POST", f"{self.url}/__bench/settings", {"delay_ms": delay_ms, "cut_every": cut_every})

    def set_dialect(self, dialect):
        http_json("POST", f"{self.url}/__bench/settings", {"dialect": dialect})

    def stats(self):
        return http_json("GET", f"{self.url}/__bench/stats")

    def chat_spans(self):
        """The 2026 chats' creation → completion times since the last call (then forgotten)."""
        return http_json("POST", f"{self.url}/__bench/chat-spans", {})

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class ZtoApi:
    """ZtoApi as deployed: gunicorn, gevent worker class, WEB_CONCURRENCY=1; `upstream_env` points it
    at the fake (bench.dialects)."""

    def __init__(self, prefix, upstream_env, log_path, extra_env=None):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.data_dir = tempfile.mkdtemp(prefix="ztoapi-bench-")
        env = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": "1", "DEBUG_MODE": "false",
               "DEFAULT_KEY": API_KEY, "DATA_DIR": self.data_dir, **upstream_env, **(extra_env or {})}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.code = code_fingerprint()
        self.log = open(log_path, "w")
        self.log_reader = LogReader(log_path)
        self.process = subprocess.Popen(
            prefix + [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py",
                      "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            preexec_fn=runtime.raise_fd_limit)
        self._wait_ready(log_path)
        self.worker = self.worker_pid()

    def _wait_ready(self, log_path, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited (see {log_path})")
            try:
                http_json("GET", f"{self.url}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer in {seconds} s (see {log_path})")

    def worker_pid(self, wait=30):
        """The gevent worker: the master's only child (waiting while gunicorn replaces a dead one)."""
        deadline = time.monotonic() + wait
        while True:
            workers = procstat.children(self.process.pid)
            if len(workers) == 1:
                return workers[0]
            if time.monotonic() > deadline:
                raise RuntimeError(f"expected one gunicorn worker, found {workers}")
            time.sleep(0.2)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)   # quick shutdown: no waiting for idle keep-alives
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)
