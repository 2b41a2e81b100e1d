"""The Anthropic Messages API, under /v1 and /anthropic/v1; every error in Anthropic's shape."""
import logging

from flask import Blueprint
from flask import current_app
from flask import g
from flask import request
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException

from ztoapi import auth
from ztoapi.anthropic.errors import error_response
from ztoapi.anthropic.request import openai_body
from ztoapi.anthropic.respond import respond
from ztoapi.anthropic.schema import CountTokensRequest
from ztoapi.anthropic.schema import MessagesRequest
from ztoapi.anthropic.tokens import prompt_tokens
from ztoapi.api.openai import json_body
from ztoapi.chat.completions import Waits
from ztoapi.chat.completions import client_gone_check
from ztoapi.chat.request import chat_request
from ztoapi.chat.request import check_images_allowed
from ztoapi.chat.request import prepare
from ztoapi.errors import ApiError
from ztoapi.schemas import load_or_400

log = logging.getLogger("ztoapi")
bp = Blueprint("anthropic", __name__)
messages_schema = MessagesRequest()
count_schema = CountTokensRequest()
MISSING_KEY = "x-api-key header is required (or Authorization: Bearer <key>)."


@bp.before_request
def check_api_key():
    if request.method == "OPTIONS":
        return
    if auth.presented_key(request.headers) is None:
        raise ApiError(401, MISSING_KEY)
    auth.check_access(request.headers)


@bp.errorhandler(ApiError)
def api_error(error):
    return error_response(error)


@bp.errorhandler(HTTPException)
def http_error(error):
    return error_response(ApiError(error.code or 500, error.description or error.name))


@bp.errorhandler(Exception)
def unexpected(error):
    log.exception("unexpected error on %s %s", request.method, request.path)
    return error_response(ApiError(500, "The server had an error while processing your request."))


@bp.post("/messages")
def create_message():
    settings = current_app.config["SETTINGS"]
    extensions = current_app.extensions
    body = load_or_400(messages_schema, json_body())
    converted = openai_body(body, extensions["catalog"].get_or_404(body["model"]))
    chat = prepare(converted, settings, extensions["catalog"], extensions["images"], extensions["zai"],
                   pipeline_headers(request.headers))
    g.summary = {"api": "anthropic", "model": chat.requested_model, "stream": chat.stream}
    waits = Waits(settings, client_gone_check(request.environ))
    return respond(chat, extensions["upstream"], waits, g.outcome, body.get("stop_sequences"),
                   body["max_tokens"])


@bp.post("/messages/count_tokens")
def count_tokens():
    body = load_or_400(count_schema, json_body())
    catalog = current_app.extensions["catalog"]
    model = catalog.get_or_404(body["model"])
    converted = openai_body(body, model)
    check_images_allowed(converted["messages"], model, catalog)
    chat = chat_request(converted, current_app.config["SETTINGS"], model)
    return {"input_tokens": prompt_tokens(chat.messages)}


def pipeline_headers(headers):
    """The request's headers, with reasoning always apart: it becomes thinking blocks."""
    headers = Headers(headers)
    headers["X-Think-Tags-Mode"] = "reasoning"
    return headers
