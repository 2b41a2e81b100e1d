"""The fake's reply in chat.z.ai's 2026 framing (2026 notes §3), built once as bytes.

The same `chat:completion` envelope as 2025 (bench/upstream_stream.py), but the thinking phase is
plain `delta_content` (no `<details>` block, no edit), the usage frame comes before the last
answer delta, and only the `done` event ends the reply.
"""
from bench import reply
from bench.upstream_stream import chunked
from bench.upstream_stream import sse


def event_datas(thinking):
    """The `data` objects of one reply, in order."""
    datas = [{"delta_content": part, "phase": "thinking"} for part in reply.reasoning_pieces()] if thinking else []
    datas += [{"delta_content": part, "phase": "answer"} for part in reply.answer_pieces()]
    completion = len(reply.ANSWER.split()) + (len(reply.REASONING.split()) if thinking else 0)
    prompt = len(reply.PROMPT.split())
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
             "prompt_tokens_details": {"cached_tokens": 0}}
    datas.insert(len(datas) - 1, {"phase": "other", "usage": usage})
    datas.append({"phase": "done", "done": True})
    return datas


def frames(thinking, chunked_framing=True):
    """The reply as a list of byte strings, one write (and HTTP chunk) per event."""
    events = [sse(data) for data in event_datas(thinking)]
    return [chunked(event) for event in events] if chunked_framing else events
