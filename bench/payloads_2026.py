"""The requests ZtoApi sends in chat.z.ai's 2026 dialect, for the direct path: POST /api/v1/chats/new,
then the signed POST /api/v2/chat/completions naming the chat (same headers, query and body fields;
the signature is a placeholder of the right shape: the fake does not verify the HMAC)."""
import hashlib
import os
import time
from datetime import datetime
from datetime import timezone
from email.utils import format_datetime
from urllib.parse import quote_plus
from urllib.parse import urlencode

import orjson

from bench import reply
from bench.dialects import DIALECTS
from bench.http_client import request_bytes
from bench.payloads import FE_VERSION

MODEL = DIALECTS["2026"].upstream_model
CHROME = "156"
USER_AGENT = (f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              f"Chrome/{CHROME}.0.0.0 Safari/537.36")
BROWSER = [("User-Agent", USER_AGENT), ("Accept-Language", "en-US,en;q=0.9"),
           ("sec-ch-ua", f'"Chromium";v="{CHROME}", "Not?A_Brand";v="24", "Google Chrome";v="{CHROME}"'),
           ("sec-ch-ua-mobile", "?0"), ("sec-ch-ua-platform", '"Windows"'), ("Sec-Fetch-Dest", "empty"),
           ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Site", "same-origin")]
SCREEN = {"user_agent": USER_AGENT, "language": "en-US", "languages": "en-US,en", "timezone": "UTC",
          "cookie_enabled": "true", "screen_width": "1920", "screen_height": "1080",
          "screen_resolution": "1920x1080", "viewport_height": "945", "viewport_width": "1920",
          "viewport_size": "1920x945", "color_depth": "24", "pixel_ratio": "1"}
FEATURES = {"image_generation": False, "web_search": False, "auto_web_search": False, "preview_mode": True,
            "flags": [], "vlm_tools_enable": False, "vlm_web_search_enable": False, "vlm_website_mode": False}


class Requests2026:
    """The two requests of one completion, for one guest token."""

    def __init__(self, host, port, token, user_id, thinking):
        self.host, self.port = host, port
        self.token, self.user_id, self.thinking = token, user_id, thinking
        self.origin = f"http://{host}:{port}"
        self.common = [("Authorization", f"Bearer {token}"), ("Content-Type", "application/json"), *BROWSER,
                       ("Origin", self.origin), ("X-Region", "overseas"), ("X-FE-Version", FE_VERSION)]
        self.device = "uid_" + hashlib.sha256(token.encode()).hexdigest()[:16]
        self.query = self.query_parts()
        self.quoted_origin = quote_plus(self.origin)
        self.completion_head = "".join(f"{name}: {value}\r\n" for name, value in [
            ("Host", f"{host}:{port}"), *self.common, ("Accept", "application/json, text/event-stream"),
            ("X-Device-Id", self.device)])
        self.second = None

    def new_chat(self, message_id):
        """POST /api/v1/chats/new: a chat holding the user message."""
        now = time.time()
        body = orjson.dumps({"chat": {
            "id": "", "title": "New Chat", "models": [MODEL], "params": {},
            "history": {"messages": {message_id: {
                "id": message_id, "parentId": None, "childrenIds": [], "role": "user", "content": reply.PROMPT,
                "timestamp": int(now), "models": [MODEL]}}, "currentId": message_id},
            "tags": [], "flags": [],
            "features": [{"server": "tool_selector_h", "status": "hidden", "type": "tool_selector"}],
            "mcp_servers": [], "enable_thinking": self.thinking, "auto_web_search": False, "message_version": 1,
            "extra": {}, "timestamp": int(now * 1000), "type": "default"}})
        headers = [*self.common, ("Accept", "application/json"), ("Referer", f"{self.origin}/")]
        return request_bytes("POST", self.host, self.port, "/api/v1/chats/new", body, headers)

    def completion(self, chat_id, message_id):
        """POST /api/v2/chat/completions for the chat created with `message_id`."""
        now = time.time()
        ms = int(now * 1000)
        clock = self.clock(int(now))
        user, page, browser = self.query
        query = (f"timestamp={ms}&requestId={random_id()}&{user}&current_url={self.quoted_origin}%2Fc%2F{chat_id}"
                 f"&pathname=%2Fc%2F{chat_id}&{page}&local_time={clock.local}.{ms % 1000:03d}Z"
                 f"&utc_time={clock.utc}&{browser}&signature_timestamp={ms}")
        body = orjson.dumps({
            "stream": True, "model": MODEL, "messages": [{"role": "user", "content": reply.PROMPT}],
            "signature_prompt": reply.PROMPT, "params": {}, "extra": {},
            "features": {**FEATURES, "enable_thinking": self.thinking}, "variables": clock.variables,
            "chat_id": chat_id, "id": random_id(), "current_user_message_id": message_id,
            "current_user_message_parent_id": None,
            "background_tasks": {"title_generation": True, "tags_generation": True}})
        head = (f"POST /api/v2/chat/completions?{query} HTTP/1.1\r\nContent-Length: {len(body)}\r\n"
                f"{self.completion_head}Referer: {self.origin}/c/{chat_id}\r\n"
                f"X-Signature: {hashlib.sha256(body).hexdigest()}\r\n\r\n")
        return head.encode() + body

    def clock(self, second):
        """The time fields of this second (formatting them per request would cost the load
        generator more than the rest of the request)."""
        if self.second is None or self.second.at != second:
            self.second = Second(second)
        return self.second

    def query_parts(self):
        """The completion query's fields that stay the same, quoted once, in the page's order: the
        user's, the page's and the browser's (around the chat's URL and the time)."""
        return (urlencode({"user_id": self.user_id, "version": "0.0.1", "platform": "web", "token": self.token,
                           **SCREEN}),
                urlencode({"host": f"{self.host}:{self.port}", "hostname": self.host, "protocol": "http:",
                           "title": "Z.ai - Free AI Chatbot & Agent powered by GLM", "timezone_offset": "0"}),
                urlencode({"is_mobile": "false", "is_touch": "false", "max_touch_points": "0",
                           "browser_name": "Chrome", "os_name": "Windows"}))


def random_id():
    """A UUID-shaped random id (uuid4() costs the load generator five times as much)."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Second:
    """The page's time fields for one second: the query's local time (quoted, without its
    milliseconds) and UTC time, and the body's variables."""

    def __init__(self, at):
        now = datetime.fromtimestamp(at, timezone.utc)
        self.at = at
        self.local = quote_plus(now.strftime("%Y-%m-%dT%H:%M:%S"))
        self.utc = quote_plus(format_datetime(now, usegmt=True))
        self.variables = {
            "{{USER_NAME}}": "Guest", "{{USER_LOCATION}}": "Unknown",
            "{{CURRENT_DATETIME}}": now.strftime("%Y-%m-%d %H:%M:%S"), "{{CURRENT_DATE}}": now.strftime("%Y-%m-%d"),
            "{{CURRENT_TIME}}": now.strftime("%H:%M:%S"), "{{CURRENT_WEEKDAY}}": now.strftime("%A"),
            "{{CURRENT_TIMEZONE}}": "UTC", "{{USER_LANGUAGE}}": "en-US"}
