import os
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from config.settings import Settings
from config.settings import SettingsError
from tests.conftest import ROOT


def test_defaults():
    settings = Settings.from_env({})
    assert settings.port == 9090
    assert settings.default_key == "sk-your-key"
    assert settings.debug_mode is False
    assert settings.upstream_url == "https://chat.z.ai/api/chat/completions"
    assert settings.upstream_origin == "https://chat.z.ai"
    assert settings.zai_token == ""
    assert settings.anon_token_enabled is True
    assert settings.default_stream is True
    assert settings.enable_thinking is True
    assert settings.think_tags_mode == "reasoning"


def test_values_are_read_and_typed():
    settings = Settings.from_env({"PORT": "8081", "DEBUG_MODE": "TRUE", "DEFAULT_STREAM": "no",
                                  "UPSTREAM_READ_TIMEOUT": "2.5", "THINK_TAGS_MODE": "think"})
    assert settings.port == 8081
    assert settings.debug_mode is True
    assert settings.default_stream is False
    assert settings.upstream_read_timeout == 2.5
    assert settings.think_tags_mode == "think"


@pytest.mark.parametrize("environ, named", [
    ({"PORT": "abc"}, "PORT"),
    ({"PORT": "70000"}, "PORT"),
    ({"THINK_TAGS_MODE": "loud"}, "THINK_TAGS_MODE"),
    ({"DEBUG_MODE": "maybe"}, "DEBUG_MODE"),
    ({"UPSTREAM_URL": "chat.z.ai"}, "UPSTREAM_URL"),
    ({"UPSTREAM_CONNECT_TIMEOUT": "0"}, "UPSTREAM_CONNECT_TIMEOUT"),
    ({"UPSTREAM_READ_TIMEOUT": "nan"}, "UPSTREAM_READ_TIMEOUT"),
    ({"UPSTREAM_FIRST_EVENT_TIMEOUT": "inf"}, "UPSTREAM_FIRST_EVENT_TIMEOUT"),
    ({"UPSTREAM_MAX_RETRIES": "-1"}, "UPSTREAM_MAX_RETRIES"),
    ({"UPSTREAM_PROXY": "ftp://proxy:21"}, "UPSTREAM_PROXY"),
    ({"GUEST_POOL_SIZE": "0"}, "GUEST_POOL_SIZE"),
    ({"WEB_CONCURRENCY": "x"}, "WEB_CONCURRENCY"),
    ({"ANON_TOKEN_ENABLED": "false"}, "ZAI_TOKEN"),
])
def test_bad_values_name_the_variable(environ, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(environ)


def test_gunicorn_refuses_to_start_with_one_clear_line():
    env = dict(os.environ, PORT="abc")
    result = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py",
                             "wsgi:app"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode != 0
    assert "ztoapi: invalid setting: PORT must be a whole number, got 'abc'" in result.stderr
    assert "Traceback" not in result.stderr


def test_gunicorn_config_uses_gevent_and_imports_no_app_code():
    code = ("import runpy, sys; c = runpy.run_path('config/gunicorn.conf.py'); "
            "print(c['worker_class'], c['bind'], c['workers']); "
            "print(any(m.startswith(('ztoapi', 'requests', 'flask')) for m in sys.modules))")
    env = dict(os.environ, PORT="9191", WEB_CONCURRENCY="3")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=30)
    assert result.stdout.split("\n")[:2] == ["config.gunicorn_worker.ZtoApiWorker 0.0.0.0:9191 3", "False"]


def test_env_example_lists_every_setting_with_its_default():
    lines = Path(__file__).resolve().parent.parent.joinpath(".env.example").read_text().splitlines()
    listed = dict(line.removeprefix("# ").split("=", 1) for line in lines
                  if re.fullmatch(r"# [A-Z_]+=.*", line))
    expected = {field.name.upper(): field for field in fields(Settings)}
    assert list(listed) == [name for name in listed if name in expected], "unknown names"
    assert set(listed) == set(expected), f"missing: {sorted(set(expected) - set(listed))}"
    for name, text in listed.items():
        assert Settings.from_env({name: text}) == Settings(), f"{name}={text} is not the default"
