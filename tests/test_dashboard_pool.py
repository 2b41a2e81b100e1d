"""The dashboard's credential panel: what a worker publishes of its pool (ztoapi.ops), from its
first upstream attempt on, failed ones too, and when its own dashboard reads the pools."""
from types import SimpleNamespace

from tests.conftest import AUTH
from tests.conftest import free_port
from tests.conftest import settings_for
from ztoapi import create_app
from ztoapi import ops
from ztoapi.zai import failures
from ztoapi.zai.credentials import Credential
from ztoapi.zai.pool import CredentialPool

USER = [{"role": "user", "content": "Hello pool"}]
GUEST = Credential("eyJ-guest-token-abc123", "guest-1", True)
TOKEN = Credential("eyJ-configured-token-def456", "user-1", False)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Store:
    def __init__(self):
        self.published = []

    def publish_credentials(self, worker, states):
        self.published.append(states)


class DownStore:
    def publish_credentials(self, worker, states):
        raise OSError("the store went away")


def refused_mint():
    raise failures.no_credential("minting a guest token failed (HTTP 405); set ZAI_TOKEN")


def reporter_for(tokens=(), mint=refused_mint, anonymous=True, trouble=None):
    clock = Clock()
    pool = CredentialPool(list(tokens), mint, 2, 60.0, anonymous, clock)
    client = SimpleNamespace(pool=pool, trouble=trouble)
    return ops.CredentialReporter(client, Store(), clock, wall=lambda: 7000.25), clock


def record(time, error=None):
    return {"time": time, "error": error}


def chat(client):
    response = client.post("/v1/chat/completions", headers=AUTH,
                           json={"model": "GLM-4.5", "messages": USER, "stream": False})
    response.get_data()
    return response


def pool_of(client):
    return client.get("/dashboard/api/credentials", headers=AUTH).get_json()


# -- the reporter -----------------------------------------------------------------------------

def test_a_failed_mint_is_the_guests_state_with_its_reason_and_time():
    message = "No usable chat.z.ai credential: minting a guest token failed (HTTP 405); set ZAI_TOKEN"
    reporter, _ = reporter_for(trouble=("credentials", f"upstream_credential_unavailable: {message}"))
    reporter(record(6000.5, "upstream_credential_unavailable"))
    assert reporter.store.published == [[
        {"note": "guest", "state": "minting a guest token failed (HTTP 405); set ZAI_TOKEN", "time": 6000.5}]]


def test_an_unreachable_upstream_while_minting_says_minting_failed():
    message = "Could not connect to chat.z.ai (ConnectionError): check this server's network"
    reporter, _ = reporter_for(trouble=("network", f"upstream_unreachable: {message}"))
    reporter(record(6000, "upstream_unreachable"))
    assert reporter.store.published[-1] == [
        {"note": "guest", "state": f"minting failed — {message}", "time": 6000}]


def test_before_any_request_the_guest_is_not_minted_yet():
    reporter, _ = reporter_for()
    reporter()
    assert reporter.store.published == [[
        {"note": "guest", "state": "none minted yet (one is minted when a request needs it)", "time": None}]]


def test_a_failure_with_a_credential_in_the_pool_is_the_last_upstream_failure():
    reporter, _ = reporter_for(tokens=[TOKEN], anonymous=False)
    reporter.pool.acquire()
    reporter(record(6000, "upstream_error"))
    assert reporter.store.published[-1] == [
        {"token": "...def456", "guest": False, "state": "ok", "uses": 1},
        {"note": "last upstream failure", "state": "upstream_error", "time": 6000}]


def test_the_message_kept_by_the_upstream_client_goes_with_its_code():
    reporter, _ = reporter_for(mint=lambda: GUEST,
                               trouble=("captcha", "upstream_captcha_required: chat.z.ai asks for a CAPTCHA"))
    reporter.pool.acquire()
    reporter(record(6000, "upstream_captcha_required"))
    assert reporter.store.published[-1][-1] == {
        "note": "last upstream failure", "state": "upstream_captcha_required: chat.z.ai asks for a CAPTCHA",
        "time": 6000}


def test_the_message_of_another_failure_is_not_borrowed():
    reporter, _ = reporter_for(mint=lambda: GUEST, trouble=("network", "upstream_timeout: no answer"))
    reporter.pool.acquire()
    reporter(record(6000, "upstream_error"))
    assert reporter.store.published[-1][-1]["state"] == "upstream_error"


def test_failures_of_the_client_are_not_upstream_failures():
    reporter, _ = reporter_for(mint=lambda: GUEST)
    reporter.pool.acquire()
    for code in ("invalid_api_key", "model_not_found", "rate_limit_exceeded", "client_gone"):
        reporter(record(6000, code))
    assert reporter.failure is None
    assert [state.get("note") for state in reporter.store.published[-1]] == [None]


def test_guests_held_back_for_a_captcha_are_said_so():
    reporter, clock = reporter_for()
    reporter.pool.guests_gated_until = clock.now + 300
    reporter()
    assert reporter.store.published[-1] == [
        {"note": "guest", "state": "none: chat.z.ai asks guests for a CAPTCHA, so none is minted or used "
                                   "for 300 s", "time": None}]


def test_no_token_and_no_guests_is_said_so():
    reporter, _ = reporter_for(anonymous=False)
    reporter()
    assert reporter.store.published[-1] == [
        {"note": "credentials", "state": "none: no ZAI_TOKEN is set and guests are off "
                                         "(ANON_TOKEN_ENABLED=false)", "time": None}]


def test_a_new_failure_is_published_at_once_the_same_one_at_most_every_five_seconds():
    reporter, clock = reporter_for(trouble=("network", "upstream_unreachable: no route"))
    reporter(record(6000))
    clock.now += 1
    reporter(record(6001, "upstream_unreachable"))
    clock.now += 1
    reporter(record(6002, "upstream_unreachable"))
    assert len(reporter.store.published) == 2
    assert reporter.store.published[-1][-1]["time"] == 6001
    clock.now += ops.PUBLISH_EVERY_SECONDS
    reporter(record(6007, "upstream_unreachable"))
    assert len(reporter.store.published) == 3
    assert reporter.store.published[-1][-1]["time"] == 6007


def test_a_new_credential_is_published_at_once():
    reporter, clock = reporter_for(mint=lambda: GUEST)
    reporter(record(6000))
    reporter.pool.acquire()
    clock.now += 1
    reporter(record(6001))
    assert reporter.store.published[-1] == [{"token": "...abc123", "guest": True, "state": "ok", "uses": 1}]


def test_a_failed_attempt_is_published_at_once_with_the_time_it_failed():
    reporter, _ = reporter_for(mint=lambda: GUEST)
    reporter.pool.acquire()
    reporter.attempt_failed(reporter.client, code="upstream_unauthorized")
    assert reporter.store.published == [[
        {"token": "...abc123", "guest": True, "state": "ok", "uses": 1},
        {"note": "last upstream failure", "state": "upstream_unauthorized", "time": 7000.25}]]


def test_the_record_of_the_request_adds_the_message_and_keeps_the_attempts_time():
    reporter, _ = reporter_for(trouble=("network", "upstream_unreachable: no route"))
    reporter.client.trouble = None   # kept only when the attempts end, after the signal
    reporter.attempt_failed(reporter.client, code="upstream_unreachable")
    reporter.client.trouble = ("network", "upstream_unreachable: no route")
    reporter(record(7000, "upstream_unreachable"))
    assert [states[-1] for states in reporter.store.published] == [
        {"note": "guest", "state": "minting failed — upstream_unreachable", "time": 7000.25},
        {"note": "guest", "state": "minting failed — no route", "time": 7000.25}]


def test_a_store_that_fails_does_not_fail_the_attempt():
    reporter, _ = reporter_for()
    reporter.store = DownStore()
    reporter.attempt_failed(reporter.client, code="upstream_unreachable")
    assert reporter.failure["code"] == "upstream_unreachable"
    assert reporter.published is None   # tried again on the next occasion


# -- through the app --------------------------------------------------------------------------

def test_reading_the_pool_shows_this_worker_before_its_first_request(fake, tmp_path):
    client = create_app(settings_for(fake, data_dir=str(tmp_path))).test_client()
    pool = pool_of(client)
    assert len(pool["workers"]) == 1
    assert pool["workers"][0]["credentials"] == []
    assert pool["workers"][0]["notes"] == [
        {"note": "guest", "state": "none minted yet (one is minted when a request needs it)", "time": None}]
    assert pool["counts"] == {"ok": 0, "cooling": 0, "invalid": 0, "captcha": 0}


def test_a_refused_mint_shows_in_the_panel_with_the_time_it_was_tried(fake, tmp_path):
    fake.auths_fault = "waf405"
    client = create_app(settings_for(fake, data_dir=str(tmp_path))).test_client()
    assert chat(client).status_code == 503
    worker = pool_of(client)["workers"][0]
    sent = client.get("/dashboard/api/requests", headers=AUTH).get_json()["requests"][0]
    assert worker["credentials"] == []
    assert [(n["note"], n["state"]) for n in worker["notes"]] == [
        ("guest", "minting a guest token failed (HTTP 405) (chat.z.ai's firewall blocked this IP); "
                  "set ZAI_TOKEN")]
    assert sent["time"] <= worker["notes"][0]["time"] <= sent["time"] + sent["duration_ms"] / 1000


def test_an_unreachable_upstream_shows_as_a_failed_mint(fake, tmp_path):
    client = create_app(settings_for(fake, data_dir=str(tmp_path),
                                     upstream_url=f"http://127.0.0.1:{free_port()}/api/chat/completions")
                        ).test_client()
    assert chat(client).status_code == 502
    notes = pool_of(client)["workers"][0]["notes"]
    assert [note["note"] for note in notes] == ["guest"]
    assert notes[0]["state"].startswith("minting failed — Could not connect to chat.z.ai")


def test_an_attempt_a_retry_made_good_is_still_the_last_upstream_failure(fake, tmp_path):
    client = create_app(settings_for(fake, data_dir=str(tmp_path))).test_client()
    fake.script_next(fault="http401")   # the first guest is rejected; the next one answers
    assert chat(client).status_code == 200
    worker = pool_of(client)["workers"][0]
    assert [(c["guest"], c["state"], c["uses"]) for c in worker["credentials"]] == [(True, "ok", 1)]
    assert [(n["note"], n["state"]) for n in worker["notes"]] == [("last upstream failure", "upstream_unauthorized")]


def test_a_named_key_sees_no_pool_and_publishes_none(fake, tmp_path):
    client = create_app(settings_for(fake, data_dir=str(tmp_path), api_keys="alice:sk-alice-key-1")).test_client()
    pool = client.get("/dashboard/api/credentials", headers={"Authorization": "Bearer sk-alice-key-1"}).get_json()
    assert pool["workers"] == []
    assert client.application.extensions["store"].credentials() == {}
