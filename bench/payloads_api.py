"""The request ZtoApi sends to Z.ai's official API, for the direct path: POST {base}/chat/completions,
always streamed, with the Bearer key."""
import orjson

from bench import reply
from bench.dialects import API_BASE
from bench.dialects import API_KEY
from bench.dialects import DIALECTS
from bench.http_client import request_bytes


def api_request(host, port, thinking):
    body = orjson.dumps({"model": DIALECTS["api"].upstream_model,
                         "messages": [{"role": "user", "content": reply.PROMPT}],
                         "stream": True, "stream_options": {"include_usage": True},
                         "thinking": {"type": "enabled" if thinking else "disabled"}})
    return request_bytes("POST", host, port, f"{API_BASE}/chat/completions", body, [
        ("Authorization", f"Bearer {API_KEY}"), ("Accept-Language", "en-US,en"),
        ("Accept", "text/event-stream"), ("Content-Type", "application/json")])
