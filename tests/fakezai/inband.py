"""In-band (HTTP 200, one SSE event) errors of the 2026 upstream: captcha, user level, INTERNAL_ERROR."""

from .stream import chat_event

INTERNAL_ERROR = {"code": "INTERNAL_ERROR", "error_code": "INTERNAL_ERROR", "detail": "Internal Server Error"}
CAPTCHA_MISSING = {"captcha_error_type": "missing_param", "code": "FRONTEND_CAPTCHA_REQUIRED",
                   "detail": "Please refresh the page to update the app, then try again.",
                   "error_code": "FRONTEND_CAPTCHA_REQUIRED"}
CAPTCHA_FAILED = {"captcha_error_type": "verify_failed", "code": "FRONTEND_CAPTCHA_REQUIRED",
                  "detail": "The captcha verification failed", "error_code": "FRONTEND_CAPTCHA_REQUIRED"}
TIER = {"detail": "Model not available for current user level", "code": 403}
INBAND_FAULTS = ("captcha", "tier", "internal_error")


def nested_error(error: dict) -> str:
    """The double-nested error event: data.data.error and data.error, both done."""
    return chat_event({"data": {"error": error, "done": True}, "error": error, "done": True})


def captcha_error(body: dict) -> dict:
    """missing_param without a (non-empty) captcha_verify_param in body, else verify_failed (the fake accepts
    none)."""
    return CAPTCHA_MISSING if body.get("captcha_verify_param") in (None, "") else CAPTCHA_FAILED


def fault_event(fault: str | None, body: dict) -> str | None:
    """The single event of an in-band fault script (captcha, tier, internal_error), else None."""
    if fault == "captcha":
        return nested_error(captcha_error(body))
    if fault == "tier":
        return nested_error(TIER)
    if fault == "internal_error":
        return nested_error(INTERNAL_ERROR)
    return None
