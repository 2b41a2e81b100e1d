"""One validated chat completion request, with every decision the gateway makes about it."""
from dataclasses import dataclass

from ztoapi import catalog
from ztoapi.errors import ApiError
from ztoapi.zai.dialect import upstream_messages

FORWARDED_PARAMS = ("temperature", "top_p", "max_tokens")


@dataclass(frozen=True)
class ChatRequest:
    model: catalog.Model
    requested_model: str
    messages: list
    params: dict
    enable_thinking: bool
    stream: bool
    include_usage: bool
    think_mode: str


def chat_request(body, settings, accept=""):
    """Decide model, stream mode, thinking and upstream parameters for a validated body."""
    model = catalog.get_or_404(body["model"])
    stream = body.get("stream")
    if stream is None:
        stream = settings.default_stream and not wants_json_only(accept)
    options = body.get("stream_options")
    if options is not None and not stream:
        raise ApiError(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                       param="stream_options")
    params = {name: body[name] for name in FORWARDED_PARAMS if body.get(name) is not None}
    if body.get("max_completion_tokens") is not None:
        params["max_tokens"] = body["max_completion_tokens"]
    thinking = body.get("enable_thinking")
    return ChatRequest(
        model=model,
        requested_model=body["model"],
        messages=upstream_messages(body["messages"], vision=model.vision),
        params=params,
        enable_thinking=settings.enable_thinking if thinking is None else thinking,
        stream=stream,
        include_usage=bool(options and options.get("include_usage")),
        think_mode=settings.think_tags_mode,
    )


def wants_json_only(accept):
    """True when every media range in an Accept header is JSON (what the OpenAI SDKs send)."""
    ranges = [part.split(";")[0].strip().lower() for part in accept.split(",") if part.strip()]
    return bool(ranges) and all(r == "application/json" or r.endswith("+json") for r in ranges)
