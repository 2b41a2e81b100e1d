"""The 2026 endpoints of the fake's HTTP handler: GET /api/config, POST /api/v1/chats/new and
POST /api/v2/chat/completions (mixed into server._Handler, which supplies _json, _send, _sse, _sleep, ...)."""

from . import catalog, dialect2026, inband, stream, stream2026
from .auth import signature_valid
from .common import BAD_SIGNATURE, SESSION_EXPIRED, query_error

CONFIG_JUNK = b'<!doctype html><html><head><title>Z.ai</title></head><body>{"completion_version": 2</body></html>\n'
INDEX_2026 = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Z.ai - Free AI Chatbot &amp; Agent powered by GLM-5.3</title>
<link rel="prefetch" href="https://z-cdn.chatglm.cn/z-ai/frontend/prod-fe-{old}/assets/legacy-polyfills.js">
<link rel="stylesheet" href="https://z-cdn.chatglm.cn/z-ai/frontend/prod-fe-{new}/assets/index-C8kzXr1q.css">
<link rel="modulepreload" href="https://z-cdn.chatglm.cn/z-ai/frontend/prod-fe-{new}/assets/vendor-DyJ2f0aH.js">
</head>
<body><div id="app"></div>
<script type="module" crossorigin
  src="https://z-cdn.chatglm.cn/z-ai/frontend/prod-fe-{new}/assets/index-BEIsjDOv.js"></script>
</body></html>
"""


class Handler2026:
    """Request handlers of the 2026 dialect."""

    def index_2026(self):
        """GET / in 2026: a Vite page whose asset URLs carry /frontend/prod-fe-<version>/assets/."""
        fake = self.server.fake
        html = INDEX_2026.format(old=fake._dialect_default("old_fe_version"), new=fake.fe_version)
        self._send(200, html.encode(), "text/html; charset=utf-8")

    def config(self):
        """GET /api/config: completion_version "2" and the captcha flag (or the config_fault)."""
        fake = self.server.fake
        fault = fake.config_fault
        if fault == "http500":
            return self._json(500, {"detail": "Internal Server Error"})
        if fault == "http404":
            return self._json(404, {"detail": "Not Found"})
        if fault == "bad_json":
            return self._send(200, CONFIG_JUNK, "text/html; charset=utf-8")
        payload = dialect2026.config_payload(fake.captcha is not None)
        if fault == "no_field":
            del payload["completion_version"]
        self._json(200, payload)

    def chats_new(self):
        """POST /api/v1/chats/new: store the chat (its model and current user message) for the Bearer's user."""
        fake, token = self.server.fake, self._bearer()
        user = fake._user(token)
        if user is None:
            return self._json(401, {"detail": SESSION_EXPIRED})
        problem = dialect2026.new_chat_error(self.body, catalog.active("2026"))
        if problem:
            return self._json(400, {"detail": problem})
        self._json(200, fake._make_chat(token, user, self.body["chat"]))

    def chat_v2(self):
        """POST /api/v2/chat/completions: validate like the 2026 upstream, then stream the 2026 reply."""
        self.server.fake._note_completion(self.body)
        self._completion(stream2026.answered_text, self._chat_v2_stream)

    def _chat_v2_stream(self, fake, token: str, user: dict, body: dict, script: dict, release):
        """The checks after the token and stream slot, in upstream order; return (status, body) of an HTTP
        error, or None once an SSE stream was sent."""
        problem = dialect2026.missing_query(self.query) or query_error(self.query, token, user) \
            or self._headers_2026(token)
        if problem:
            return 400, {"detail": problem}
        if not isinstance(self.body, dict):
            return 400, {"detail": "Invalid JSON body"}
        refused = self._signature_2026(body, script.get("fault"))
        if refused:
            return refused
        chat = fake._chat_of(token, body.get("chat_id"))
        problem = dialect2026.completion_error(body, chat, catalog.active("2026"), catalog.vision("2026"))
        if problem:
            return 400, {"detail": problem}
        event, images = self._inband_refusal(fake, user, body, script.get("fault")), None
        if event is None and body["model"] in catalog.vision("2026"):
            images = fake._resolve_images(token, body["messages"])
            event = stream.image_error_event() if images is None else None
        if event:
            return self._sse(body["chat_id"], [event], release)
        return self._reply_2026(body, script, images, release)

    def _headers_2026(self, token: str) -> str | None:
        """Check X-Region / X-Device-Id, remembering the device id per token."""
        self.server.fake._note_device(token, self.headers.get("X-Device-Id"))
        return dialect2026.header_error(self.headers)

    def _signature_2026(self, body: dict, fault: str | None) -> tuple[int, dict] | None:
        """426 without X-Signature, 400 with a wrong one (or a signature_prompt other than the message text)."""
        fake, q = self.server.fake, self.query
        if fault == "signature":
            return 400, {"detail": BAD_SIGNATURE}
        if fake.signature_mode == "off":
            return None
        signature = (self.headers.get("X-Signature") or "").strip()
        if not signature:
            return 426, dialect2026.NEW_VERSION
        prompt = body.get("signature_prompt")
        ok = isinstance(prompt, str) and prompt == stream.last_user_text(body.get("messages")) and signature_valid(
            signature, prompt, q["requestId"], int(q["timestamp"]), q["user_id"], fake.secret, fake.signature_mode)
        return None if ok else (400, {"detail": BAD_SIGNATURE})

    def _inband_refusal(self, fake, user: dict, body: dict, fault: str | None) -> str | None:
        """The single error event of a refused 2026 completion (one-message rule, captcha, user level, or an
        in-band fault script), else None."""
        if dialect2026.breaks_one_message_rule(body, catalog.REASONING_EFFORT_2026):
            return inband.nested_error(inband.INTERNAL_ERROR)
        if fault == "captcha" or dialect2026.captcha_applies(fake.captcha, user["role"]):
            fake._count_captcha()
            return inband.nested_error(inband.captcha_error(body))
        if fault == "tier" or (user["role"] == "guest" and body["model"] not in fake.guest_models):
            return inband.nested_error(inband.TIER)
        if fault == "version426":
            return stream.version_426_event()
        return inband.fault_event(fault, body)

    def _reply_2026(self, body: dict, script: dict, images, release) -> None:
        """Stream the 2026 reply after the scripted first-byte delay."""
        reply = stream2026.build_reply(body, script, images)
        try:
            self._sleep(script.get("first_delay_ms", 0) / 1000)
        except ConnectionError:
            self.close_connection = True
            return None
        return self._sse(body["chat_id"], stream2026.frames(reply, self._sleep), release)
