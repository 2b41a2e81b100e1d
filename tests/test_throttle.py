"""Failed authentication throttled per client address (AUTH_FAILURES_PER_MINUTE), through the app."""
import pytest

from tests.conftest import KEY
from tests.conftest import settings_for
from ztoapi import create_app
from ztoapi.throttle import AuthThrottle

ATTACKER = {"REMOTE_ADDR": "203.0.113.9"}
NEIGHBOUR = {"REMOTE_ADDR": "203.0.113.10"}
GOOD = {"Authorization": f"Bearer {KEY}"}
USER = [{"role": "user", "content": "Hello"}]


def make_app(fake, tmp_path, **overrides):
    overrides = {"auth_failures_per_minute": 3, **overrides}
    return create_app(settings_for(fake, data_dir=str(tmp_path), **overrides))


def guess(client, key, environ=ATTACKER, path="/v1/models"):
    return client.get(path, headers={"Authorization": f"Bearer {key}"}, environ_base=environ)


def test_wrong_keys_from_one_address_are_throttled_without_checking_the_key(fake, tmp_path):
    client = make_app(fake, tmp_path).test_client()
    assert [guess(client, f"sk-guess-{n}").status_code for n in range(3)] == [401, 401, 401]
    refused = client.get("/v1/models", headers=GOOD, environ_base=ATTACKER)   # even the right key
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    error = refused.get_json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "too_many_auth_failures")
    assert "Too many failed authentication attempts" in error["message"]
    assert client.get("/v1/models", headers=GOOD, environ_base=NEIGHBOUR).status_code == 200
    assert client.get("/v1/models", headers=GOOD).status_code == 200   # a client on this machine


def test_anthropic_routes_answer_in_their_envelope(fake, tmp_path):
    client = make_app(fake, tmp_path).test_client()
    body = {"model": "GLM-4.5", "max_tokens": 10, "messages": USER}
    for n in range(3):
        response = client.post("/anthropic/v1/messages", json=body, headers={"x-api-key": f"sk-guess-{n}"},
                               environ_base=ATTACKER)
        assert response.status_code == 401
    refused = client.post("/v1/messages", json=body, headers={"x-api-key": KEY}, environ_base=ATTACKER)
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert refused.get_json()["type"] == "error"
    assert refused.get_json()["error"]["type"] == "rate_limit_error"


def test_failed_sign_ins_are_throttled_and_the_form_says_so(fake, tmp_path):
    client = make_app(fake, tmp_path).test_client()
    for n in range(3):
        response = client.post("/dashboard/login", data={"key": f"sk-guess-{n}"}, environ_base=ATTACKER)
        assert response.status_code == 401
    refused = client.post("/dashboard/login", data={"key": KEY}, environ_base=ATTACKER)
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    html = refused.get_data(as_text=True)
    assert "Too many failed sign-ins from your address" in html and 'action="/dashboard/login"' in html
    assert "Set-Cookie" not in refused.headers
    assert client.post("/dashboard/login", data={"key": KEY}, environ_base=NEIGHBOUR).status_code == 303


def test_sign_ins_api_keys_and_dashboard_bearers_count_together(fake, tmp_path):
    client = make_app(fake, tmp_path).test_client()
    client.post("/dashboard/login", data={"key": "sk-guess-1"}, environ_base=ATTACKER)
    guess(client, "sk-guess-2", path="/dashboard/api/summary")
    guess(client, "sk-guess-3")
    refused = client.get("/dashboard/api/summary", headers=GOOD, environ_base=ATTACKER)
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "too_many_auth_failures"


def test_the_count_is_shared_by_the_workers(fake, tmp_path):
    first = make_app(fake, tmp_path).test_client()
    second = make_app(fake, tmp_path).test_client()   # another worker on the same store
    guess(first, "sk-guess-1")
    guess(second, "sk-guess-2")
    guess(first, "sk-guess-3")
    assert second.get("/v1/models", headers=GOOD, environ_base=ATTACKER).status_code == 429


def test_with_the_store_down_each_worker_counts_in_memory(fake, tmp_path):
    client = make_app(fake, tmp_path, redis_url="redis://127.0.0.1:1/0").test_client()
    assert [guess(client, f"sk-guess-{n}").status_code for n in range(3)] == [401, 401, 401]
    assert client.get("/v1/models", headers=GOOD, environ_base=ATTACKER).status_code == 429


def test_the_address_may_try_again_after_the_minute(fake, tmp_path):
    app = make_app(fake, tmp_path)
    client = app.test_client()
    for n in range(3):
        guess(client, f"sk-guess-{n}")
    assert client.get("/v1/models", headers=GOOD, environ_base=ATTACKER).status_code == 429
    store = app.extensions["store"].backend
    later = store.clock() + 61
    store.clock = lambda: later
    app.extensions["limiter"].memory.clock = lambda: later
    assert client.get("/v1/models", headers=GOOD, environ_base=ATTACKER).status_code == 200


def test_zero_turns_the_throttle_off(fake, tmp_path):
    client = make_app(fake, tmp_path, auth_failures_per_minute=0).test_client()
    assert {guess(client, f"sk-guess-{n}").status_code for n in range(10)} == {401}


def test_no_key_is_not_a_failure(fake, tmp_path):
    client = make_app(fake, tmp_path).test_client()
    for _ in range(5):
        assert client.get("/v1/models", environ_base=ATTACKER).status_code == 401
    assert client.get("/v1/models", headers=GOOD, environ_base=ATTACKER).status_code == 200


@pytest.mark.parametrize("environ, address", [
    ({"REMOTE_ADDR": "203.0.113.9"}, "203.0.113.9"),
    ({"REMOTE_ADDR": "::ffff:203.0.113.9"}, "203.0.113.9"),
    ({"REMOTE_ADDR": "2001:db8:1:2:3:4:5:6"}, "2001:db8:1:2::/64"),
    ({"REMOTE_ADDR": "127.0.0.1"}, None),
    ({"REMOTE_ADDR": "::1"}, None),
    ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.1, 198.51.100.7"}, "198.51.100.7"),
    ({"REMOTE_ADDR": "::1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}, "198.51.100.7"),
    ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "not an address"}, None),
    ({"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}, "203.0.113.9"),
])
def test_the_client_address(environ, address):
    assert AuthThrottle(None, None, 30, trusted="127.0.0.1,::1").address(environ) == address


def test_a_proxy_named_trusted_is_believed():
    throttle = AuthThrottle(None, None, 30, trusted="10.0.0.0/8")
    proxied = {"REMOTE_ADDR": "10.1.2.3", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    assert throttle.address(proxied) == "198.51.100.7"
    assert throttle.address({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}) is None
    assert AuthThrottle(None, None, 30, trusted="*").address(
        {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}) == "198.51.100.7"
