"""The credential pool's state machine, on a fake clock."""
import pytest

from ztoapi.errors import ApiError
from ztoapi.zai.credentials import Credential
from ztoapi.zai.pool import CredentialPool


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def tokens(*names):
    return [Credential(name, name, False) for name in names]


def guest_factory():
    minted = []

    def mint():
        credential = Credential(f"guest{len(minted)}", "g", True)
        minted.append(credential)
        return credential
    return mint, minted


def make_pool(names=("a", "b"), anonymous=False, clock=None, guest_pool_size=2):
    mint, minted = guest_factory()
    pool = CredentialPool(tokens(*names), mint, guest_pool_size, cooldown=30, anonymous=anonymous,
                          clock=clock or Clock())
    return pool, minted


def test_rotation_is_fair():
    pool, _ = make_pool(("a", "b", "c"))
    used = [pool.acquire().token for _ in range(9)]
    assert used == ["a", "b", "c"] * 3


def test_rejected_token_is_never_used_again():
    pool, _ = make_pool()
    a = pool.acquire()
    pool.rejected(a)
    assert [pool.acquire().token for _ in range(4)] == ["b"] * 4


def test_all_rejected_without_guests_is_503_naming_suffixes_only():
    pool, _ = make_pool(("secret-token-aaaaaa", "secret-token-bbbbbb"))
    pool.rejected(pool.acquire())
    pool.rejected(pool.acquire())
    with pytest.raises(ApiError) as caught:
        pool.acquire()
    assert caught.value.status == 503
    assert caught.value.code == "upstream_credential_unavailable"
    assert "...aaaaaa invalid (rejected with 401)" in caught.value.message
    assert "secret-token" not in caught.value.message


def test_operator_can_re_enable_a_rejected_token():
    pool, _ = make_pool(("a",))
    pool.rejected(pool.acquire())
    pool.enable("a")
    assert pool.acquire().token == "a"


def test_rate_limited_token_rests_for_retry_after_then_recovers():
    clock = Clock()
    pool, _ = make_pool(clock=clock)
    a = pool.acquire()
    pool.rate_limited(a, retry_after=10)
    assert [pool.acquire().token for _ in range(3)] == ["b", "b", "b"]
    clock.now += 10
    assert {pool.acquire().token for _ in range(2)} == {"a", "b"}


def test_repeated_rate_limits_double_the_cool_down():
    clock = Clock()
    pool, _ = make_pool(("a",), clock=clock)
    a = pool.acquire()
    pool.rate_limited(a)
    assert pool.state()[0]["state"] == "cooling down for 30 s"
    clock.now += 30
    pool.rate_limited(pool.acquire())
    assert pool.state()[0]["state"] == "cooling down for 60 s"
    clock.now += 60
    pool.succeeded(pool.acquire())
    pool.rate_limited(a)
    assert pool.state()[0]["state"] == "cooling down for 30 s"


def test_three_transient_failures_in_a_row_start_a_cool_down():
    clock = Clock()
    pool, _ = make_pool(("a",), clock=clock)
    a = pool.acquire()
    pool.failed(a)
    pool.failed(a)
    assert pool.state()[0]["state"] == "ok"
    pool.failed(a)
    assert pool.state()[0]["state"] == "cooling down for 30 s"


def test_success_resets_the_failure_count():
    pool, _ = make_pool(("a",))
    a = pool.acquire()
    pool.failed(a)
    pool.failed(a)
    pool.succeeded(a)
    pool.failed(a)
    assert pool.state()[0]["state"] == "ok"


def test_all_cooling_with_anonymous_falls_back_to_a_guest():
    pool, minted = make_pool(("a",), anonymous=True)
    pool.rate_limited(pool.acquire())
    guest = pool.acquire()
    assert guest.guest
    assert minted == [guest]
    assert pool.acquire() is guest


def test_guests_are_minted_on_demand_and_reused():
    pool, minted = make_pool((), anonymous=True)
    first = pool.acquire()
    assert pool.acquire() is first
    assert len(minted) == 1


def test_rejected_guest_is_replaced():
    pool, minted = make_pool((), anonymous=True)
    first = pool.acquire()
    pool.rejected(first)
    second = pool.acquire()
    assert second is not first
    assert len(minted) == 2
    assert [s["token"] for s in pool.state()] == ["..." + second.token[-6:]]


def test_guest_pool_never_grows_past_its_size():
    clock = Clock()
    pool, minted = make_pool((), anonymous=True, clock=clock, guest_pool_size=2)
    for _ in range(4):
        pool.rate_limited(pool.acquire(), retry_after=100)
    assert len(minted) == 4
    assert len(pool.state()) == 2


def test_state_shows_no_full_token():
    pool, _ = make_pool(("abcdefghijklmnop",))
    pool.acquire()
    assert pool.state() == [{"token": "...klmnop", "guest": False, "state": "ok", "uses": 1}]


def test_a_captcha_rests_a_token_and_says_so():
    clock = Clock()
    pool, _ = make_pool(clock=clock)
    a = pool.acquire()
    pool.captcha(a)
    assert [pool.acquire().token for _ in range(2)] == ["b", "b"]
    assert pool.state()[0]["state"] == "captcha (chat.z.ai asked for one; resting for 300 s)"
    clock.now += 301
    assert pool.state()[0]["state"] == "ok"


def test_a_guest_s_captcha_gates_every_guest_without_minting_more():
    clock = Clock()
    pool, minted = make_pool((), anonymous=True, clock=clock)
    pool.captcha(pool.acquire())
    with pytest.raises(ApiError) as caught:
        pool.acquire()
    assert (caught.value.status, caught.value.code) == (503, "upstream_captcha_required")
    assert len(minted) == 1
    assert pool.usable() is False
    clock.now += 301
    assert pool.usable() is True
    assert pool.acquire().token == "guest0"


def test_gated_guests_leave_configured_tokens_in_use():
    pool, _ = make_pool(("a",), anonymous=True)
    pool.captcha(pool.mint_guest())
    assert pool.acquire().token == "a"
    assert pool.usable() is True
