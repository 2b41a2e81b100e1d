"""One validated chat completion request, with every decision the gateway makes about it."""
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace

from werkzeug.datastructures import Headers

from config.settings import THINK_TAGS_MODES
from ztoapi.catalog import Model
from ztoapi.errors import ApiError
from ztoapi.images import image_parts
from ztoapi.pipeline.tools import with_response_format
from ztoapi.pipeline.tools import with_tools
from ztoapi.zai.dialect import upstream_messages

FORWARDED_PARAMS = ("temperature", "top_p", "max_tokens")
# SDKs that mean "not streaming" when they leave `stream` out (the Vercel AI SDK sends no JSON Accept)
SDK_AGENTS = ("ai-sdk", "OpenAI/")
THINKING_OFF_EFFORTS = ("none", "minimal")


@dataclass(frozen=True)
class ChatRequest:
    model: Model
    requested_model: str
    messages: list
    params: dict
    enable_thinking: bool
    web_search: bool
    stream: bool
    include_usage: bool
    think_mode: str
    images: dict
    tools: tuple = ()            # names of the tools the model may call (empty: no tool calling)
    parallel_tool_calls: bool = True
    json_output: bool = False    # response_format asked for JSON
    reasoning_effort: str | None = None   # the request's effort, for upstreams that take one
    client_token: str | None = field(default=None, repr=False)   # X-ZAI-Token, when allowed
    # the request in OpenAI's own terms, for an upstream that calls tools itself (Z.ai's API):
    # messages as the client sent them, tools, tool_choice, response_format, stop
    native: dict = field(default_factory=dict, repr=False)


def prepare(body, settings, catalog, loader, client, headers, key_think=None):
    """The ChatRequest for a validated body: model, decisions, and the images the upstream will
    send (checked and loaded; images it will not send, such as earlier turns' in chat.z.ai's 2026
    dialect, are neither fetched nor need a logged-in token). Reasoning goes where the
    X-Think-Tags-Mode header says, else where `key_think` (the client key's `think`) says, else
    where THINK_TAGS_MODE says."""
    model = catalog.get_or_404(body["model"])
    check_images_allowed(body["messages"], model, catalog)
    client_token = headers.get("X-ZAI-Token") if settings.allow_client_tokens else None
    chat = chat_request(body, settings, model, headers.get("Accept", ""),
                        headers.get("X-Think-Tags-Mode") or key_think, None, client_token,
                        headers.get("User-Agent", ""))
    if not any(image_parts(body["messages"])) or chat.model.upstreams[0] != "web":
        return chat   # Z.ai's API takes images as the client sent them
    shift = len(chat.messages) - len(body["messages"])   # system messages added for tools or JSON
    sending = client.image_messages(chat)
    parts = [(where, url) for where, url in image_parts(body["messages"]) if where[0] + shift in sending]
    if not parts:
        return chat
    if not client.can_upload(client_token):
        raise ApiError(400, "Image input needs a logged-in chat.z.ai token: set ZAI_TOKEN "
                            "(guest tokens cannot upload images).", code="image_needs_token",
                       param="messages")
    loaded = loader.load_parts([(f"messages[{i}].content[{j}]", url) for (i, j), url in parts])
    return replace(chat, images={(i + shift, j): image for ((i, j), _), image in zip(parts, loaded)})


def chat_request(body, settings, model, accept="", think_mode=None, images=None, client_token=None,
                 user_agent=""):
    """Decide stream mode, thinking, search and upstream parameters for a validated body."""
    stream = body.get("stream")
    if stream is None:
        from_sdk = any(agent in user_agent for agent in SDK_AGENTS)
        stream = settings.default_stream and not wants_json_only(accept) and not from_sdk
    options = body.get("stream_options")
    if options is not None and not stream:
        raise ApiError(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                       param="stream_options")
    params = {**model.defaults,
              **{name: body[name] for name in FORWARDED_PARAMS if body.get(name) is not None}}
    if body.get("max_completion_tokens") is not None:
        params["max_tokens"] = body["max_completion_tokens"]
    tools = body.get("tools") or []
    choice = body.get("tool_choice") or "auto"
    parallel = body.get("parallel_tool_calls") is not False
    messages = with_response_format(with_tools(body["messages"], tools, choice, parallel),
                                    body.get("response_format"))
    shift = len(messages) - len(body["messages"])   # system messages added for tools or JSON
    images = {(i + shift, j): image for (i, j), image in (images or {}).items()}
    return ChatRequest(
        model=model,
        requested_model=body["model"],
        messages=upstream_messages(messages, vision=model.vision),
        params=params,
        enable_thinking=model.can_think and thinking_wanted(body, model, settings.enable_thinking),
        web_search=bool(body.get("web_search")) or model.search,
        stream=stream,
        include_usage=bool(options and options.get("include_usage")),
        think_mode=think_tags_mode(think_mode, settings.think_tags_mode),
        images=images,
        tools=tuple(tool["function"]["name"] for tool in tools) if choice != "none" else (),
        parallel_tool_calls=parallel,
        json_output=(body.get("response_format") or {}).get("type") in ("json_object", "json_schema"),
        reasoning_effort=body.get("reasoning_effort"),
        client_token=client_token,
        native={"messages": body["messages"], "tools": tools if choice != "none" else [],
                "tool_choice": choice, "response_format": body.get("response_format"),
                "stop": body.get("stop")},
    )


def thinking_wanted(body, model, default):
    """Whether GLM should think. The first of these that is set wins: `enable_thinking`,
    `thinking.type`, `reasoning_effort` (none/minimal → off), the model's -Thinking suffix,
    ENABLE_THINKING."""
    if body.get("enable_thinking") is not None:
        return body["enable_thinking"]
    thinking = body.get("thinking")
    if thinking and thinking.get("type") in ("enabled", "disabled"):
        return thinking["type"] == "enabled"
    if body.get("reasoning_effort") is not None:
        return body["reasoning_effort"] not in THINKING_OFF_EFFORTS
    if model.thinking is not None:
        return model.thinking
    return default


def reasoning_apart(headers):
    """The request's headers with reasoning always kept apart from the answer (X-Think-Tags-Mode:
    reasoning), for protocols that return it in blocks or items of its own (Anthropic, Responses)."""
    headers = Headers(headers)
    headers["X-Think-Tags-Mode"] = "reasoning"
    return headers


def think_tags_mode(header, default):
    """THINK_TAGS_MODE, or a request's X-Think-Tags-Mode header (or its key's `think`)."""
    if not header:
        return default
    mode = header.strip().lower()
    if mode not in THINK_TAGS_MODES:
        supported = ", ".join(f"'{m}'" for m in THINK_TAGS_MODES)
        raise ApiError(400, f"Invalid value for header 'X-Think-Tags-Mode': '{header}'. Supported "
                            f"values are: {supported}.", code="invalid_value", param="X-Think-Tags-Mode")
    return mode


def check_images_allowed(messages, model, catalog):
    """Images only go to vision models; the first one sent elsewhere is a 400 naming it and the
    vision models on offer."""
    if model.vision:
        return
    for (i, j), _ in image_parts(messages):
        vision = [m.id for m in catalog.models() if m.vision][:3]
        raise ApiError(400, f"Model {model.id} does not accept images (messages[{i}].content[{j}]); "
                            f"use a vision model ({', '.join(vision) or 'none is offered now'}) for "
                            "image input.", code="model_not_vision", param=f"messages[{i}].content[{j}]")


def wants_json_only(accept):
    """True when every media range in an Accept header is JSON (what the OpenAI SDKs send)."""
    ranges = [part.split(";")[0].strip().lower() for part in accept.split(",") if part.strip()]
    return bool(ranges) and all(r == "application/json" or r.endswith("+json") for r in ranges)
