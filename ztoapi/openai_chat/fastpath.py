"""The common chat request, validated without marshmallow.

Most requests are a model, text messages, a few numbers and switches. For exactly that shape, `common(body)`
returns what ChatCompletionRequest().load(body) returns, at a tenth of its cost; for anything
else (another field, a content array, a value the schema might refuse) it returns None and the
schema decides, so every refusal and its wording still come from the schema. The property test
in tests/test_fastpath.py holds the two to the same answers.
"""
from ztoapi.openai_chat.schema import MAX_MESSAGES

TOP_LEVEL = frozenset(("model", "messages", "stream", "stream_options", "temperature", "top_p", "max_tokens",
                       "user", "enable_thinking"))
MESSAGE_KEYS = frozenset(("role", "content", "name"))
ROLES = frozenset(("system", "developer", "user", "assistant"))
RANGES = {"temperature": (0, 2), "top_p": (0, 1)}


def common(body):
    """The validated body when it has the common shape, else None (the schema must look)."""
    if type(body) is not dict or not TOP_LEVEL.issuperset(body) or type(body.get("model")) is not str:
        return None
    messages = body.get("messages")
    if type(messages) is not list or not 0 < len(messages) <= MAX_MESSAGES:
        return None
    for message in messages:
        if (type(message) is not dict or not MESSAGE_KEYS.issuperset(message)
                or message.get("role") not in ROLES or type(message.get("content")) is not str
                or ("name" in message and type(message["name"]) is not str)):
            return None
    for name in ("stream", "enable_thinking"):
        if name in body and type(body[name]) is not bool:
            return None
    options = body.get("stream_options", {})
    if (type(options) is not dict or set(options) - {"include_usage"}
            or type(options.get("include_usage", True)) is not bool):
        return None
    if "user" in body and type(body["user"]) is not str:
        return None
    for name, (low, high) in RANGES.items():
        value = body.get(name, low)
        if type(value) not in (int, float) or not low <= value <= high:
            return None
    tokens = body.get("max_tokens", 1)
    if type(tokens) is not int or not 1 <= tokens <= 10**7:
        return None
    return {**body, "messages": [dict(message) for message in messages]}
