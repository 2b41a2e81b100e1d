"""CORS for browser clients: preflights need no key; SDK headers are allowed."""
from flask import current_app
from flask import request

EXPOSED = "x-request-id, openai-processing-ms, retry-after, retry-after-ms"
DEFAULT_ALLOWED = "authorization, content-type, x-api-key, x-stainless-*"


def init_app(app, origins):
    app.extensions["cors_origins"] = {origin.strip() for origin in origins.split(",") if origin.strip()}


def add_cors_headers(response):
    allowed = current_app.extensions["cors_origins"]
    headers = response.headers
    origin = request.headers.get("Origin")
    if "*" in allowed:
        headers["Access-Control-Allow-Origin"] = "*"
    elif origin in allowed:
        headers["Access-Control-Allow-Origin"] = origin
    else:
        return response
    headers["Access-Control-Expose-Headers"] = EXPOSED
    if request.method == "OPTIONS":
        headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        headers["Access-Control-Allow-Headers"] = request.headers.get(
            "Access-Control-Request-Headers", DEFAULT_ALLOWED)
        headers["Access-Control-Max-Age"] = "86400"
    if "*" not in allowed:
        headers["Vary"] = "Origin"
    return response
