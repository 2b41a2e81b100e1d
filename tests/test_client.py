"""The client's attempts before the first byte: retries, what is never retried, credential
rotation and rests, in-band errors, a client's own token, and session hygiene."""
import json
import logging
import time
from pathlib import Path

import pytest
import requests

from ztoapi.errors import ApiError
from ztoapi.zai import attempts as attempts_module
from ztoapi.zai.client import ZaiClient
from ztoapi.zai.credentials import Credential
from ztoapi.zai.version import FALLBACK

from tests.zai_mock import AUTHS
from tests.zai_mock import BUSY
from tests.zai_mock import CLIENT_TOKEN
from tests.zai_mock import COMPLETIONS
from tests.zai_mock import Clock
from tests.zai_mock import DETECTED
from tests.zai_mock import GET_HOME
from tests.zai_mock import GUEST_ID
from tests.zai_mock import GUEST_TOKEN
from tests.zai_mock import HOME
from tests.zai_mock import MINT
from tests.zai_mock import POST
from tests.zai_mock import SECOND_GUEST_ID
from tests.zai_mock import SECOND_GUEST_TOKEN
from tests.zai_mock import StalledBody
from tests.zai_mock import T1
from tests.zai_mock import T1_ID
from tests.zai_mock import T2
from tests.zai_mock import T2_ID
from tests.zai_mock import THIRD_GUEST_TOKEN
from tests.zai_mock import USER_ID
from tests.zai_mock import USER_TOKEN
from tests.zai_mock import add_completion
from tests.zai_mock import add_guest
from tests.zai_mock import add_home
from tests.zai_mock import bearers
from tests.zai_mock import calls
from tests.zai_mock import chat
from tests.zai_mock import for_token
from tests.zai_mock import make_client
from tests.zai_mock import posts
from tests.zai_mock import raised
from tests.zai_mock import read_all
from tests.zai_mock import sent_query
from tests.zai_mock import settings
from tests.zai_mock import sse
from tests.zai_mock import upstream


# ---------------------------------------------------------------- retries before the first event

def test_500_then_200_is_retried_to_success(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    add_completion(upstream)
    reply = make_client().open(chat())
    assert read_all(reply) == [("answer", "Hi")]
    assert calls(upstream) == [GET_HOME, MINT, POST, POST]
    assert bearers(upstream) == [GUEST_TOKEN, GUEST_TOKEN], "a 500 does not throw the guest away"


@pytest.mark.parametrize("max_retries", [0, 1, 2])
def test_500_on_every_attempt_gives_up_after_the_retry_budget(upstream, max_retries):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    error = raised(make_client(upstream_max_retries=max_retries), chat())
    assert len(posts(upstream)) == max_retries + 1
    assert error.status == 502
    assert error.code == "upstream_error"
    assert "HTTP 500" in error.message


def test_connection_error_then_success(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, body=requests.ConnectionError("Connection refused"))
    add_completion(upstream)
    reply = make_client().open(chat())
    assert read_all(reply) == [("answer", "Hi")]
    assert len(posts(upstream)) == 2


def test_connection_error_every_time_is_upstream_unreachable(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, body=requests.ConnectionError("Connection refused"))
    error = raised(make_client(), chat())
    assert len(posts(upstream)) == 3
    assert error.status == 502
    assert error.code == "upstream_unreachable"


def test_connect_timeout_is_retried_then_upstream_timeout(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, body=requests.ConnectTimeout("connect timed out"))
    error = raised(make_client(), chat())
    assert len(posts(upstream)) == 3
    assert error.status == 504
    assert error.code == "upstream_timeout"


def test_read_timeout_is_upstream_timeout_and_not_retried(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, body=requests.ReadTimeout("read timed out"))
    error = raised(make_client(), chat())
    assert len(posts(upstream)) == 1
    assert error.status == 504
    assert error.code == "upstream_timeout"


def test_backoff_sleeps_are_jittered_below_the_cap(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    slept = []
    with pytest.raises(ApiError):
        ZaiClient(settings(), sleep=slept.append).open(chat())
    assert len(slept) == 2, "a sleep between attempts, none after the last"
    assert 0 <= slept[0] <= 0.25
    assert 0 <= slept[1] <= 0.5


def test_backoff_doubles_up_to_two_seconds(upstream, monkeypatch):
    monkeypatch.setattr(attempts_module.random, "uniform", lambda low, high: high)
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    slept = []
    with pytest.raises(ApiError):
        ZaiClient(settings(upstream_max_retries=6), sleep=slept.append).open(chat())
    assert slept == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


def test_an_empty_200_before_any_event_is_retried_as_a_cut_stream(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream, b"")
    error = raised(make_client(), chat())
    assert len(posts(upstream)) == 3
    assert error.status == 502
    assert error.code == "upstream_stream_cut"


def test_three_failures_in_a_row_rest_a_token(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error", match=for_token(T1))
    add_completion(upstream, match=for_token(T2))
    client = make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False)
    for _ in range(4):
        client.open(chat())
    assert bearers(upstream) == [T1, T2, T1, T2, T1, T2, T2]
    assert client.pool.state()[0]["token"] == "...one111"
    assert client.pool.state()[0]["state"] == "cooling down for 30 s"
# ---------------------------------------------------------------- never retried

def test_405_waf_page_is_upstream_blocked_and_not_retried(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=405, content_type="text/html",
                  body="<!doctype html><html><head><title>405</title></head>"
                       "<body><img src='https://errors.aliyun.com/images/405.png'></body></html>")
    error = raised(make_client(), chat())
    assert calls(upstream) == [GET_HOME, MINT, POST]
    assert error.status == 502
    assert error.code == "upstream_blocked"
    assert "UPSTREAM_PROXY" in error.message
    assert "<html" not in error.message


def test_400_signature_failure_is_upstream_signature_rejected_and_not_retried(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=400,
                  body='{"detail":"403: Signature validation failed: 签名验证失败"}'.encode(),
                  content_type="application/json")
    error = raised(make_client(), chat())
    assert len(posts(upstream)) == 1
    assert error.status == 502
    assert error.code == "upstream_signature_rejected"
    assert "ZAI_SIGNING_SECRET" in error.message
    assert "Signature validation failed" in error.message


def test_400_model_not_found_is_upstream_rejected_and_not_retried(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=400, json={"detail": "Model not found"})
    error = raised(make_client(), chat())
    assert len(posts(upstream)) == 1
    assert error.status == 502
    assert error.code == "upstream_rejected"
    assert "Model not found" in error.message


def test_a_silent_upstream_is_a_first_event_timeout_and_not_retried(upstream):
    add_home(upstream)
    add_guest(upstream)
    body = StalledBody()
    add_completion(upstream, body)
    started = time.monotonic()
    try:
        error = raised(make_client(upstream_first_event_timeout=0.3), chat())
    finally:
        body.release.set()
    assert time.monotonic() - started < 3
    assert len(posts(upstream)) == 1
    assert error.status == 504
    assert error.code == "upstream_timeout"
# ---------------------------------------------------------------- 426: the version moved on

def test_426_redetects_the_version_and_retries_once_with_the_new_one(upstream):
    add_home(upstream)
    add_home(upstream, "prod-fe-1.0.121")
    upstream.post(COMPLETIONS, status=426, json={"detail": "Your client version check is failed"})
    add_completion(upstream)
    reply = make_client(zai_token=USER_TOKEN).open(chat())
    assert read_all(reply) == [("answer", "Hi")]
    assert calls(upstream) == [GET_HOME, POST, GET_HOME, POST]
    assert [call.request.headers["X-FE-Version"] for call in posts(upstream)] == [
        DETECTED, "prod-fe-1.0.121"]


def test_426_with_an_unchanged_version_is_not_retried(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=426, json={"detail": "Your client version check is failed"})
    error = raised(make_client(zai_token=USER_TOKEN), chat())
    assert calls(upstream) == [GET_HOME, POST, GET_HOME]
    assert error.status == 502
    assert error.code == "upstream_version_rejected"
    assert "ZAI_FE_VERSION" in error.message


def test_426_again_after_a_new_version_stops_there(upstream):
    add_home(upstream)
    add_home(upstream, "prod-fe-1.0.121")
    upstream.post(COMPLETIONS, status=426, json={"detail": "Your client version check is failed"})
    error = raised(make_client(zai_token=USER_TOKEN), chat())
    assert calls(upstream) == [GET_HOME, POST, GET_HOME, POST]
    assert error.code == "upstream_version_rejected"


def test_426_with_the_version_setting_is_not_redetected(upstream):
    upstream.post(COMPLETIONS, status=426, json={"detail": "Your client version check is failed"})
    error = raised(make_client(zai_token=USER_TOKEN, zai_fe_version="prod-fe-1.0.999"), chat())
    assert calls(upstream) == [POST]
    assert error.code == "upstream_version_rejected"


def test_426_after_the_fallback_is_not_retried_when_detection_finds_the_same_version(upstream):
    upstream.get(HOME, status=500, body="Internal Server Error")
    add_home(upstream, FALLBACK)
    upstream.post(COMPLETIONS, status=426, json={"detail": "Your client version check is failed"})
    with pytest.raises(ApiError):
        make_client(zai_token=USER_TOKEN).open(chat())
    assert [call.request.headers["X-FE-Version"] for call in posts(upstream)] == [FALLBACK], (
        f"the first detection failed, so {FALLBACK} was sent and rejected; the re-detection found "
        f"{FALLBACK} again, so the header would not change and a retry cannot help")


def test_400_client_version_is_upstream_version_rejected(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=400, json={"detail": "client version too old"})
    error = raised(make_client(zai_token=USER_TOKEN), chat())
    assert calls(upstream) == [GET_HOME, POST, GET_HOME]
    assert error.code == "upstream_version_rejected"
# ---------------------------------------------------------------- 200 that is not an event stream

def test_200_json_version_error_is_upstream_version_rejected(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, json={"error": {"detail": "Your client version check is failed",
                                               "code": 426}})
    error = raised(make_client(zai_token=USER_TOKEN), chat())
    assert calls(upstream) == [GET_HOME, POST, GET_HOME]
    assert error.status == 502
    assert error.code == "upstream_version_rejected"


def test_200_html_is_upstream_rejected_and_not_retried(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, content_type="text/html",
                  body="<!doctype html><html><body>Please enable JavaScript</body></html>")
    error = raised(make_client(zai_token=USER_TOKEN), chat())
    assert calls(upstream) == [GET_HOME, POST]
    assert error.status == 502
    assert error.code == "upstream_rejected"
    assert "text/html" in error.message
    assert "<html" not in error.message
# ---------------------------------------------------------------- credential pool: ZAI_TOKEN="T1,T2"

@pytest.mark.parametrize("separator", [",", "\n", " , "])
def test_configured_tokens_are_used_in_rotation(upstream, separator):
    add_home(upstream)
    add_completion(upstream)
    client = make_client(zai_token=f"{T1}{separator}{T2}")
    for _ in range(4):
        client.open(chat())
    assert bearers(upstream) == [T1, T2, T1, T2]
    assert [sent_query(call)["user_id"] for call in posts(upstream)] == [T1_ID, T2_ID, T1_ID, T2_ID]


def test_401_on_a_token_moves_to_the_next_and_never_uses_it_again(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"}, match=for_token(T1))
    add_completion(upstream, match=for_token(T2))
    client = make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False)
    reply = client.open(chat())
    assert read_all(reply) == [("answer", "Hi")]
    client.open(chat())
    client.open(chat())
    assert bearers(upstream) == [T1, T2, T2, T2]
    assert client.pool.state()[0] == {"token": "...one111", "guest": False,
                                      "state": "invalid (rejected with 401)", "uses": 1}


def test_401_on_the_only_token_without_guests_is_upstream_unauthorized(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"})
    error = raised(make_client(zai_token=USER_TOKEN, anon_token_enabled=False), chat())
    assert len(posts(upstream)) == 1
    assert error.status == 502
    assert error.code == "upstream_unauthorized"
    assert "ZAI_TOKEN" in error.message


def test_every_token_invalid_without_guests_is_503_naming_them_by_suffix(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"})
    client = make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False)
    first_error = raised(client, chat())
    error = raised(client, chat())
    assert bearers(upstream) == [T1, T2], "the second request reaches no upstream"
    assert first_error.code == "upstream_unauthorized", "the last real upstream failure"
    assert error.status == 503
    assert error.code == "upstream_credential_unavailable"
    assert "...one111 invalid" in error.message
    assert "...two222 invalid" in error.message
    assert "ANON_TOKEN_ENABLED" in error.message
    for token in (T1, T2):
        assert token.split(".")[1] not in error.message
        assert token.split(".")[2][:-6] not in error.message


def test_every_token_invalid_falls_back_to_a_guest(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"}, match=for_token(T1))
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"}, match=for_token(T2))
    add_completion(upstream, match=for_token(GUEST_TOKEN))
    client = make_client(zai_token=f"{T1},{T2}")
    reply = client.open(chat())
    assert read_all(reply) == [("answer", "Hi")]
    client.open(chat())
    assert calls(upstream) == [GET_HOME, POST, POST, MINT, POST, POST]
    assert bearers(upstream) == [T1, T2, GUEST_TOKEN, GUEST_TOKEN]


def test_429_with_retry_after_rests_the_token_for_that_long(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=429, json={"detail": "Too many requests"},
                  headers={"Retry-After": "30"}, match=for_token(T1))
    add_completion(upstream, match=for_token(T2))
    add_completion(upstream, match=for_token(T1))
    slept = []
    client = ZaiClient(settings(zai_token=f"{T1},{T2}", anon_token_enabled=False), sleep=slept.append)
    clock = Clock()
    client.pool.clock = clock
    reply = client.open(chat())
    assert read_all(reply) == [("answer", "Hi")]
    clock.now += 29
    client.open(chat())
    clock.now += 2
    client.open(chat())
    assert bearers(upstream) == [T1, T2, T2, T1], "T1 rests 30 s, then is back"
    assert slept == [0.0], "another credential takes over at once"


def test_429_without_retry_after_rests_the_token_for_the_cooldown(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=429, json={"detail": "Too many requests"}, match=for_token(T1))
    add_completion(upstream, match=for_token(T2))
    client = make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False,
                         token_cooldown_seconds=30.0)
    clock = Clock()
    client.pool.clock = clock
    client.open(chat())
    clock.now += 5
    client.open(chat())
    assert bearers(upstream) == [T1, T2, T2], (
        "a 429 without Retry-After should rest T1 for TOKEN_COOLDOWN_SECONDS (30 s); "
        "it was used again 5 s later")


def test_429_on_every_token_is_429_with_retry_after(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=429, json={"detail": "Too many requests"},
                  headers={"Retry-After": "7"})
    error = raised(make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False), chat())
    assert bearers(upstream) == [T1, T2]
    assert error.status == 429
    assert error.code == "upstream_rate_limited"
    assert error.headers == {"Retry-After": "7"}


def test_429_on_every_guest_is_429_with_retry_after_after_the_budget(upstream):
    add_home(upstream)
    add_guest(upstream, GUEST_TOKEN)
    add_guest(upstream, SECOND_GUEST_TOKEN)
    add_guest(upstream, THIRD_GUEST_TOKEN)
    upstream.post(COMPLETIONS, status=429, json={"detail": "Too many requests"},
                  headers={"Retry-After": "7"})
    error = raised(make_client(), chat())
    assert calls(upstream) == [GET_HOME, MINT, POST, MINT, POST, MINT, POST]
    assert bearers(upstream) == [GUEST_TOKEN, SECOND_GUEST_TOKEN, THIRD_GUEST_TOKEN]
    assert error.status == 429
    assert error.code == "upstream_rate_limited"
    assert error.headers == {"Retry-After": "7"}


def test_429_without_retry_after_says_when_the_token_is_rested(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=429, json={"detail": "Too many requests"})
    error = raised(make_client(zai_token=USER_TOKEN, anon_token_enabled=False,
                               token_cooldown_seconds=20), chat())
    assert error.status == 429
    assert error.headers == {"Retry-After": "20"}


def test_the_guest_pool_keeps_at_most_guest_pool_size(upstream):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=429, json={"detail": "Too many requests"})
    client = make_client(guest_pool_size=2, upstream_max_retries=3)
    with pytest.raises(ApiError):
        client.open(chat())
    assert calls(upstream).count(MINT) == 4
    assert [entry["guest"] for entry in client.pool.state()] == [True, True]
# ---------------------------------------------------------------- 401 with guests

def test_401_with_a_guest_mints_a_new_guest_and_retries(upstream):
    add_home(upstream)
    add_guest(upstream, GUEST_TOKEN)
    add_guest(upstream, SECOND_GUEST_TOKEN)
    upstream.post(COMPLETIONS, status=401,
                  json={"detail": "Your session has expired or the token is invalid."})
    add_completion(upstream)
    reply = make_client().open(chat())
    assert calls(upstream) == [GET_HOME, MINT, POST, MINT, POST]
    assert bearers(upstream) == [GUEST_TOKEN, SECOND_GUEST_TOKEN]
    assert sent_query(posts(upstream)[1])["user_id"] == SECOND_GUEST_ID
    assert read_all(reply) == [("answer", "Hi")]


def test_the_new_guest_is_kept_after_a_401_retry(upstream):
    add_home(upstream)
    add_guest(upstream, GUEST_TOKEN)
    add_guest(upstream, SECOND_GUEST_TOKEN)
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"})
    add_completion(upstream)
    client = make_client()
    client.open(chat())
    client.open(chat())
    assert calls(upstream) == [GET_HOME, MINT, POST, MINT, POST, POST]
    assert bearers(upstream) == [GUEST_TOKEN, SECOND_GUEST_TOKEN, SECOND_GUEST_TOKEN]


def test_401_on_every_guest_stops_after_the_retry_budget(upstream):
    add_home(upstream)
    add_guest(upstream, GUEST_TOKEN)
    add_guest(upstream, SECOND_GUEST_TOKEN)
    add_guest(upstream, THIRD_GUEST_TOKEN)
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"})
    error = raised(make_client(), chat())
    assert calls(upstream) == [GET_HOME, MINT, POST, MINT, POST, MINT, POST]
    assert error.status == 502
    assert error.code == "upstream_unauthorized"
    assert "guest" in error.message
# ---------------------------------------------------------------- a client's own token

def test_client_token_is_the_bearer_and_never_pooled(upstream):
    add_home(upstream)
    add_completion(upstream)
    client = make_client(zai_token=T1)
    before = client.pool.state()
    reply = client.open(chat(client_token=CLIENT_TOKEN))
    assert read_all(reply) == [("answer", "Hi")]
    assert calls(upstream) == [GET_HOME, POST]
    assert bearers(upstream) == [CLIENT_TOKEN]
    assert sent_query(posts(upstream)[0])["user_id"] == "33333333-cccc-4ccc-8ccc-333333333333"
    assert client.pool.state() == before == [{"token": "...one111", "guest": False, "state": "ok",
                                              "uses": 0}]


def test_client_token_without_configured_tokens_mints_no_guest(upstream):
    add_home(upstream)
    add_completion(upstream)
    client = make_client()
    client.open(chat(client_token=CLIENT_TOKEN))
    assert calls(upstream) == [GET_HOME, POST]
    assert client.pool.state() == []


def test_client_token_401_is_upstream_token_rejected_without_another_credential(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"})
    client = make_client(zai_token=T1)
    error = raised(client, chat(client_token=CLIENT_TOKEN))
    assert bearers(upstream) == [CLIENT_TOKEN]
    assert error.status == 401
    assert error.code == "upstream_token_rejected"
    assert CLIENT_TOKEN not in error.message
    assert client.pool.state() == [{"token": "...one111", "guest": False, "state": "ok", "uses": 0}]


def test_client_token_429_is_passed_on_without_another_credential(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=429, json={"detail": "Too many requests"},
                  headers={"Retry-After": "7"})
    client = make_client(zai_token=T1)
    error = raised(client, chat(client_token=CLIENT_TOKEN))
    assert bearers(upstream) == [CLIENT_TOKEN]
    assert error.status == 429
    assert error.headers == {"Retry-After": "7"}


def test_client_token_is_not_logged(upstream, caplog):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error")
    add_completion(upstream)
    caplog.set_level(logging.DEBUG)
    make_client().open(chat(client_token=CLIENT_TOKEN))
    assert caplog.records
    assert CLIENT_TOKEN.split(".")[1] not in caplog.text
    assert CLIENT_TOKEN.split(".")[2] not in caplog.text
# ---------------------------------------------------------------- in-band errors in the first event

def test_busy_event_is_retried_on_another_token(upstream):
    add_home(upstream)
    add_completion(upstream, BUSY, match=for_token(T1))
    add_completion(upstream, match=for_token(T2))
    client = make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False)
    reply = client.open(chat())
    assert read_all(reply) == [("answer", "Hi")]
    assert bearers(upstream) == [T1, T2]
    assert client.pool.state()[0]["state"].startswith("cooling down")


def test_busy_event_on_every_token_is_429(upstream):
    add_home(upstream)
    add_completion(upstream, BUSY)
    error = raised(make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False), chat())
    assert bearers(upstream) == [T1, T2]
    assert error.status == 429
    assert error.code == "upstream_rate_limited"
    assert "Retry-After" in error.headers


def test_in_band_426_is_not_retried_with_an_unchanged_version(upstream):
    add_home(upstream)
    error = {"detail": "Your client version (unknown) is outdated. Minimum required: 1.0.0. "
                       "Please refresh the page", "code": 426}
    add_completion(upstream, sse({"data": {"error": error, "done": True}, "error": error, "done": True}))
    caught = raised(make_client(zai_token=f"{T1},{T2}"), chat())
    assert calls(upstream) == [GET_HOME, POST, GET_HOME]
    assert caught.status == 502
    assert caught.code == "upstream_version_rejected"


def test_in_band_426_is_retried_once_at_most_with_a_new_version(upstream):
    add_home(upstream)
    add_home(upstream, "prod-fe-1.0.121")
    add_completion(upstream, sse({"error": {"detail": "version too old", "code": 426}}))
    caught = raised(make_client(zai_token=f"{T1},{T2}"), chat())
    assert calls(upstream) == [GET_HOME, POST, GET_HOME, POST]
    assert caught.code == "upstream_version_rejected"


def test_in_band_error_without_an_envelope_is_raised(upstream):
    add_home(upstream)
    add_completion(upstream, b'data: {"error": {"detail": "Your client version check is failed", '
                             b'"code": 426}}\n\n')
    caught = raised(make_client(zai_token=USER_TOKEN), chat())
    assert len(posts(upstream)) == 1
    assert caught.code == "upstream_version_rejected"


def test_in_band_error_only_in_the_inner_data_is_still_raised(upstream):
    add_home(upstream)
    error = {"detail": "您的客户端校验失败", "code": 426}
    add_completion(upstream, sse({"data": {"error": error, "done": True}, "done": True}))
    caught = raised(make_client(zai_token=USER_TOKEN), chat())
    assert len(posts(upstream)) == 1
    assert caught.code == "upstream_version_rejected"


def test_in_band_401_moves_to_the_next_token(upstream):
    add_home(upstream)
    add_completion(upstream, sse({"error": {"detail": "token expired", "code": 401}}),
                   match=for_token(T1))
    add_completion(upstream, match=for_token(T2))
    client = make_client(zai_token=f"{T1},{T2}", anon_token_enabled=False)
    client.open(chat())
    client.open(chat())
    assert bearers(upstream) == [T1, T2, T2]
# ---------------------------------------------------------------- session hygiene and secrets

def test_set_cookie_is_not_stored_on_the_session(upstream):
    add_home(upstream, headers={"Set-Cookie": "acw_tc=home1; Path=/"})
    upstream.get(AUTHS, json={"token": GUEST_TOKEN}, headers={"Set-Cookie": "acw_tc=guest1; Path=/"})
    add_completion(upstream, headers={"Set-Cookie": "token=server-set; Path=/"})
    client = make_client()
    client.open(chat())
    client.open(chat())
    assert len(client.session.cookies) == 0
    assert "Cookie" not in posts(upstream)[1].request.headers


def test_session_ignores_proxy_environment():
    client = make_client()
    assert client.session.trust_env is False
    assert client.session.proxies == {}


def test_configured_proxy_is_used_for_both_schemes():
    client = make_client(upstream_proxy="http://proxy.test:3128")
    assert client.session.proxies == {"http": "http://proxy.test:3128",
                                      "https": "http://proxy.test:3128"}


def test_credential_repr_hides_the_token():
    credential = Credential(USER_TOKEN, USER_ID, False)
    assert USER_TOKEN not in repr(credential)
    assert USER_TOKEN not in str(credential)
    assert USER_ID in repr(credential)


def test_minted_guest_repr_hides_the_token(upstream):
    add_home(upstream)
    add_guest(upstream)
    credential = make_client().pool.acquire()
    assert credential.token == GUEST_TOKEN
    assert credential.user_id == GUEST_ID
    assert credential.guest is True
    assert GUEST_TOKEN not in repr(credential)


def test_pool_state_shows_only_token_suffixes():
    state = make_client(zai_token=f"{T1},{T2}").pool.state()
    assert state == [{"token": "...one111", "guest": False, "state": "ok", "uses": 0},
                     {"token": "...two222", "guest": False, "state": "ok", "uses": 0}]


def test_connection_error_message_leaks_no_token(upstream):
    add_home(upstream)
    upstream.post(COMPLETIONS, body=requests.ConnectionError(
        f"HTTPSConnectionPool(host='upstream.test', port=443): Max retries exceeded with url: "
        f"/api/chat/completions?token={USER_TOKEN}"))
    error = raised(make_client(zai_token=USER_TOKEN, anon_token_enabled=False), chat())
    assert error.code == "upstream_unreachable"
    assert USER_TOKEN not in error.message
    assert USER_TOKEN not in str(error)
    assert error.__cause__ is None
    assert error.__suppress_context__ is True


def test_debug_logs_carry_no_token_or_signature(upstream, caplog):
    add_home(upstream)
    add_guest(upstream)
    upstream.post(COMPLETIONS, status=401, json={"detail": "token is invalid"}, match=for_token(T1))
    upstream.post(COMPLETIONS, status=500, body="Internal Server Error", match=for_token(GUEST_TOKEN))
    add_completion(upstream, match=for_token(GUEST_TOKEN))
    caplog.set_level(logging.DEBUG)
    make_client(zai_token=T1).open(chat())
    assert calls(upstream) == [GET_HOME, POST, MINT, POST, POST]
    signatures = [call.request.headers["X-Signature"] for call in posts(upstream)]
    assert "...one111" in caplog.text, "the disabled token is named by its suffix"
    for token in (T1, GUEST_TOKEN):
        assert token.split(".")[1] not in caplog.text
    for signature in signatures:
        assert signature not in caplog.text
# ---------------------------------------------------------------- local failures touch nothing upstream

def nested(depth):
    value = "deep"
    for _ in range(depth):
        value = [value]
    return value


def test_content_json_cannot_carry_is_a_400_before_any_upstream_call(upstream):
    body = {"model": "GLM-4.5V", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "hi", "extra": nested(300)}]}]}
    client = make_client()
    error = raised(client, chat(body))
    assert (error.status, error.code, error.param) == (400, "invalid_request_content", "messages")
    assert len(upstream.calls) == 0, "nothing sent: no version read, no guest minted"
    assert client.pool.state() == []


def test_a_lone_surrogate_is_a_400_in_the_2026_dialect_too(upstream):
    body = {"model": "GLM-4.5", "messages": [{"role": "user", "content": "bad \ud800 text"}]}
    client = make_client(zai_dialect="2026", zai_token=T1)
    error = raised(client, chat(body))
    assert (error.status, error.code) == (400, "invalid_request_content")
    assert len(upstream.calls) == 0
    assert client.pool.state()[0]["state"] == "ok" and client.pool.state()[0]["uses"] == 0


def test_a_bug_of_ours_while_preparing_is_a_500_never_retried_nor_held_against_the_token(upstream, monkeypatch):
    client = make_client(zai_token=T1)

    def broken(*args, **kwargs):
        raise KeyError("a bug")
    monkeypatch.setattr(client.dialects["2025"], "completion", broken)
    error = raised(client, chat())
    assert (error.status, error.type, error.retry) == (500, "server_error", None)
    assert posts(upstream) == []
    assert client.pool.state()[0]["state"] == "ok"


def test_a_request_follows_a_version_another_request_read_first(upstream, monkeypatch):
    add_home(upstream)
    upstream.post(COMPLETIONS, status=426, json={"detail": "Your client version check is failed"})
    add_completion(upstream)
    client = make_client(zai_token=USER_TOKEN)

    def read_moments_ago_by_another_request(fallback):
        client.version._value = "prod-fe-1.0.121"
        return False
    monkeypatch.setattr(client.version, "refresh", read_moments_ago_by_another_request)
    assert read_all(client.open(chat())) == [("answer", "Hi")]
    assert [call.request.headers["X-FE-Version"] for call in posts(upstream)] == [DETECTED, "prod-fe-1.0.121"]
