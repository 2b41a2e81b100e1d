"""The request bytes the load generator sends: to ZtoApi (OpenAI API), or straight to the fake as
ZtoApi sends them in the 2025 dialect (2026: bench/payloads_2026.py; Z.ai's API: bench/payloads_api.py)."""
import hashlib
import time
import uuid
from urllib.parse import urlencode

import orjson

from bench import reply
from bench.http_client import request_bytes

MODEL = "GLM-4.5"
UPSTREAM_MODEL = "0727-360B-API"
FE_VERSION = "prod-fe-1.0.106"


def openai_request(host, port, key, stream, thinking, model=MODEL):
    """POST /v1/chat/completions as an OpenAI SDK sends it."""
    body = orjson.dumps({"model": model, "messages": [{"role": "user", "content": reply.PROMPT}],
                         "stream": stream, "enable_thinking": thinking})
    return request_bytes("POST", host, port, "/v1/chat/completions", body, [
        ("Authorization", f"Bearer {key}"), ("Content-Type", "application/json")])


def upstream_request(host, port, token, user_id, thinking):
    """POST /api/chat/completions as ZtoApi sends it (same headers, query and body fields; the
    signature is a placeholder of the right shape: the fake does not verify the HMAC)."""
    now_ms = int(time.time() * 1000)
    chat_id = str(uuid.uuid4())
    origin = f"http://{host}:{port}"
    query = urlencode({
        "timestamp": now_ms, "requestId": str(uuid.uuid4()), "user_id": user_id, "version": "0.0.1",
        "platform": "web", "token": token, "current_url": f"{origin}/c/{chat_id}",
        "pathname": f"/c/{chat_id}", "signature_timestamp": now_ms})
    body = orjson.dumps({
        "stream": True, "model": UPSTREAM_MODEL,
        "messages": [{"role": "user", "content": reply.PROMPT}], "signature_prompt": reply.PROMPT,
        "params": {"temperature": 0.6, "top_p": 0.95},
        "features": {"image_generation": False, "web_search": False, "auto_web_search": False,
                     "preview_mode": False, "flags": [], "enable_thinking": thinking},
        "background_tasks": {"title_generation": False, "tags_generation": False},
        "chat_id": chat_id, "id": str(uuid.uuid4()), "mcp_servers": [], "tool_servers": [], "files": [],
        "variables": {"{{USER_NAME}}": "Guest", "{{USER_LOCATION}}": "Unknown"},
        "model_item": {"id": UPSTREAM_MODEL, "name": MODEL, "owned_by": "openai"}})
    headers = [
        ("Authorization", f"Bearer {token}"), ("Content-Type", "application/json"),
        ("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8"), ("Origin", origin),
        ("Referer", f"{origin}/c/{chat_id}"), ("X-FE-Version", FE_VERSION),
        ("X-Signature", hashlib.sha256(body).hexdigest())]
    return request_bytes("POST", host, port, f"/api/chat/completions?{query}", body, headers)
