"""/dashboard in headless Chromium, against the real server (gunicorn, 2 gevent workers) after known
traffic: sign-in, figures equal to what was sent (per model as the catalogue's models), the
recent-requests table, self-refresh, tables readable at 1280 px and on a phone, no console errors
and nothing secret in the page."""
import json
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import requests

from tests.conftest import KEY
from tests.conftest import start_gunicorn
from tests.conftest import stop_gunicorn
from tests.e2e.browser import browser  # noqa: F401  (the session fixture)
from tests.e2e.browser import open_page

ALICE_KEY = "sk-alice-e2e-key"
LONG_NAME = "integration-team-nightly-batch-runner-with-a-long-name"
LONG_ALIAS = "operators-long-alias-for-the-flagship-model-of-this-gateway"   # MODEL_ALIASES → GLM-4.6
AUTH = {"Authorization": f"Bearer {KEY}"}
KEYS = {"default": KEY, "alice": ALICE_KEY, LONG_NAME: "sk-long-e2e-key", "wrong": "sk-not-a-key"}
CATALOGUE = {LONG_ALIAS: "GLM-4.6"}   # the model a name is counted under
VIEWPORTS = {"1280": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
TABLES = """() => [...document.querySelectorAll('table')].map(table => ({
  body: table.tBodies[0].id,
  fits: table.scrollWidth <= table.parentElement.clientWidth,
  scrolls: ['auto', 'scroll'].includes(getComputedStyle(table.parentElement).overflowX)}))"""
CUT_TEXT = """() => [...document.querySelectorAll('td .clip')]
  .filter(text => text.scrollWidth > text.clientWidth)
  .map(text => [text.textContent, text.title, getComputedStyle(text).textOverflow])"""


class Traffic:
    """What the tests sent: request ids, outcomes and token counts (added to as tests send more)."""

    def __init__(self, base, baseline):
        self.base, self.baseline = base, baseline
        self.sent = []

    def send(self, name, model, stream, content="Hello dashboard"):
        body = {"model": model, "messages": [{"role": "user", "content": content}], "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        response = requests.post(f"{self.base}/v1/chat/completions", json=body, timeout=30,
                                 headers={"Authorization": f"Bearer {KEYS[name]}"})
        known = response.status_code != 401   # a refused key is recorded with no key and no model
        usage = (last_usage(response.text) if stream else response.json().get("usage")) \
            if response.status_code == 200 else None
        self.sent.append({"id": response.headers["x-request-id"], "status": response.status_code,
                          "key": name if known else None,
                          "model": CATALOGUE.get(model, model) if known else None,
                          "tokens_in": usage["prompt_tokens"] if usage else 0,
                          "tokens_out": usage["completion_tokens"] if usage else 0})
        return response

    def list_models(self):
        response = requests.get(f"{self.base}/v1/models", headers=AUTH, timeout=5)
        self.sent.append({"id": response.headers["x-request-id"], "status": response.status_code,
                          "key": "default", "model": None, "tokens_in": 0, "tokens_out": 0})

    def expected(self, name):
        failed = sum(1 for sent in self.sent if sent["status"] != 200)
        sent = {"requests": len(self.sent), "failed": failed, "succeeded": len(self.sent) - failed,
                "tokens_in": sum(sent["tokens_in"] for sent in self.sent),
                "tokens_out": sum(sent["tokens_out"] for sent in self.sent)}
        return self.baseline[name] + sent[name]

    def count(self, failed=False, **match):
        """How many of the requests sent match `match` (of those, how many failed, with failed=True)."""
        matching = [sent for sent in self.sent if all(sent[field] == value for field, value in match.items())]
        return sum(1 for sent in matching if sent["status"] != 200) if failed else len(matching)


def last_usage(sse_text):
    chunks = [json.loads(line[6:]) for line in sse_text.splitlines()
              if line.startswith("data: {")]
    return chunks[-1]["usage"]


def summary(base):
    return requests.get(f"{base}/dashboard/api/summary", headers=AUTH, timeout=5).json()


def settled_summary(base):
    """The summary once the records of earlier requests (start-up's probes) are all written."""
    before = summary(base)
    while True:
        time.sleep(0.2)
        now = summary(base)
        if now["totals"] == before["totals"]:
            return now
        before = now


def pool(base):
    return requests.get(f"{base}/dashboard/api/credentials", headers=AUTH, timeout=5).json()


def pool_tokens(base):
    return [c["token"] for worker in pool(base)["workers"] for c in worker["credentials"]]


@pytest.fixture(scope="module")
def dashboard_server(fake):
    process, base = start_gunicorn({
        "UPSTREAM_URL": f"{fake.url}/api/chat/completions", "DEFAULT_KEY": KEY,
        "API_KEYS": f"alice:{ALICE_KEY},{LONG_NAME}:{KEYS[LONG_NAME]}", "MODEL_ALIASES": f"{LONG_ALIAS}=GLM-4.6",
        "WEB_CONCURRENCY": "2",
        "DATA_DIR": tempfile.mkdtemp(prefix="ztoapi-dashboard-")})
    yield base
    stop_gunicorn(process)


@pytest.fixture(scope="module")
def traffic(dashboard_server, fake):
    """6 completions that succeed (JSON and streams, three keys, two models, one asked for by a
    long alias of GLM-4.6) and 2 that fail, sent at once; then model listings until both workers
    have served some (each reports its credential pool after a request). The baseline is what
    start-up left: its readiness probe."""
    before = settled_summary(dashboard_server)
    sent = Traffic(dashboard_server, before["totals"])
    sent.refused_before = sum(row["requests"] for row in before["by_key"] if row["name"] is None)
    calls = [("default", "GLM-4.5", False, "one"), ("default", "GLM-4.5", True, "two"),
             ("default", "GLM-4.6", False, "three four"), ("alice", "GLM-4.5", True, "five six seven"),
             ("alice", "GLM-4.6", False, "eight"), (LONG_NAME, LONG_ALIAS, False, "nine"),
             ("wrong", "GLM-4.5", False, "refused"),
             ("default", "GLM-4.6", False, '[[fake {"fault": "http500"}]]')]
    with ThreadPoolExecutor(len(calls)) as executor:
        list(executor.map(lambda call: sent.send(*call), calls))
    sent.upstream_tokens = {r["headers"]["authorization"].removeprefix("Bearer ")
                            for r in fake.requests if r["path"] == "/api/chat/completions"}
    for _ in range(50):
        if len(pool(dashboard_server)["workers"]) == 2:
            break
        sent.list_models()
    deadline = time.monotonic() + 10   # records are written in batches, a moment after each request
    while summary(dashboard_server)["totals"]["requests"] < sent.expected("requests") and time.monotonic() < deadline:
        time.sleep(0.05)
    return sent


@contextmanager
def signed_in(browser, base, viewport=None):
    with open_page(browser, f"{base}/dashboard", viewport=viewport) as (page, errors):
        page.fill("#key", KEY)
        page.click("button[type=submit]")
        page.wait_for_selector("body[data-loaded=true]")
        yield page, errors


def text(page, selector):
    return page.inner_text(selector).strip()


def table(page, body_id):
    return page.eval_on_selector_all(
        f"#{body_id} tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")


def test_sign_in_form_then_the_figures_match_the_traffic(browser, dashboard_server, traffic):
    with open_page(browser, f"{dashboard_server}/dashboard") as (page, errors):
        assert page.title() == "Sign in · ZtoApi dashboard"
        page.fill("#key", KEY)
        page.click("button[type=submit]")
        page.wait_for_selector("body[data-loaded=true]")
        assert page.title() == "ZtoApi dashboard"
        assert text(page, "#kpi-requests") == str(traffic.expected("requests"))
        assert text(page, "#kpi-succeeded") == str(traffic.expected("succeeded"))
        assert text(page, "#kpi-failed") == str(traffic.expected("failed"))
        rate = 100 * traffic.expected("succeeded") / traffic.expected("requests")
        assert text(page, "#kpi-success-rate") == f"{rate:.1f}%"
        assert text(page, "#kpi-tokens-in") == f"{traffic.expected('tokens_in'):,}"
        assert text(page, "#kpi-tokens-out") == f"{traffic.expected('tokens_out'):,}"
        assert text(page, "#kpi-latency-p50").endswith("ms")
        assert text(page, "#kpi-ttft-p50").endswith("ms")
        assert errors == []


def test_breakdowns_count_each_model_and_key(browser, dashboard_server, traffic):
    with signed_in(browser, dashboard_server) as (page, errors):
        models = {row[0].splitlines()[0]: row[1:3] for row in table(page, "by-model")}
        keys = {row[0]: row[1:3] for row in table(page, "by-key")}
        assert models == {model: [str(traffic.count(model=model)),
                                  str(traffic.count(model=model, failed=True))]
                          for model in ("GLM-4.5", "GLM-4.6")}
        names = {row[0].splitlines()[0]: row[0] for row in table(page, "by-model")}
        assert names == {"GLM-4.5": "GLM-4.5", "GLM-4.6": f"GLM-4.6\nas {LONG_ALIAS}"}   # counted as GLM-4.6
        assert keys["default"] == [str(traffic.count(key="default")), "1"]
        assert keys["alice"] == [str(traffic.count(key="alice")), "0"]
        assert keys["no valid key"] == [str(traffic.count(key=None) + traffic.refused_before)] * 2
        assert errors == []


def test_recent_requests_table_has_the_rows_sent(browser, dashboard_server, traffic):
    with signed_in(browser, dashboard_server) as (page, errors):
        shown = page.eval_on_selector_all("#requests-body tr", "rows => rows.map(r => r.dataset.requestId)")
        assert {sent["id"] for sent in traffic.sent} <= set(shown)
        rows = [row[1:5] + [row[9]] for row in table(page, "requests-body")]
        assert ["—", "POST /v1/chat/completions", "—", "401", "invalid_api_key"] in rows
        assert ["default", "GLM-4.6", "json", "502", "upstream_error"] in rows
        assert ["alice", "GLM-4.5", "stream", "200", ""] in rows
        assert errors == []


def test_credential_pool_is_shown_masked(browser, dashboard_server, traffic):
    # a worker publishes its pool when a request ends, at most every 5 s: ask until one has
    deadline = time.monotonic() + 20
    while not pool_tokens(dashboard_server) and time.monotonic() < deadline:
        traffic.list_models()
        time.sleep(0.5)
    with signed_in(browser, dashboard_server) as (page, errors):
        shown_pool = page.inner_text("#credentials")
        assert shown_pool.count("worker ") == 2
        shown = set(re.findall(r"\.\.\.\S{6}", shown_pool))
        assert shown and shown <= {"..." + token[-6:] for token in traffic.upstream_tokens}
        assert page.inner_text("#upstream-state") == "chat.z.ai, 2025 dialect (/api/config answered 404)"
        assert errors == []


def test_nothing_secret_in_the_page(browser, dashboard_server, traffic):
    with signed_in(browser, dashboard_server) as (page, errors):
        html = page.content()
        cookies = page.context.cookies()
    assert traffic.upstream_tokens
    for secret in [KEY, ALICE_KEY, *traffic.upstream_tokens, *(t[:24] for t in traffic.upstream_tokens)]:
        assert secret not in html
        assert all(secret not in cookie["value"] for cookie in cookies)
    assert [(c["name"], c["httpOnly"], c["sameSite"], c["path"]) for c in cookies] == [
        ("ztoapi_dashboard", True, "Strict", "/dashboard")]


def test_page_refreshes_itself(browser, dashboard_server, traffic):
    with signed_in(browser, dashboard_server) as (page, errors):
        before = text(page, "#kpi-requests")
        response = traffic.send("alice", "GLM-4.5", False, "one more")
        assert response.status_code == 200
        page.wait_for_function("expected => document.getElementById('kpi-requests').textContent === expected",
                               arg=str(traffic.expected("requests")), timeout=12000)
        assert int(before) + 1 == traffic.expected("requests")
        assert page.locator(f"#requests-body tr[data-request-id='{traffic.sent[-1]['id']}']").count() == 1
        assert errors == []


def test_fits_a_phone_screen(browser, dashboard_server, traffic):
    with signed_in(browser, dashboard_server, viewport={"width": 390, "height": 844}) as (page, errors):
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        assert page.locator("#chart-requests svg").bounding_box()["width"] <= 390
        assert errors == []


@pytest.mark.parametrize("size", VIEWPORTS)
def test_tables_are_readable_at_1280_px_and_on_a_phone(browser, dashboard_server, traffic, size):
    with signed_in(browser, dashboard_server, viewport=VIEWPORTS[size]) as (page, errors):
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        tables = page.evaluate(TABLES)
        assert [shown["body"] for shown in tables] == ["by-model", "by-key", "requests-body"]
        assert all(shown["fits"] or shown["scrolls"] for shown in tables)
        assert all(shown["fits"] for shown in tables), "long names are cut, not the columns"
        cut = page.evaluate(CUT_TEXT)
        assert [LONG_NAME, LONG_NAME, "ellipsis"] in cut
        assert all(title == text and overflow == "ellipsis" for text, title, overflow in cut)
        assert errors == []


def test_wrong_key_shows_the_form_again_and_sign_out_ends_the_session(browser, dashboard_server):
    with open_page(browser, f"{dashboard_server}/dashboard") as (page, errors):
        page.fill("#key", "sk-wrong-key")
        page.click("button[type=submit]")
        assert text(page, ".login-error") == "That key does not open the dashboard."
        page.fill("#key", KEY)
        page.click("button[type=submit]")
        page.wait_for_selector("body[data-loaded=true]")
        page.click("text=Sign out")
        page.wait_for_selector("#key")
        assert page.context.cookies() == []
        assert page.request.get(f"{dashboard_server}/dashboard/api/summary").status == 401


def test_a_named_key_sees_only_its_own_traffic(browser, dashboard_server, traffic):
    with open_page(browser, f"{dashboard_server}/dashboard") as (page, errors):
        page.fill("#key", ALICE_KEY)
        page.click("button[type=submit]")
        page.wait_for_selector("body[data-loaded=true]")
        assert text(page, "#kpi-requests") == str(traffic.count(key="alice"))
        assert [row[0] for row in table(page, "by-key")] == ["alice"]
        assert {row[1] for row in table(page, "requests-body")} == {"alice"}
        assert not re.search(r"\.\.\.\S{6}", page.inner_text("#credentials"))   # the pool is the operator's
        assert errors == []
    scoped = requests.get(f"{dashboard_server}/dashboard/api/summary", timeout=5,
                          headers={"Authorization": f"Bearer {ALICE_KEY}"}).json()
    assert (scoped["viewer"], scoped["scope"]) == ("alice", "own key")


def test_a_kept_copy_of_the_cookie_stops_working_at_sign_out(browser, dashboard_server):
    with signed_in(browser, dashboard_server) as (page, errors):
        kept = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
        with_copy = requests.get(f"{dashboard_server}/dashboard/api/summary", cookies=kept, timeout=5)
        assert with_copy.status_code == 200
        page.click("text=Sign out")
        page.wait_for_selector("#key")
    for _ in range(4):   # whichever of the two workers answers
        with_copy = requests.get(f"{dashboard_server}/dashboard/api/summary", cookies=kept, timeout=5)
        assert with_copy.status_code == 401
