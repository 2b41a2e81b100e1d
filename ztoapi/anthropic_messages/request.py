"""Anthropic Messages requests as the OpenAI-shaped bodies the chat pipeline reads."""
from collections import Counter

import orjson

from ztoapi.errors import ApiError
from ztoapi.fairness import breathe

TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
FORWARDED = ("temperature", "top_p", "max_tokens")


def openai_body(body, model):
    """The OpenAI chat body for a validated Messages request to `model`.

    History maps one to one: tool_use blocks become assistant tool_calls and tool_result blocks
    `tool` messages, and system messages stay system messages at their place; the history is
    checked here first, so that its problems read as Anthropic words them. `output_config.format`
    becomes a json_schema response_format (the same instruction and fence removal as on the chat
    side) and `output_config.effort` a reasoning effort."""
    check_history(body["messages"])
    messages = []
    if body.get("system"):
        messages.append({"role": "system", "content": parts(body["system"])})
    for message in body["messages"]:
        breathe()   # up to 100,000 messages: let other requests run as they are converted
        messages += CONVERTERS[message["role"]](message["content"])
    output = body.get("output_config") or {}
    converted = {"model": body["model"], "messages": messages, "stream": bool(body.get("stream")),
                 "enable_thinking": thinking_on(body.get("thinking"), output.get("effort"), model)}
    converted.update({name: body[name] for name in FORWARDED if body.get(name) is not None})
    if output.get("effort"):
        converted["reasoning_effort"] = output["effort"]
    if output.get("format"):
        converted["response_format"] = {"type": "json_schema", "json_schema": {
            "name": "output", "schema": output["format"]["schema"]}}
    if body.get("tools"):
        converted["tools"] = [function_tool(tool) for tool in body["tools"]]
        choice = body.get("tool_choice") or {"type": "auto"}
        converted["tool_choice"] = TOOL_CHOICES.get(choice["type"]) or {
            "type": "function", "function": {"name": choice["name"]}}
        converted["parallel_tool_calls"] = not choice.get("disable_parallel_tool_use")
    return converted


def thinking_on(thinking, effort, model):
    """Anthropic's default is no thinking: on when the request enables it (enabled or adaptive),
    else when it sets an effort, else only for a model that always thinks (the -Thinking variants).
    An explicit `thinking` wins over the effort."""
    if thinking:
        return thinking["type"] != "disabled"
    if effort:
        return True
    return model.thinking is True


def check_history(messages):
    """Every tool_use answered by a tool_result in the next message, and every tool_result
    answering a tool_use of the message before it: Anthropic's 400s, in its words.

    The calls awaiting an answer are counted by id, so the check takes one step per block."""
    asked, asked_at = Counter(), None
    for n, message in enumerate(messages):
        breathe()
        blocks = message["content"] if isinstance(message["content"], list) else ()
        for m, block in enumerate(blocks):
            if block["type"] == "tool_result":
                if not asked[block["tool_use_id"]]:
                    raise ApiError(
                        400, f"messages.{n}.content.{m}: unexpected `tool_use_id` found in "
                             f"`tool_result` blocks: {block['tool_use_id']}. Each `tool_result` block "
                             "must have a corresponding `tool_use` block in the previous message.",
                        param=f"messages.{n}.content.{m}")
                asked[block["tool_use_id"]] -= 1
        if +asked:
            raise unanswered(asked_at, asked)
        asked, asked_at = Counter(block["id"] for block in blocks if block["type"] == "tool_use"), n
    if +asked:
        raise unanswered(asked_at, asked)


def unanswered(n, asked):
    return ApiError(400, f"messages.{n}: `tool_use` ids were found without `tool_result` blocks "
                         f"immediately after: {', '.join((+asked).elements())}. Each `tool_use` block "
                         "must have a corresponding `tool_result` block in the next message.",
                    param=f"messages.{n}")


def check_images(messages, model, catalog):
    """Images only go to vision models: the first one sent elsewhere is a 400 naming it."""
    if model.vision:
        return
    for n, message in enumerate(messages):
        breathe()
        for m, block in enumerate(message["content"] if isinstance(message["content"], list) else ()):
            if block["type"] == "image":
                vision = [other.id for other in catalog.models() if other.vision][:3]
                raise ApiError(400, f"messages.{n}.content.{m}: model {model.id} does not accept images; "
                                    f"use a vision model ({', '.join(vision) or 'none is offered now'}).",
                               code="model_not_vision", param=f"messages.{n}.content.{m}")


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


def image_paths(body):
    """Anthropic's path (messages.N.content.M) of each image, by the name the pipeline gives it:
    its place in the OpenAI body openai_body makes (messages[i].content[j])."""
    paths, i = {}, 1 if body.get("system") else 0
    for n, message in enumerate(body["messages"]):
        breathe()
        content = message["content"]
        if message["role"] != "user" or isinstance(content, str):
            i += 1
            continue
        rest = [(m, block) for m, block in enumerate(content) if block["type"] != "tool_result"]
        i += len(content) - len(rest)   # one tool message per result, before the rest of the turn
        paths.update({f"messages[{i}].content[{j}]": f"messages.{n}.content.{m}"
                      for j, (m, block) in enumerate(rest) if block["type"] == "image"})
        i += 1 if rest else 0
    return paths


def system_messages(content):
    """A system message in `messages` (Claude Code sends some after user turns): kept in place."""
    return [{"role": "system", "content": parts(content)}]


CONVERTERS = {"user": user_messages, "assistant": assistant_messages, "system": system_messages}


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
