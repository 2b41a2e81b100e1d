"""Fake chat.z.ai upstream for offline tests (Oct 2025 protocol; see reference/zai-protocol.md in the shared docs).

    fake = start_in_thread(user_tokens=[make_user_token()])   # or: python -m tests.fakezai --port 0
    fake.url; fake.requests; fake.script_next(answer="hi", fault="cut"); fake.stop()

Scripts (queued with script_next / POST /__fake/script, or a `[[fake {JSON}]]` directive in the last user
message) take the keys answer, reasoning, chunk, seed, delay_ms, first_delay_ms, fault, after, stall_s,
retry_after (number or string: the Retry-After header of an http429 fault).
Faults: http500, http429, http401 (session expired; the token stays valid), waf405, version426_http
(HTTP errors, before token checks), version426 (in-band 426 event), signature (400 bad signature),
busy_event (200 SSE whose only event is a code-429 "Too many concurrent requests" error), error_start,
error_mid, toplevel_error, cut, stall, malformed.

Constructor arguments / attributes settable at runtime (reset() restores the constructor values):
    fe_version="1.0.98"           published on GET / as prod-fe-<fe_version> (next to an older prod-fe-1.0.50)
    min_fe_version="1.0.94"       lower X-FE-Version gets the in-band 426 event (read back as a string)
    max_streams_per_token=None    more concurrent chat requests per token get HTTP 429 (None: unlimited)
    auths_fault=None              unauthenticated GET /api/v1/auths/ fails: "http500", "waf405" (Aliyun HTML
                                  405), "no_token" (200 JSON without token), "bad_json" (200 text/html junk)
Inspection: requests (log; each entry has "proxied": true for absolute-URI forward-proxy requests),
issued_tokens, open_streams, closed_early, chat_requests_by_token(), open_streams_by_token(), stats()
(also GET /__fake/stats, per-token maps keyed by the token's last 8 chars); reset(); revoke(token);
add_user_token(token). The fake also works as an HTTP forward proxy target: proxies={"http": fake.url}.
"""

from .auth import DEFAULT_SECRET, make_user_token, sign
from .server import FakeZai
from .stream import FAULTS

__all__ = ["DEFAULT_SECRET", "FAULTS", "FakeZai", "make_user_token", "sign", "start_in_thread"]


def start_in_thread(**kwargs) -> FakeZai:
    """Create a FakeZai with kwargs and start it on 127.0.0.1 with a free port."""
    return FakeZai(**kwargs).start()
