"""Guest/user JWT helpers and the Oct 2025 chat.z.ai request signature (protocol notes §2.1, §3.3)."""

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid

DEFAULT_SECRET = "key-@@@@)))()((9))-xxxx&&&%%%%%"
SIGNATURE_MODES = ("hmac-b64", "hmac-raw", "off")
WINDOW_MS = 300_000


def _b64url(data: bytes) -> str:
    """Encode bytes as unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(payload: dict) -> str:
    """Return a JWT-looking ES256 token for payload with a random (unverifiable) signature."""
    header = {"alg": "ES256", "typ": "JWT"}
    parts = (json.dumps(header, separators=(",", ":")), json.dumps(payload, separators=(",", ":")))
    return ".".join([_b64url(p.encode()) for p in parts] + [_b64url(secrets.token_bytes(64))])


def make_user_token(user_id: str | None = None, email: str | None = None) -> str:
    """Return a token for a "real" (role user) account, to pass to FakeZai(user_tokens=...)."""
    user_id = user_id or str(uuid.uuid4())
    return make_token({"id": user_id, "email": email or f"user-{user_id[:8]}@example.com"})


def token_payload(token: str) -> dict | None:
    """Decode a token's payload without verifying it; None if it is not JWT-shaped."""
    try:
        part = token.split(".")[1]
        payload = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def derive_key(secret: str, window: int) -> str:
    """Return the per-window key: hex HMAC-SHA256(secret, str(window))."""
    return hmac.new(secret.encode(), str(window).encode(), hashlib.sha256).hexdigest()


def sign(prompt: str, request_id: str, timestamp_ms: int, user_id: str,
         secret: str = DEFAULT_SECRET, mode: str = "hmac-b64", window: int | None = None) -> str:
    """Return the X-Signature value; window defaults to timestamp_ms // 300000."""
    meta = f"requestId,{request_id},timestamp,{timestamp_ms},user_id,{user_id}"
    text = base64.b64encode(prompt.encode()).decode() if mode == "hmac-b64" else prompt
    key = derive_key(secret, timestamp_ms // WINDOW_MS if window is None else window)
    return hmac.new(key.encode(), f"{meta}|{text}|{timestamp_ms}".encode(), hashlib.sha256).hexdigest()


def signature_valid(signature: str, prompt: str, request_id: str, timestamp_ms: int, user_id: str,
                    secret: str, mode: str, now_ms: int | None = None) -> bool:
    """Check a signature against the server's current or previous 5-minute window."""
    if mode == "off":
        return True
    current = (int(time.time() * 1000) if now_ms is None else now_ms) // WINDOW_MS
    return any(
        hmac.compare_digest(signature.encode(), sign(prompt, request_id, timestamp_ms, user_id, secret, mode, w).encode())
        for w in (current, current - 1)
    )
