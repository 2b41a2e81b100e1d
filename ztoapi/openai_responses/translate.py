"""A Responses API request as the chat body the pipeline reads (the OpenAI Chat Completions shape).

`instructions` become the first system message; `input` (a string, or items) becomes messages:
message items keep their role (input_text/output_text parts as text, input_image as an image
part), function_call items become an assistant turn's tool_calls, function_call_output items
`tool` messages, reasoning items are dropped (chat.z.ai takes no reasoning history). A stored
previous response's conversation comes before the new input. Function tools (flat in this API)
become chat tools, tools inside a `namespace` too; `web_search` turns chat.z.ai's search on.
"""
import orjson

from ztoapi.errors import ApiError
from ztoapi.fairness import breathe
from ztoapi.validation import supported
from ztoapi.validation import type_name

DROPPED_ITEMS = ("reasoning", "web_search_call")   # nothing chat.z.ai can take back
TEXT_PARTS = ("input_text", "output_text", "text", "refusal", "summary_text")
ROLES = ("user", "assistant", "system", "developer")


def chat_body(request, history=(), referenced=lambda item_id: None):
    """The chat body for a validated Responses request; `history` is the stored conversation the
    request continues (previous_response_id), as chat messages; `referenced(id)` is the stored
    output item an `item_reference` names (None when there is none)."""
    messages = []
    if request.get("instructions"):
        messages.append({"role": "system", "content": request["instructions"]})
    messages += list(history)
    messages += input_messages(request.get("input"), referenced)
    if not messages:
        raise ApiError(400, "Missing required parameter: 'input'.", code="missing_required_parameter",
                       param="input")
    body = {"model": request["model"], "messages": messages, "stream": bool(request.get("stream"))}
    tools, web_search = chat_tools(request.get("tools") or ())
    if tools:
        body["tools"] = tools
        body["tool_choice"] = tool_choice(request.get("tool_choice"))
        body["parallel_tool_calls"] = request.get("parallel_tool_calls") is not False
    if web_search or (request.get("tool_choice") or {}) in ({"type": "web_search"},
                                                             {"type": "web_search_preview"}):
        body["web_search"] = True
    body.update(output_format((request.get("text") or {}).get("format")))
    effort = (request.get("reasoning") or {}).get("effort")
    if effort is not None:
        body["reasoning_effort"] = effort   # none/minimal turn thinking off (pipeline.request)
    for ours, theirs in (("max_tokens", "max_output_tokens"), ("temperature", "temperature"),
                         ("top_p", "top_p")):
        if request.get(theirs) is not None:
            body[ours] = request[theirs]
    return body


def input_messages(items, referenced=lambda item_id: None):
    """The chat messages of `input`."""
    if items is None:
        return []
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    messages = []
    for index, item in enumerate(items):
        breathe()
        if not isinstance(item, dict):
            raise invalid_type(f"input[{index}]", "an object", item)
        kind = item.get("type") or "message"
        if kind == "item_reference":
            item, kind = reference(item, index, referenced)
        if kind == "message":
            role = field(item, "role", str, index)
            if role not in ROLES:
                raise ApiError(400, f"Invalid value: '{role}'. Supported values are: "
                                    f"{supported(ROLES)}.", code="invalid_value", param=f"input[{index}].role")
            messages.append({"role": role, "content": content(item.get("content"), index)})
        elif kind == "function_call":
            call = {"id": field(item, "call_id", str, index), "type": "function",
                    "function": {"name": field(item, "name", str, index),
                                 "arguments": field(item, "arguments", str, index, "") or "{}"}}
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and (
                    last.get("tool_calls") or not isinstance(last.get("content"), list)):
                last.setdefault("tool_calls", []).append(call)   # one assistant turn: text and calls
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": field(item, "call_id", str, index),
                             "content": output_text(item.get("output"))})
        elif kind not in DROPPED_ITEMS:
            raise ApiError(400, f"Invalid value: '{kind}'. This server takes input items of type "
                                f"{supported(('message', 'function_call', 'function_call_output', 'reasoning', 'item_reference'))}.",
                           code="invalid_value", param=f"input[{index}].type")
    return messages


def reference(item, index, referenced):
    """(the item an item_reference names, its type): reasoning is dropped without being looked
    up; an unknown item is a 404."""
    item_id = field(item, "id", str, index)
    if item_id.startswith("rs_"):
        return item, "reasoning"
    found = referenced(item_id)
    if found is None or found.get("type") not in ("message", "function_call"):
        raise ApiError(404, f"Item with id '{item_id}' not found.", param=f"input[{index}].id")
    return found, found["type"]


def field(item, name, kind, index, default=None):
    """`item[name]`, which must be of `kind` (a 400 naming input[index].name otherwise)."""
    value = item.get(name, default)
    if value is None and default is None:
        raise ApiError(400, f"Missing required parameter: 'input[{index}].{name}'.",
                       code="missing_required_parameter", param=f"input[{index}].{name}")
    if not isinstance(value, kind):
        raise invalid_type(f"input[{index}].{name}", "a string", value)
    return value


def invalid_type(param, expected, value):
    return ApiError(400, f"Invalid type for '{param}': expected {expected}, but got {type_name(value)} "
                         "instead.", code="invalid_type", param=param)


def content(value, index):
    """Message content as chat content: a string, or text and image parts."""
    if value is None or isinstance(value, str):
        return value or ""
    if not isinstance(value, list):
        raise invalid_type(f"input[{index}].content", "one of a string or array of content parts", value)
    parts = []
    for j, part in enumerate(value):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in TEXT_PARTS:
            parts.append({"type": "text", "text": part.get("text") or part.get("refusal") or ""})
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            parts.append({"type": "image_url", "image_url": {"url": part["image_url"]}})
        else:
            raise ApiError(400, f"Invalid value: '{kind}'. This server takes content parts of type "
                                "'input_text', 'output_text' and 'input_image' (with an image_url).",
                           code="invalid_value", param=f"input[{index}].content[{j}].type")
    if all(part["type"] == "text" for part in parts):
        return "\n".join(part["text"] for part in parts)
    return parts


def output_text(output):
    """A function_call_output's output (a string, or parts) as text."""
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "\n".join(part.get("text", "") for part in output if isinstance(part, dict))
    return orjson.dumps(output).decode()


def chat_tools(tools):
    """(chat tools, whether web search was asked for) of the request's tools."""
    converted, web_search = [], False
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise invalid_type(f"tools[{index}]", "an object", tool)
        kind = tool.get("type")
        if kind == "function":
            converted.append(function(tool, f"tools[{index}]"))
        elif kind == "namespace":
            converted += [function(inner, f"tools[{index}].tools[{j}]")
                          for j, inner in enumerate(tool.get("tools") or ())
                          if isinstance(inner, dict) and inner.get("type") == "function"]
        elif kind in ("web_search", "web_search_preview"):
            web_search = web_search or tool.get("external_web_access") is not False
        else:
            raise ApiError(400, f"Tool type '{kind}' is not supported by this server: it serves "
                                "'function' tools (also inside a 'namespace') and 'web_search'.",
                           code="unsupported_value", param=f"tools[{index}].type")
    return converted, web_search


def function(tool, where):
    """A flat Responses function tool as a chat tool."""
    if not isinstance(tool.get("name"), str):
        raise ApiError(400, f"Missing required parameter: '{where}.name'.",
                       code="missing_required_parameter", param=f"{where}.name")
    spec = {"name": tool["name"], "parameters": tool.get("parameters") or {"type": "object", "properties": {}}}
    if tool.get("description"):
        spec["description"] = tool["description"]
    return {"type": "function", "function": spec}


def tool_choice(choice):
    if choice is None or isinstance(choice, str):
        return choice or "auto"
    if choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    if choice.get("type") == "allowed_tools":
        return choice.get("mode") or "auto"
    return "auto"


def output_format(spec):
    """response_format of the chat body for `text.format`."""
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind == "json_object":
        return {"response_format": {"type": "json_object"}}
    if kind == "json_schema":
        return {"response_format": {"type": "json_schema", "json_schema": {
            "name": spec.get("name") or "response", "schema": spec.get("schema") or {},
            "strict": spec.get("strict", True)}}}
    return {}


def echo(request):
    """The request's settings as the Response object repeats them (defaults filled in)."""
    text_format = (request.get("text") or {}).get("format") or {"type": "text"}
    if isinstance(text_format, dict) and text_format.get("type") == "json_schema":
        text_format = {"strict": True, **text_format}
    reasoning = request.get("reasoning") or {}
    return {"model": request["model"], "instructions": request.get("instructions"),
            "max_output_tokens": request.get("max_output_tokens"), "max_tool_calls": None,
            "metadata": request.get("metadata") or {}, "parallel_tool_calls":
                request.get("parallel_tool_calls") is not False,
            "previous_response_id": request.get("previous_response_id"),
            "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
            "store": request.get("store") is not False,
            "temperature": request.get("temperature") if request.get("temperature") is not None else 1.0,
            "text": {"format": text_format}, "tool_choice": request.get("tool_choice") or "auto",
            "tools": [{"strict": True, **tool} if isinstance(tool, dict) and tool.get("type") == "function"
                      else tool for tool in request.get("tools") or ()],
            "top_p": request.get("top_p") if request.get("top_p") is not None else 1.0,
            "truncation": request.get("truncation") or "disabled", "user": request.get("user")}
