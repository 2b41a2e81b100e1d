"""Fake of Z.ai's official OpenAI-compatible API (api.z.ai: POST {base}/chat/completions, GET {base}/models) for
offline tests, as strict as the real one (shapes from the research note zai-api.md; its recorded traffic wins).

    fake = start_in_thread(keys=["k1"])                 # or: python -m tests.fakeapi --port 0 --key k1
    client = openai.OpenAI(api_key="k1", base_url=fake.base_url)    # base_url = fake.url + base_path
    fake.requests; fake.script_next(answer="hi", fault="cut"); fake.reset(); fake.stop()

The CLI prints one line "READY <port>" once listening and serves until killed; options --host, --port, --key
(repeatable), --base-path, --max-streams-per-key, --fault, --models-fault, --demo.

Constructor arguments (the ones marked * are attributes settable at runtime; reset() restores all of them, the keys
and the models to the constructor values):
    keys=()                     accepted API keys; also add_key(key), revoke(key), the live set fake.keys
    base_path="/api/paas/v4"    GENERAL_BASE; CODING_BASE ("/api/coding/paas/v4") for the Coding Plan (one path per
                                instance: start a second fake for the other); other paths answer 404 1222
  * fault=None                  a FAULTS name applied to every chat request whose script names no fault
  * models_fault=None           GET /models fails, before the key check: "http404" (404 {"error": {"code": "1222",
                                "message": "API <base>/models does not exist"}}) or "http500" (500 code "500"
                                "Internal Error")
  * max_streams_per_key=None    chat requests in flight per key (streamed or not); one more gets 429 1302
    models=None                 a list of Model replacing the catalogue
    demo=False                  demo mode (tests/fakeapi/demo.py, `DEMO_UPSTREAM=api make demo`): where no script
                                names an answer or tool calls, a question naming a function tool (or the only one
                                offered) gets a call of it, arguments filled by the web fake's demo rules; a
                                conversation ending with a tool message gets "<tool name> says: <content>"
  * models                      id -> Model (mutable dataclass: vision, thinking, free, efforts (reasoning_effort
                                values taken; () rejects the field), tool_stream, tools, created); set_model(id,
                                **flags) changes or adds one, remove_model(id) drops one

Catalogue (GET /models lists it in this order: {"object": "list", "data": [{"id", "object": "model", "created",
"owned_by": "z-ai"}]}): text glm-5.3 (efforts low/high/max), glm-5.2 (all seven efforts), glm-5.1, glm-5,
glm-5-turbo, glm-4.7, glm-4.7-flash (free; all efforts: recorded traffic shows it takes reasoning_effort), glm-4.6,
glm-4.5, glm-4.5-air, glm-4.5-flash (free); vision glm-4.6v, glm-4.6v-flash (free), glm-4.5v (no tools), glm-5v-turbo,
glm-5.3-flash (efforts low/high/max). All think; tool_stream is taken by glm-5.3, 5.2, 5.1, 5, 5-turbo, 4.7, 4.7-flash
and 4.6 only.

Keys: no Authorization header, a blank one or "Bearer" alone: 401 {"error": {"code": "1001", "message":
"Authentication parameter not received in Header"}}; anything but "Bearer <accepted key>" (scheme case-insensitive):
401 {"error": {"code": "1002", "message": "Authorization Token is invalid, please ensure that the Authorization Token
is correctly provided."}}. GET /models needs a key too.

POST {base}/chat/completions, in this order: the key (401); the script is taken (the directive, then the queue: the
queued script is consumed even if the body is then rejected); body validation (400); a concurrency slot (429 1302);
first_delay_ms; an HTTP fault; the reply. Wrong method on an API path: 405 {"error": {"code": "1212", "message":
"Current API does not support <METHOD> call method"}}.

Validation: the first problem wins; error bodies are {"error": {"code": "<digits>", "message": ...}} with Content-Type
application/json. "Invalid F" below = 400 1214 "Invalid <F> parameter. Please check the documentation.", F naming the
path (e.g. messages[1].tool_calls[0].function.arguments, tools[0].function.name).
- body not JSON or not an object: 400 1210 "Incorrect API call parameters, please check the documentation."
- model absent: 400 1213 "model parameter not received properly"; not a catalogue id (case-sensitive: "GLM-4.7" and
  "glm-5.2[1m]" fail): 400 1211 "Unknown Model, please check the model code."
- messages absent, not a list or empty: 400 1214 "Input cannot be empty"; role not system/user/assistant/tool: Invalid
  messages[i].role; only system/assistant messages: Invalid "messages (system or assistant messages only)"; a
  system/user/tool message without content: 1213 "messages[i].content parameter not received properly"; content not
  a string or a non-empty list of parts: Invalid messages[i].content; tool without a non-empty tool_call_id: Invalid
  messages[i].tool_call_id. Assistant content may be absent or null; its tool_calls must be a list of {id (non-empty),
  type: "function", function: {name, arguments: a string holding JSON}} (an echoed "index" is allowed, other keys are
  not); reasoning_content and other message keys are accepted.
- parts: {"type": "text", "text": str} anywhere; image_url ({"image_url": {"url": data:image/<x>;base64,... or
  http(s)://...}}), video_url ({"url": http(s)}) and file ({"file": one of file_id/file_url/file_data, + filename})
  only in user messages (else Invalid ...type) and only for vision models (else 400 1210 "Model <id> does not support
  <type> input"); no other keys (image_url.detail: Invalid ...image_url.detail); file parts cannot be mixed with
  image/video parts.
- thinking: absent or exactly {"type": "enabled"|"disabled"} plus an optional boolean clear_thinking (null, strings,
  {"type": true}, extra keys: Invalid thinking). temperature a number in [0, 1], top_p in [0.01, 1], max_tokens an
  int in [1, 131072]; stream and do_sample booleans; request_id a 6-64, user_id a 6-128 character string;
  stream_options an object whose include_usage (if any) is a boolean. null is not "absent" for any of them.
- reasoning_effort: a value in the model's efforts (else Invalid reasoning_effort); tool_stream: a boolean, and only
  for models with tool_stream (else Invalid tool_stream, whatever the value).
- tools: a list of at most 128 (else Invalid tools); each exactly {"type": "function", "function": {...}} (also
  {"type": "web_search"|"retrieval", <type>: {...}}, accepted unchecked), else Invalid tools[i]; function keys name
  (^[a-zA-Z0-9_-]{1,64}$), description (string, optional), parameters (object, required), strict (boolean, optional),
  nothing else; a non-empty tools list for a model without tools (glm-4.5v): 400 1210 "Model <id> does not support
  tools". tool_choice: "auto" or {"type": "function", "function": {"name": <a function tool's name>}} (else Invalid
  tool_choice; "none"/"required" included).
- response_format: {"type": "json_schema", ...}: 400 1210 "response_format type json_schema is not supported"; else
  exactly {"type": "text"|"json_object"} (else Invalid response_format), and not for vision models (400 1210 "Model
  <id> does not support response_format"). stop: a string or a list of at most 4 strings.
- any other top-level field (n, seed, user, presence_penalty, max_completion_tokens, ...) is accepted and listed in
  the request's log entry as "unknown_fields".

Replies. Default answer "Echo: <last user message text without the directive>" (text parts joined with newlines),
then " [image <mime> <n> bytes]" per data: image and " [image <url>]" per http(s) image of that message;
{"echo": <text>} as JSON with response_format json_object; "" when the reply calls tools. The model thinks when it
has the thinking flag, thinking.type is not "disabled" (absent = enabled, as on the API) and reasoning_effort is not
none/minimal; the reasoning is then "The user wrote: <text>\nI will echo it.". stop cuts the answer before the first
stop string. max_tokens below the reply's token count truncates it (reasoning first, tool calls dropped) with
finish_reason "length". Tool calls happen only when the request has function tools: the script's tool_calls, else a
forced tool_choice function is called with "{}" arguments. finish_reason: the script's, else length / tool_calls /
stop.
Usage (deterministic): prompt_tokens = whitespace words of every message's text ([[fake]] directives removed);
completion_tokens = words of the reasoning and the content + (1 + words of the arguments string) per tool call;
completion_tokens_details.reasoning_tokens = the reasoning's words; prompt_tokens_details.cached_tokens 0;
total_tokens the sum; all zero with finish_reason model_context_window_exceeded; counted on what was actually sent.

Non-streamed (Content-Type application/json; charset=UTF-8), keys in this order:
{"choices": [{"finish_reason", "index": 0, "message": {"content" (a string, "" with tool calls), "reasoning_content"
(only when it thought), "role": "assistant", "tool_calls"?: [{"function": {"arguments": "<JSON string>", "name"},
"id": "call_-<digits>", "index": j, "type": "function"}]}}], "created", "id" (YYYYMMDDhhmmss in UTC+8 + 16 hex),
"model", "object": "chat.completion", "request_id" (the caller's request_id, else the id), "usage": {completion_tokens,
completion_tokens_details, prompt_tokens, prompt_tokens_details, total_tokens}}.
Streamed (stream: true; Content-Type text/event-stream;charset=UTF-8, chunked, one `data: <compact JSON>\n\n` per
chunk): every chunk {"id", "created", "object": "chat.completion.chunk", "model", "choices": [{"index": 0, "delta"}]}
with no finish_reason key; reasoning deltas {"role": "assistant", "reasoning_content"}, then content deltas {"role":
"assistant", "content"} (chunk characters each, or seeded random 1-12), then one delta per tool call {"tool_calls":
[{"id": "call_<24 hex>", "index", "type": "function", "function": {"name", "arguments"}}]} (with tool_stream true:
the arguments in 2-3 fragments, later ones {"tool_calls": [{"index", "function": {"arguments"}}]}); then {"index": 0,
"finish_reason", "delta": {"role": "assistant", "content": ""}} with "usage" (prompt, completion, total,
prompt_tokens_details, completion_tokens_details) in the same chunk, always; then `data: [DONE]`.

Scripts (script_next(**script), POST /__fake/script, or a `[[fake {JSON}]]` directive anywhere in the last user
message; a queued script overrides the directive key by key; a malformed directive is 400 1210 "[[fake]] directive
rejected: ..."): answer, reasoning (used only when the model thinks), tool_calls ([{"name", "arguments": dict (sent as
compact JSON) or str (sent verbatim)}]), chunk (>= 1), seed, delay_ms (between chunks), first_delay_ms (before the
status line), finish_reason (FINISH_REASONS: stop, tool_calls, length, sensitive, network_error,
model_context_window_exceeded), fault, after (text deltas before a stream fault fires, default 2; it fires earlier,
before the first tool call or the final chunk, if there are fewer), stall_s (default 30). Unknown keys, wrong types
and negative numbers raise ValueError (400 from the control endpoint).

Faults (FAULTS). HTTP, answered instead of the reply:
    http429_1302  429 {"error": {"code": "1302", "message": "High concurrency usage of this API, please reduce
                  concurrency or contact customer service to increase limits"}}
    http429_1113  429 {"error": {"code": "1113", "message": "Insufficient balance or no resource package. Please
                  recharge."}}
    http429_1308  429 {"error": {"code": "1308", "message": "Usage limit reached for 5 hour. Your limit will reset at
                  <now + 5 h, UTC+8, YYYY-MM-DD hh:mm:ss>"}}
    http400_1261  400 {"error": {"code": "1261", "message": "Prompt exceeds max length"}}
    http400_1301  400 {"contentFilter": [{"level": 1, "role": "user"}], "error": {"code": "1301", "message":
                  "系统检测到输入或生成内容可能包含不安全或敏感内容，..."}}
    http500       500 {"error": {"code": "500", "message": "Internal Error"}}
    http503_1305  503 {"error": {"code": "1305", "message": "The service may be temporarily overloaded, please try
                  again later"}}
In the reply (streamed; non-streamed in brackets):
    mid_error     `data: {"error":{"code":"500","message":"Internal Error"}}` after `after` deltas, then the body ends
                  and the connection closes, no [DONE] [a 500 Internal Error body]
    finish_sensitive, finish_network_error   the reply stops after `after` deltas and ends normally with
                  finish_reason sensitive / network_error, usage of what was sent, [DONE] [the truncated body]
    cut           the connection is dropped after `after` deltas, without the chunked terminator or [DONE] [half the
                  body under the full Content-Length]
    stall         nothing is sent for stall_s seconds after `after` deltas, then the rest [the body comes stall_s late]
A client that goes away (seen on write or while the fake sleeps: delays, stalls, first_delay_ms) ends the reply and
counts in closed_early.

Inspection: requests (log of every request except /__fake/*: {method, path, query, headers (lower-case keys), body
(parsed JSON or None), key (the Bearer token; the whole header for another scheme; None without one), unknown_fields}),
open_streams (SSE responses being written), closed_early (chat requests whose client left before the reply was
complete, since the last reset()), chat_requests_by_key() (presented key -> chat requests, rejected included),
open_streams_by_key() (key -> chat requests in flight), stats(); url, base_url, port; start(host, port), stop(), and
use as a context manager.
Control endpoints (no key needed, not logged): GET /__fake/requests, GET /__fake/stats, POST /__fake/reset, POST
/__fake/script (a script object; {"queued": n}), POST /__fake/config ({fault, models_fault, max_streams_per_key}, any
subset), POST /__fake/keys ({"add": [...], "revoke": [...]}; answers {"keys": [...]}).
"""

from .catalog import MODELS, Model
from .replies import FAULTS, FINISH_REASONS, SCRIPT_KEYS
from .server import CODING_BASE, GENERAL_BASE, FakeZaiApi

__all__ = ["CODING_BASE", "FAULTS", "FINISH_REASONS", "GENERAL_BASE", "MODELS", "SCRIPT_KEYS", "FakeZaiApi", "Model",
           "start_in_thread"]


def start_in_thread(**kwargs) -> FakeZaiApi:
    """Create a FakeZaiApi with kwargs and start it on 127.0.0.1 with a free port."""
    return FakeZaiApi(**kwargs).start()
