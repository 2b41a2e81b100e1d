"""Reply scripting (script keys, the [[fake]] directive) and the completion body and SSE chunks of a reply."""

import base64
import binascii
import json
import random
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterator

from .catalog import Model
from .errors import BEIJING, HTTP_FAULTS, MID_STREAM
from .rules import function_names

STREAM_FAULTS = ("mid_error", "finish_sensitive", "finish_network_error", "cut", "stall")
FAULTS = HTTP_FAULTS + STREAM_FAULTS
FINISH_FAULTS = {"finish_sensitive": "sensitive", "finish_network_error": "network_error"}
TRUNCATING = ("mid_error", "cut", *FINISH_FAULTS)
FINISH_REASONS = ("stop", "tool_calls", "length", "sensitive", "network_error", "model_context_window_exceeded")
NUMBER = (int, float)
SCRIPT_KEYS = {"answer": str, "reasoning": str, "tool_calls": list, "chunk": int, "seed": int, "delay_ms": NUMBER,
               "first_delay_ms": NUMBER, "finish_reason": str, "fault": str, "after": int, "stall_s": NUMBER}
DIRECTIVE = re.compile(r"\[\[fake\s*(\{.*?\})\s*\]\]", re.S)
CUT = object()   # frame marker: drop the connection without finishing the body
END = object()   # frame marker: finish the body here and close the connection
DONE = "data: [DONE]\n\n"


def check_script(script: dict) -> dict:
    """Validate script keys, types and ranges; return the script or raise ValueError."""
    for key, value in script.items():
        if key not in SCRIPT_KEYS:
            raise ValueError(f"unknown script key {key!r}; expected one of {sorted(SCRIPT_KEYS)}")
        if isinstance(value, bool) or not isinstance(value, SCRIPT_KEYS[key]):
            raise ValueError(f"script key {key!r} has the wrong type: {value!r}")
        if isinstance(value, NUMBER) and key != "seed" and value < (1 if key == "chunk" else 0):
            raise ValueError(f"script key {key!r} is out of range: {value!r}")
    if script.get("fault", FAULTS[0]) not in FAULTS:
        raise ValueError(f"unknown fault {script['fault']!r}; expected one of {list(FAULTS)}")
    if script.get("finish_reason", "stop") not in FINISH_REASONS:
        raise ValueError(f"finish_reason must be one of {list(FINISH_REASONS)}: {script['finish_reason']!r}")
    for call in script.get("tool_calls", ()):
        if not (isinstance(call, dict) and set(call) == {"name", "arguments"} and isinstance(call["name"], str)
                and call["name"] and isinstance(call["arguments"], (dict, str))):
            raise ValueError(f"tool_calls items must be {{name: str, arguments: dict | str}}: {call!r}")
    return script


def message_text(content) -> str:
    """A message's text: the string itself, or its text parts joined with newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and p.get("type") == "text"
                         and isinstance(p.get("text"), str))
    return ""


def last_user(messages) -> dict:
    """The last message of role user ({} if none)."""
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"] \
        if isinstance(messages, list) else []
    return users[-1] if users else {}


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


def directive_of(body) -> dict:
    """The script of the directive in the body's last user message ({} if none); ValueError if malformed."""
    messages = body.get("messages") if isinstance(body, dict) else None
    return parse_directive(message_text(last_user(messages).get("content")))[0]


def image_notes(message: dict) -> list[str]:
    """" [image <mime> <n> bytes]" per data: image part, "[image <url>]" per http(s) one."""
    notes = []
    for part in message.get("content") if isinstance(message.get("content"), list) else ():
        if part.get("type") == "image_url":
            url = part["image_url"]["url"]
            if url.startswith("data:"):
                head, _, data = url.partition(",")
                try:
                    size = len(base64.b64decode(re.sub(r"\s", "", data)))
                except (binascii.Error, ValueError):
                    size = 0
                notes.append(f"[image {head[5:].split(';')[0]} {size} bytes]")
            else:
                notes.append(f"[image {url}]")
    return notes


def words(text: str | None) -> int:
    """Whitespace word count: the fake's token count."""
    return len((text or "").split())


def take_words(text: str, n: int) -> str:
    """text up to the end of its n-th word."""
    found = list(re.finditer(r"\S+", text))
    return text if len(found) <= n else text[:found[n - 1].end()] if n > 0 else ""


def split(text: str, rng: random.Random, chunk: int | None) -> list[str]:
    """Cut text into code-point chunks of a fixed size, or of seeded random sizes 1..12."""
    parts, i = [], 0
    while i < len(text):
        size = chunk or rng.randint(1, 12)
        parts.append(text[i:i + size])
        i += size
    return parts


@dataclass
class Reply:
    """Everything needed to answer one chat completion."""

    model: str
    reasoning: str | None   # None: the model did not think
    answer: str
    tool_calls: list[dict]  # {"id", "name", "arguments" (a JSON string)}
    finish_reason: str
    prompt_tokens: int
    request_id: str | None = None
    tool_stream: bool = False
    chunk: int | None = None
    seed: int = 0
    delay_ms: float = 0
    fault: str | None = None
    after: int = 2
    stall_s: float = 30
    created: int = field(default_factory=lambda: int(time.time()))
    id: str = ""

    def __post_init__(self):
        self.id = self.id or datetime.fromtimestamp(self.created, BEIJING).strftime("%Y%m%d%H%M%S") \
            + secrets.token_hex(8)
        self.request_id = self.request_id or self.id


def build_reply(body: dict, script: dict, model: Model, fault: str | None = None) -> Reply:
    """Combine a validated body with its script (fault: the one to apply, script's or the fake's)."""
    messages = body["messages"]
    user = last_user(messages)
    _, text = parse_directive(message_text(user.get("content")))
    thinking = model.thinking and body.get("thinking", {}).get("type", "enabled") == "enabled" \
        and body.get("reasoning_effort") not in ("none", "minimal")
    calls = _calls(body, script)
    notes = image_notes(user)
    if "answer" in script:
        answer = script["answer"]
    elif calls:
        answer = ""
    elif body.get("response_format", {}).get("type") == "json_object":
        answer = json.dumps({"echo": text}, ensure_ascii=False)
    else:
        answer = "Echo: " + " ".join(([text] if text or not notes else []) + notes)
    reasoning = script.get("reasoning", f"The user wrote: {text}\nI will echo it.") if thinking else None
    answer = _stop(answer, body.get("stop"))
    limit = body.get("max_tokens")
    truncated = limit is not None and _completion_tokens(reasoning, answer, calls) > limit
    if truncated:
        reasoning = None if reasoning is None else take_words(reasoning, limit)
        answer, calls = take_words(answer, limit - words(reasoning)), []
    finish = script.get("finish_reason") or ("length" if truncated else "tool_calls" if calls else "stop")
    stream = body.get("stream") is True
    for call in calls:
        call["id"] = "call_" + (secrets.token_hex(12) if stream else str(-secrets.randbelow(2 ** 63)))
    prompt = sum(words(DIRECTIVE.sub(" ", message_text(m.get("content")))) for m in messages)
    options = {k: script[k] for k in ("chunk", "seed", "delay_ms", "after", "stall_s") if k in script}
    return Reply(body["model"], reasoning, answer, calls, finish, prompt, body.get("request_id"),
                 body.get("tool_stream") is True, fault=fault, **options)


def _calls(body: dict, script: dict) -> list[dict]:
    """The tool calls to make: the script's (only when the request has function tools), else one call of a
    forced tool_choice function with {} arguments, else none."""
    if not function_names(body):
        return []
    if "tool_calls" in script:
        return [{"name": c["name"], "arguments": c["arguments"] if isinstance(c["arguments"], str) else
                 json.dumps(c["arguments"], ensure_ascii=False, separators=(",", ":"))} for c in script["tool_calls"]]
    choice = body.get("tool_choice")
    return [{"name": choice["function"]["name"], "arguments": "{}"}] if isinstance(choice, dict) else []


def _stop(answer: str, stop) -> str:
    """answer cut before the first occurrence of a stop string."""
    stops = [stop] if isinstance(stop, str) else stop or []
    cuts = [answer.find(s) for s in stops if s and s in answer]
    return answer[:min(cuts)] if cuts else answer


def _completion_tokens(reasoning: str | None, content: str, calls: list[dict]) -> int:
    """Words of reasoning and content, plus 1 + the words of its arguments per tool call."""
    return words(reasoning) + words(content) + sum(1 + words(c["arguments"]) for c in calls)


# -- what gets sent -----------------------------------------------------------------------------------------------
def pieces(reply: Reply) -> list[tuple[str, object]]:
    """The reply as stream deltas: ("reasoning", text)..., ("content", text)..., ("tool", index)...."""
    rng = random.Random(reply.seed)
    out: list[tuple[str, object]] = [("reasoning", p) for p in split(reply.reasoning or "", rng, reply.chunk)]
    out += [("content", p) for p in split(reply.answer, rng, reply.chunk)]
    return out + [("tool", j) for j in range(len(reply.tool_calls))]


def fault_at(reply: Reply, ps: list) -> int | None:
    """Where a stream fault fires: after `after` text deltas, or before the first tool call or the end."""
    if reply.fault not in STREAM_FAULTS:
        return None
    texts = 0
    for i, (kind, _) in enumerate(ps):
        if texts >= reply.after or kind == "tool":
            return i
        texts += 1
    return len(ps)


def outcome(reply: Reply) -> tuple[list, int | None, str, dict]:
    """(pieces sent, fault position, finish_reason, usage counts) once the reply's fault is applied."""
    ps = pieces(reply)
    at = fault_at(reply, ps)
    sent = ps[:at] if reply.fault in TRUNCATING else ps
    finish = FINISH_FAULTS.get(reply.fault, reply.finish_reason)
    reasoning, content, calls = summary(reply, sent)
    counts = {"prompt": reply.prompt_tokens, "completion": _completion_tokens(reasoning, content, calls),
              "reasoning": words(reasoning)}
    if finish == "model_context_window_exceeded":
        counts = dict.fromkeys(counts, 0)
    return sent, at, finish, counts


def summary(reply: Reply, sent: list) -> tuple[str | None, str, list[dict]]:
    """(reasoning or None, content, tool calls) carried by the sent pieces."""
    reasoning = "".join(v for k, v in sent if k == "reasoning")
    content = "".join(v for k, v in sent if k == "content")
    return (None if reply.reasoning is None else reasoning), content, \
        [reply.tool_calls[j] for k, j in sent if k == "tool"]


def usage_body(counts: dict) -> dict:
    """usage as in a non-streamed body (keys sorted, as recorded)."""
    return {"completion_tokens": counts["completion"],
            "completion_tokens_details": {"reasoning_tokens": counts["reasoning"]},
            "prompt_tokens": counts["prompt"], "prompt_tokens_details": {"cached_tokens": 0},
            "total_tokens": counts["prompt"] + counts["completion"]}


def usage_chunk(counts: dict) -> dict:
    """usage as in the final stream chunk (key order as recorded)."""
    return {"prompt_tokens": counts["prompt"], "completion_tokens": counts["completion"],
            "total_tokens": counts["prompt"] + counts["completion"], "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": counts["reasoning"]}}


def completion(reply: Reply) -> dict:
    """The non-streamed body (finish_* faults truncate it; cut, stall and mid_error are the server's)."""
    sent, _, finish, counts = outcome(reply)
    reasoning, content, calls = summary(reply, sent)
    message = {"content": content}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    message["role"] = "assistant"
    if calls:
        message["tool_calls"] = [{"function": {"arguments": c["arguments"], "name": c["name"]}, "id": c["id"],
                                  "index": j, "type": "function"} for j, c in enumerate(calls)]
    return {"choices": [{"finish_reason": finish, "index": 0, "message": message}], "created": reply.created,
            "id": reply.id, "model": reply.model, "object": "chat.completion", "request_id": reply.request_id,
            "usage": usage_body(counts)}


def sse(obj) -> str:
    """One `data: <compact JSON>` event."""
    return "data: " + json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n\n"


def chunk(reply: Reply, choice: dict, usage: dict | None = None) -> str:
    """One chat.completion.chunk event."""
    obj = {"id": reply.id, "created": reply.created, "object": "chat.completion.chunk", "model": reply.model,
           "choices": [choice]}
    if usage is not None:
        obj["usage"] = usage
    return sse(obj)


def fragments(arguments: str, rng: random.Random) -> list[str]:
    """arguments cut into 2 or 3 non-empty fragments (fewer if too short)."""
    n = min(rng.randint(2, 3), len(arguments))
    cuts = sorted(rng.sample(range(1, len(arguments)), n - 1)) if n > 1 else []
    return [arguments[a:b] for a, b in zip([0] + cuts, cuts + [len(arguments)])] or [arguments]


def piece_frames(reply: Reply, piece: tuple, rng: random.Random) -> Iterator[str]:
    """The chunk(s) of one piece: role repeated on text deltas, tool calls whole or (tool_stream) fragmented."""
    kind, value = piece
    if kind != "tool":
        yield chunk(reply, {"index": 0, "delta": {"role": "assistant",
                                                  ("reasoning_content" if kind == "reasoning" else kind): value}})
        return
    call = reply.tool_calls[value]
    parts = fragments(call["arguments"], rng) if reply.tool_stream else [call["arguments"]]
    yield chunk(reply, {"index": 0, "delta": {"tool_calls": [{
        "id": call["id"], "index": value, "type": "function",
        "function": {"name": call["name"], "arguments": parts[0]}}]}})
    for part in parts[1:]:
        yield chunk(reply, {"index": 0, "delta": {"tool_calls": [{"index": value, "function": {"arguments": part}}]}})


def frames(reply: Reply, sleep: Callable[[float], object]) -> Iterator[object]:
    """The SSE events of a streamed reply with its delays and fault; CUT and END are markers for the server."""
    sent, at, finish, counts = outcome(reply)
    rng = random.Random(reply.seed)
    first = True
    for i, piece in enumerate(sent + [None]):
        if i == at:
            if reply.fault == "cut":
                yield CUT
                return
            if reply.fault == "mid_error":
                yield sse(MID_STREAM)
                yield END
                return
            if reply.fault == "stall":
                sleep(reply.stall_s)
        if piece is None:
            break
        for frame in piece_frames(reply, piece, rng):
            if not first and reply.delay_ms:
                sleep(reply.delay_ms / 1000)
            first = False
            yield frame
    if not first and reply.delay_ms:
        sleep(reply.delay_ms / 1000)
    yield chunk(reply, {"index": 0, "finish_reason": finish, "delta": {"role": "assistant", "content": ""}},
                usage_chunk(counts))
    yield DONE
