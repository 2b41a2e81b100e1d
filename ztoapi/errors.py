"""The one error type, and the one place that writes every failure in its caller's envelope:
Anthropic's for the Messages API (and /v1/models asked with `anthropic-version`), OpenAI's for
everything else."""
import logging

import orjson
from flask import Response
from flask import g
from flask import has_request_context
from flask import request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("ztoapi")

TYPES_BY_STATUS = {400: "invalid_request_error", 401: "invalid_request_error",
                   403: "permission_error", 404: "invalid_request_error",
                   405: "invalid_request_error", 408: "invalid_request_error",
                   413: "invalid_request_error",
                   429: "rate_limit_error"}


ANTHROPIC_PATHS = ("/v1/messages", "/anthropic/")
MODELS_PATH = "/v1/models"


class ApiError(Exception):
    """A failure with an HTTP status and an OpenAI-shaped body.

    `retry` says how an upstream failure may be recovered before the first byte: None (final),
    "invalid" (the credential was rejected), "limited" (rate limited) or "transient".
    """

    def __init__(self, status, message, code=None, param=None, type=None, headers=None, retry=None):
        super().__init__(message)
        self.retry = retry
        self.retries = 0          # failed upstream attempts before this final one
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.type = type or TYPES_BY_STATUS.get(status, "server_error")
        self.headers = headers or {}

    def note(self):
        """Tell the request log which error this request ended with."""
        if has_request_context():
            g.error_code = self.code or self.type
            if self.retries and "outcome" in g:
                g.outcome["retries"] = self.retries

    def body(self):
        return {"error": {"message": self.message, "type": self.type,
                          "param": self.param, "code": self.code}}


def protocol_of(path, headers):
    """The client protocol a request speaks: "anthropic", "openai" or None (not an API route)."""
    if path.startswith(ANTHROPIC_PATHS):
        return "anthropic"
    if path.startswith(MODELS_PATH) and "anthropic-version" in headers:
        return "anthropic"
    return "openai" if path.startswith("/v1/") else None


def error_response(error):
    """The Response for `error`, in the envelope of the protocol the request speaks."""
    from ztoapi.anthropic_messages.errors import error_body as anthropic_body

    error.note()
    anthropic = protocol_of(request.path, request.headers) == "anthropic"
    body = anthropic_body(error) if anthropic else error.body()
    return Response(orjson.dumps(body), status=error.status, headers=error.headers,
                    mimetype="application/json")


def register_error_handlers(app):
    app.register_error_handler(ApiError, error_response)
    app.register_error_handler(HTTPException, _http_exception)
    app.register_error_handler(Exception, _unexpected)


def _http_exception(error):
    where = f"({request.method} {request.path})"
    if error.code == 404:
        failure = ApiError(404, f"Invalid URL {where}")
    elif error.code == 405:
        allowed = ", ".join(sorted(getattr(error, "valid_methods", None) or ()))
        failure = ApiError(405, f"Method not allowed {where}",
                           headers={"Allow": allowed} if allowed else None)
    elif error.code == 408:
        failure = ApiError(408, error.description, code="request_timeout")
    elif error.code == 413:
        failure = ApiError(413, "The request body is too large.", code="request_too_large")
    else:
        failure = ApiError(error.code or 500, error.description or error.name)
    return error_response(failure)


def _unexpected(error):
    log.exception("unexpected error on %s %s", request.method, request.path)
    return error_response(ApiError(500, "The server had an error while processing your request."))
