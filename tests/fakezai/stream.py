"""Reply scripting and SSE event generation that mimic chat.z.ai streams (protocol notes §5)."""

import json
import random
import re
import secrets
import string
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Iterator

THINK_HEAD = '<details type="reasoning" done="false" view="" last_tool_call_name="">\n<summary>Thinking…</summary>\n'
EDIT_INDEX = len('<details type="reasoning" done="')  # 32
ERROR_500 = {"detail": "Something went wrong, please try again later", "code": 500}
VERSION_426 = {
    "detail": "Your client version (unknown) is outdated. Minimum required: 1.0.0. Please refresh the page",
    "code": 426,
}
BUSY_429 = {"detail": "Too many concurrent requests, concurrency limit exceeded", "code": 429}
IMAGE_ERROR = {"detail": "Something went wrong. Please try again later.", "code": 400}
SEARCH_HEAD = '<glm_block view="" tool_call_name="search">'
SEARCH_TAIL = "</glm_block>"
CUT = object()  # frame marker: drop the connection without finishing the chunked body

HTTP_FAULTS = ("http500", "http429", "waf405", "version426_http", "http401")
MID_FAULTS = ("error_mid", "cut", "stall", "toplevel_error", "malformed")
FAULTS = HTTP_FAULTS + MID_FAULTS + ("error_start", "version426", "signature", "busy_event",
                                     "captcha", "tier", "internal_error", "http426", "config_404")
SCRIPT_KEYS = {
    "answer": str, "reasoning": str, "chunk": int, "seed": int, "delay_ms": (int, float),
    "first_delay_ms": (int, float), "fault": str, "after": int, "stall_s": (int, float),
    "retry_after": (int, float, str), "search": bool, "sources": list, "think_style": str, "hops": int,
}
THINK_STYLES = ("plain", "details")
DIRECTIVE = re.compile(r"\[\[fake\s*(\{.*?\})\s*\]\]", re.S)


def check_script(script: dict) -> dict:
    """Validate script keys, types and ranges; return the script or raise ValueError."""
    for key, value in script.items():
        if key not in SCRIPT_KEYS:
            raise ValueError(f"unknown script key {key!r}; expected one of {sorted(SCRIPT_KEYS)}")
        expected = SCRIPT_KEYS[key]
        if (expected is bool) != isinstance(value, bool) or not isinstance(value, expected):
            raise ValueError(f"script key {key!r} has the wrong type: {value!r}")
        if key == "sources":
            _check_sources(value)
        elif isinstance(value, (int, float)) and key not in ("seed", "search") \
                and value < (1 if key in ("chunk", "hops") else 0):
            raise ValueError(f"script key {key!r} is out of range: {value!r}")
        if key == "retry_after" and isinstance(value, str) and (not value.strip() or "\r" in value or "\n" in value):
            raise ValueError(f"script key 'retry_after' must be a non-empty single-line string: {value!r}")
    if script.get("think_style", "plain") not in THINK_STYLES:
        raise ValueError(f"script key 'think_style' must be one of {list(THINK_STYLES)}: {script['think_style']!r}")
    if script.get("fault", FAULTS[0]) not in FAULTS:
        raise ValueError(f"unknown fault {script['fault']!r}; expected one of {list(FAULTS)}")
    return script


def _check_sources(sources: list) -> None:
    """Require a list of {"title": str, "url": str, ...more string fields} objects."""
    for item in sources:
        if not (isinstance(item, dict) and isinstance(item.get("title"), str) and isinstance(item.get("url"), str)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in item.items())):
            raise ValueError(f"script key 'sources' must be a list of {{title, url}} string objects: {item!r}")


def parse_directive(text: str) -> tuple[dict, str]:
    """Split a `[[fake {JSON}]]` directive off text; return (script, remaining text)."""
    match = DIRECTIVE.search(text)
    if not match:
        return {}, text
    try:
        script = json.loads(match.group(1))
    except ValueError as exc:
        raise ValueError(f"invalid [[fake]] directive JSON: {exc}") from None
    if not isinstance(script, dict):
        raise ValueError("the [[fake]] directive must hold a JSON object")
    return check_script(script), (text[:match.start()] + text[match.end():]).strip()


def message_text(content) -> str:
    """Return a message's text: the string itself, or its text parts joined with newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and p.get("type") == "text"
                         and isinstance(p.get("text"), str))
    return ""


def last_user_text(messages) -> str:
    """Return the text of the last user message ("" if none)."""
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"] if isinstance(messages, list) else []
    return message_text(users[-1].get("content")) if users else ""


def make_usage(messages: list, reasoning: str, answer: str) -> dict:
    """Return deterministic usage: whitespace word counts, and `words` = characters generated."""
    prompt = sum(len(message_text(m.get("content")).split()) for m in messages if isinstance(m, dict))
    completion = len(reasoning.split()) + len(answer.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0}, "words": len(answer) + len(reasoning)}


def image_urls(message) -> list:
    """The `image_url.url` of each image part of a message (None where the part is malformed)."""
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return []
    return [p["image_url"].get("url") if isinstance(p.get("image_url"), dict) else None
            for p in content if isinstance(p, dict) and p.get("type") == "image_url"]


def search_wanted(body: dict) -> bool:
    """True if the body asks for web search: features.web_search or the deep-web-search MCP server."""
    features = body.get("features")
    servers = body.get("mcp_servers")
    return (isinstance(features, dict) and features.get("web_search") is True) or \
        (isinstance(servers, list) and "deep-web-search" in servers)


def default_results(query: str) -> list[dict]:
    """The two canned search results for query."""
    return [{"title": f"Result {i} for {query}", "url": f"https://example.com/{i}",
             "text": f"Snippet {i} about {query}."} for i in (1, 2)]


@dataclass
class Reply:
    """Everything needed to stream one chat completion."""

    answer: str
    reasoning: str | None  # None: thinking disabled
    model: str
    usage: dict
    chunk: int | None = None
    seed: int = 0
    delay_ms: float = 0
    fault: str | None = None
    after: int = 2
    stall_s: float = 30
    search_query: str | None = None  # not None: stream a search tool block before the answer
    search_results: list | None = None  # None: default_results(search_query)


def build_reply(body: dict, script: dict, images: list[dict] | None = None) -> Reply:
    """Combine a validated request body with its script (directive and/or queued); images are the file metas
    of the last user message's image parts (vision model)."""
    messages = body["messages"]
    _, text = parse_directive(last_user_text(messages))
    thinking = (body.get("features") or {}).get("enable_thinking") is True
    search = script.get("search", search_wanted(body))
    notes = [f"[image {m['content_type']} {m['size']} bytes]" for m in images or ()]
    notes += [f"[searched: {text}]"] if search else []
    answer = script.get("answer", "Echo: " + " ".join(([text] if text or not notes else []) + notes))
    reasoning = script.get("reasoning", f"The user wrote: {text}\nI will echo it.") if thinking else None
    options = {k: script[k] for k in ("chunk", "seed", "delay_ms", "fault", "after", "stall_s") if k in script}
    return Reply(answer, reasoning, body["model"], make_usage(messages, reasoning or "", answer), **options,
                 search_query=text if search else None, search_results=script.get("sources"))


def split(text: str, rng: random.Random, chunk: int | None) -> list[str]:
    """Cut text into code-point chunks of a fixed size, or of seeded random sizes 1..12."""
    parts, i = [], 0
    while i < len(text):
        size = chunk or rng.randint(1, 12)
        parts.append(text[i:i + size])
        i += size
    return parts


def search_block(query: str, results: list, call_id: str, result: str | None = None) -> str:
    """The `<glm_block … tool_call_name="search">` text of one search call (result: the metadata `result`
    string, default json.dumps(results))."""
    meta = {"id": call_id, "name": "search", "arguments": json.dumps({"query": query}),
            "result": json.dumps(results) if result is None else result, "display_result": "", "duration": "1.2s",
            "status": "completed", "is_error": False, "mcp_server": {"name": "mcp-server"}}
    data = {"type": "mcp", "data": {"metadata": meta, "thought": None, "ppt": None, "browser": None}}
    return SEARCH_HEAD + json.dumps(data, ensure_ascii=False) + SEARCH_TAIL


def _escape_units(escaped: str) -> list[str]:
    """Cut a JSON string body into units that never split an escape sequence."""
    return re.findall(r"\\u[0-9a-fA-F]{4}|\\.|.", escaped, re.S)


def search_edits(query: str, results: list, start: int, rng: random.Random) -> list[dict]:
    """The edits that stream one search block at document offset start, as chat.z.ai streams MCP calls:
    the block head up to the arguments' opening quote, 2-3 argument fragments, the rest with an empty
    result (all phase tool_call), then one phase-other edit rewriting from the result value to the end."""
    call_id = "call_" + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(10))
    pending, final = search_block(query, results, call_id, ""), search_block(query, results, call_id)
    args_at = pending.index('"arguments": "') + len('"arguments": "')
    escaped = json.dumps(json.dumps({"query": query}), ensure_ascii=False)[1:-1]
    args_end = args_at + len(escaped)
    result_at = pending.index('"result": ""', args_end) + len('"result": ')
    units = _escape_units(escaped)
    cuts = sorted(rng.sample(range(1, len(units)), rng.randint(1, 2)))
    fragments = ["".join(units[a:b]) for a, b in zip([0] + cuts, cuts + [len(units)])]
    edits = [{"edit_index": start, "edit_content": pending[:args_at], "phase": "tool_call"}]
    at = start + args_at
    for fragment in fragments + [pending[args_end:]]:
        edits.append({"edit_index": at, "edit_content": fragment, "phase": "tool_call"})
        at += len(fragment)
    edits.append({"edit_index": start + result_at, "edit_content": final[result_at:], "phase": "other"})
    return edits


def think_events(reasoning: str, answer_parts: list[str], searching: bool, rng: random.Random,
                 chunk: int | None) -> Iterator[tuple[str, dict]]:
    """The Oct-2025 thinking: `<details>` deltas quoted with "> ", then the think→answer edit at EDIT_INDEX
    (carrying the first answer part, popped from answer_parts, unless searching)."""
    started = time.monotonic()
    quoted = "> " + reasoning.replace("\n", "\n> ")
    think_parts = split(quoted[2:], rng, chunk) or [""]
    think_parts[0] = THINK_HEAD + "> " + think_parts[0]
    for part in think_parts:
        yield "think", {"delta_content": part, "phase": "thinking"}
    secs = max(1, round(time.monotonic() - started))
    edit = (f'true" duration="{secs}" view="" last_tool_call_name="">\n<summary>Thought for {secs} seconds</summary>\n'
            f"{quoted}\n</details>\n" + (answer_parts.pop(0) if answer_parts and not searching else ""))
    yield "answer", {"edit_index": EDIT_INDEX, "edit_content": edit, "phase": "answer"}


def events(reply: Reply) -> Iterator[tuple[str, dict]]:
    """Yield (kind, data) pairs, kind in think/answer/tool/tail, keeping the message document consistent."""
    rng = random.Random(reply.seed)
    answer_parts = split(reply.answer, rng, reply.chunk)
    searching = reply.search_query is not None
    doc = ""
    if reply.reasoning is not None:
        for kind, data in think_events(reply.reasoning, answer_parts, searching, rng, reply.chunk):
            doc = doc[:data["edit_index"]] + data["edit_content"] if "edit_index" in data else doc + data["delta_content"]
            yield kind, data
    if searching:
        results = default_results(reply.search_query) if reply.search_results is None else reply.search_results
        for data in search_edits(reply.search_query, results, len(doc), rng):
            doc = doc[:data["edit_index"]] + data["edit_content"]
            yield "tool", data
    for part in answer_parts:
        doc += part
        yield "answer", {"delta_content": part, "phase": "answer"}
    usage = reply.usage
    completion_id = "chatcmpl-" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(10))
    yield "tail", {"usage": usage, "phase": "other"}
    yield "tail", {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                   "model": reply.model, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": "stop"}],
                   "usage": usage, "phase": "answer"}
    yield "tail", {"done": True, "delta_content": "", "phase": "done"}
    yield "tail", {"role": "assistant", "usage": usage, "message_id": str(uuid.uuid4()), "done": True,
                   "edit_index": len(doc), "edit_content": "", "phase": "other"}


def sse(obj) -> str:
    """Frame one object as upstream does: Python-style JSON, raw UTF-8, blank line after."""
    return "data: " + json.dumps(obj, ensure_ascii=False) + "\n\n"


def chat_event(data: dict) -> str:
    """Frame a `chat:completion` envelope around data."""
    return sse({"type": "chat:completion", "data": data})


def image_error_event() -> str:
    """Return the only event of a stream whose image reference did not resolve (how chat.z.ai fails on images)."""
    return chat_event({"error": IMAGE_ERROR, "done": True})


def version_426_event() -> str:
    """Return the in-band "client version outdated" event (double-nested error)."""
    return chat_event({"data": {"error": VERSION_426, "done": True}, "error": VERSION_426, "done": True})


JUNK = (": ping\n\n", "data: {oops\n\n", "data: \n\n", chat_event({"phase": "mystery"}))


def frames(reply: Reply, sleep: Callable[[float], object], source=None, frame=chat_event) -> Iterator[object]:
    """Yield SSE frames (str) for reply, applying delays and the scripted fault; CUT means drop the connection.
    source: (kind, data) pairs (default events(reply)), each framed with frame."""
    if reply.fault == "error_start":
        yield chat_event({"error": ERROR_500})
        return
    if reply.fault == "busy_event":
        yield chat_event({"error": BUSY_429, "done": True})
        return
    answers, junk, fired = 0, [], reply.fault not in MID_FAULTS
    for i, (kind, data) in enumerate(events(reply) if source is None else source):
        if i and reply.delay_ms:
            sleep(reply.delay_ms / 1000)
        if not fired and kind != "think" and (answers >= reply.after or kind == "tail"):
            fired = True
            if reply.fault == "error_mid":
                yield chat_event({"error": ERROR_500})
                return
            if reply.fault == "toplevel_error":
                yield sse({"error": ERROR_500})
                return
            if reply.fault == "cut":
                yield CUT
                return
            if reply.fault == "stall":
                sleep(reply.stall_s)
            junk = list(JUNK) if reply.fault == "malformed" else []
        if junk:
            yield junk.pop(0)
        yield frame(data)
        answers += kind == "answer"
