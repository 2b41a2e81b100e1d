"""A ChatRequest in Z.ai API terms: the body of POST {base}/chat/completions.

Built from `chat.native` (the client's messages and tools in OpenAI's shape), never from the web
chat's emulated transcript, and strict to what the API takes: roles system/user/assistant/tool,
content parts text and (in user messages to vision models) image_url with a url only, assistant
tool calls exactly {id, type, function{name, arguments}}, numbers clamped into the API's ranges.
What the API lacks is said another way: json_schema becomes json_object plus an instruction
carrying the schema (vision models take no response_format: the instruction only); tool_choice
"required" becomes "auto" (the API takes only "auto" and a named function).
"""
from ztoapi.pipeline.tools import with_response_format
from ztoapi.zaiapi import failures
from ztoapi.zaiapi.models import capabilities

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant",
         "tool": "tool", "function": "tool"}
RANGES = {"temperature": (0.0, 1.0), "top_p": (0.01, 1.0), "max_tokens": (1, 131072)}
EFFORT_ORDER = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
PLACEHOLDERS = {"image_url": "[image]", "input_audio": "[audio]", "file": "[file]"}
WEB_SEARCH = {"type": "web_search", "web_search": {"enable": True, "search_engine": "search_pro_jina"}}


def api_id(model):
    return model.api_id or model.upstream_id.lower()


def build(chat):
    """The request body (always streamed: one reading path for every client mode)."""
    model_id = api_id(chat.model)
    caps = capabilities(model_id)
    native = chat.native
    response_format = native.get("response_format") or None
    kind = response_format.get("type") if response_format else None
    messages = native["messages"]
    if kind == "json_schema" or (kind == "json_object" and caps.vision):
        messages = with_response_format(messages, response_format)
    body = {"model": model_id,
            "messages": [message(m, caps.vision) for m in messages],
            "stream": True, "stream_options": {"include_usage": True}}
    if caps.thinking:
        body["thinking"] = {"type": "enabled" if chat.enable_thinking else "disabled"}
    for name, (low, high) in RANGES.items():
        value = chat.params.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            body[name] = min(max(value, low), high)
    effort = chat.reasoning_effort
    if effort and chat.enable_thinking and chat.model.reasoning_effort and caps.efforts:
        body["reasoning_effort"] = nearest_effort(effort, caps.efforts)
    tools = [function_tool(tool) for tool in native.get("tools") or ()]
    if tools and not caps.tools:
        raise failures.no_tools(chat.model.id)
    if tools:
        body["tool_choice"] = tool_choice(native.get("tool_choice"), tools)
    if chat.web_search and caps.tools:
        tools.append(WEB_SEARCH)
    if tools:
        body["tools"] = tools
    if kind and not caps.vision:
        body["response_format"] = {"type": "text" if kind == "text" else "json_object"}
    if native.get("stop") is not None:
        body["stop"] = native["stop"]
    return body


def message(m, vision):
    """One message as the API takes it."""
    role = ROLES[m["role"]]
    content = m.get("content")
    out = {"role": role}
    if role == "user" and vision and isinstance(content, list):
        out["content"] = [part(p) for p in content]
    elif role == "assistant" and content is None:
        out["content"] = ""
    else:
        out["content"] = flat(content)
    if role == "assistant" and m.get("tool_calls"):
        out["tool_calls"] = [{"id": call["id"], "type": "function",
                              "function": {"name": call["function"]["name"],
                                           "arguments": call["function"]["arguments"].strip() or "{}"}}
                             for call in m["tool_calls"]]
    if role == "tool":
        out["tool_call_id"] = m.get("tool_call_id") or m.get("name") or "call"
    return out


def flat(content):
    """Content as one string: text parts joined, anything else a placeholder."""
    if not isinstance(content, list):
        return content or ""
    return "\n".join(text_of_part(p) for p in content)


def part(p):
    """A user content part for a vision model: image_url with its url only, else text."""
    if p["type"] == "image_url":
        image = p["image_url"]
        return {"type": "image_url", "image_url": {"url": image["url"] if isinstance(image, dict) else image}}
    return {"type": "text", "text": text_of_part(p)}


def text_of_part(p):
    """A part's text: its own for text and refusal parts, a placeholder for the rest."""
    if p["type"] in ("text", "refusal"):
        return p[p["type"]]
    return PLACEHOLDERS.get(p["type"], "")


def function_tool(tool):
    """An OpenAI function tool with exactly the keys the API takes."""
    function = tool["function"]
    out = {"name": function["name"],
           "parameters": function.get("parameters") or {"type": "object", "properties": {}}}
    if function.get("description") is not None:
        out["description"] = function["description"]
    if isinstance(function.get("strict"), bool):
        out["strict"] = function["strict"]
    return {"type": "function", "function": out}


def tool_choice(choice, tools):
    """"auto", or the named function when the client forced one that is among the tools."""
    if isinstance(choice, dict):
        inner = choice.get("function")
        name = inner.get("name") if isinstance(inner, dict) else choice.get("name")
        if name in [tool["function"]["name"] for tool in tools]:
            return {"type": "function", "function": {"name": name}}
    return "auto"


def nearest_effort(effort, allowed):
    """The effort the model takes that is closest to the one asked for (ties go up: medium → high)."""
    if effort in allowed or effort not in EFFORT_ORDER:
        return effort if effort in allowed else allowed[0]
    where = EFFORT_ORDER.index(effort)
    return min(allowed, key=lambda value: (abs(EFFORT_ORDER.index(value) - where),
                                           -EFFORT_ORDER.index(value)))
