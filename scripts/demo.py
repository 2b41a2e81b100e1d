"""`make demo`: ZtoApi as deployed (gunicorn, gevent) against a local fake chat.z.ai, so the README's
examples answer with no account and no network.

The fake is the strict one the tests use (tests/fakezai, standard library only) in its demo mode:
it speaks chat.z.ai's 2026 dialect, echoes the question ("Echo: ..."), thinks aloud ("The user
wrote: ..."), and calls the tool the question names (or the only one a request offers). PORT
(default 9090) and DEFAULT_KEY (default sk-your-key) work as for `make run`; the server listens
on 127.0.0.1 only.

`DEMO_UPSTREAM=api make demo` answers from a local fake of Z.ai's API instead (tests/fakeapi in
its demo mode, the same answers, tool calls native): the server runs with UPSTREAMS=api,
ZAI_API_KEY the fake's key and ZAI_API_BASE the fake's address. Either way the fake's
GET /__fake/requests shows what ZtoApi sent upstream.
"""
import os
import signal
import subprocess
import sys
import time
import urllib.request

from tests.fakeapi import FakeZaiApi
from tests.fakezai import FakeZai

API_KEY = "zai-demo-key"
UPSTREAMS = {"web": "a local fake chat.z.ai", "api": "a local fake of Z.ai's API"}


def wait_until_up(base, process, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"demo: the server exited (code {process.returncode}); is port "
                             f"{base.rsplit(':', 1)[1]} in use? Choose another with PORT=...")
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("demo: the server did not start in 30 s")


def start_fake(upstream):
    """The demo fake of `upstream` and the server settings that point at it."""
    if upstream == "api":
        fake = FakeZaiApi(keys=[API_KEY], demo=True).start()
        return fake, {"UPSTREAMS": "api", "ZAI_API_KEY": API_KEY, "ZAI_API_BASE": fake.base_url}
    fake = FakeZai(dialect="2026", demo=True).start()
    return fake, {"UPSTREAMS": "web", "UPSTREAM_URL": f"{fake.url}/api/chat/completions"}


def main():
    port = os.environ.get("PORT", "9090")
    key = os.environ.get("DEFAULT_KEY", "sk-your-key")
    upstream = os.environ.get("DEMO_UPSTREAM") or "web"
    if upstream not in UPSTREAMS:
        raise SystemExit(f"demo: DEMO_UPSTREAM must be web or api, not {upstream!r}")
    fake, upstream_env = start_fake(upstream)
    env = dict(os.environ, **upstream_env, DEFAULT_KEY=key, DATA_DIR=os.environ.get("DATA_DIR", "./data/demo"))
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py",
                               "--bind", f"127.0.0.1:{port}", "wsgi:app"], env=env)
    base = f"http://localhost:{port}"
    try:
        wait_until_up(base, server)
        print(f"\nZtoApi demo: {base}/v1 with key {key}, answering from {UPSTREAMS[upstream]} "
              "(it echoes your message and calls the tool your question names).\n"
              f"Try: curl {base}/v1/chat/completions -H 'Authorization: Bearer {key}' "
              "-H 'Content-Type: application/json' -d '{\"model\": \"GLM-4.5\", \"messages\": "
              "[{\"role\": \"user\", \"content\": \"Hello\"}], \"stream\": false}'\n"
              f"Docs: {base}/docs   What ZtoApi sent upstream: {fake.url}/__fake/requests   "
              "Ctrl-C stops the demo.\n", flush=True)
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        fake.stop()


if __name__ == "__main__":
    main()
