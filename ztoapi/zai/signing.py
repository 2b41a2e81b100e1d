"""X-Signature: the two-layer HMAC-SHA256 chat.z.ai checks on every completion request."""
import base64
import hashlib
import hmac

DEFAULT_SECRET = "key-@@@@)))()((9))-xxxx&&&%%%%%"
WINDOW_MS = 5 * 60 * 1000


def secret_bytes(secret):
    """An override is hex when it looks like even-length hex, else UTF-8 text."""
    secret = secret or DEFAULT_SECRET
    try:
        if len(secret) % 2 == 0 and len(secret) >= 16:
            return bytes.fromhex(secret)
    except ValueError:
        pass
    return secret.encode()


def sign(prompt, request_id, timestamp_ms, user_id, secret=b""):
    """Signature over the request metadata and the base64 of the signed prompt."""
    metadata = f"requestId,{request_id},timestamp,{timestamp_ms},user_id,{user_id}"
    encoded_prompt = base64.b64encode(prompt.encode()).decode()
    to_sign = f"{metadata}|{encoded_prompt}|{timestamp_ms}"
    window = str(timestamp_ms // WINDOW_MS)
    derived = hmac.new(secret or DEFAULT_SECRET.encode(), window.encode(), hashlib.sha256).hexdigest()
    return hmac.new(derived.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
