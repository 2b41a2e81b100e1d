"""The upstream requests are prepared directly, exactly as requests would prepare them."""
import orjson
import pytest
import requests

from ztoapi.upstream.http import prepared_request

HEADERS = {"Authorization": "Bearer a.b.c", "X-FE-Version": "prod-fe-1.1.98", "Content-Type": "application/json",
           "Accept-Language": "en-US,en;q=0.9"}


@pytest.mark.parametrize("url", [
    "https://chat.z.ai/api/v2/chat/completions?timestamp=1760000000000&requestId=7b1c&user_id=u-1"
    "&user_agent=Mozilla%2F5.0+%28X11%3B+Linux%29&timezone=Europe%2FParis&signature_timestamp=1760000000000",
    "http://127.0.0.1:8080/api/v1/chats/new",
    "https://api.z.ai/api/paas/v4/chat/completions",
])
@pytest.mark.parametrize("data", [orjson.dumps({"model": "glm-4.7", "messages": [{"content": "é"}]}), None])
def test_the_same_request_as_requests_prepares(url, data):
    ours = prepared_request("POST", url, HEADERS, data=data)
    theirs = requests.Request("POST", url, headers=HEADERS, data=data).prepare()
    assert (ours.method, ours.url, ours.path_url, ours.body) == (theirs.method, theirs.url, theirs.path_url,
                                                                  theirs.body)
    assert dict(ours.headers) == dict(theirs.headers)


def test_anything_else_is_prepared_by_requests():
    upload = prepared_request("POST", "http://127.0.0.1/api/v1/files/", {"Authorization": "Bearer t"},
                              files={"file": ("a.png", b"\x89PNG", "image/png")})
    assert upload.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    quoted = prepared_request("POST", "http://127.0.0.1/a b?q=é", {}, data=b"{}")
    assert quoted.url == "http://127.0.0.1/a%20b?q=%C3%A9"

