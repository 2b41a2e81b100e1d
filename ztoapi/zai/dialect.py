"""How chat.z.ai's page writes its requests: what both dialects share.

A dialect turns a prepared chat into the HTTP requests chat.z.ai's own page would send at that
time: ztoapi.zai.dialect2025 (October 2025: one signed POST /api/chat/completions carrying the
whole conversation) and ztoapi.zai.dialect2026 (a chat created first, then a signed POST
/api/v2/chat/completions carrying one user message). Both sign with the same algorithm
(ztoapi.zai.signing) and upload images the same way.
"""
import time
import uuid
from datetime import datetime
from datetime import timezone
from functools import lru_cache
from urllib.parse import urlsplit

from ztoapi.fairness import breathe
from ztoapi.zai.browser import BROWSER_HEADERS
from ztoapi.zai.signing import secret_bytes


class Dialect:
    """The shared parts, bound to one chat.z.ai origin and configuration."""

    name = ""
    creates_chats = False
    fallback_version = ""
    extra_headers = {}

    def __init__(self, settings, fe_version):
        self.origin = settings.upstream_origin
        self.auths_url = f"{self.origin}/api/v1/auths/"
        self.fe_version = fe_version
        self.secret = secret_bytes(settings.zai_signing_secret)

    def headers(self, token=None, referer=None):
        headers = dict(BROWSER_HEADERS, Accept="*/*", Origin=self.origin,
                       Referer=referer or f"{self.origin}/", **self.extra_headers)
        headers["X-FE-Version"] = self.fe_version.current(self.fallback_version)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def upload(self, image, credential):
        """(url, headers, files) for uploading one image to chat.z.ai."""
        headers = self.headers(credential.token)
        return f"{self.origin}/api/v1/files/", headers, {"file": (image.filename, image.data, image.mime)}

    def image_messages(self, chat):
        """The indices of the messages whose images this dialect uploads: every one."""
        return {i for i, message in enumerate(chat.messages) if isinstance(message.get("content"), list)}

    def uploaded_images(self, chat, prepared):
        """The images of `chat` this dialect sends: {(message, part): Image}."""
        return chat.images


def completion_path(upstream_url, default):
    """The path of UPSTREAM_URL, or `default` when it names only the origin."""
    path = urlsplit(upstream_url).path
    return path if path not in ("", "/") else default


def image_ref(upload):
    """How a chat message points at an uploaded image."""
    return f"{upload['id']}_{upload['filename']}"


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
        breathe()
    return converted


def text_of(content):
    """The text of message content: a string, or its text parts joined by newlines."""
    if isinstance(content, str):
        return content
    if not content:
        return ""
    return "\n".join(part["text"] for part in content if part.get("type") == "text")


def variables():
    """The page's prompt variables for now (a fresh dict; formatted once per second)."""
    return dict(_variables_at(int(time.time())))


@lru_cache(maxsize=1)
def _variables_at(second):
    now = datetime.fromtimestamp(second, timezone.utc)
    return {"{{USER_NAME}}": "Guest", "{{USER_LOCATION}}": "Unknown",
            "{{CURRENT_DATETIME}}": now.strftime("%Y-%m-%d %H:%M:%S"),
            "{{CURRENT_DATE}}": now.strftime("%Y-%m-%d"),
            "{{CURRENT_TIME}}": now.strftime("%H:%M:%S"),
            "{{CURRENT_WEEKDAY}}": now.strftime("%A"),
            "{{CURRENT_TIMEZONE}}": "UTC", "{{USER_LANGUAGE}}": "en-US"}
