"""One reply as Responses API server-sent events, or as one Response object (see pipeline.relay).

Each event is written as OpenAI writes it (`event: <type>` then `data: <json>`), with no `[DONE]`
at the end. When the response is finished (completed, never failed) `on_complete` receives it,
with the assistant turn it adds to the conversation, so that it can be stored."""
import orjson

from ztoapi.openai_chat.encoder import openai_usage
from ztoapi.openai_responses.events import usage_of
from ztoapi.pipeline.tools import unfenced

KEEPALIVE = b": keep-alive\n\n"


def sse(events):
    return b"".join(b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"
                    for event in events)


class ResponsesEncoder:
    keepalive = KEEPALIVE
    stopped = False

    def __init__(self, chat, events, on_complete=None):
        self.chat = chat
        self.events = events
        self.on_complete = on_complete

    def start(self):
        return sse(self.events.start())

    def feed(self, pairs):
        return sse(self.events.feed(pairs))

    def finish(self, reply):
        finished = self.events.finish(usage(reply))
        self._completed(finished[-1]["response"])
        return sse(finished)

    def failed(self, error):
        return sse(self.events.failed(error))

    def collect(self, pairs):
        self.events.feed(pairs)

    def body(self, reply):
        response = self.events.complete(usage(reply))
        if self.chat.json_output:
            for item in response["output"]:
                if item["type"] == "message":
                    item["content"] = [{**part, "text": unfenced(part["text"])} for part in item["content"]]
        self._completed(response)
        return response

    def _completed(self, response):
        if self.on_complete is not None:
            self.on_complete(response, assistant_turn(response["output"]))


def usage(reply):
    counted = openai_usage(reply.usage, reply.sent)
    return usage_of(counted, counted["completion_tokens_details"]["reasoning_tokens"])


def assistant_turn(output):
    """The chat message a finished response adds to its conversation (reasoning is not kept:
    chat.z.ai takes none back)."""
    text = "".join(part["text"] for item in output if item["type"] == "message" for part in item["content"])
    calls = [{"id": item["call_id"], "type": "function",
              "function": {"name": item["name"], "arguments": item["arguments"]}}
             for item in output if item["type"] == "function_call"]
    turn = {"role": "assistant", "content": text if text or not calls else None}
    if calls:
        turn["tool_calls"] = calls
    return turn
