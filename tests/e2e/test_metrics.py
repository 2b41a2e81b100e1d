"""/metrics under gunicorn: the counts of every worker, retired or alive, add up in one scrape.

Two workers serve half the traffic, a reload (HUP) replaces them, two new ones serve the rest;
whichever worker answers /metrics sums the files of all four.
"""
import json
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import KEY
from tests.conftest import start_gunicorn
from tests.conftest import stop_gunicorn

AUTH = {"Authorization": f"Bearer {KEY}"}
METRICS_AUTH = {"Authorization": "Bearer metrics-secret"}
CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def gateway(fake, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    process, base = start_gunicorn({
        "UPSTREAM_URL": f"{fake.url}/api/chat/completions", "DEFAULT_KEY": KEY,
        "WEB_CONCURRENCY": "2", "DATA_DIR": str(data_dir), "METRICS_KEY": "metrics-secret"})
    yield process, base, data_dir
    stop_gunicorn(process)


def worker_pids(process):
    return set(Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split())


def reload_workers(process):
    """HUP: gunicorn starts new workers and retires the old ones; returns the new workers' pids."""
    old = worker_pids(process)
    process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pids = worker_pids(process)
        if len(pids) == 2 and not pids & old:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"the workers {old} were not replaced")


def scrape(base):
    """Every sample of /metrics, keyed by (name, sorted label pairs)."""
    response = requests.get(f"{base}/metrics", headers=METRICS_AUTH, timeout=10)
    assert response.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def total(samples, name):
    return sum(v for (sample_name, _), v in samples.items() if sample_name == name)


def chat(base, model="GLM-4.5", content="hello", stream=False, headers=AUTH):
    body = {"model": model, "messages": [{"role": "user", "content": content}], "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    return requests.post(f"{base}{CHAT}", json=body, headers=headers, timeout=30)


def stream_usage(response):
    chunks = [line[6:] for line in response.text.split("\n\n") if line.startswith("data: ")]
    assert chunks[-1] == "[DONE]"
    return json.loads(chunks[-2])["usage"]


def credential_pids(samples):
    return {dict(labels)["pid"] for name, labels in samples if name == "ztoapi_credentials"}


def test_metrics_need_the_metrics_key(gateway):
    _, base, _ = gateway
    assert requests.get(f"{base}/metrics", timeout=10).status_code == 401
    assert requests.get(f"{base}/metrics", headers=AUTH, timeout=10).status_code == 401
    assert requests.get(f"{base}/metrics", headers=METRICS_AUTH, timeout=10).status_code == 200


def test_counts_from_every_worker_add_up(gateway):
    process, base, data_dir = gateway
    before = scrape(base)
    usage = Counter()
    for _ in range(4):
        response = chat(base, "GLM-4.5")
        assert response.status_code == 200
        reported = response.json()["usage"]
        usage.update({("GLM-4.5", "in"): reported["prompt_tokens"],
                      ("GLM-4.5", "out"): reported["completion_tokens"]})
    assert chat(base, "GLM-9").status_code == 404
    assert chat(base, "GLM-9").status_code == 404
    assert chat(base, headers={"Authorization": "Bearer sk-wrong"}).status_code == 401
    workers = reload_workers(process)
    for _ in range(4):
        response = chat(base, "GLM-4.6", stream=True)
        assert response.status_code == 200, response.text
        reported = stream_usage(response)
        usage.update({("GLM-4.6", "in"): reported["prompt_tokens"],
                      ("GLM-4.6", "out"): reported["completion_tokens"]})
    assert chat(base, headers={}).status_code == 401
    assert chat(base, content='[[fake {"fault": "http500"}]]').status_code == 502

    # a stream's record is made after its last byte: wait for the last ones
    deadline = time.monotonic() + 10
    after = scrape(base)
    while time.monotonic() < deadline and (
            total(after, "ztoapi_requests_total") - total(before, "ztoapi_requests_total") < 13):
        time.sleep(0.1)
        after = scrape(base)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert total(after, "ztoapi_requests_total") - total(before, "ztoapi_requests_total") == 13
    assert delta("ztoapi_requests_total", route=CHAT, model="GLM-4.5", status="200") == 4
    assert delta("ztoapi_requests_total", route=CHAT, model="GLM-4.6", status="200") == 4
    assert delta("ztoapi_requests_total", route=CHAT, model="", status="404") == 2
    assert delta("ztoapi_requests_total", route=CHAT, model="", status="401") == 2
    assert delta("ztoapi_requests_total", route=CHAT, model="GLM-4.5", status="502") == 1
    assert delta("ztoapi_request_duration_seconds_count", route=CHAT) == 13
    assert delta("ztoapi_request_duration_seconds_bucket", route=CHAT, le="+Inf") == 13
    assert delta("ztoapi_time_to_first_token_seconds_count", model="GLM-4.5") == 4
    assert delta("ztoapi_time_to_first_token_seconds_count", model="GLM-4.6") == 4
    assert delta("ztoapi_tokens_total", direction="in", model="GLM-4.5") == usage["GLM-4.5", "in"]
    assert delta("ztoapi_tokens_total", direction="out", model="GLM-4.5") == usage["GLM-4.5", "out"]
    assert delta("ztoapi_tokens_total", direction="in", model="GLM-4.6") == usage["GLM-4.6", "in"]
    assert delta("ztoapi_tokens_total", direction="out", model="GLM-4.6") == usage["GLM-4.6", "out"]
    assert delta("ztoapi_upstream_errors_total", code="upstream_error") == 3
    # every failed attempt is retried but the 502's last one (a slow first byte on a loaded
    # machine is one more failure, and one more retry)
    failed_attempts = total(after, "ztoapi_upstream_errors_total") - total(before, "ztoapi_upstream_errors_total")
    assert delta("ztoapi_upstream_retries_total") == failed_attempts - 1 >= 2
    assert value(after, "ztoapi_active_streams") == 0
    assert credential_pids(after) and credential_pids(after) <= workers   # the retired ones forgotten
    assert sum(v for (name, labels), v in after.items()
               if name == "ztoapi_credentials" and ("kind", "configured") in labels) == 0
    assert len(list(data_dir.glob("metrics-*/counter_*.db"))) == 4   # one per worker ever started


def test_a_server_that_cannot_bind_leaves_a_running_server_s_metrics_alone(gateway, fake):
    import os
    import subprocess
    import sys
    process, base, data_dir = gateway
    assert chat(base).status_code == 200
    assert total(scrape(base), "ztoapi_requests_total") > 0
    port = base.rsplit(":", 1)[1]
    second = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
         "wsgi:app"], cwd=Path(__file__).resolve().parent.parent.parent, capture_output=True, text=True,
        timeout=60, env=dict(os.environ, DATA_DIR=str(data_dir), METRICS_KEY="metrics-secret",
                             UPSTREAM_URL=f"{fake.url}/api/chat/completions", DEFAULT_KEY=KEY))
    assert second.returncode != 0 and "in use" in second.stderr.lower()
    assert total(scrape(base), "ztoapi_requests_total") > 0, "the running server's series are intact"
