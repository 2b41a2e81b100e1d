"""The fake's reply as Z.ai's official API streams it: OpenAI-shaped `chat.completion.chunk`
events (reasoning in `delta.reasoning_content`), usage in the final chunk, `data: [DONE]`."""
import orjson

from bench import reply
from bench.upstream_stream import CREATED
from bench.upstream_stream import chunked

CHUNK_ID = "20261201000000bench00000000000000"


def event(model, choice, usage=None):
    """One `data: <compact JSON>` event."""
    chunk = {"id": CHUNK_ID, "created": CREATED, "object": "chat.completion.chunk", "model": model,
             "choices": [choice]}
    if usage is not None:
        chunk["usage"] = usage
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def events(model, thinking):
    deltas = [("reasoning_content", part) for part in reply.reasoning_pieces()] if thinking else []
    deltas += [("content", part) for part in reply.answer_pieces()]
    out = [event(model, {"index": 0, "delta": {"role": "assistant", kind: text}}) for kind, text in deltas]
    reasoning = len(reply.REASONING.split()) if thinking else 0
    completion = len(reply.ANSWER.split()) + reasoning
    prompt = len(reply.PROMPT.split())
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
             "prompt_tokens_details": {"cached_tokens": 0},
             "completion_tokens_details": {"reasoning_tokens": reasoning}}
    out.append(event(model, {"index": 0, "finish_reason": "stop", "delta": {"role": "assistant", "content": ""}},
                     usage))
    return out + [b"data: [DONE]\n\n"]


def frames(model, thinking, chunked_framing=True):
    """The reply as a list of byte strings, one write (and HTTP chunk) per event."""
    found = events(model, thinking)
    return [chunked(item) for item in found] if chunked_framing else found
