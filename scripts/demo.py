"""`make demo`: ZtoApi as deployed (gunicorn, gevent) against a local fake chat.z.ai, so the README's
examples answer with no account and no network.

The fake is the strict one the tests use (tests/fakezai, standard library only) in its demo mode:
it speaks chat.z.ai's 2026 dialect, echoes the question ("Echo: ..."), thinks aloud ("The user
wrote: ..."), and calls the tool the question names (or the only one a request offers). PORT
(default 9090) and DEFAULT_KEY (default sk-your-key) work as for `make run`; the server listens
on 127.0.0.1 only.
"""
import os
import signal
import subprocess
import sys
import time
import urllib.request

from tests.fakezai import FakeZai


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


def main():
    port = os.environ.get("PORT", "9090")
    key = os.environ.get("DEFAULT_KEY", "sk-your-key")
    fake = FakeZai(dialect="2026", demo=True).start()
    env = dict(os.environ, UPSTREAM_URL=f"{fake.url}/api/chat/completions", DEFAULT_KEY=key,
               DATA_DIR=os.environ.get("DATA_DIR", "./data/demo"))
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py",
                               "--bind", f"127.0.0.1:{port}", "wsgi:app"], env=env)
    base = f"http://localhost:{port}"
    try:
        wait_until_up(base, server)
        print(f"\nZtoApi demo: {base}/v1 with key {key}, answering from a local fake chat.z.ai "
              "(it echoes your message and calls the tool your question names).\n"
              f"Try: curl {base}/v1/chat/completions -H 'Authorization: Bearer {key}' "
              "-H 'Content-Type: application/json' -d '{\"model\": \"GLM-4.5\", \"messages\": "
              "[{\"role\": \"user\", \"content\": \"Hello\"}], \"stream\": false}'\n"
              f"Docs: {base}/docs   Ctrl-C stops the demo.\n", flush=True)
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
