"""CORS for browser clients: preflights need no key; SDK headers are allowed."""
from flask import request

EXPOSED = "x-request-id, openai-processing-ms, retry-after, retry-after-ms"
DEFAULT_ALLOWED = "authorization, content-type, x-api-key, x-stainless-*"


def init_app(app, origins):
    @app.after_request
    def add_cors_headers(response):
        headers = response.headers
        headers["Access-Control-Allow-Origin"] = origins
        headers["Access-Control-Expose-Headers"] = EXPOSED
        if request.method == "OPTIONS":
            headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            headers["Access-Control-Allow-Headers"] = request.headers.get(
                "Access-Control-Request-Headers", DEFAULT_ALLOWED)
            headers["Access-Control-Max-Age"] = "86400"
        if origins != "*":
            headers["Vary"] = "Origin"
        return response
