"""POST /v1/messages and /v1/messages/count_tokens (also under /anthropic/v1)."""
from flask import Blueprint
from flask import current_app
from flask import g
from flask import request
from werkzeug.datastructures import Headers

from ztoapi import auth
from ztoapi.anthropic_messages.encoder import MessageEncoder
from ztoapi.anthropic_messages.request import openai_body
from ztoapi.anthropic_messages.schema import CountTokensRequest
from ztoapi.anthropic_messages.schema import MessagesRequest
from ztoapi.anthropic_messages.tokens import prompt_tokens
from ztoapi.errors import ApiError
from ztoapi.pipeline.reading import Waits
from ztoapi.pipeline.reading import client_gone_check
from ztoapi.pipeline.relay import respond
from ztoapi.pipeline.request import chat_request
from ztoapi.pipeline.request import check_images_allowed
from ztoapi.pipeline.request import prepare
from ztoapi.requestbody import json_body
from ztoapi.validation import load_or_400

bp = Blueprint("anthropic_messages", __name__)
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
    encoder = MessageEncoder(chat, body.get("stop_sequences"), body["max_tokens"])
    return respond(chat, extensions["upstream"], encoder, waits, g.outcome)


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
