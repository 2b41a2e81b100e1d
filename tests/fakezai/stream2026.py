"""The 2026 reply stream (2026 notes §3, HAR §4): plain thinking, tool_call/tool_response search, per-hop usage
frames (the last one before the last answer delta), `done`, and status / chat:title / conn:heartbeat events."""

import json
import random
from dataclasses import dataclass
from typing import Callable, Iterator

from . import stream
from .transcript import last_user_turn

SEARCH_DATE = "2026-11-30"
ANSWER_KINDS = ("answer",)


@dataclass
class Reply2026(stream.Reply):
    """A stream.Reply plus the 2026 knobs."""

    think_style: str = "plain"   # "details": the Oct-2025 <details> block and think→answer edit
    hops: int = 1                # usage frames (phase other), one per model hop
    title: str = "New Chat"      # the chat:title event


def search_wanted(body: dict) -> bool:
    """True if features.web_search or features.auto_web_search is true."""
    features = body.get("features") or {}
    return features.get("web_search") is True or features.get("auto_web_search") is True


def answered_text(messages) -> str:
    """The text the fake answers: the last user turn of the (possibly folded) last user message."""
    return last_user_turn(stream.last_user_text(messages))


def build_reply(body: dict, script: dict, images: list[dict] | None = None) -> Reply2026:
    """Combine a validated 2026 body with its script; images are the file metas of the message's images."""
    _, text = stream.parse_directive(answered_text(body["messages"]))
    search = script.get("search", search_wanted(body))
    sources = script.get("sources")
    results = (stream.default_results(text) if sources is None else sources) if search else []
    notes = [f"[image {m['content_type']} {m['size']} bytes]" for m in images or ()]
    notes += [f"[searched: {text}]"] if search else []
    cites = "".join(f"【turn0search{i}】" for i in range(len(results)))
    answer = script.get("answer", "Echo: " + " ".join(([text] if text or not notes else []) + notes) + cites)
    thinking = body["features"]["enable_thinking"] is True
    reasoning = script.get("reasoning", f"The user wrote: {text}\nI will echo it.") if thinking else None
    usage = stream.make_usage(body["messages"], reasoning or "", answer)
    del usage["words"]
    options = {k: script[k] for k in ("chunk", "seed", "delay_ms", "fault", "after", "stall_s") if k in script}
    return Reply2026(answer, reasoning, body["model"], usage, **options, search_query=text if search else None,
                     search_results=results, think_style=script.get("think_style", "plain"),
                     hops=script.get("hops", 2 if search else 1), title=(text or "New Chat")[:40])


def chat(kind: str, data: dict) -> tuple[str, dict]:
    """A (kind, chat:completion envelope) pair."""
    return kind, {"type": "chat:completion", "data": data}


def thinking(reply: Reply2026, answer_parts: list[str], rng: random.Random) -> list[tuple[str, dict]]:
    """Thinking frames: plain deltas, or the Oct-2025 details block (which may take the first answer part)."""
    if reply.think_style == "details":
        return [chat(kind, data) for kind, data in stream.think_events(
            reply.reasoning, answer_parts, reply.search_query is not None, rng, reply.chunk)]
    return [chat("think", {"delta_content": p, "phase": "thinking"}) for p in stream.split(reply.reasoning, rng,
                                                                                          reply.chunk)]


def references(results: list) -> str:
    """The tool_response text: one `[ref_id=turn0searchN†title†url]` block per result."""
    return "\n\n".join(f"[ref_id=turn0search{i}†{r['title']}†{r['url']}]\nDate: {SEARCH_DATE}\n{r.get('text', '')}"
                       for i, r in enumerate(results))


def search(query: str, results: list, rng: random.Random) -> list[tuple[str, dict]]:
    """The search call: a first tool_call fragment with the call id, 2-3 argument fragments, the tool_response."""
    call_id = "call_%024x" % rng.getrandbits(96)
    arguments = json.dumps({"search_query": [{"q": query, "recency": 30}]}, ensure_ascii=False, separators=(",", ":"))
    rest = arguments[2:]
    cuts = sorted(rng.sample(range(1, len(rest)), rng.randint(1, 2)))
    fragments = [rest[a:b] for a, b in zip([0] + cuts, cuts + [len(rest)])]
    found = [{"title": r["title"], "url": r["url"], "text": r.get("text", "")} for r in results]
    return [chat("tool", {"phase": "tool_call", "delta_name": "search", "delta_arguments": arguments[:2],
                          "metadata": {"tool_call_id": call_id, "type": "function"}}),
            *(chat("tool", {"phase": "tool_call", "delta_arguments": f, "metadata": {"type": "function"}})
              for f in fragments),
            chat("tool", {"phase": "tool_response", "tool_name": "search", "status": "completed",
                          "delta_content": references(results),
                          "metadata": {"browser": {"search_result": found}, "tool_call_id": call_id}})]


def hop_usages(usage: dict, hops: int) -> list[dict]:
    """Split usage over hops: each hop gets n // hops of every count, the last hop also the remainder, so the
    frames add up to usage."""
    def share(n: int, hop: int) -> int:
        return n // hops + (n % hops if hop == hops else 0)

    frames = []
    for hop in range(1, hops + 1):
        prompt, completion = share(usage["prompt_tokens"], hop), share(usage["completion_tokens"], hop)
        cached = share(usage["prompt_tokens_details"]["cached_tokens"], hop)
        frames.append({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                       "prompt_tokens_details": {"cached_tokens": cached}})
    return frames


def _index(items: list, kinds: tuple[str, ...], last: bool) -> int | None:
    """Index of the first (or last) item whose kind is in kinds."""
    found = [i for i, (kind, _) in enumerate(items) if kind in kinds]
    return (found[-1] if last else found[0]) if found else None


def place_usage(items: list, reply: Reply2026) -> None:
    """Insert the usage frames: the last hop's before the last answer delta (before done if there is none); the
    earlier hops' right after the tool_response (searching), else right before the first answer delta."""
    usages = [chat("usage", {"phase": "other", "usage": u}) for u in hop_usages(reply.usage, reply.hops)]
    tool, last = _index(items, ("tool",), True), _index(items, ANSWER_KINDS, True)
    if last is None or (tool is not None and last < tool):  # no answer delta after the search: before done
        last = len(items) - 1
    items.insert(last, usages.pop())
    at = tool + 1 if tool is not None else _index(items, ANSWER_KINDS + ("usage",), False)
    items[at:at] = usages


def place_extras(items: list, reply: Reply2026, rng: random.Random) -> None:
    """Insert one status, one chat:title and one conn:heartbeat event at seeded positions before done."""
    extras = [{"type": "status", "data": {"status": "thinking"}},
              {"type": "chat:title", "data": {"title": reply.title}}, {"type": "conn:heartbeat", "data": {}}]
    for extra in extras:
        items.insert(rng.randint(0, len(items) - 1), ("extra", extra))


def events(reply: Reply2026) -> list[tuple[str, dict]]:
    """(kind, envelope) pairs of a whole 2026 reply, kind in think/answer/tool/usage/extra/tail."""
    rng = random.Random(reply.seed)
    answer_parts = stream.split(reply.answer, rng, reply.chunk)
    items = thinking(reply, answer_parts, rng) if reply.reasoning is not None else []
    if reply.search_query is not None:
        results = stream.default_results(reply.search_query) if reply.search_results is None else reply.search_results
        items += search(reply.search_query, results, rng)
    items += [chat("answer", {"delta_content": p, "phase": "answer"}) for p in answer_parts]
    items.append(chat("tail", {"phase": "done", "done": True}))
    place_usage(items, reply)
    place_extras(items, reply, rng)
    return items


def frames(reply: Reply2026, sleep: Callable[[float], object]) -> Iterator[object]:
    """SSE frames of reply with delays and faults applied (see stream.frames)."""
    return stream.frames(reply, sleep, events(reply), stream.sse)
