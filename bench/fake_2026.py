"""chat.z.ai's 2026 dialect in the bench fake: chats created by POST /api/v1/chats/new, and what a
signed POST /api/v2/chat/completions must carry to complete one (without the HMAC, without CAPTCHA:
tests/fakezai covers those; the benchmark measures speed)."""
import time
import uuid

import orjson

from bench.stats import brief

MODELS = {"glm-4.7": "GLM-4.7", "x-preview-l": "GLM-5.3-Flash", "0727-360B-API": "GLM-4.5"}
CONFIG = orjson.dumps({"status": True, "name": "Z.ai", "version": "0.0.1", "completion_version": "2",
                       "default_models": "glm-5.3", "enable_captcha": False})


def model_list():
    """GET /api/models in 2026: Open WebUI entries under the names chat.z.ai shows."""
    return {"data": [{"id": model, "name": name, "info": {
        "id": model, "name": name, "is_active": True,
        "meta": {"capabilities": {"vision": False, "think": True, "web_search": True}}}}
        for model, name in MODELS.items()]}


def new_chat_problem(body):
    """Why a chats/new body is not what chat.z.ai expects, or None; else (model, message id, text)."""
    chat = body.get("chat") if isinstance(body, dict) else None
    if not isinstance(chat, dict) or not isinstance(chat.get("models"), list) or not chat["models"]:
        return "Field 'chat.models' must be a non-empty list", None
    if chat["models"][0] not in MODELS:
        return "Model not found", None
    history = chat.get("history") if isinstance(chat.get("history"), dict) else {}
    current = history.get("currentId")
    messages = history.get("messages") if isinstance(history.get("messages"), dict) else {}
    message = messages.get(current) if isinstance(current, str) else None
    if not isinstance(message, dict) or message.get("id") != current:
        return "Field 'chat.history.currentId' must name a message of chat.history.messages", None
    if message.get("role") != "user" or not isinstance(message.get("content"), str):
        return "The current message must be a user message with text content", None
    return None, (chat["models"][0], current, message["content"])


def header_problem(headers):
    if headers.get("x-region") != "overseas":
        return "Header 'X-Region' must be 'overseas'"
    if not headers.get("x-device-id", "").strip():
        return "Missing required header 'X-Device-Id'"
    return None


def completion_problem(body, chat):
    """Why a v2 completion body does not complete `chat` (the token's user's chat it names), or None."""
    if chat is None:
        return "Chat not found"
    if not isinstance(body, dict) or body.get("model") != chat.model:
        return "Field 'model' does not match the chat's model"
    if "model_item" in body:
        return "Field 'model_item' is not sent since 2026"
    messages = body.get("messages")
    if not (isinstance(messages, list) and len(messages) == 1 and isinstance(messages[0], dict)
            and messages[0].get("role") == "user"):
        return "INTERNAL_ERROR: exactly one user message is accepted"
    if messages[0].get("content") != chat.text or body.get("signature_prompt") != chat.text:
        return "signature_prompt and the message must be the chat's current message"
    if body.get("current_user_message_id") != chat.message_id:
        return "Field 'current_user_message_id' is not the chat's current message"
    features = body.get("features")
    if not isinstance(features, dict) or not isinstance(features.get("enable_thinking"), bool):
        return "features.enable_thinking must be a boolean"
    return None


class Chat:
    __slots__ = ("user_id", "model", "message_id", "text", "created")

    def __init__(self, user_id, model, message_id, text, created):
        self.user_id = user_id
        self.model = model
        self.message_id = message_id
        self.text = text
        self.created = created


class Chats:
    """The chats created and not completed yet; a completion takes its chat (each is completed once
    here, so the table stays small), and the time from creating it to that completion is kept."""

    def __init__(self):
        self.open = {}
        self.spans = []   # seconds from a chats/new request to the completion naming its chat

    def create(self, user_id, chat, parsed):
        """The record chat.z.ai answers chats/new with; `chat` is the posted one, `parsed` its
        (model, message id, text)."""
        chat_id = str(uuid.uuid4())
        self.open[chat_id] = Chat(user_id, *parsed, time.perf_counter())
        now = int(time.time())
        return {"id": chat_id, "user_id": user_id, "title": "New Chat", "chat": {**chat, "id": chat_id},
                "updated_at": now, "created_at": now, "share_id": None, "archived": False, "pinned": False,
                "meta": {}, "folder_id": None, "type": "default"}

    def take(self, chat_id, user_id):
        """The chat `user_id` created under `chat_id`, now completed; None if there is none."""
        chat = self.open.get(chat_id) if isinstance(chat_id, str) else None
        if chat is None or chat.user_id != user_id:
            return None
        del self.open[chat_id]
        self.spans.append(time.perf_counter() - chat.created)
        return chat

    def take_spans(self):
        """The creation → completion times (ms) since the last call: count, p50, p90, p99, max, mean."""
        found = brief([span * 1000 for span in self.spans])
        self.spans = []
        return found
