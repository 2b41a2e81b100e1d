"""Fake chat.z.ai upstream for offline tests: the Oct 2025 protocol (reference/zai-protocol.md in the shared docs)
by default, or chat.z.ai's 2026 dialect (reference/zai-protocol-2026.md; see "2026 dialect" below).

    fake = start_in_thread(user_tokens=[make_user_token()])   # or: python -m tests.fakezai --port 0
    fake.url; fake.requests; fake.script_next(answer="hi", fault="cut"); fake.stop()

Scripts (queued with script_next / POST /__fake/script, or a `[[fake {JSON}]]` directive in the last user
message) take the keys answer, reasoning, chunk, seed, delay_ms, first_delay_ms, fault, after, stall_s,
retry_after (number or string: the Retry-After header of an http429 fault), search (bool: force the search
block on/off whatever the body asks), sources (list of {"title", "url"} string objects replacing the two
canned search results; [] means no results), and the 2026-only think_style and hops (accepted, ignored in 2025).
Faults: http500, http429, http401 (session expired; the token stays valid), waf405, version426_http, http426
(426 {"detail": "New version detected, please refresh the page"}), config_404 (404 {"detail": "Not Found"}, as if
the completion path were gone) (HTTP errors, before token checks), version426 (in-band 426 event), signature (400 bad
signature), busy_event (200 SSE whose only event is a code-429 "Too many concurrent requests" error), captcha, tier,
internal_error (200 SSE whose only event is the 2026 double-nested error of that name, see below), error_start,
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
    dialect="2025"                "2025" or "2026" (switch at runtime to simulate chat.z.ai changing under a client)
    fe_version=None               published on GET / as prod-fe-<fe_version> next to an older build; None follows
                                  the dialect: 1.0.98 next to 1.0.50 (2025), 1.1.98 next to 1.0.272 (2026)
    min_fe_version=None           lower X-FE-Version: in-band 426 event (2025) or the WAF 405 page (2026); None
                                  follows the dialect: 1.0.94 (2025), 1.1.0 (2026); read back as a string
    max_streams_per_token=None    more concurrent chat requests per token get HTTP 429 (None: unlimited)
    auths_fault=None              unauthenticated GET /api/v1/auths/ fails: "http500", "waf405" (Aliyun HTML
                                  405), "no_token" (200 JSON without token), "bad_json" (200 text/html junk)
    captcha=None                  2026 captcha gate: None, "guests" (guest tokens) or "all" (every token)
    guest_models={x-preview-l, glm-4.7, 0727-360B-API, 0727-106B-API, glm-4-flash}   2026 models guests may use
                                  (a live set: fake.guest_models.add(...) works until reset())
    config_fault=None             2026 GET /api/config fails: "http500", "bad_json" (200 text/html junk),
                                  "no_field" (200 JSON without completion_version), "http404"
Inspection: requests (log; each entry has "proxied": true for absolute-URI forward-proxy requests),
issued_tokens, open_streams, closed_early, chat_requests_by_token(), open_streams_by_token(), stats()
(also GET /__fake/stats, per-token maps keyed by the token's last 8 chars; 2026 adds dialect, chats,
chats_by_token, captcha_refusals); reset(); revoke(token); add_user_token(token); 2026: chats (id -> {id, token,
user_id, model, message_id, content, record}), completions() (the decoded body of every v2 completion past the
WAF), device_ids_by_token() ({token: set of X-Device-Id}). reset() also forgets chats, completions, device ids
and captcha_refusals. The fake also works as an HTTP forward proxy target: proxies={"http": fake.url}.

2026 dialect (FakeZai(dialect="2026"), fake.dialect = "2026", python -m tests.fakezai --dialect 2026):
- WAF: every request except /__fake/* whose User-Agent lacks "Mozilla/5.0" or "Chrome/" gets HTTP 405 and the
  Aliyun HTML page, as does a POST to /api/v1/chats/new or /api/v2/chat/completions whose X-FE-Version is missing
  or below min_fe_version. Such requests are logged but reach nothing else (no script consumed, not counted).
- GET /api/config: {"completion_version": "2", "enable_captcha": captcha is not None, "enable_mcp": true,
  "default_models": "glm-5.3", "name": "Z.ai", ...} (404 in 2025). GET /api/models: the 15 models of the Sep-2026
  catalogue plus inactive glm-5; capabilities think, vision (GLM-5v-Turbo, glm-4.6v, GLM-4.1V-Thinking-FlashX),
  web_search, mcp, returnFc, reasoning_effort (glm-5.2 only). GET /: /frontend/prod-fe-<v>/assets/ URLs.
- POST /api/v1/chats/new (404 in 2025): Bearer of a minted guest or seeded user (else 401); body {"chat": {models:
  [known active id, ...], history: {messages: {id: {id, role: "user", content: str | [text/image_url parts]}},
  currentId: id}, ...}} (else 400 {"detail"}); answers the chat record {id, user_id, title, chat (with id set),
  updated_at, created_at, share_id: null, archived: false, pinned: false, meta: {}, folder_id: null, type}.
- POST /api/v2/chat/completions (POST /api/chat/completions answers 404 in 2026, v2 404 in 2025), checked in
  this order: WAF 405; script (directive from the last user turn, then the queue) and its HTTP faults; 401
  unknown token; 429 stream limit; 400 "Missing required query parameter(s): ..." (timestamp, requestId, user_id,
  signature_timestamp, token non-empty; the 29 fingerprint params dialect2026.FINGERPRINT_PARAMS present) and the
  2025 query checks; 400 X-Region must be "overseas" / X-Device-Id non-empty (device ids are remembered per
  token); 400 invalid JSON; X-Signature absent 426 {"detail": "New version detected, please refresh the page"},
  wrong (or signature_prompt other than the user message text) 400 "403: Signature validation failed: 签名验证失败";
  400 "Chat not found" (chat_id not made by this token), "Model not found", model differs from the chat's,
  current_user_message_id or the message text differ from the chat's, id empty, current_user_message_parent_id
  absent (null allowed), features.enable_thinking not a boolean, image parts for a non-vision model. Then one
  double-nested in-band error event {"type": "chat:completion", "data": {"data": {"error": E, "done": true},
  "error": E, "done": true}} for: not exactly one message of role user, non-null tools, or features.reasoning_effort
  for a model without that capability (E = INTERNAL_ERROR); the captcha gate (E = FRONTEND_CAPTCHA_REQUIRED,
  missing_param, or verify_failed when the body has a non-empty captcha_verify_param: the fake never
  accepts one); a guest
  asking for a model outside guest_models (E = {"detail": "Model not available for current user level", "code":
  403}); then the 2025 image event for unresolved image references; then in-band fault scripts; then the reply.
- Folded transcripts: a message with lines exactly <|system|>, <|user|> or <|assistant|> is a transcript; the fake
  answers its last <|user|> section (directive, echo text, thinking and search query come from that section only).
- Reply stream: plain thinking deltas (features.enable_thinking; script think_style "details" streams the 2025
  <details> block and edit instead); when searching (features.web_search or auto_web_search, or script search)
  tool_call fragments ({"phase": "tool_call", "delta_name": "search", "delta_arguments": '{"', "metadata":
  {"tool_call_id": "call_<24 hex>", "type": "function"}}, then 2-3 delta_arguments fragments completing
  {"search_query":[{"q":text,"recency":30}]}) and one tool_response ([ref_id=turn0searchN†title†url] blocks,
  metadata.browser.search_result); answer deltas (default "Echo: <text>", plus " [searched: <text>]" and one
  【turn0searchN】 per source when searching); usage frames {"phase": "other", "usage": {prompt_tokens,
  completion_tokens, total_tokens, prompt_tokens_details: {cached_tokens}}}, one per hop (script hops, default 1,
  or 2 when searching): hop k of H carries n // H of each make_usage count, the last hop also the remainders, so the
  frames add up to make_usage; the last hop's frame comes just before the last answer delta, the earlier hops'
  right after the tool_response (or before the first answer delta when not searching); finally {"phase": "done",
  "done": true}. One status, one chat:title and one conn:heartbeat event sit at seed-chosen positions before done.
"""

from .auth import DEFAULT_SECRET, make_user_token, sign
from .server import FakeZai
from .stream import FAULTS

__all__ = ["DEFAULT_SECRET", "FAULTS", "FakeZai", "make_user_token", "sign", "start_in_thread"]


def start_in_thread(**kwargs) -> FakeZai:
    """Create a FakeZai with kwargs and start it on 127.0.0.1 with a free port."""
    return FakeZai(**kwargs).start()
