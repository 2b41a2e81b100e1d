"""Anthropic Messages requests as the OpenAI-shaped bodies the chat pipeline reads."""
import orjson

from ztoapi.fairness import breathe

TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
FORWARDED = ("temperature", "top_p", "max_tokens")


def openai_body(body, model):
    """The OpenAI chat body for a validated Messages request to `model`.

    History maps one to one: tool_use blocks become assistant tool_calls and tool_result blocks
    `tool` messages, so the shared pipeline checks the history and writes it for the model."""
    messages = []
    if body.get("system"):
        messages.append({"role": "system", "content": parts(body["system"])})
    for message in body["messages"]:
        breathe()   # up to 100,000 messages: let other requests run as they are converted
        messages += (user_messages if message["role"] == "user" else assistant_messages)(message["content"])
    converted = {"model": body["model"], "messages": messages, "stream": bool(body.get("stream")),
                 "enable_thinking": thinking_on(body.get("thinking"), model)}
    converted.update({name: body[name] for name in FORWARDED if body.get(name) is not None})
    if body.get("tools"):
        converted["tools"] = [function_tool(tool) for tool in body["tools"]]
        choice = body.get("tool_choice") or {"type": "auto"}
        converted["tool_choice"] = TOOL_CHOICES.get(choice["type"]) or {
            "type": "function", "function": {"name": choice["name"]}}
        converted["parallel_tool_calls"] = not choice.get("disable_parallel_tool_use")
    return converted


def thinking_on(thinking, model):
    """Anthropic's default is no thinking: on when the request enables it (enabled or adaptive),
    else only for a model that always thinks (the -Thinking variants)."""
    if thinking:
        return thinking["type"] != "disabled"
    return model.thinking is True


def user_messages(content):
    """A user turn: its tool results first (they answer the previous turn), then the rest."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    results = [tool_message(block) for block in content if block["type"] == "tool_result"]
    rest = [block for block in content if block["type"] != "tool_result"]
    return results + ([{"role": "user", "content": parts(rest)}] if rest else [])


def assistant_messages(content):
    """An assistant turn; thinking blocks stay behind (chat.z.ai takes no reasoning history)."""
    if isinstance(content, str):
        return [{"role": "assistant", "content": content}]
    texts = [block for block in content if block["type"] == "text"]
    message = {"role": "assistant", "content": parts(texts) if texts else None}
    calls = [{"id": block["id"], "type": "function",
              "function": {"name": block["name"], "arguments": orjson.dumps(block["input"]).decode()}}
             for block in content if block["type"] == "tool_use"]
    if calls:
        message["tool_calls"] = calls
    elif message["content"] is None:
        message["content"] = ""
    return [message]


def tool_message(block):
    content = block.get("content")
    text = content if isinstance(content, str) else "\n".join(part["text"] for part in content or ())
    if block.get("is_error"):
        text = f"Error: {text}"
    return {"role": "tool", "tool_call_id": block["tool_use_id"], "content": text}


def parts(content):
    """Text and image blocks as OpenAI content parts (a string stays a string)."""
    if isinstance(content, str):
        return content
    return [{"type": "text", "text": block["text"]} if block["type"] == "text"
            else {"type": "image_url", "image_url": {"url": image_url(block["source"])}}
            for block in content]


def image_url(source):
    if source["type"] == "base64":
        return f"data:{source['media_type']};base64,{source['data']}"
    return source["url"]


def function_tool(tool):
    function = {"name": tool["name"], "parameters": tool["input_schema"]}
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}
