"""The front-end version (X-FE-Version) chat.z.ai checks, read from its home page."""
import pytest
import requests

from ztoapi.zai.version import FALLBACK

from tests.zai_mock import DETECTED
from tests.zai_mock import GET_HOME
from tests.zai_mock import HOME
from tests.zai_mock import MINT
from tests.zai_mock import POST
from tests.zai_mock import USER_TOKEN
from tests.zai_mock import add_completion
from tests.zai_mock import add_guest
from tests.zai_mock import add_home
from tests.zai_mock import calls
from tests.zai_mock import chat
from tests.zai_mock import make_client
from tests.zai_mock import posts
from tests.zai_mock import upstream


# ---------------------------------------------------------------- front-end version (§3)

def test_front_end_version_is_detected_from_the_home_page(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    make_client(upstream_connect_timeout=3.0, upstream_read_timeout=45.0).open(chat())
    home = upstream.calls[0].request
    assert calls(upstream) == [GET_HOME, MINT, POST]
    assert home.url == HOME
    assert "Chrome/" in home.headers["User-Agent"]
    assert "Authorization" not in home.headers
    assert home.req_kwargs["timeout"] == (3.0, 15)
    assert posts(upstream)[0].request.headers["X-FE-Version"] == DETECTED, \
        "the newest prod-fe-x.y.z on the page (compared as numbers, not the first or last found)"


def test_front_end_version_is_detected_once_and_cached(upstream):
    add_home(upstream)
    add_guest(upstream)
    add_completion(upstream)
    client = make_client()
    client.open(chat())
    client.open(chat())
    assert calls(upstream) == [GET_HOME, MINT, POST, POST]
    assert [call.request.headers["X-FE-Version"] for call in posts(upstream)] == [DETECTED, DETECTED]


def test_fe_version_setting_means_no_home_page_call(upstream):
    add_guest(upstream)
    add_completion(upstream)
    make_client(zai_fe_version="prod-fe-1.0.999").open(chat())
    assert calls(upstream) == [MINT, POST]
    assert upstream.calls[0].request.headers["X-FE-Version"] == "prod-fe-1.0.999"
    assert upstream.calls[1].request.headers["X-FE-Version"] == "prod-fe-1.0.999"


@pytest.mark.parametrize("home", [
    {"status": 500, "body": "Internal Server Error"},
    {"status": 200, "body": "<html>no version here</html>"},
    {"body": requests.ConnectionError("Connection refused")},
])
def test_an_undetectable_version_falls_back_to_the_built_in_one(upstream, home):
    upstream.get(HOME, **home)
    add_completion(upstream)
    make_client(zai_token=USER_TOKEN).open(chat())
    assert calls(upstream) == [GET_HOME, POST]
    assert posts(upstream)[0].request.headers["X-FE-Version"] == FALLBACK
