"""What the server says when it starts: one line of what it is, and a warning for an open default key."""
import logging
import runpy
from pathlib import Path

from tests.conftest import settings_for
from ztoapi import create_app
from ztoapi.startup import start_up_line

CONF = Path(__file__).resolve().parent.parent / "config" / "gunicorn.conf.py"


class Server:
    """Enough of gunicorn's arbiter for its when_ready hook."""

    def __init__(self, bind):
        self.cfg = type("Cfg", (), {"bind": bind})()
        self.log = logging.getLogger("test.gunicorn")
        self.master_pid = 0


def test_the_start_up_line_says_where_what_and_how(fake):
    app = create_app(settings_for(fake, zai_token="a.b.c,d.e.f"))
    line = start_up_line(app, "0.0.0.0:9090")
    assert line == (f"ZtoApi listening on http://0.0.0.0:9090 · upstream chat.z.ai at {fake.url}, 2025 dialect "
                    "(/api/config answered 404) · credentials: 2 ZAI_TOKEN tokens and guests · docs "
                    "http://localhost:9090/docs, dashboard http://localhost:9090/dashboard")


def test_the_start_up_line_names_each_upstream_in_order(fake):
    app = create_app(settings_for(fake, upstreams="web,api", zai_api_key="key-one-0123456789,key-two-0123456789",
                                  zai_api_base="http://127.0.0.1:9/api/paas/v4"))
    line = start_up_line(app, "127.0.0.1:9090")
    assert line == (f"ZtoApi listening on http://127.0.0.1:9090 · upstream chat.z.ai at {fake.url}, 2025 dialect "
                    "(/api/config answered 404) · credentials: guests then upstream Z.ai's API at "
                    "http://127.0.0.1:9/api/paas/v4 with 2 ZAI_API_KEY keys · docs http://127.0.0.1:9090/docs, "
                    "dashboard http://127.0.0.1:9090/dashboard")
    assert "key-one" not in line


def test_the_public_default_key_beyond_loopback_is_warned_about(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DEFAULT_KEY", raising=False)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    hooks = runpy.run_path(str(CONF))
    with caplog.at_level(logging.WARNING, logger="test.gunicorn"):
        hooks["when_ready"](Server(["127.0.0.1:9090"]))
        assert caplog.records == []
        hooks["when_ready"](Server(["0.0.0.0:9090"]))
    assert len(caplog.records) == 1
    assert "public default (sk-your-key)" in caplog.records[0].getMessage()
    assert "0.0.0.0:9090" in caplog.records[0].getMessage()
