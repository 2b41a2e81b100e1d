"""Z.ai's official API in the bench fake: GET {base}/models and POST {base}/chat/completions with the
one Bearer key it knows; what a chat request must carry (tests/fakeapi checks the rest)."""
from bench.dialects import API_KEY

MODELS = {"glm-4.7": 1766332800, "glm-4.5": 1753632000, "glm-4.5-air": 1753632000}
THINKING = ("enabled", "disabled")
BAD_KEY = {"error": {"code": "1000", "message": "Authentication failed: invalid API key"}}


def model_list():
    return {"object": "list", "data": [{"id": model, "object": "model", "created": created, "owned_by": "z-ai"}
                                       for model, created in MODELS.items()]}


def key_ok(headers):
    return headers.get("authorization", "") == f"Bearer {API_KEY}"


def body_problem(body):
    """Why a chat request is not one the API streams (as the fake does), or None."""
    if not isinstance(body, dict) or body.get("model") not in MODELS:
        return "Unknown Model, please check the model code."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(
            isinstance(m, dict) and m.get("role") in ("system", "user", "assistant", "tool") for m in messages):
        return "messages must be a non-empty list of system, user, assistant or tool messages"
    if messages[-1].get("role") != "user" or not messages[-1].get("content"):
        return "the last message must be the user's, with content"
    if body.get("stream") is not True:
        return "the bench fake streams only: stream must be true"
    thinking = body.get("thinking", {"type": "enabled"})
    if not isinstance(thinking, dict) or thinking.get("type") not in THINKING:
        return "thinking.type must be enabled or disabled"
    return None


def thinks(body):
    """Whether the reply starts with reasoning: thinking is on unless disabled (the API's default)."""
    return body.get("thinking", {}).get("type", "enabled") == "enabled"
