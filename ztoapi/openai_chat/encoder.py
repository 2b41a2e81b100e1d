"""OpenAI Chat Completions output: chat.completion.chunk SSE bytes and chat.completion bodies."""
import secrets
import time

import orjson

from ztoapi.pipeline.tools import unfenced
from ztoapi.upstream import ANSWER
from ztoapi.upstream import REASONING
from ztoapi.upstream import TOOL_CALL

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"


def new_completion_id():
    return "chatcmpl-" + secrets.token_urlsafe(21).replace("-", "x").replace("_", "y")


def openai_usage(usage, sent=None):
    """chat.z.ai's token counts in OpenAI's shape (zeros when the upstream sent none).

    chat.z.ai does not split reasoning from answer tokens, so `reasoning_tokens` is estimated:
    completion tokens shared in proportion to the characters of reasoning and answer (`sent`)."""
    usage = usage or {}
    details = usage.get("prompt_tokens_details")
    prompt = _count(usage.get("prompt_tokens"))
    completion = _count(usage.get("completion_tokens"))
    cached = _count(details.get("cached_tokens") if isinstance(details, dict) else 0)
    reasoning = 0
    if sent and sent.get(REASONING):
        reasoning = round(completion * sent[REASONING] / (sent[REASONING] + sent.get(ANSWER, 0)))
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion, "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning}}


def _count(value):
    return int(value) if isinstance(value, (int, float)) and value >= 0 else 0


class ChunkEncoder:
    """Encodes the chunks of one stream; every chunk shares id, created and model."""

    def __init__(self, completion_id, model, include_usage, created=None, tools=False):
        self.head = orjson.dumps({"id": completion_id, "object": "chat.completion.chunk",
                                  "created": created or int(time.time()), "model": model})[:-1]
        self.prefix = b"data: " + self.head + b',"choices":[{"index":0,"delta":'
        usage = b',"usage":null' if include_usage else b""
        self.suffix = b',"logprobs":null,"finish_reason":null}]' + usage + b"}\n\n"
        self.finish_suffix = b',"logprobs":null,"finish_reason":"%s"}]' + usage + b"}\n\n"
        self.tools = tools
        self.calls = 0

    def first(self):
        """The role chunk; with tools in play its content is null, as OpenAI sends it."""
        content = b"null" if self.tools else b'""'
        return self.prefix + b'{"role":"assistant","content":' + content + b"}" + self.suffix

    def deltas(self, pairs):
        """One chunk per run of text bound for the same field; two per tool call."""
        out = []
        field, texts = None, []
        for name, value in pairs:
            if name != field and texts:
                out.append(self._delta(field, texts))
                texts = []
            if name == "tool_call":
                out.append(self._call(value))
                field = None
                continue
            field = name
            texts.append(value)
        if texts:
            out.append(self._delta(field, texts))
        return b"".join(out)

    def _call(self, call):
        """A tool call: its id, type and name once, then its arguments (as clients accumulate)."""
        index = self.calls
        self.calls += 1
        opening = {"tool_calls": [{"index": index, "id": call.id, "type": "function",
                                   "function": {"name": call.name, "arguments": ""}}]}
        arguments = {"tool_calls": [{"index": index, "function": {"arguments": call.arguments}}]}
        return (self.prefix + orjson.dumps(opening) + self.suffix
                + self.prefix + orjson.dumps(arguments) + self.suffix)

    def finish(self, reason):
        return self.prefix + b"{}" + self.finish_suffix % reason.encode()

    def usage(self, usage, sent=None):
        return (b"data: " + self.head + b',"choices":[],"usage":'
                + orjson.dumps(openai_usage(usage, sent)) + b"}\n\n")

    def _delta(self, field, texts):
        return self.prefix + orjson.dumps({field: "".join(texts)}) + self.suffix


class ChatEncoder:
    """One reply as chat.completion.chunk events, or as one chat.completion (see pipeline.relay)."""

    keepalive = KEEPALIVE
    stopped = False

    def __init__(self, chat, created=None):
        self.chat = chat
        self.id = new_completion_id()
        self.chunks = ChunkEncoder(self.id, chat.requested_model, chat.include_usage, created,
                                   tools=bool(chat.tools))
        self.fields, self.calls = {}, []

    def start(self):
        return self.chunks.first()

    def feed(self, pairs):
        return self.chunks.deltas(pairs)

    def finish(self, reply):
        tail = self.chunks.finish("tool_calls" if self.chunks.calls else "stop")
        if self.chat.include_usage:
            tail += self.chunks.usage(reply.usage, reply.sent)
        return tail + DONE

    def failed(self, error):
        return error_event(error)

    def collect(self, pairs):
        for field, value in pairs:
            if field == TOOL_CALL:
                self.calls.append(value)
            else:
                self.fields.setdefault(field, []).append(value)

    def body(self, reply):
        joined = {field: "".join(texts) for field, texts in self.fields.items()}
        if self.chat.json_output and "content" in joined:
            joined["content"] = unfenced(joined["content"])
        return completion_body(self.id, self.chat.requested_model, joined, reply.usage, reply.sent,
                               self.calls)


def error_event(error):
    """The in-stream failure: an error event, then the end of the stream."""
    return b"data: " + orjson.dumps(error.body()) + b"\n\n" + DONE


def completion_body(completion_id, model, fields, usage, sent=None, calls=(), created=None):
    """The chat.completion object for a finished reply."""
    content = fields.get("content", "")
    if calls and not content.strip():
        content = None
    message = {"role": "assistant", "content": content, "refusal": None, "annotations": []}
    if fields.get("reasoning_content"):
        message["reasoning_content"] = fields["reasoning_content"]
    if calls:
        message["tool_calls"] = [{"id": call.id, "type": "function",
                                  "function": {"name": call.name, "arguments": call.arguments}}
                                 for call in calls]
    return {"id": completion_id, "object": "chat.completion", "created": created or int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": openai_usage(usage, sent)}
