import time

import pytest

from tests.conftest import AUTH
from tests.conftest import KEY
from tests.conftest import settings_for
from ztoapi import create_app
from ztoapi import dashboard_stats
from ztoapi.api import dashboard
from ztoapi.catalog import Catalog
from ztoapi.catalog import parse_aliases
from ztoapi.zai.models import MODELS_2025

NOW = 6030.0   # 30 s into minute 100 of the epoch: the per-minute buckets start at 2460
APIS = ("/dashboard/api/summary", "/dashboard/api/requests", "/dashboard/api/credentials")
USER = [{"role": "user", "content": "Hello dashboard"}]
ALICE = {"Authorization": "Bearer sk-alice-key-1"}
BOB = {"Authorization": "Bearer sk-bob-key-2"}


def rec(time, status=200, model="GLM-4.5", key="default", duration_ms=100.0, ttft_ms=50.0,
        tokens_in=0, tokens_out=0, stream=False, error=None, **extra):
    return {"time": time, "request_id": f"req_{time}", "method": "POST", "path": "/v1/chat/completions",
            "api": "openai", "key": key, "model": model, "stream": stream, "status": status,
            "duration_ms": duration_ms, "ttft_ms": ttft_ms, "tokens_in": tokens_in,
            "tokens_out": tokens_out, "client": "curl/8", "error": error, "retries": 0, **extra}


@pytest.fixture
def app(fake, tmp_path):
    """An app with a store of its own, so the counts are this test's alone."""
    return create_app(settings_for(fake, data_dir=str(tmp_path)))


def make_client(fake, tmp_path, **overrides):
    return create_app(settings_for(fake, data_dir=str(tmp_path), **overrides)).test_client()


def sign_in(client, key=KEY):
    return client.post("/dashboard/login", data={"key": key})


def chat(client, stream, headers=AUTH, model="GLM-4.5"):
    response = client.post("/v1/chat/completions", headers=headers,
                           json={"model": model, "messages": USER, "stream": stream,
                                 **({"stream_options": {"include_usage": True}} if stream else {})})
    response.get_data()
    response.close()
    return response


# -- the numbers ------------------------------------------------------------------------------

def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert dashboard_stats.percentile(values, 50) == 50
    assert dashboard_stats.percentile(values, 90) == 90
    assert dashboard_stats.percentile(values, 99) == 99
    assert dashboard_stats.percentile([7.5], 99) == 7.5
    assert dashboard_stats.percentile([3, None, 1, 2], 50) == 2
    assert dashboard_stats.percentile([], 50) is None
    assert dashboard_stats.percentiles([None]) == {"p50": None, "p90": None, "p99": None}


def test_window_stats_counts_failures_streams_and_tokens():
    records = [rec(6000, tokens_in=10, tokens_out=20, stream=True, duration_ms=100, ttft_ms=40),
               rec(6010, tokens_in=5, tokens_out=7, duration_ms=300, ttft_ms=60),
               rec(6020, status=502, error="upstream_error", duration_ms=900, ttft_ms=None),
               rec(6025, status=200, error="stream_cut", stream=True, duration_ms=500, ttft_ms=80),
               rec(6028, status=401, key=None, model=None, duration_ms=1, ttft_ms=None),
               rec(2000, tokens_in=1000)]
    stats = dashboard_stats.window_stats(records, 3600, NOW)
    assert stats["requests"] == 5
    assert stats["succeeded"] == 2
    assert stats["failed"] == 3
    assert stats["streams"] == 2
    assert stats["tokens_in"] == 15
    assert stats["tokens_out"] == 27
    assert stats["requests_per_minute"] == 0.08
    assert stats["latency_ms"] == {"p50": 300, "p90": 900, "p99": 900}
    assert stats["ttft_ms"] == {"p50": 60, "p90": 80, "p99": 80}


def test_last_minute_is_the_last_sixty_seconds():
    records = [rec(5969), rec(5971), rec(6029)]
    assert dashboard_stats.window_stats(records, 60, NOW)["requests"] == 2


def test_per_minute_has_sixty_clock_minutes_oldest_first():
    records = [rec(2459), rec(2460, tokens_in=3), rec(5940, status=500, duration_ms=200),
               rec(5950, duration_ms=400, ttft_ms=None), rec(6029, model=None, duration_ms=1)]
    minutes = dashboard_stats.per_minute(records, NOW)
    assert len(minutes) == 60
    assert [minutes[0]["time"], minutes[-1]["time"]] == [2460, 6000]
    assert minutes[0] == {"time": 2460, "succeeded": 1, "failed": 0, "tokens_in": 3, "tokens_out": 0,
                          "latency_p50_ms": 100.0, "ttft_p50_ms": 50.0}
    assert minutes[58] == {"time": 5940, "succeeded": 1, "failed": 1, "tokens_in": 0, "tokens_out": 0,
                           "latency_p50_ms": 200, "ttft_p50_ms": 50.0}
    assert minutes[59]["succeeded"] == 1
    assert minutes[59]["latency_p50_ms"] is None
    assert sum(m["succeeded"] + m["failed"] for m in minutes) == 4


def test_breakdown_joins_all_time_counts_with_last_hour_latency():
    counts = {"GLM-4.5": {"requests": 3, "failed": 1, "tokens_in": 30, "tokens_out": 60},
              "GLM-4.6": {"requests": 9, "failed": 0, "tokens_in": 90, "tokens_out": 10}}
    records = [rec(6000, model="GLM-4.5", duration_ms=100, ttft_ms=10),
               rec(6001, model="GLM-4.5", duration_ms=300, ttft_ms=30)]
    rows = dashboard_stats.breakdown(counts, records, "model")
    assert rows == [
        {"name": "GLM-4.6", "requests": 9, "failed": 0, "tokens_in": 90, "tokens_out": 10,
         "succeeded": 9, "latency_p50_ms": None, "ttft_p50_ms": None},
        {"name": "GLM-4.5", "requests": 3, "failed": 1, "tokens_in": 30, "tokens_out": 60,
         "succeeded": 2, "latency_p50_ms": 100, "ttft_p50_ms": 10}]


def test_by_model_adds_up_the_names_of_one_catalogue_model():
    counts = {"GLM-4.5": {"requests": 3, "failed": 1, "tokens_in": 30, "tokens_out": 60},
              "glm4.5": {"requests": 2, "failed": 0, "tokens_in": 20, "tokens_out": 40},
              "gpt-4o": {"requests": 4, "failed": 0, "tokens_in": 1, "tokens_out": 2},
              "GLM-3-Old": {"requests": 1, "failed": 1, "tokens_in": 0, "tokens_out": 0}}
    catalogue = {"GLM-4.5": "GLM-4.5", "glm4.5": "GLM-4.5", "gpt-4o": "GLM-4.6"}
    records = [rec(6000, model="GLM-4.5", duration_ms=100), rec(6001, model="glm4.5", duration_ms=300),
               rec(6002, model="glm4.5", duration_ms=500), rec(6003, model="gpt-4o", duration_ms=50)]
    rows = dashboard_stats.by_model(counts, records, lambda name: catalogue.get(name, name))
    assert rows == [
        {"name": "GLM-4.5", "requests": 5, "failed": 1, "tokens_in": 50, "tokens_out": 100,
         "succeeded": 4, "latency_p50_ms": 300, "ttft_p50_ms": 50.0, "aliases": ["glm4.5"]},
        {"name": "GLM-4.6", "requests": 4, "failed": 0, "tokens_in": 1, "tokens_out": 2,
         "succeeded": 4, "latency_p50_ms": 50, "ttft_p50_ms": 50.0, "aliases": ["gpt-4o"]},
        {"name": "GLM-3-Old", "requests": 1, "failed": 1, "tokens_in": 0, "tokens_out": 0,
         "succeeded": 0, "latency_p50_ms": None, "ttft_p50_ms": None, "aliases": []}]


@pytest.mark.parametrize("name, model_id", [
    ("GLM-4.5", "GLM-4.5"), ("glm4.5", "GLM-4.5"), ("0727-360B-API", "GLM-4.5"),
    ("GLM-4-6-API-V1", "GLM-4.6"), ("glm-4.6-thinking", "GLM-4.6-Thinking"),
    ("gpt-4o", "GLM-4.6"), ("GPT-4O", "GLM-4.6"), ("gpt-4o-Thinking", "GLM-4.6-Thinking"),
    ("GLM-4.7-Air-Stand-In", "GLM-4.5-Air"), ("GLM-3-Old", "GLM-3-Old"),
])
def test_model_resolver_names_the_catalogue_model_an_alias_points_at(name, model_id):
    aliases = parse_aliases("gpt-4o=GLM-4.6, GLM-4.7-Air-Stand-In=GLM-4.5-Air")
    model_of = dashboard_stats.model_resolver(Catalog(lambda: (MODELS_2025, {}), aliases))
    assert model_of(name) == model_id


def test_summary_puts_requests_without_a_key_in_their_own_row():
    totals = {"requests": 5, "failed": 2, "tokens_in": 40, "tokens_out": 80,
              "by_model": {"GLM-4.5": {"requests": 4, "failed": 1, "tokens_in": 40, "tokens_out": 80}},
              "by_key": {"default": {"requests": 3, "failed": 0, "tokens_in": 30, "tokens_out": 60},
                         "alice": {"requests": 1, "failed": 1, "tokens_in": 10, "tokens_out": 20}}}
    summary = dashboard_stats.summary(totals, [rec(6000)], NOW)
    assert summary["totals"] == {"requests": 5, "failed": 2, "tokens_in": 40, "tokens_out": 80,
                                 "succeeded": 3}
    assert [row["name"] for row in summary["by_key"]] == ["default", "alice", None]
    assert summary["by_key"][2] == {"name": None, "requests": 1, "failed": 1, "tokens_in": 0,
                                    "tokens_out": 0, "succeeded": 0, "latency_p50_ms": None,
                                    "ttft_p50_ms": None}
    assert summary["last_hour"]["requests"] == 1
    assert summary["last_minute"]["requests"] == 1
    assert len(summary["per_minute"]) == 60


def test_request_row_keeps_only_the_known_fields():
    row = dashboard_stats.request_row(rec(6000, upstream_token="eyJ-secret"))
    assert "upstream_token" not in row
    assert row["key"] == "default"
    assert list(row) == list(dashboard_stats.REQUEST_FIELDS)


def test_credential_pool_masks_tokens_and_counts_states():
    pool = dashboard_stats.credential_pool({
        "host:2": [{"token": "eyJhbGciOi.payload.sig-abc123", "guest": False, "state": "ok", "uses": 4}],
        "host:1": [{"token": "...def456", "guest": True, "state": "cooling down for 12 s", "uses": 1},
                   {"token": "...ghi789", "guest": False, "state": "invalid (rejected with 401)",
                    "uses": 2}]})
    assert pool["counts"] == {"ok": 1, "cooling": 1, "invalid": 1, "captcha": 0}
    assert [worker["worker"] for worker in pool["workers"]] == ["host:1", "host:2"]
    assert pool["workers"][1]["credentials"] == [
        {"token": "...abc123", "guest": False, "state": "ok", "uses": 4}]
    assert pool["workers"][0]["credentials"][0]["token"] == "...def456"


# -- who may look -----------------------------------------------------------------------------

def test_page_without_a_session_is_the_sign_in_form(client):
    response = client.get("/dashboard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'action="/dashboard/login"' in html
    assert 'type="password"' in html
    assert "Signed in as" not in html


@pytest.mark.parametrize("path", APIS)
def test_apis_are_401_without_a_key(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_api_key"
    assert response.get_json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("path", APIS)
def test_apis_are_401_with_a_wrong_key(client, path):
    assert client.get(path, headers={"Authorization": "Bearer sk-wrong"}).status_code == 401
    assert client.get(path, headers={"x-api-key": "sk-wrong"}).status_code == 401


@pytest.mark.parametrize("path", APIS)
def test_apis_answer_the_api_key_as_bearer(client, path):
    response = client.get(path, headers=AUTH)
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert response.headers["Cache-Control"] == "no-store"


def test_wrong_key_does_not_sign_in(client):
    response = sign_in(client, "sk-wrong")
    assert response.status_code == 401
    assert "does not open the dashboard" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    assert client.get("/dashboard/api/summary").status_code == 401


def test_sign_in_sets_a_strict_http_only_cookie_without_the_key(client):
    response = sign_in(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("ztoapi_dashboard=")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/dashboard;" in cookie
    assert "Max-Age=43200" in cookie
    assert KEY not in cookie
    assert "Secure" not in cookie   # plain http here; behind https the cookie is Secure


def test_session_opens_the_page_and_the_apis(client):
    sign_in(client)
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "Signed in as <strong>default</strong>" in page.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 200
    for path in APIS:
        assert client.get(path).status_code == 200
    assert client.get("/dashboard/api/summary").get_json()["viewer"] == "default"


def test_sign_out_ends_the_session(client):
    sign_in(client)
    response = client.post("/dashboard/logout")
    assert response.status_code == 303
    assert "ztoapi_dashboard=;" in response.headers["Set-Cookie"]
    assert client.get("/dashboard/api/summary").status_code == 401


def test_sign_out_revokes_a_kept_copy_of_the_cookie(fake, tmp_path):
    client = make_client(fake, tmp_path)
    sign_in(client)
    cookie = client.get_cookie("ztoapi_dashboard", path="/dashboard").value
    other_session = make_client(fake, tmp_path)
    sign_in(other_session)
    client.post("/dashboard/logout")
    elsewhere = make_client(fake, tmp_path)   # another worker: the revocation is in the shared store
    elsewhere.set_cookie("ztoapi_dashboard", cookie, path="/dashboard")
    assert elsewhere.get("/dashboard/api/summary").status_code == 401
    assert 'action="/dashboard/login"' in elsewhere.get("/dashboard").get_data(as_text=True)
    assert other_session.get("/dashboard/api/summary").status_code == 200   # only that session ended


def test_a_session_is_refused_while_its_revocation_cannot_be_checked(fake, tmp_path):
    client = make_client(fake, tmp_path)
    sign_in(client)
    store = client.application.extensions["store"].backend

    def failing(*args):
        raise OSError("the store went away")
    store.revoked = failing
    response = client.get("/dashboard/api/summary")
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "store_unavailable"
    page = client.get("/dashboard")
    assert page.status_code == 503 and "store cannot be reached" in page.get_data(as_text=True)


def test_the_cookie_is_secure_over_tls(client):
    response = client.post("/dashboard/login", data={"key": KEY}, base_url="https://localhost")
    assert "; Secure" in response.headers["Set-Cookie"]
    signed_out = client.post("/dashboard/logout", base_url="https://localhost")
    assert "; Secure" in signed_out.headers["Set-Cookie"]


def test_tampered_or_expired_cookie_is_refused(client, monkeypatch):
    client.set_cookie("ztoapi_dashboard", '{"viewer": "default"}', path="/dashboard")
    assert client.get("/dashboard/api/summary").status_code == 401
    sign_in(client)
    monkeypatch.setattr(dashboard, "SESSION_SECONDS", -1)
    assert client.get("/dashboard/api/summary").status_code == 401


def test_changing_the_keys_ends_every_session(fake, tmp_path):
    first = make_client(fake, tmp_path)
    sign_in(first)
    cookie = first.get_cookie("ztoapi_dashboard", path="/dashboard").value
    again = make_client(fake, tmp_path)
    again.set_cookie("ztoapi_dashboard", cookie, path="/dashboard")
    assert again.get("/dashboard/api/summary").status_code == 200
    rotated = make_client(fake, tmp_path, api_keys="bob:sk-bob-key-2")
    rotated.set_cookie("ztoapi_dashboard", cookie, path="/dashboard")
    assert rotated.get("/dashboard/api/summary").status_code == 401


def test_any_named_api_key_opens_it_when_no_dashboard_key_is_set(fake, tmp_path):
    client = make_client(fake, tmp_path, api_keys="alice:sk-alice-key-1")
    summary = client.get("/dashboard/api/summary", headers=ALICE).get_json()
    assert (summary["viewer"], summary["scope"]) == ("alice", "own key")
    sign_in(client, "sk-alice-key-1")
    assert "Signed in as <strong>alice</strong>" in client.get("/dashboard").get_data(as_text=True)
    assert client.get("/dashboard/api/summary").get_json()["scope"] == "own key"


@pytest.fixture
def shared(fake, tmp_path):
    """A client of an app with alice (a plain named key) and bob (`dashboard` role), after traffic:
    the default key 2 completions, alice 1 and 1 model listing, bob 1, and a wrong key 1."""
    client = make_client(fake, tmp_path, api_keys="alice:sk-alice-key-1,bob:sk-bob-key-2:dashboard")
    chat(client, stream=False)
    chat(client, stream=True, model="GLM-4.6")
    chat(client, stream=True, headers=ALICE, model="GLM-4.6")
    client.get("/v1/models", headers=ALICE)
    chat(client, stream=False, headers=BOB)
    chat(client, stream=False, headers={"Authorization": "Bearer sk-wrong"})
    return client


def test_a_named_key_sees_only_its_own_traffic(shared):
    for signed_in in (False, True):
        headers = {} if signed_in else ALICE
        if signed_in:
            sign_in(shared, "sk-alice-key-1")
        summary = shared.get("/dashboard/api/summary", headers=headers).get_json()
        assert summary["totals"]["requests"] == 2
        assert summary["last_hour"]["requests"] == 2
        assert sum(m["succeeded"] + m["failed"] for m in summary["per_minute"]) == 2
        assert [(row["name"], row["requests"]) for row in summary["by_key"]] == [("alice", 2)]
        assert [(row["name"], row["requests"]) for row in summary["by_model"]] == [("GLM-4.6", 1)]
        rows = shared.get("/dashboard/api/requests", headers=headers).get_json()["requests"]
        assert [(row["key"], row["path"]) for row in rows] == [
            ("alice", "/v1/models"), ("alice", "/v1/chat/completions")]
        pool = shared.get("/dashboard/api/credentials", headers=headers).get_json()
        assert pool["workers"] == [] and pool["upstream"]["web"]["dialect"] == "2025"


@pytest.mark.parametrize("headers", [AUTH, BOB], ids=["default key", "dashboard role"])
def test_the_default_key_and_the_dashboard_role_see_everything(shared, headers):
    summary = shared.get("/dashboard/api/summary", headers=headers).get_json()
    assert summary["scope"] == "all"
    assert summary["totals"]["requests"] == 6
    assert {row["name"] for row in summary["by_key"]} == {"default", "alice", "bob", None}
    assert len(shared.get("/dashboard/api/requests", headers=headers).get_json()["requests"]) == 6
    assert len(shared.get("/dashboard/api/credentials", headers=headers).get_json()["workers"]) == 1


def test_changing_a_role_ends_the_sessions(fake, tmp_path):
    first = make_client(fake, tmp_path, api_keys="alice:sk-alice-key-1")
    sign_in(first, "sk-alice-key-1")
    cookie = first.get_cookie("ztoapi_dashboard", path="/dashboard").value
    promoted = make_client(fake, tmp_path, api_keys="alice:sk-alice-key-1:dashboard")
    promoted.set_cookie("ztoapi_dashboard", cookie, path="/dashboard")
    assert promoted.get("/dashboard/api/summary").status_code == 401


def test_dashboard_key_set_means_the_api_key_alone_does_not_open_it(fake, tmp_path):
    client = make_client(fake, tmp_path, dashboard_key="dash-secret-key")
    assert client.get("/dashboard/api/summary", headers=AUTH).status_code == 401
    assert sign_in(client, KEY).status_code == 401
    assert client.get("/dashboard/api/summary").status_code == 401
    response = client.get("/dashboard/api/summary", headers={"Authorization": "Bearer dash-secret-key"})
    assert response.status_code == 200
    assert response.get_json()["viewer"] == "dashboard"
    assert sign_in(client, "dash-secret-key").status_code == 303
    assert client.get("/dashboard/api/summary").status_code == 200
    assert client.get("/v1/models", headers={"Authorization": "Bearer dash-secret-key"}).status_code == 401


def test_disabled_dashboard_is_not_served(fake, tmp_path):
    client = make_client(fake, tmp_path, dashboard_enabled=False)
    assert client.get("/dashboard").status_code == 404
    assert client.get("/dashboard/api/summary", headers=AUTH).status_code == 404


def test_page_has_a_strict_content_security_policy(client):
    sign_in(client)
    headers = client.get("/dashboard").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store"
    assert client.get("/dashboard/static/dashboard.js").status_code == 200
    assert client.get("/dashboard/static/dashboard.css").status_code == 200


# -- what the APIs say ------------------------------------------------------------------------

def test_summary_counts_the_traffic_sent(client):
    json_body = chat(client, stream=False).get_json()
    chat(client, stream=True, model="GLM-4.6")
    chat(client, stream=False, headers={"Authorization": "Bearer sk-wrong"})
    summary = client.get("/dashboard/api/summary", headers=AUTH).get_json()
    assert summary["totals"]["requests"] == 3
    assert summary["totals"]["succeeded"] == 2
    assert summary["totals"]["failed"] == 1
    assert summary["totals"]["tokens_in"] == 2 * json_body["usage"]["prompt_tokens"]
    assert summary["totals"]["tokens_out"] == 2 * json_body["usage"]["completion_tokens"]
    assert summary["last_hour"]["requests"] == 3
    assert summary["last_hour"]["streams"] == 1
    assert summary["last_hour"]["latency_ms"]["p50"] > 0
    assert summary["last_hour"]["ttft_ms"]["p50"] > 0
    assert sum(m["succeeded"] + m["failed"] for m in summary["per_minute"]) == 3
    assert [(row["name"], row["requests"]) for row in summary["by_model"]] == [("GLM-4.5", 1), ("GLM-4.6", 1)]
    assert [(row["name"], row["requests"], row["failed"]) for row in summary["by_key"]] == [
        ("default", 2, 0), (None, 1, 1)]


def test_per_model_rows_are_the_catalogue_models_with_the_names_asked_for(fake, tmp_path):
    client = make_client(fake, tmp_path, model_aliases="gpt-4o=GLM-4.6")
    chat(client, stream=False, model="GLM-4.5")
    chat(client, stream=True, model="glm4.5")
    chat(client, stream=False, model="gpt-4o")
    client.application.extensions["store"].record(rec(time.time(), model="glm-4-6"))   # an older record
    summary = client.get("/dashboard/api/summary", headers=AUTH).get_json()
    assert [(row["name"], row["requests"], row["aliases"]) for row in summary["by_model"]] == [
        ("GLM-4.5", 2, ["glm4.5"]), ("GLM-4.6", 2, ["glm-4-6", "gpt-4o"])]
    assert summary["by_model"][0]["latency_p50_ms"] > 0
    rows = client.get("/dashboard/api/requests", headers=AUTH).get_json()["requests"]
    assert [row["model"] for row in rows] == ["glm-4-6", "gpt-4o", "glm4.5", "GLM-4.5"]   # as typed


def test_requests_are_newest_first_with_the_table_fields(client):
    chat(client, stream=False)
    chat(client, stream=True, model="GLM-4.6")
    chat(client, stream=False, headers={"Authorization": "Bearer sk-wrong"})
    rows = client.get("/dashboard/api/requests", headers=AUTH).get_json()["requests"]
    assert [(r["key"], r["model"], r["stream"], r["status"], r["error"]) for r in rows] == [
        (None, None, None, 401, "invalid_api_key"), ("default", "GLM-4.6", True, 200, None),
        ("default", "GLM-4.5", False, 200, None)]
    assert rows[1]["ttft_ms"] > 0
    assert rows[1]["tokens_out"] > 0
    assert rows[1]["client"].startswith("Werkzeug/")
    limited = client.get("/dashboard/api/requests?limit=1", headers=AUTH).get_json()["requests"]
    assert [r["status"] for r in limited] == [401]


def test_credentials_show_the_pool_with_masked_tokens(client, fake):
    chat(client, stream=False)
    pool = client.get("/dashboard/api/credentials", headers=AUTH).get_json()
    assert len(pool["workers"]) == 1
    credential = pool["workers"][0]["credentials"][0]
    assert credential["guest"] is True
    assert credential["state"] == "ok"
    assert credential["uses"] == 1
    token = fake.requests[-1]["headers"]["authorization"].removeprefix("Bearer ")
    assert credential["token"] == "..." + token[-6:]
    assert pool["counts"] == {"ok": 1, "cooling": 0, "invalid": 0, "captcha": 0}
    assert pool["workers"][0]["notes"] == []
    assert pool["upstream"]["web"] == {"dialect": "2025", "dialect_source": "/api/config answered 404",
                                       "ready": True, "reason": "ok"}


def test_nothing_secret_in_any_response(client, fake):
    chat(client, stream=False)
    chat(client, stream=True)
    token = fake.requests[-1]["headers"]["authorization"].removeprefix("Bearer ")
    sign_in(client)
    bodies = [client.get(path).get_data(as_text=True) for path in ("/dashboard", *APIS)]
    bodies.append(client.get("/dashboard/static/dashboard.js").get_data(as_text=True))
    for body in bodies:
        assert KEY not in body
        assert token not in body
        assert token[:20] not in body


def test_the_public_default_key_does_not_open_the_dashboard(fake, tmp_path):
    client = make_client(fake, tmp_path, default_key="sk-your-key")
    form = client.post("/dashboard/login", data={"key": "sk-your-key"})
    assert form.status_code == 403
    assert "set DASHBOARD_KEY" in form.get_data(as_text=True)
    assert dashboard.COOKIE not in form.headers.get("Set-Cookie", "")
    api = client.get("/dashboard/api/summary", headers={"Authorization": "Bearer sk-your-key"})
    assert (api.status_code, api.get_json()["error"]["code"]) == (403, "public_default_key")
    assert client.post("/v1/chat/completions", headers={"Authorization": "Bearer sk-your-key"},
                       json={"model": "GLM-4.5", "messages": [{"role": "user", "content": "hi"}],
                             "stream": False}).status_code == 200, "it still works for the API"


def test_a_dashboard_key_opens_it_beside_the_public_default_key(fake, tmp_path):
    client = make_client(fake, tmp_path, default_key="sk-your-key", dashboard_key="dash-secret-1")
    assert client.get("/dashboard/api/summary", headers={"Authorization": "Bearer dash-secret-1"}).status_code == 200
