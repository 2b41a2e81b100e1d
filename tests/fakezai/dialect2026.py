"""Request rules of chat.z.ai's 2026 dialect (2026 notes §2): firewall, fingerprint query, headers, bodies."""

from .common import NO_IMAGE_INPUT, QUERY_PARAMS, parse_version
from .stream import image_urls, last_user_text, message_text

FINGERPRINT_PARAMS = (
    "version", "platform", "user_agent", "language", "languages", "timezone", "cookie_enabled", "screen_width",
    "screen_height", "screen_resolution", "viewport_height", "viewport_width", "viewport_size", "color_depth",
    "pixel_ratio", "current_url", "pathname", "host", "hostname", "protocol", "title", "timezone_offset",
    "local_time", "utc_time", "is_mobile", "is_touch", "max_touch_points", "browser_name", "os_name",
)
VERSIONED_POSTS = ("/api/v1/chats/new", "/api/v2/chat/completions")
NEW_VERSION = {"detail": "New version detected, please refresh the page"}
CAPTCHA_MODES = (None, "guests", "all")
CONFIG_FAULTS = ("http500", "bad_json", "no_field", "http404")


def is_browser(user_agent: str) -> bool:
    """True for a Chrome-like browser User-Agent, the only kind the 2026 WAF lets through."""
    return "Mozilla/5.0" in user_agent and "Chrome/" in user_agent


def waf_blocks(method: str, path: str, headers, min_version: tuple[int, ...]) -> bool:
    """True if the 2026 WAF answers 405: a non-browser User-Agent, or a stale X-FE-Version on a chat POST."""
    if not is_browser(headers.get("User-Agent", "")):
        return True
    if method == "POST" and path in VERSIONED_POSTS:
        version = parse_version(headers.get("X-FE-Version", ""))
        return version is None or version < min_version
    return False


def config_payload(captcha_on: bool) -> dict:
    """GET /api/config in 2026 (public, as in the Sep-2026 capture)."""
    return {"status": True, "name": "Z.ai", "version": "0.0.1", "completion_version": "2",
            "default_models": "glm-5.3", "enable_captcha": captcha_on, "enable_mcp": True,
            "enable_artifacts_mode": True, "enable_websocket": False,
            "oauth": {"providers": {"google": "google", "github": "github", "maas": "maas"}}}


def missing_query(query: dict) -> str | None:
    """The 400 detail if any of the 34 query parameters is absent (core ones and token must be non-empty)."""
    missing = [p for p in QUERY_PARAMS + ("token",) if not query.get(p)]
    missing += [p for p in FINGERPRINT_PARAMS if p not in query]
    return "Missing required query parameter(s): " + ", ".join(missing) if missing else None


def header_error(headers) -> str | None:
    """The 400 detail if X-Region is not "overseas" or X-Device-Id is empty."""
    if headers.get("X-Region") != "overseas":
        return "Header 'X-Region' must be 'overseas'"
    if not (headers.get("X-Device-Id") or "").strip():
        return "Missing required header 'X-Device-Id'"
    return None


def _content_ok(content) -> bool:
    """A string, or a non-empty list of text / image_url parts."""
    if isinstance(content, str):
        return True
    return isinstance(content, list) and bool(content) and all(
        isinstance(p, dict) and ((p.get("type") == "text" and isinstance(p.get("text"), str))
                                 or (p.get("type") == "image_url" and isinstance(p.get("image_url"), dict)
                                     and isinstance(p["image_url"].get("url"), str)))
        for p in content)


def new_chat_error(body, models: set[str]) -> str | None:
    """Why a POST /api/v1/chats/new body is unacceptable (None if fine); models: the active ids."""
    chat = body.get("chat") if isinstance(body, dict) else None
    if not isinstance(chat, dict):
        return "Field 'chat' must be an object"
    if not isinstance(chat.get("models"), list) or not chat["models"]:
        return "Field 'chat.models' must be a non-empty list"
    if chat["models"][0] not in models:
        return "Model not found"
    history = chat.get("history")
    if not isinstance(history, dict) or not isinstance(history.get("messages"), dict):
        return "Field 'chat.history.messages' must be an object"
    current = history.get("currentId")
    message = history["messages"].get(current) if isinstance(current, str) else None
    if not isinstance(message, dict) or message.get("id") != current:
        return "Field 'chat.history.currentId' must name a message of chat.history.messages"
    if message.get("role") != "user":
        return "The current message must have role 'user'"
    if not _content_ok(message.get("content")):
        return "The current message's content must be a string or a list of text/image_url parts"
    return None


def completion_error(body: dict, chat: dict | None, models: set[str], vision: set[str]) -> str | None:
    """Why a v2 completion body does not fit its chat (None if fine); chat: the token's chat named by chat_id."""
    if chat is None:
        return "Chat not found"
    if body.get("model") not in models:
        return "Model not found"
    if body["model"] != chat["model"]:
        return "Field 'model' does not match the chat's model"
    if body.get("current_user_message_id") != chat["message_id"]:
        return "Field 'current_user_message_id' is not the chat's current message"
    if not isinstance(body.get("messages"), list):
        return "Field 'messages' must be a list"
    if last_user_text(body["messages"]) != message_text(chat["content"]):
        return "The user message differs from the chat's current message"
    return _fields_error(body) or (NO_IMAGE_INPUT if body["model"] not in vision
                                   and any(image_urls(m) for m in body["messages"]) else None)


def _fields_error(body: dict) -> str | None:
    """Shape of id, current_user_message_parent_id and features."""
    if not isinstance(body.get("id"), str) or not body["id"]:
        return "Field 'id' must be a non-empty string"
    if "current_user_message_parent_id" not in body:
        return "Field 'current_user_message_parent_id' is required (null allowed)"
    if not isinstance(body["current_user_message_parent_id"], (str, type(None))):
        return "Field 'current_user_message_parent_id' must be a string or null"
    features = body.get("features")
    if not isinstance(features, dict) or not isinstance(features.get("enable_thinking"), bool):
        return "Field 'features.enable_thinking' must be a boolean"
    return None


def breaks_one_message_rule(body: dict, effort_models: set[str]) -> bool:
    """True if the upstream answers INTERNAL_ERROR: not exactly one user message, tools, or an unsupported
    features.reasoning_effort."""
    messages = body["messages"]
    if len(messages) != 1 or not isinstance(messages[0], dict) or messages[0].get("role") != "user":
        return True
    if body.get("tools") is not None:
        return True
    return body["features"].get("reasoning_effort") is not None and body["model"] not in effort_models


def captcha_applies(mode: str | None, role: str) -> bool:
    """True if the captcha gate mode covers a credential of role."""
    return mode == "all" or (mode == "guests" and role == "guest")
