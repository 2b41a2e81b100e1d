"""Strict validation of POST /chat/completions bodies: the first problem found becomes a 400 ApiError."""

import json
import re

from .catalog import Model
from .errors import EMPTY_INPUT, JSON_SCHEMA, UNKNOWN_MODEL, ApiError, invalid, missing, unsupported

KNOWN_FIELDS = {"model", "messages", "stream", "thinking", "temperature", "top_p", "max_tokens", "tools",
                "tool_choice", "response_format", "stop", "request_id", "user_id", "do_sample",
                "reasoning_effort", "tool_stream", "stream_options"}
ROLES = ("system", "user", "assistant", "tool")
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
IMAGE_URL = re.compile(r"(data:image/[\w.+-]+;base64,[A-Za-z0-9+/=\s]+|https?://\S+)")
MEDIA_URL = re.compile(r"https?://\S+")
MAX_TOOLS = 128


def check_chat(body, models: dict[str, Model]) -> list[str]:
    """Raise ApiError for the first problem in body; return its unknown top-level fields (accepted)."""
    if not isinstance(body, dict):
        raise unsupported()
    model = _model(body, models)
    _messages(body.get("messages"), model)
    _thinking(body)
    _number(body, "temperature", 0, 1)
    _number(body, "top_p", 0.01, 1)
    _number(body, "max_tokens", 1, 131072, integer=True)
    for field in ("stream", "do_sample"):
        _boolean(body, field)
    _model_options(body, model)
    names = _tools(body, model)
    _tool_choice(body, names)
    _response_format(body, model)
    _stop(body)
    _string(body, "request_id", 6, 64)
    _string(body, "user_id", 6, 128)
    if "stream_options" in body and not (isinstance(body["stream_options"], dict) and isinstance(
            body["stream_options"].get("include_usage", False), bool)):
        raise invalid("stream_options")
    return sorted(set(body) - KNOWN_FIELDS)


def function_names(body: dict) -> list[str]:
    """Names of the request's function tools."""
    tools = body.get("tools") or []
    return [t["function"]["name"] for t in tools if t.get("type") == "function"]


def _model(body: dict, models: dict[str, Model]) -> Model:
    """The catalogue entry of body["model"] (ids are case-sensitive)."""
    if "model" not in body:
        raise missing("model")
    model = models.get(body["model"]) if isinstance(body["model"], str) else None
    if model is None:
        raise ApiError(400, "1211", UNKNOWN_MODEL)
    return model


def _messages(messages, model: Model) -> None:
    """A non-empty list of well-formed messages, not only system/assistant ones."""
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "1214", EMPTY_INPUT)
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise invalid(f"messages[{i}].role")
        _message(message, f"messages[{i}]", model)
    if not any(m["role"] in ("user", "tool") for m in messages):
        raise invalid("messages (system or assistant messages only)")


def _message(message: dict, where: str, model: Model) -> None:
    """Content and role-specific keys of one message."""
    role, content = message["role"], message.get("content")
    if role == "assistant":
        if content is not None:
            _content(content, f"{where}.content", model, media=False)
        if "tool_calls" in message:
            _tool_calls(message["tool_calls"], f"{where}.tool_calls")
        return
    if "content" not in message:
        raise missing(f"{where}.content")
    _content(content, f"{where}.content", model, media=role == "user")
    if role == "tool" and not (isinstance(message.get("tool_call_id"), str) and message["tool_call_id"]):
        raise invalid(f"{where}.tool_call_id")


def _content(content, where: str, model: Model, media: bool) -> None:
    """A string, or a non-empty list of parts (media parts only in user messages of vision models)."""
    if isinstance(content, str):
        return
    if not isinstance(content, list) or not content:
        raise invalid(where)
    kinds = set()
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if set(part) != {"type", "text"} or not isinstance(part["text"], str):
                raise invalid(f"{where}[{j}]")
            continue
        if kind not in ("image_url", "video_url", "file") or not media:
            raise invalid(f"{where}[{j}].type")
        if not model.vision:
            raise unsupported(f"Model {model.id} does not support {kind} input")
        _media_part(part, kind, f"{where}[{j}]")
        kinds.add("file" if kind == "file" else "media")
    if len(kinds) > 1:
        raise invalid(f"{where} (file parts cannot be mixed with image or video parts)")


def _media_part(part: dict, kind: str, where: str) -> None:
    """{"type": kind, kind: {...}} with no other keys (image_url.detail is not allowed)."""
    inner = part.get(kind)
    if set(part) != {"type", kind} or not isinstance(inner, dict):
        raise invalid(where)
    if kind == "file":
        sources = [k for k in ("file_id", "file_url", "file_data") if k in inner]
        if len(sources) != 1 or set(inner) - {"file_id", "file_url", "file_data", "filename"} or not all(
                isinstance(v, str) and v for v in inner.values()):
            raise invalid(f"{where}.file")
        return
    extra = sorted(set(inner) - {"url"})
    if extra:
        raise invalid(f"{where}.{kind}.{extra[0]}")
    pattern = IMAGE_URL if kind == "image_url" else MEDIA_URL
    if not isinstance(inner.get("url"), str) or not pattern.fullmatch(inner["url"]):
        raise invalid(f"{where}.{kind}.url")


def _tool_calls(calls, where: str) -> None:
    """Items {id, type: "function", function: {name, arguments: JSON string}} (an echoed index allowed)."""
    if not isinstance(calls, list):
        raise invalid(where)
    for j, call in enumerate(calls):
        at = f"{where}[{j}]"
        if not isinstance(call, dict) or set(call) - {"id", "type", "function", "index"} \
                or not (isinstance(call.get("id"), str) and call["id"]) or call.get("type") != "function":
            raise invalid(at)
        function = call.get("function")
        if not isinstance(function, dict) or set(function) != {"name", "arguments"} \
                or not isinstance(function["name"], str) or not function["name"]:
            raise invalid(f"{at}.function")
        if not _is_json(function["arguments"]):
            raise invalid(f"{at}.function.arguments")


def _is_json(text) -> bool:
    """True if text is a string holding one JSON value."""
    try:
        json.loads(text)
    except (TypeError, ValueError):
        return False
    return isinstance(text, str)


def _thinking(body: dict) -> None:
    """Absent, or exactly {"type": "enabled"|"disabled"} plus an optional boolean clear_thinking."""
    if "thinking" not in body:
        return
    thinking = body["thinking"]
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "disabled") \
            or set(thinking) - {"type", "clear_thinking"} \
            or not isinstance(thinking.get("clear_thinking", True), bool):
        raise invalid("thinking")


def _number(body: dict, field: str, low: float, high: float, integer: bool = False) -> None:
    """A number (an int if integer) within [low, high] when present."""
    value = body.get(field)
    if field in body and (isinstance(value, bool) or not isinstance(value, int if integer else (int, float))
                          or not low <= value <= high):
        raise invalid(field)


def _boolean(body: dict, field: str) -> None:
    """A boolean when present."""
    if field in body and not isinstance(body[field], bool):
        raise invalid(field)


def _string(body: dict, field: str, low: int, high: int) -> None:
    """A string of low..high characters when present."""
    if field in body and not (isinstance(body[field], str) and low <= len(body[field]) <= high):
        raise invalid(field)


def _model_options(body: dict, model: Model) -> None:
    """reasoning_effort and tool_stream only for the models that take them."""
    if "reasoning_effort" in body and body["reasoning_effort"] not in model.efforts:
        raise invalid("reasoning_effort")
    if "tool_stream" in body and not (model.tool_stream and isinstance(body["tool_stream"], bool)):
        raise invalid("tool_stream")


def _tools(body: dict, model: Model) -> list[str]:
    """At most 128 tools, function tools strictly shaped; return the function names."""
    if "tools" not in body:
        return []
    tools = body["tools"]
    if not isinstance(tools, list) or len(tools) > MAX_TOOLS:
        raise invalid("tools")
    for i, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind not in ("function", "web_search", "retrieval") or set(tool) != {"type", kind} \
                or not isinstance(tool[kind], dict):
            raise invalid(f"tools[{i}]")
        if kind == "function":
            _function(tool["function"], f"tools[{i}].function")
    if tools and not model.tools:
        raise unsupported(f"Model {model.id} does not support tools")
    return function_names(body)


def _function(function: dict, where: str) -> None:
    """{name: ^[a-zA-Z0-9_-]{1,64}$, description?: str, parameters: object, strict?: bool}."""
    if set(function) - {"name", "description", "parameters", "strict"}:
        raise invalid(where)
    if not isinstance(function.get("name"), str) or not TOOL_NAME.fullmatch(function["name"]):
        raise invalid(f"{where}.name")
    if not isinstance(function.get("description", ""), str):
        raise invalid(f"{where}.description")
    if not isinstance(function.get("parameters"), dict):
        raise invalid(f"{where}.parameters")
    if not isinstance(function.get("strict", False), bool):
        raise invalid(f"{where}.strict")


def _tool_choice(body: dict, names: list[str]) -> None:
    """"auto", or {"type": "function", "function": {"name": <one of the tools>}}."""
    if "tool_choice" not in body or body["tool_choice"] == "auto":
        return
    choice = body["tool_choice"]
    if not (isinstance(choice, dict) and set(choice) == {"type", "function"} and choice["type"] == "function"
            and isinstance(choice["function"], dict) and set(choice["function"]) == {"name"}
            and choice["function"]["name"] in names):
        raise invalid("tool_choice")


def _response_format(body: dict, model: Model) -> None:
    """{"type": "text"|"json_object"}, text models only; json_schema is unsupported (1210)."""
    if "response_format" not in body:
        return
    rf = body["response_format"]
    if isinstance(rf, dict) and rf.get("type") == "json_schema":
        raise unsupported(JSON_SCHEMA)
    if not isinstance(rf, dict) or set(rf) != {"type"} or rf["type"] not in ("text", "json_object"):
        raise invalid("response_format")
    if model.vision:
        raise unsupported(f"Model {model.id} does not support response_format")


def _stop(body: dict) -> None:
    """A string or a list of at most 4 strings."""
    stop = body.get("stop")
    if "stop" in body and not (isinstance(stop, str) or (
            isinstance(stop, list) and len(stop) <= 4 and all(isinstance(s, str) for s in stop))):
        raise invalid("stop")
