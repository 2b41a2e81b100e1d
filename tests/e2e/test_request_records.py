"""Request records are written off the request's path, in batches, and none is lost on SIGTERM."""
import signal
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import AUTH
from tests.conftest import KEY
from tests.conftest import server_log
from tests.conftest import start_gunicorn
from ztoapi.store.sqlite import SqliteStore


@pytest.mark.dialect("2025")
def test_every_record_is_kept_when_the_server_stops_right_after_its_requests(fake):
    data_dir = tempfile.mkdtemp(prefix="ztoapi-records-")
    process, base = start_gunicorn({"UPSTREAM_URL": f"{fake.url}/api/chat/completions", "DATA_DIR": data_dir,
                                    "WEB_CONCURRENCY": "1", "DEFAULT_KEY": KEY})

    def ask(n):
        return requests.post(f"{base}/v1/chat/completions", headers=AUTH, timeout=30, json={
            "model": "GLM-4.5", "stream": n % 2 == 0, "messages": [{"role": "user", "content": f"record {n}"}]})

    with ThreadPoolExecutor(8) as pool:
        assert [response.status_code for response in pool.map(ask, range(24))] == [200] * 24
    process.send_signal(signal.SIGTERM)   # at once: some records are still queued
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    log = server_log(process)
    process.log_file.close()
    kept = [rec for rec in SqliteStore(data_dir).recent(100) if rec["path"] == "/v1/chat/completions"]
    assert len(kept) == 24, log
    assert SqliteStore(data_dir).totals()["by_model"]["GLM-4.5"]["requests"] == 24
    assert log.count("POST /v1/chat/completions 200") == 24
