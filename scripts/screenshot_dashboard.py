"""Take docs/dashboard.png: ZtoApi under gunicorn (2 gevent workers) in front of the fake chat.z.ai,
real traffic through it for a while, then /dashboard signed in and screenshotted in headless Chromium.

    .venv/bin/python scripts/screenshot_dashboard.py --minutes 20

The traffic is varied on purpose: three client keys, three models, streams and JSON, several
SDK user agents, and about one request in twelve failing (a wrong key, an unknown model, upstream
500s and 429s); one configured upstream token is unknown to the fake, so the pool shows it
invalid. --data-dir keeps the store between runs: a retake within the hour shows the history."""
import argparse
import json
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import start_gunicorn  # noqa: E402
from tests.conftest import stop_gunicorn  # noqa: E402
from tests.e2e.browser import chromium  # noqa: E402
from tests.fakezai import FakeZai  # noqa: E402
from tests.fakezai import make_user_token  # noqa: E402

DEFAULT_KEY = "sk-screenshot-default"
KEYS = {"default": DEFAULT_KEY, "web-app": "sk-screenshot-web-app", "ci-bot": "sk-screenshot-ci-bot"}
MODELS = ["GLM-4.5"] * 6 + ["GLM-4.6"] * 3 + ["GLM-4.5V"]
AGENTS = ["OpenAI/Python 1.109.1", "OpenAI/JS 5.23.0", "ai-sdk/openai/2.0.52", "curl/8.14.1",
          "langchain-openai/0.3.35", "Cline/3.32.5"]
TABLE_ROWS = 12   # of recent requests in the shot, which keeps the picture about as tall as wide
WORDS = ("the gateway streams tokens from the model while the client waits for an answer about "
         "python flask gevent workers latency percentiles and rate limits").split()


def words(count):
    return " ".join(random.choice(WORDS) for _ in range(count))


def one_request(base):
    """Send one request as some client would; about one in twelve is meant to fail."""
    name = random.choices(list(KEYS), weights=[5, 3, 2])[0]
    headers = {"Authorization": f"Bearer {KEYS[name]}", "User-Agent": random.choice(AGENTS)}
    model, stream = random.choice(MODELS), random.random() < 0.6
    script = {"answer": words(random.randint(30, 320)), "reasoning": words(random.randint(10, 80)),
              "first_delay_ms": random.randint(120, 900), "delay_ms": random.randint(5, 25), "chunk": 24}
    roll = random.random()
    if roll < 0.02:
        headers["Authorization"] = "Bearer sk-not-a-key"
    elif roll < 0.04:
        model = "GLM-9"
    elif roll < 0.06:
        script = {"fault": "http500"}
    elif roll < 0.08:
        script = {"fault": "http429", "retry_after": 20}
    content = f"{words(random.randint(15, 400))} [[fake {json.dumps(script)}]]"
    body = {"model": model, "messages": [{"role": "user", "content": content}], "stream": stream,
            "stream_options": {"include_usage": True}} if stream else \
        {"model": model, "messages": [{"role": "user", "content": content}], "stream": False}
    try:
        requests.post(f"{base}/v1/chat/completions", json=body, headers=headers, timeout=60).content
    except requests.RequestException as error:
        print("request failed:", error, file=sys.stderr)


def send_traffic(base, minutes):
    """A rate that drifts between about 3 and 20 requests a minute, with bursts."""
    deadline = time.monotonic() + minutes * 60
    with ThreadPoolExecutor(8) as pool:
        while time.monotonic() < deadline:
            phase = time.monotonic() / 240
            rate = 10 + 6 * random.uniform(-1, 1) + 5 * (phase % 2 - 1)
            if random.random() < 0.05:
                rate *= 3
            pool.submit(one_request, base)
            time.sleep(max(60 / max(rate, 2), 0.2) * random.uniform(0.5, 1.5))


def screenshot(base, out, width):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": 1000})
        page.goto(f"{base}/dashboard")
        page.fill("#key", DEFAULT_KEY)
        page.click("button[type=submit]")
        page.wait_for_selector("body[data-loaded=true]")
        page.goto(f"{base}/dashboard?rows={TABLE_ROWS}")
        page.wait_for_selector("body[data-loaded=true]")
        page.locator("#chart-requests .hover-band").nth(-3).hover()
        page.screenshot(path=str(out), full_page=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20, help="minutes of traffic before the shot")
    parser.add_argument("--data-dir", default=None, help="the store's directory (kept between runs)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "dashboard.png"))
    parser.add_argument("--width", type=int, default=1440)
    args = parser.parse_args()

    good = [make_user_token(f"screenshot-{i}") for i in range(2)]
    fake = FakeZai(user_tokens=good).start()
    tokens = ",".join(good + [make_user_token("revoked")])
    process, base = start_gunicorn({
        "UPSTREAM_URL": f"{fake.url}/api/chat/completions", "DEFAULT_KEY": DEFAULT_KEY,
        "API_KEYS": ",".join(f"{name}:{key}" for name, key in KEYS.items() if name != "default"),
        "ZAI_TOKEN": tokens, "WEB_CONCURRENCY": "2", "TOKEN_COOLDOWN_SECONDS": "45",
        "DATA_DIR": args.data_dir or tempfile.mkdtemp(prefix="ztoapi-screenshot-")})
    try:
        send_traffic(base, args.minutes)
        screenshot(base, args.out, args.width)
    finally:
        stop_gunicorn(process)
        fake.stop()
    print("wrote", args.out)


if __name__ == "__main__":
    main()
