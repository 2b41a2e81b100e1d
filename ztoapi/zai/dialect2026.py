"""chat.z.ai as its page speaks since 2026 (reference/zai-protocol-2026.md, HAR of 2026-09-15).

Each completion is two requests: POST /api/v1/chats/new creates a chat holding the user message,
then a signed POST /api/v2/chat/completions names that chat and carries only that one message
(the conversation folded into it, ztoapi.zai.transcript), with `X-Region: overseas`, a stable
`X-Device-Id` and the browser fingerprint in the query string. No `model_item`, no `tools`.
"""
import time
import uuid
from dataclasses import dataclass

import orjson

from ztoapi.zai import transcript
from ztoapi.zai.browser import device_id
from ztoapi.zai.browser import fingerprint
from ztoapi.zai.browser import page_state
from ztoapi.zai.browser import utc_now
from ztoapi.zai.dialect import Dialect
from ztoapi.zai.dialect import file_item
from ztoapi.zai.dialect import image_ref
from ztoapi.zai.dialect import variables
from ztoapi.zai.query import QueryTemplate
from ztoapi.zai.signing import sign

NEW_CHAT_PATH = "/api/v1/chats/new"
COMPLETIONS_PATH = "/api/v2/chat/completions"
EFFORTS_FOR_HIGH = ("low", "medium", "high")   # the page offers High and Max; everything above is Max


@dataclass(frozen=True)
class Prepared:
    """The one user message every attempt at one chat sends alike."""
    text: str             # the folded conversation, also the signed text
    last_user: int        # the message whose images travel along (None: none)


class Dialect2026(Dialect):
    name = "2026"
    creates_chats = True
    fallback_version = "prod-fe-1.1.98"
    extra_headers = {"X-Region": "overseas"}

    def __init__(self, settings, fe_version):
        super().__init__(settings, fe_version)
        self.new_chat_url = self.origin + NEW_CHAT_PATH
        self.completions_url = self.origin + COMPLETIONS_PATH
        self.query = QueryTemplate({
            "timestamp": None, "requestId": None, "user_id": None, "version": "0.0.1", "platform": "web",
            "token": None, **fingerprint(self.origin), "signature_timestamp": None})

    def prepare(self, chat):
        """The Prepared message of `chat`; raises TypeError for text JSON cannot carry."""
        text, last_user = transcript.fold(chat.messages)
        orjson.dumps(text)   # lone surrogates and the like fail here, not mid-attempt
        return Prepared(text, last_user)

    def content(self, prepared, uploads):
        """The one user message's content: the text, or the text and the uploaded images of the
        last user turn."""
        refs = [{"type": "image_url", "image_url": {"url": image_ref(upload)}}
                for (i, _), upload in sorted(uploads.items()) if i == prepared.last_user]
        return [{"type": "text", "text": prepared.text}, *refs] if refs else prepared.text

    def image_messages(self, chat):
        """Only the last user turn's images travel: earlier ones are "[image]" in the text."""
        _, last_user = transcript.fold(chat.messages)
        return {last_user}

    def uploaded_images(self, chat, prepared):
        """Only the last user turn's images travel: earlier ones are "[image]" in the text."""
        return {where: image for where, image in chat.images.items() if where[0] == prepared.last_user}

    def new_chat(self, chat, credential, text, message_id):
        """(url, headers, body) creating the chat that holds the user message."""
        now = time.time()
        model = chat.model.upstream_id
        body = {"chat": {
            "id": "", "title": "New Chat", "models": [model], "params": {},
            "history": {"messages": {message_id: {
                "id": message_id, "parentId": None, "childrenIds": [], "role": "user",
                "content": text, "timestamp": int(now), "models": [model]}},
                "currentId": message_id},
            "tags": [], "flags": [],
            "features": [{"server": "tool_selector_h", "status": "hidden", "type": "tool_selector"}],
            "mcp_servers": [], "enable_thinking": chat.enable_thinking,
            **self._effort(chat), "auto_web_search": chat.web_search, "message_version": 1,
            "extra": {}, "timestamp": int(now * 1000), "type": "default"}}
        headers = self.headers(credential.token)
        headers["Content-Type"] = "application/json"
        headers["Accept"] = "application/json"
        return self.new_chat_url, headers, body

    def completion(self, chat, credential, prepared, uploads, chat_id, message_id):
        """(url, headers, body) for the completion of a created chat holding `prepared`."""
        now = utc_now()
        now_ms = int(now.timestamp() * 1000)
        request_id = str(uuid.uuid4())
        text, content = prepared.text, self.content(prepared, uploads)
        query = self.query.fill(timestamp=now_ms, requestId=request_id, user_id=credential.user_id,
                                token=credential.token, signature_timestamp=now_ms,
                                **page_state(self.origin, chat_id, now))
        headers = self.headers(credential.token, referer=f"{self.origin}/c/{chat_id}")
        headers["Accept"] = "application/json, text/event-stream"
        headers["Content-Type"] = "application/json"
        headers["X-Device-Id"] = device_id(credential.token)
        headers["X-Signature"] = sign(text, request_id, now_ms, credential.user_id, self.secret)
        # the page's search toggle is `auto_web_search` (`web_search` stays off; deep search, which
        # adds mcp_servers ["advanced-search"], is not offered); a vision model searches through
        # its own vlm flag, and its page tools stay off
        vision = chat.model.vision
        features = {"image_generation": False, "web_search": False,
                    "auto_web_search": chat.web_search and not vision, "preview_mode": True,
                    "flags": [], "vlm_tools_enable": False,
                    "vlm_web_search_enable": chat.web_search and vision, "vlm_website_mode": False,
                    "enable_thinking": chat.enable_thinking, **self._effort(chat)}
        body = {
            "stream": True,
            "model": chat.model.upstream_id,
            "messages": [{"role": "user", "content": content}],
            "signature_prompt": text,
            "params": chat.params,
            "extra": {},
            "features": features,
            "variables": variables(),
            "chat_id": chat_id,
            "id": str(uuid.uuid4()),
            "current_user_message_id": message_id,
            "current_user_message_parent_id": None,
            "background_tasks": {"title_generation": True, "tags_generation": True},
        }
        if uploads:
            body["files"] = [file_item(upload) for upload in uploads.values()]
        return f"{self.completions_url}?{query}", headers, body

    def _effort(self, chat):
        """`reasoning_effort`, only for models whose capabilities offer it, and only when thinking."""
        if not (chat.enable_thinking and chat.model.reasoning_effort):
            return {}
        return {"reasoning_effort": "high" if chat.reasoning_effort in EFFORTS_FOR_HIGH else "max"}

