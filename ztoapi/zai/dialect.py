"""How a chat request is written for chat.z.ai: URL, query, browser headers, body, signature."""
import time
import uuid
from datetime import datetime
from datetime import timezone
from urllib.parse import urlencode

import orjson

from ztoapi.zai.signing import secret_bytes
from ztoapi.zai.signing import sign
USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/140.0.0.0 Safari/537.36")
BROWSER_HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8",
    "sec-ch-ua": '"Chromium";v="140", "Not=A?Brand";v="24", "Google Chrome";v="140"',
    "sec-ch-ua-mobile": "?0",
    "sec-ch-ua-platform": '"Windows"',
    "Sec-Fetch-Dest": "empty",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Site": "same-origin",
}


class Dialect:
    """Everything about chat.z.ai's request format, bound to one origin and configuration."""

    def __init__(self, settings, fe_version):
        self.origin = settings.upstream_origin
        self.completions_url = settings.upstream_url
        self.auths_url = f"{self.origin}/api/v1/auths/"
        self.home_url = f"{self.origin}/"
        self.fe_version = fe_version
        self.secret = secret_bytes(settings.zai_signing_secret)

    def headers(self, token=None, referer=None):
        headers = dict(BROWSER_HEADERS, Accept="*/*", Origin=self.origin,
                       Referer=referer or f"{self.origin}/")
        headers["X-FE-Version"] = self.fe_version.current()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def completion(self, chat, credential, uploads=None):
        """(url, headers, body bytes) for one chat completion; `uploads` maps image parts
        ((message, part) indices) to the file objects chat.z.ai returned for them."""
        now_ms = int(time.time() * 1000)
        request_id = str(uuid.uuid4())
        chat_id = str(uuid.uuid4())
        prompt = last_user_text(chat.messages)
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
            "messages": with_image_refs(chat.messages, uploads),
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
        return f"{self.completions_url}?{query}", headers, orjson.dumps(body)


    def upload(self, image, credential):
        """(url, headers, files) for uploading one image to chat.z.ai."""
        headers = self.headers(credential.token)
        return f"{self.origin}/api/v1/files/", headers, {"file": (image.filename, image.data, image.mime)}


def image_ref(upload):
    """How a chat message points at an uploaded image."""
    return f"{upload['id']}_{upload['filename']}"


def with_image_refs(messages, uploads):
    """The messages with each uploaded image part pointing at its upstream file."""
    if not uploads:
        return messages
    messages = [dict(message) for message in messages]
    for (i, j), upload in uploads.items():
        content = messages[i]["content"] = list(messages[i]["content"])
        content[j] = {"type": "image_url", "image_url": {"url": image_ref(upload)}}
    return messages


def file_item(upload):
    return {"type": "image", "id": upload["id"], "url": f"/api/v1/files/{upload['id']}/content",
            "name": upload["filename"], "status": "uploaded", "size": upload.get("meta", {}).get("size"),
            "error": "", "itemId": str(uuid.uuid4()), "media": "image"}


def upstream_messages(messages, vision=False):
    """OpenAI messages as chat.z.ai reads them: developer → system, text parts joined."""
    converted = []
    for message in messages:
        role = "system" if message["role"] == "developer" else message["role"]
        content = message.get("content")
        if isinstance(content, list) and not vision:
            content = text_of(content)
        converted.append({"role": role, "content": content if content is not None else ""})
    return converted


def text_of(content):
    """The text of message content: a string, or its text parts joined by newlines."""
    if isinstance(content, str):
        return content
    if not content:
        return ""
    return "\n".join(part["text"] for part in content if part.get("type") == "text")


def last_user_text(messages):
    """The signed prompt: the text of the last user message."""
    for message in reversed(messages):
        if message["role"] == "user":
            return text_of(message.get("content"))
    return ""


def variables():
    now = datetime.now(timezone.utc)
    return {"{{USER_NAME}}": "Guest", "{{USER_LOCATION}}": "Unknown",
            "{{CURRENT_DATETIME}}": now.strftime("%Y-%m-%d %H:%M:%S"),
            "{{CURRENT_DATE}}": now.strftime("%Y-%m-%d"),
            "{{CURRENT_TIME}}": now.strftime("%H:%M:%S"),
            "{{CURRENT_WEEKDAY}}": now.strftime("%A"),
            "{{CURRENT_TIMEZONE}}": "UTC", "{{USER_LANGUAGE}}": "en-US"}
