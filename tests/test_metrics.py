import json
import logging

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import AUTH
from tests.conftest import KEY
from tests.conftest import settings_for
from tests.fakezai import make_user_token
from ztoapi import create_app

CHAT = "/v1/chat/completions"
USER = [{"role": "user", "content": "Hello there"}]


def scrape(client, headers=None):
    """Every sample of /metrics, keyed by (name, sorted label pairs)."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    families = text_string_to_metric_families(response.get_data(as_text=True))
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def post(client, body, headers=AUTH, **kwargs):
    return client.post(CHAT, json=body, headers=headers, **kwargs)


def directive(**script):
    return f"[[fake {json.dumps(script)}]]"


def test_metrics_are_prometheus_text(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    assert "# TYPE ztoapi_requests_total counter" in response.get_data(as_text=True)


def test_a_json_completion_counts_request_tokens_and_latencies(client):
    usage = post(client, {"model": "GLM-4.5", "messages": USER, "stream": False}).get_json()["usage"]
    samples = scrape(client)
    assert value(samples, "ztoapi_requests_total", route=CHAT, model="GLM-4.5", status="200") == 1
    assert value(samples, "ztoapi_tokens_total", direction="in", model="GLM-4.5") == usage["prompt_tokens"]
    assert value(samples, "ztoapi_tokens_total", direction="out", model="GLM-4.5") == (
        usage["completion_tokens"])
    assert value(samples, "ztoapi_request_duration_seconds_count", route=CHAT) == 1
    assert value(samples, "ztoapi_time_to_first_token_seconds_count", model="GLM-4.5") == 1
    assert value(samples, "ztoapi_time_to_first_token_seconds_bucket", model="GLM-4.5", le="+Inf") == 1


def test_a_model_alias_counts_under_the_catalog_id(client):
    assert post(client, {"model": "glm-4.6", "messages": USER, "stream": False}).status_code == 200
    samples = scrape(client)
    assert value(samples, "ztoapi_requests_total", route=CHAT, model="GLM-4.6", status="200") == 1
    assert value(samples, "ztoapi_requests_total", route=CHAT, model="glm-4.6", status="200") is None


def test_a_stream_is_active_until_closed_then_counted(client):
    response = post(client, {"model": "GLM-4.5", "messages": USER, "stream": True,
                             "stream_options": {"include_usage": True}}, buffered=False)
    assert response.status_code == 200
    samples = scrape(client)
    assert value(samples, "ztoapi_active_streams") == 1
    assert value(samples, "ztoapi_requests_total", route=CHAT, model="GLM-4.5", status="200") is None
    chunks = [line[6:] for line in response.get_data(as_text=True).split("\n\n") if line.startswith("data: ")]
    usage = json.loads(chunks[-2])["usage"]
    response.close()
    samples = scrape(client)
    assert value(samples, "ztoapi_active_streams") == 0
    assert value(samples, "ztoapi_requests_total", route=CHAT, model="GLM-4.5", status="200") == 1
    assert value(samples, "ztoapi_tokens_total", direction="out", model="GLM-4.5") == (
        usage["completion_tokens"])
    assert value(samples, "ztoapi_time_to_first_token_seconds_count", model="GLM-4.5") == 1


def test_failed_requests_count_with_their_status(client):
    assert post(client, {"model": "GLM-9", "messages": USER}).status_code == 404
    assert post(client, {"model": "GLM-4.5", "messages": USER}, headers={}).status_code == 401
    assert client.get("/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
    samples = scrape(client)
    assert value(samples, "ztoapi_requests_total", route=CHAT, model="", status="404") == 1
    assert value(samples, "ztoapi_requests_total", route=CHAT, model="", status="401") == 1
    assert value(samples, "ztoapi_requests_total", route="/v1/models", model="", status="401") == 1
    assert value(samples, "ztoapi_time_to_first_token_seconds_count", model="") is None


def test_routes_are_url_rules_and_unknown_paths_are_other(client):
    assert client.get("/v1/models/GLM-4.5", headers=AUTH).status_code == 200
    assert client.get("/v1/models/GLM-9", headers=AUTH).status_code == 404
    assert client.get(CHAT, headers=AUTH).status_code == 405
    assert client.get("/v1/nothing/here", headers=AUTH).status_code == 404
    samples = scrape(client)
    assert value(samples, "ztoapi_requests_total", route="/v1/models/{model_id}", model="", status="200") == 1
    assert value(samples, "ztoapi_requests_total", route="/v1/models/{model_id}", model="", status="404") == 1
    assert value(samples, "ztoapi_requests_total", route=CHAT, model="", status="405") == 1
    assert value(samples, "ztoapi_requests_total", route="other", model="", status="404") == 1


def test_an_upstream_failure_then_success_counts_one_error_and_one_retry(client, fake):
    fake.script_next(fault="http500")
    assert post(client, {"model": "GLM-4.5", "messages": USER, "stream": False}).status_code == 200
    samples = scrape(client)
    assert value(samples, "ztoapi_upstream_errors_total", code="upstream_error") == 1
    assert value(samples, "ztoapi_upstream_retries_total") == 1
    assert value(samples, "ztoapi_requests_total", route=CHAT, model="GLM-4.5", status="200") == 1


def test_failing_every_attempt_counts_each_error_and_the_retries(client):
    content = directive(fault="http500")
    response = post(client, {"model": "GLM-4.5", "messages": [{"role": "user", "content": content}],
                             "stream": False})
    assert response.status_code == 502
    samples = scrape(client)
    assert value(samples, "ztoapi_upstream_errors_total", code="upstream_error") == 3
    assert value(samples, "ztoapi_upstream_retries_total") == 2
    assert value(samples, "ztoapi_requests_total", route=CHAT, model="GLM-4.5", status="502") == 1
    assert value(samples, "ztoapi_time_to_first_token_seconds_count", model="GLM-4.5") is None


def test_the_request_log_counts_the_retries_of_a_failed_request(client, caplog):
    content = directive(fault="http500")
    with caplog.at_level(logging.INFO, logger="ztoapi"):
        post(client, {"model": "GLM-4.5", "messages": [{"role": "user", "content": content}],
                      "stream": False})
    line = next(r.getMessage() for r in caplog.records if " POST /v1/chat/completions 502 " in r.getMessage())
    assert "error=upstream_error" in line
    assert "retries=2" in line


def test_a_stream_cut_mid_way_is_a_200_with_a_stream_error(client):
    content = directive(fault="cut", answer="a b c d e f", chunk=2)
    response = post(client, {"model": "GLM-4.5", "messages": [{"role": "user", "content": content}],
                             "stream": True})
    assert response.status_code == 200
    assert '"error"' in response.get_data(as_text=True)
    response.close()
    samples = scrape(client)
    assert value(samples, "ztoapi_requests_total", route=CHAT, model="GLM-4.5", status="200") == 1
    assert value(samples, "ztoapi_stream_errors_total", code="upstream_stream_cut") == 1
    assert value(samples, "ztoapi_active_streams") == 0


def test_credential_gauges_follow_the_pool_and_hold_no_secret(fake):
    good, bad = make_user_token("user-metrics-good"), make_user_token("user-metrics-bad")
    fake.add_user_token(good)
    client = create_app(settings_for(fake, zai_token=f"{bad},{good}", anon_token_enabled=False)).test_client()
    samples = scrape(client)
    assert value(samples, "ztoapi_credentials", kind="configured", state="ok") == 2
    assert value(samples, "ztoapi_credentials", kind="guest", state="ok") == 0
    assert post(client, {"model": "GLM-4.5", "messages": USER, "stream": False}).status_code == 200
    samples = scrape(client)
    assert value(samples, "ztoapi_credentials", kind="configured", state="ok") == 1
    assert value(samples, "ztoapi_credentials", kind="configured", state="invalid") == 1
    assert value(samples, "ztoapi_credentials", kind="configured", state="cooling") == 0
    assert value(samples, "ztoapi_upstream_errors_total", code="upstream_unauthorized") == 1
    text = client.get("/metrics").get_data(as_text=True)
    assert good not in text and good[-6:] not in text
    assert bad not in text and bad[-6:] not in text
    assert KEY not in text


def test_guests_count_as_guest_credentials(client):
    assert post(client, {"model": "GLM-4.5", "messages": USER, "stream": False}).status_code == 200
    samples = scrape(client)
    assert value(samples, "ztoapi_credentials", kind="guest", state="ok") == 1
    assert value(samples, "ztoapi_credentials", kind="configured", state="ok") == 0


def test_metrics_key_is_required_when_set(fake):
    client = create_app(settings_for(fake, metrics_key="metrics-secret")).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=AUTH).status_code == 401
    response = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_metrics_key"
    assert client.get("/metrics", headers={"Authorization": "Bearer metrics-secret"}).status_code == 200


def test_scrapes_and_health_checks_are_not_api_traffic(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/wp-admin/setup.php").status_code == 404
    samples = scrape(client)
    assert not [key for key in samples if key[0] == "ztoapi_requests_total"]


def test_metrics_are_open_without_a_metrics_key(client):
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 200


def test_a_guest_asked_for_a_captcha_counts_as_captcha(fake):
    fake.dialect = "2026"
    try:
        client = create_app(settings_for(fake)).test_client()
        response = post(client, {"model": "GLM-4.5", "messages": [
            {"role": "user", "content": directive(fault="captcha")}], "stream": False})
        assert response.status_code == 503
        samples = scrape(client)
        assert value(samples, "ztoapi_credentials", kind="guest", state="captcha") == 1
        assert value(samples, "ztoapi_credentials", kind="guest", state="ok") == 0
        assert value(samples, "ztoapi_upstream_errors_total", code="upstream_captcha_required") == 1
    finally:
        fake.dialect = "2025"
