"""Wording and checks both dialects of the fake share (401/400 bodies, the WAF page, the signing query)."""

import re
import uuid

SESSION_EXPIRED = "Your session has expired or the token is invalid. Please sign in again."
NO_PERMISSION = "You do not have permission to access this resource. Please contact your administrator for assistance."
BAD_SIGNATURE = "403: Signature validation failed: 签名验证失败"
NO_IMAGE_INPUT = "This model does not support image input"
QUERY_PARAMS = ("timestamp", "requestId", "user_id", "signature_timestamp")
CONCURRENCY_LIMIT = {"detail": "Too many requests, concurrency limit exceeded"}
NOT_FOUND = {"detail": "Not Found"}
WAF_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>405</title></head>
<body><div class="block"><img src="https://errors.aliyun.com/images/TB1TpamHpXXXXaJXXXXeB7nYVXX-104-162.png" alt="405">
<h1>Sorry, your request has been blocked as it may cause potential threats to the server's security.</h1>
<p>traceid: {trace}</p></div></body></html>
"""


def parse_version(text: str) -> tuple[int, ...] | None:
    """Parse "1.0.98" or "prod-fe-1.0.98" into a tuple; None if absent."""
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text or "")
    return tuple(map(int, match.groups())) if match else None


def waf_page() -> bytes:
    """The Aliyun WAF block page with a fresh trace id."""
    return WAF_PAGE.replace("{trace}", uuid.uuid4().hex).encode()


def query_error(query: dict, token: str, user: dict) -> str | None:
    """Return why the signing query parameters are unacceptable, or None."""
    missing = [p for p in QUERY_PARAMS if not query.get(p)]
    if missing:
        return "Missing required query parameter(s): " + ", ".join(missing)
    if "token" in query and query["token"] != token:
        return "Query parameter 'token' does not match the Authorization token"
    if query["user_id"] != user["id"]:
        return "Query parameter 'user_id' does not match the token's user id"
    if not query["timestamp"].isdigit():
        return "Query parameter 'timestamp' must be an integer number of milliseconds"
    if query["timestamp"] != query["signature_timestamp"]:
        return "Query parameters 'timestamp' and 'signature_timestamp' differ"
    return None
