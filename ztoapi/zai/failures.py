"""What chat.z.ai's failures mean, as errors that tell the operator what to check.

Each error also says how the upstream client may recover from it before the first byte
(ApiError.retry): "invalid" (a rejected credential) and "limited" (a rate limit) move on to another
credential, "transient" is retried after a pause, "captcha" and "login" need a credential of
another kind (a logged-in token), "version" re-reads the front-end version (and the dialect) and
tries once more, "dialect" re-reads the dialect and tries again only if it changed. None is final,
so "upstream changed" errors never storm.
"""
import orjson

from ztoapi.errors import ApiError

VERSION_HINT = ("chat.z.ai rejected the client version; set ZAI_FE_VERSION to the current "
                "prod-fe-x.y.z of the chat.z.ai web app")
SIGNATURE_HINT = ("chat.z.ai rejected the request signature; check ZAI_SIGNING_SECRET (the "
                  "upstream may have changed its signing key)")
BLOCKED_HINT = ("chat.z.ai's firewall blocked the request (HTTP 405); try another egress IP "
                "(UPSTREAM_PROXY) or set ZAI_TOKEN to a logged-in token")
UNAUTHORIZED_HINT = "chat.z.ai rejected the upstream token; check ZAI_TOKEN"
GUEST_UNAUTHORIZED_HINT = ("chat.z.ai rejected a freshly minted guest token; guests may be "
                           "refused from this IP, set ZAI_TOKEN to a logged-in token")
BUSY_WORDS = ("concurrency", "too many requests", "并发")
CAPTCHA_CODE = "FRONTEND_CAPTCHA_REQUIRED"
TIER_WORDS = "not available for current user level"
CAPTCHA_MESSAGE = ("chat.z.ai asked for a CAPTCHA before it would answer ({detail}). ZtoApi never "
                   "completes CAPTCHAs. Set ZAI_TOKEN to the token of a logged-in chat.z.ai account "
                   "(README: \"Which chat.z.ai\").")
CAPTCHA_TOKENS_MESSAGE = ("chat.z.ai asked for a CAPTCHA before it would answer, of the logged-in "
                          "token in ZAI_TOKEN too ({detail}); the token rests for a few minutes. ZtoApi "
                          "never completes CAPTCHAs: sign in to chat.z.ai in a browser with that "
                          "account (passing its check there may lift it), or add another account's "
                          "token to ZAI_TOKEN (README: \"Which chat.z.ai\").")
NEW_VERSION_HINT = ("chat.z.ai asked for a newer client (HTTP 426, \"New version detected\"): it did "
                    "not accept the request signature or the front-end version; check "
                    "ZAI_SIGNING_SECRET and ZAI_FE_VERSION")


def from_status(status, text, retry_after=None, guest=False, dialect="2025"):
    """An upstream answer with a non-200 status, before any event. A JSON body carrying the 2026
    markers (a CAPTCHA, a tier refusal, INTERNAL_ERROR) means what it says whatever the status."""
    marked = _marked_error(text)
    if marked is not None:
        return from_event(marked)
    detail = _short(text)
    lowered = detail.lower()
    if status == 426 and dialect == "2026":
        return ApiError(502, f"{NEW_VERSION_HINT} (upstream said: {detail})",
                        code="upstream_signature_rejected", type="server_error", retry="version")
    if status == 426 or (status == 400 and "client version" in lowered):
        return version_rejected(detail)
    if "signature" in lowered:
        return signature_rejected(detail)
    if status == 405:
        return ApiError(502, BLOCKED_HINT, code="upstream_blocked", type="server_error",
                        retry="version" if dialect == "2026" else None)
    if status == 404:
        return ApiError(502, f"chat.z.ai answered HTTP 404 on its completion path: {detail}",
                        code="upstream_rejected", type="server_error", retry="dialect")
    if status == 401:
        hint = GUEST_UNAUTHORIZED_HINT if guest else UNAUTHORIZED_HINT
        return ApiError(502, f"{hint} (upstream said: {detail})", code="upstream_unauthorized",
                        type="server_error", retry="invalid")
    if status == 429 or any(word in lowered for word in BUSY_WORDS):
        return rate_limited(detail, retry_after)
    if status >= 500:
        return ApiError(502, f"chat.z.ai answered HTTP {status}: {detail}", code="upstream_error",
                        type="server_error", retry="transient")
    return ApiError(502, f"chat.z.ai refused the request with HTTP {status}: {detail}",
                    code="upstream_rejected", type="server_error")


def from_event(error):
    """An error object found inside the upstream event stream (codes are numbers or, since 2026,
    strings such as FRONTEND_CAPTCHA_REQUIRED and INTERNAL_ERROR)."""
    if not isinstance(error, dict):
        error = {"detail": str(error)}
    detail = str(error.get("detail") or error.get("message") or error)
    lowered = detail.lower()
    code = error.get("code")
    codes = {str(code), str(error.get("error_code"))}
    # a CAPTCHA comes with "Please refresh the page to update the app": not a version problem
    if CAPTCHA_CODE in codes or "captcha_error_type" in error or "captcha" in lowered:
        return captcha_required(error.get("error_code") or code or detail)
    if TIER_WORDS in lowered:
        return model_requires_login(None)
    if "INTERNAL_ERROR" in codes:
        return ApiError(502, "chat.z.ai rejected the request (INTERNAL_ERROR): it no longer accepts "
                             "the request in this form; its dialect may have changed (ZAI_DIALECT)",
                        code="upstream_rejected", type="server_error", retry="dialect")
    if codes & {"426"} or "client version" in lowered:
        return version_rejected(detail)
    if "signature" in lowered:
        return signature_rejected(detail)
    if codes & {"401"}:
        return ApiError(502, f"{UNAUTHORIZED_HINT} (upstream said: {detail})",
                        code="upstream_unauthorized", type="server_error", retry="invalid")
    if codes & {"429"} or any(word in lowered for word in BUSY_WORDS):
        return rate_limited(detail, None)
    return ApiError(502, f"chat.z.ai reported an error: {detail}", code="upstream_error",
                    type="server_error", retry="transient")


def captcha_required(marker, tokens_asked=False):
    """chat.z.ai wants a CAPTCHA passed for this credential; another kind of credential may pass.
    `tokens_asked`: it asked the configured logged-in tokens too."""
    template = CAPTCHA_TOKENS_MESSAGE if tokens_asked else CAPTCHA_MESSAGE
    detail = "FRONTEND_CAPTCHA_REQUIRED" if tokens_asked else str(marker)[:80]
    return ApiError(503, template.format(detail=detail), code="upstream_captcha_required",
                    type="server_error", retry="captcha")


def model_requires_login(model):
    """chat.z.ai keeps the model for signed-in users ("Model not available for current user level")."""
    name = f"the model {model}" if model else "this model"
    return ApiError(403, f"chat.z.ai offers {name} only to signed-in users (\"Model not available for "
                         "current user level\"). Set ZAI_TOKEN to a logged-in chat.z.ai account's "
                         "token to use it, or choose a model guests may use.",
                    code="model_requires_login", type="permission_error", param="model", retry="login")


def not_a_stream(content_type, text):
    """A 200 that is not an event stream: an error object if it holds one, else a changed API."""
    try:
        body = orjson.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        inner = body.get("data")
        error = body.get("error") or (inner.get("error") if isinstance(inner, dict) else None)
        if error:
            return from_event(error)
    return ApiError(502, f"chat.z.ai answered 200 with {content_type or 'no content type'} instead "
                         f"of an event stream: {_short(text)}", code="upstream_rejected",
                    type="server_error")


def odd_upload(answer):
    """An upload answered without a file id (its body is not repeated: it may name the account)."""
    return ApiError(502, "chat.z.ai answered an image upload without a file id and name",
                    code="upstream_rejected", type="server_error")


def odd_chat(answer):
    """A chat creation answered without a chat id (its body is not repeated: it may name the account)."""
    return ApiError(502, "chat.z.ai answered the creation of a chat without a chat id",
                    code="upstream_rejected", type="server_error", retry="dialect")


def version_rejected(detail):
    return ApiError(502, f"{VERSION_HINT} (upstream said: {detail})",
                    code="upstream_version_rejected", type="server_error", retry="version")


def signature_rejected(detail):
    return ApiError(502, f"{SIGNATURE_HINT} (upstream said: {detail})",
                    code="upstream_signature_rejected", type="server_error")


def rate_limited(detail, retry_after):
    """A rate limit; Retry-After is the upstream's, when it gave one."""
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return ApiError(429, f"chat.z.ai is rate limiting this gateway (upstream said: {detail})",
                    code="upstream_rate_limited", type="rate_limit_error", headers=headers,
                    retry="limited")


def unreachable(error):
    return ApiError(502, f"Could not connect to chat.z.ai ({type(error).__name__}): check this "
                         "server's network and UPSTREAM_PROXY", code="upstream_unreachable",
                    type="server_error", retry="transient")


def timed_out(connecting=False, what=None):
    """No answer in time; only a connect timeout is worth another try."""
    waited = "accept the connection" if connecting else "answer"
    during = f" ({what})" if what else ""
    return ApiError(504, f"chat.z.ai did not {waited} in time{during}: check this server's network "
                         "and UPSTREAM_PROXY", code="upstream_timeout", type="server_error",
                    retry="transient" if connecting else None)


def unsendable(error):
    """The request holds what the upstream body cannot carry (nesting too deep, unpaired
    surrogates): the client's to fix."""
    return ApiError(400, "This request cannot be sent to chat.z.ai: its content cannot be written as "
                         f"JSON ({str(error)[:80]}).", code="invalid_request_content", param="messages")


def local_failure(error):
    """A failure of ours while preparing or reading an upstream call: a 500, never retried and
    never held against the credential."""
    return ApiError(500, "The server had an error while preparing the upstream request.",
                    type="server_error")


def cut_short():
    return ApiError(502, "chat.z.ai closed the stream before the reply was complete",
                    code="upstream_stream_cut", type="server_error", retry="transient")


def no_credential(reason):
    return ApiError(503, f"No usable chat.z.ai credential: {reason}",
                    code="upstream_credential_unavailable", type="server_error")


def client_token_rejected():
    return ApiError(401, "chat.z.ai rejected the token given in X-ZAI-Token",
                    code="upstream_token_rejected")


def retry_after_seconds(error):
    """The Retry-After of a rate-limit error as seconds, or None."""
    try:
        return float(error.headers.get("Retry-After"))
    except (TypeError, ValueError):
        return None


def _marked_error(text):
    """The error object of a JSON body that carries a 2026 marker, else None."""
    if not text or "{" not in text[:1]:
        return None
    try:
        body = orjson.loads(text)
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else body
    if not isinstance(error, dict):
        return None
    codes = {str(error.get("code")), str(error.get("error_code"))}
    detail = str(error.get("detail") or error.get("message") or "").lower()
    if codes & {CAPTCHA_CODE, "INTERNAL_ERROR"} or "captcha_error_type" in error or TIER_WORDS in detail:
        return error
    return None


def _short(text, limit=300):
    text = (text or "").strip()
    if text.startswith("<"):
        return "an HTML page"
    try:
        body = orjson.loads(text)
        if isinstance(body, dict):
            text = str(body.get("detail") or body.get("message") or body.get("error") or text)
    except ValueError:
        pass
    return text[:limit]
