"""chat.z.ai as its page spoke in October 2025 (reference/zai-protocol.md): one signed
POST /api/chat/completions with the whole conversation, the fingerprint query and `model_item`."""
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

import orjson

from ztoapi.zai.dialect import Dialect
from ztoapi.zai.dialect import completion_path
from ztoapi.zai.dialect import file_item
from ztoapi.zai.dialect import image_ref
from ztoapi.zai.dialect import text_of
from ztoapi.zai.dialect import variables
from ztoapi.zai.signing import sign

COMPLETIONS_PATH = "/api/chat/completions"


@dataclass(frozen=True)
class Prepared:
    """What every attempt at one chat sends alike, serialized once."""
    prompt: str           # the signed text: the last user message's
    messages: object      # the messages as an orjson.Fragment; None when uploads rewrite them


class Dialect2025(Dialect):
    name = "2025"
    fallback_version = "prod-fe-1.0.106"

    def __init__(self, settings, fe_version):
        super().__init__(settings, fe_version)
        self.completions_url = self.origin + completion_path(settings.upstream_url, COMPLETIONS_PATH)

    def prepare(self, chat):
        """The Prepared parts of `chat`; raises TypeError for what JSON cannot carry."""
        messages = orjson.dumps(chat.messages)
        return Prepared(last_user_text(chat.messages), None if chat.images else orjson.Fragment(messages))

    def completion(self, chat, credential, prepared, uploads=None):
        """(url, headers, body) for one chat completion; `uploads` maps image parts
        ((message, part) indices) to the file objects chat.z.ai returned for them."""
        now_ms = int(time.time() * 1000)
        request_id = str(uuid.uuid4())
        chat_id = str(uuid.uuid4())
        prompt = prepared.prompt
        query = urlencode({
            "timestamp": now_ms, "requestId": request_id, "user_id": credential.user_id,
            "version": "0.0.1", "platform": "web", "token": credential.token,
            "current_url": f"{self.origin}/c/{chat_id}", "pathname": f"/c/{chat_id}",
            "signature_timestamp": now_ms,
        })
        headers = self.headers(credential.token, referer=f"{self.origin}/c/{chat_id}")
        headers["Accept"] = "application/json, text/event-stream"
        headers["Content-Type"] = "application/json"
        headers["X-Signature"] = sign(prompt, request_id, now_ms, credential.user_id, self.secret)
        uploads = uploads or {}
        search = chat.web_search
        body = {
            "stream": True,
            "model": chat.model.upstream_id,
            "messages": with_image_refs(chat.messages, uploads) if uploads or prepared.messages is None
            else prepared.messages,
            "signature_prompt": prompt,
            "params": chat.params,
            "features": {"image_generation": False, "web_search": search,
                         "auto_web_search": search, "preview_mode": search, "flags": [],
                         "enable_thinking": chat.enable_thinking},
            "background_tasks": {"title_generation": False, "tags_generation": False},
            "chat_id": chat_id,
            "id": str(uuid.uuid4()),
            "mcp_servers": ["deep-web-search"] if search else [],
            "tool_servers": [],
            "files": [file_item(upload) for upload in uploads.values()],
            "variables": variables(),
            "model_item": {"id": chat.model.upstream_id, "name": chat.model.id,
                           "owned_by": "openai"},
        }
        return f"{self.completions_url}?{query}", headers, body


def with_image_refs(messages, uploads):
    """The messages with each uploaded image part pointing at its upstream file."""
    if not uploads:
        return messages
    messages = [dict(message) for message in messages]
    for (i, j), upload in uploads.items():
        content = messages[i]["content"] = list(messages[i]["content"])
        content[j] = {"type": "image_url", "image_url": {"url": image_ref(upload)}}
    return messages


def last_user_text(messages):
    """The signed prompt: the text of the last user message."""
    for message in reversed(messages):
        if message["role"] == "user":
            return text_of(message.get("content"))
    return ""
