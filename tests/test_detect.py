"""Which dialect chat.z.ai speaks: ZAI_DIALECT, or its GET /api/config (ztoapi.zai.detect)."""
import logging
import time

import pytest
import requests
import responses

from ztoapi.zai.detect import DialectDetector

CONFIG = "https://upstream.test/api/config"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def detector(setting="auto", clock=None):
    return DialectDetector(setting, requests.Session(), CONFIG, {"User-Agent": "Mozilla/5.0"}, (1, 1),
                           clock or Clock())


@pytest.fixture
def upstream():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.mark.parametrize("answer, dialect", [
    ({"json": {"completion_version": "2", "enable_captcha": True}}, "2026"),
    ({"json": {"completion_version": 2}}, "2026"),
    ({"json": {"completion_version": "1"}}, "2025"),
    ({"json": {"name": "Z.ai"}}, "2025"),
    ({"status": 404, "json": {"detail": "Not Found"}}, "2025"),
    ({"body": "<html>not json</html>", "content_type": "text/html"}, "2025"),
])
def test_the_config_answer_decides(upstream, answer, dialect):
    upstream.get(CONFIG, **answer)
    assert detector().current() == dialect


@pytest.mark.parametrize("answer", [{"body": requests.ConnectionError("down")}, {"status": 500},
                                    {"status": 405, "body": "<html>405</html>"}])
def test_an_unreachable_config_keeps_2026_before_any_answer(upstream, answer):
    upstream.get(CONFIG, **answer)
    assert detector().current() == "2026"


def test_an_unreachable_config_keeps_the_last_known_dialect(upstream):
    clock = Clock()
    upstream.get(CONFIG, status=404)
    found = detector(clock=clock)
    assert found.current() == "2025"
    upstream.replace(responses.GET, CONFIG, body=requests.ConnectionError("down"))
    clock.now += 6
    assert found.recheck() is False
    assert found.current() == "2025"


def test_the_setting_fixes_the_dialect_and_nothing_is_read(upstream):
    assert detector("2025").current() == "2025"
    assert detector("2026").recheck() is False
    assert len(upstream.calls) == 0


def test_it_is_read_once_then_every_ten_minutes(upstream):
    clock = Clock()
    upstream.get(CONFIG, json={"completion_version": "2"})
    found = detector(clock=clock)
    for _ in range(5):
        found.current()
    assert len(upstream.calls) == 1
    clock.now += 600
    found.current()
    for _ in range(50):   # the refresh runs in a background thread
        if len(upstream.calls) == 2:
            break
        time.sleep(0.02)
    assert len(upstream.calls) == 2


def test_a_recheck_after_a_suspicious_answer_finds_a_change_but_never_storms(upstream, caplog):
    clock = Clock()
    upstream.get(CONFIG, json={"completion_version": "2"})
    found = detector(clock=clock)
    with caplog.at_level(logging.INFO, logger="ztoapi.upstream"):
        assert found.current() == "2026"
        upstream.replace(responses.GET, CONFIG, status=404)
        assert found.recheck() is True
        assert found.current() == "2025"
        upstream.replace(responses.GET, CONFIG, json={"completion_version": "2"})
        assert found.recheck() is False   # another recheck moments ago: not read again
        clock.now += 5
        assert found.recheck() is True
    assert len(upstream.calls) == 3
    messages = [record.getMessage() for record in caplog.records]
    assert messages == ["chat.z.ai dialect: 2026 (/api/config: completion_version 2)",
                        "chat.z.ai dialect: 2025 (/api/config answered 404)",
                        "chat.z.ai dialect: 2026 (/api/config: completion_version 2)"]
    assert caplog.records[1].levelname == "WARNING"


def test_a_fixed_dialect_is_logged_once(upstream, caplog):
    clock = Clock()
    fixed = detector("2025", clock)
    with caplog.at_level(logging.INFO, logger="ztoapi.upstream"):
        fixed.current()
        clock.now += 601
        fixed.current()
        time.sleep(0.1)
    assert [r.getMessage() for r in caplog.records] == ["chat.z.ai dialect: 2025 (ZAI_DIALECT)"]
