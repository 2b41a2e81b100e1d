"""Guest tokens: minted from /api/v1/auths/, reused, and every way minting fails."""
import json
import logging

import pytest
import requests
import responses

from ztoapi.errors import ApiError
from ztoapi.zai.client import ZaiClient

from tests.zai_mock import AUTHS
from tests.zai_mock import COMPLETIONS
from tests.zai_mock import Clock
from tests.zai_mock import DETECTED
from tests.zai_mock import GET_HOME
from tests.zai_mock import GUEST_ID
from tests.zai_mock import GUEST_TOKEN
from tests.zai_mock import HOME
from tests.zai_mock import MINT
from tests.zai_mock import ORIGIN
from tests.zai_mock import POST
from tests.zai_mock import T1
from tests.zai_mock import USER_ID
from tests.zai_mock import USER_TOKEN
from tests.zai_mock import add_completion
from tests.zai_mock import add_guest
from tests.zai_mock import add_home
from tests.zai_mock import bearers
from tests.zai_mock import calls
from tests.zai_mock import chat
from tests.zai_mock import make_client
from tests.zai_mock import raised
from tests.zai_mock import sent_query
from tests.zai_mock import settings
from tests.zai_mock import upstream


# ---------------------------------------------------------------- guest token (§2.1)

def test_guest_token_is_minted_with_a_plain_browser_get(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    make_client().open(chat())
    mint = upstream.calls[1]
    assert mint.request.method == "GET"
    assert mint.request.url == AUTHS
    assert mint.request.headers["X-FE-Version"] == DETECTED
    assert mint.request.headers["Origin"] == ORIGIN
    assert mint.request.headers["Referer"] == f"{ORIGIN}/"
    assert "Chrome/" in mint.request.headers["User-Agent"]
    assert "Authorization" not in mint.request.headers
    assert mint.request.body is None


def test_guest_token_call_has_an_explicit_timeout(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    make_client(upstream_connect_timeout=3.0, upstream_read_timeout=45.0).open(chat())
    assert upstream.calls[1].request.req_kwargs["timeout"] == (3.0, 15)


def test_guest_token_is_minted_once_and_reused(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    client = make_client()
    client.open(chat())
    client.open(chat())
    assert calls(upstream) == [GET_HOME, MINT, POST, POST]
    assert bearers(upstream) == [GUEST_TOKEN, GUEST_TOKEN]


def test_configured_token_means_no_auths_call(upstream):
    add_home(upstream)
    add_completion(upstream)
    make_client(zai_token=USER_TOKEN).open(chat())
    assert calls(upstream) == [GET_HOME, POST]
    assert bearers(upstream) == [USER_TOKEN]
    assert sent_query(upstream.calls[1])["user_id"] == USER_ID
# ---------------------------------------------------------------- guest minting failures

def test_guest_mint_500_is_credential_unavailable(upstream):
    add_home(upstream)
    upstream.get(AUTHS, status=500, body="Internal Server Error")
    error = raised(make_client(), chat())
    assert calls(upstream) == [GET_HOME, MINT]
    assert error.status == 503
    assert error.code == "upstream_credential_unavailable"
    assert "ZAI_TOKEN" in error.message


def test_guest_mint_405_names_the_firewall(upstream):
    add_home(upstream)
    upstream.get(AUTHS, status=405, content_type="text/html", body="<html>405</html>")
    error = raised(make_client(), chat())
    assert calls(upstream) == [GET_HOME, MINT]
    assert error.status == 503
    assert "firewall" in error.message


def test_guest_mint_without_a_token_is_credential_unavailable(upstream):
    add_home(upstream)
    upstream.get(AUTHS, json={"id": GUEST_ID, "role": "guest"})
    error = raised(make_client(), chat())
    assert calls(upstream) == [GET_HOME, MINT]
    assert error.status == 503
    assert error.code == "upstream_credential_unavailable"
    assert "ZAI_TOKEN" in error.message


def test_guest_mint_with_a_non_json_200_is_credential_unavailable(upstream):
    add_home(upstream)
    upstream.get(AUTHS, body="<html>captcha</html>", content_type="text/html")
    error = raised(make_client(), chat())
    assert error.status == 503
    assert error.code == "upstream_credential_unavailable"


def test_guest_mint_with_a_non_string_token_is_credential_unavailable(upstream):
    add_home(upstream)
    upstream.get(AUTHS, json={"id": GUEST_ID, "token": 12345})
    error = raised(make_client(), chat())
    assert error.status == 503
    assert error.code == "upstream_credential_unavailable"


def test_guest_mint_connection_error_is_upstream_unreachable_naming_the_network(upstream):
    add_home(upstream)
    upstream.get(AUTHS, body=requests.ConnectionError("Connection refused"))
    error = raised(make_client(), chat())
    assert calls(upstream) == [GET_HOME, MINT]
    assert (error.status, error.code) == (502, "upstream_unreachable")
    assert "UPSTREAM_PROXY" in error.message and "ZAI_TOKEN" not in error.message


def test_a_hanging_guest_mint_is_upstream_timeout(upstream):
    add_home(upstream)
    upstream.get(AUTHS, body=requests.ReadTimeout("read timed out"))
    error = raised(make_client(), chat())
    assert (error.status, error.code) == (504, "upstream_timeout")
    assert "minting a guest token" in error.message and "network" in error.message


def test_final_errors_tell_sdks_not_to_retry_but_rate_limits_say_when(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    error = raised(make_client(upstream_max_retries=0), chat())
    assert error.headers == {"x-should-retry": "false"}
    upstream.replace(responses.POST, COMPLETIONS, status=429, json={"detail": "Too many requests"},
                     headers={"Retry-After": "7"})
    limited = raised(make_client(upstream_max_retries=0, zai_token=T1, anon_token_enabled=False), chat())
    assert limited.headers == {"Retry-After": "7"}


def test_the_last_attempt_is_never_logged_as_retrying(upstream, caplog):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    with caplog.at_level(logging.INFO, logger="ztoapi.upstream"):
        raised(make_client(upstream_max_retries=1), chat())
    attempts = [r.getMessage() for r in caplog.records if r.getMessage().startswith("upstream attempt failed")]
    assert attempts == ["upstream attempt failed: upstream_error (retrying)",
                        "upstream attempt failed: upstream_error (final)"]


def test_readiness_follows_the_last_request_and_a_probe_finds_recovery(upstream):
    clock = Clock()
    add_home(upstream)
    upstream.get(AUTHS, body=requests.ConnectionError("Connection refused"))
    client = ZaiClient(settings(), sleep=lambda s: None, clock=clock)
    assert client.status()["ready"] is True
    raised(client, chat())
    status = client.status()
    assert status["ready"] is False
    assert status["reason"].startswith("the last request failed: upstream_unreachable")
    clock.now += 6
    upstream.get(HOME, body=requests.ConnectionError("still down"))
    assert client.status()["ready"] is False
    clock.now += 6
    add_home(upstream)
    assert client.status()["ready"] is True


def test_a_failed_mint_is_tried_again_on_the_next_start(upstream):
    add_home(upstream)
    upstream.get(AUTHS, status=500, body="Internal Server Error")
    add_guest(upstream)
    add_completion(upstream)
    client = make_client()
    with pytest.raises(ApiError):
        client.open(chat())
    client.open(chat())
    assert calls(upstream) == [GET_HOME, MINT, MINT, POST]


def test_a_failed_mint_on_a_retry_gives_the_last_upstream_failure(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.get(AUTHS, status=500, body="Internal Server Error")
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"})
    error = raised(make_client(), chat())
    assert calls(upstream) == [GET_HOME, MINT, POST, MINT]
    assert error.code == "upstream_unauthorized"
