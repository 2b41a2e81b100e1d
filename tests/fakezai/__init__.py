"""Fake chat.z.ai upstream for offline tests (Oct 2025 protocol; see reference/zai-protocol.md in the shared docs).

    fake = start_in_thread(user_tokens=[make_user_token()])   # or: python -m tests.fakezai --port 0
    fake.url; fake.requests; fake.script_next(answer="hi", fault="cut"); fake.stop()

Scripts (queued with script_next / POST /__fake/script, or a `[[fake {JSON}]]` directive in the last user
message) take the keys answer, reasoning, chunk, seed, delay_ms, first_delay_ms, fault, after, stall_s,
retry_after (number or string: the Retry-After header of an http429 fault), search (bool: force the search
block on/off whatever the body asks) and sources (list of {"title", "url"} string objects replacing the two
canned search results; [] means no results).
Faults: http500, http429, http401 (session expired; the token stays valid), waf405, version426_http
(HTTP errors, before token checks), version426 (in-band 426 event), signature (400 bad signature),
busy_event (200 SSE whose only event is a code-429 "Too many concurrent requests" error), error_start,
error_mid, toplevel_error, cut, stall, malformed.

Default answer: "Echo: <last user text without the directive>", then " [image <content_type> <size> bytes]" per
image of that message (glm-4.5v) and " [searched: <text>]" when searching. The signature prompt is that message's
text parts joined with newlines.

Vision (model glm-4.5v): POST /api/v1/files/ (multipart field `file`; real users only, guests get 403; the filename
must end in .png/.jpg/.jpeg/.gif/.webp/.bmp, else 400 "Unsupported file type") records meta {name, content_type
(the part's Content-Type), size} in fake.files and the bytes in fake.file_bytes. An image_url part's url must be
"<file_id>_<filename>" of a file uploaded with the chat request's own Bearer token; anything else (data:/http URL,
unknown id, another token's file) makes the stream a single {"error": {"detail": "Something went wrong. Please try
again later.", "code": 400}, "done": true} event. Other models answer HTTP 400 "This model does not support image
input" to any message with image_url parts.

Web search (features.web_search true, "deep-web-search" in mcp_servers, or script search=true): after the thinking
block (whose closing edit then carries no answer text) comes <glm_block view="" tool_call_name="search">{"type":
"mcp", "data": {"metadata": {id, name "search", arguments '{"query": text}', result (JSON of the results), ...}}}
</glm_block>, streamed like chat.z.ai MCP calls: tool_call-phase edits (head up to the arguments' opening quote,
2-3 argument fragments, the rest with "result": ""), then one other-phase edit rewriting from the result value to
the block's end; then the answer deltas (stream.search_block builds the final block text).

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
