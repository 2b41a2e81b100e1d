"""POST /v1/messages and /v1/messages/count_tokens (also under /anthropic/v1).

Beta headers (`anthropic-beta`) and Claude Code's `?beta=true` need nothing: what they turn on is
read from the body, and a request carrying `thread` is refused as errors.thread_unsupported says."""
from flask import Blueprint
from flask import current_app
from flask import g
from flask import request

from ztoapi import auth
from ztoapi.anthropic_messages.encoder import MessageEncoder
from ztoapi.anthropic_messages.errors import MISSING_KEY
from ztoapi.anthropic_messages.errors import load
from ztoapi.anthropic_messages.errors import thread_unsupported
from ztoapi.anthropic_messages.request import check_images
from ztoapi.anthropic_messages.request import image_paths
from ztoapi.anthropic_messages.request import openai_body
from ztoapi.anthropic_messages.schema import CountTokensRequest
from ztoapi.anthropic_messages.schema import MessagesRequest
from ztoapi.anthropic_messages.tokens import prompt_tokens
from ztoapi.errors import ApiError
from ztoapi.pipeline.reading import Waits
from ztoapi.pipeline.reading import client_gone_check
from ztoapi.pipeline.relay import respond
from ztoapi.pipeline.request import chat_request
from ztoapi.pipeline.request import prepare
from ztoapi.pipeline.request import reasoning_apart
from ztoapi.requestbody import json_body

bp = Blueprint("anthropic_messages", __name__)
messages_schema = MessagesRequest()
count_schema = CountTokensRequest()


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
    raw = json_body()
    if isinstance(raw, dict) and raw.get("thread") is not None:
        raise thread_unsupported()
    body, converted = translated(messages_schema, raw, extensions["catalog"])
    try:
        chat = prepare(converted, settings, extensions["catalog"], extensions["images"], extensions["zai"],
                       reasoning_apart(request.headers))
    except ApiError as error:
        raise anthropic_image_error(error, body) from None
    g.summary = {"api": "anthropic", "model": chat.requested_model, "stream": chat.stream}
    waits = Waits(settings, client_gone_check(request.environ))
    encoder = MessageEncoder(chat, body.get("stop_sequences"), body["max_tokens"])
    return respond(chat, extensions["upstream"], encoder, waits, g.outcome)


@bp.post("/messages/count_tokens")
def count_tokens():
    catalog = current_app.extensions["catalog"]
    body, converted = translated(count_schema, json_body(), catalog)
    chat = chat_request(converted, current_app.config["SETTINGS"], catalog.get_or_404(body["model"]))
    return {"input_tokens": prompt_tokens(chat.messages)}


def translated(schema, raw, catalog):
    """The validated body and the OpenAI chat body it becomes; problems in Anthropic's words."""
    body = load(schema, raw)
    model = catalog.get_or_404(body["model"])
    check_images(body["messages"], model, catalog)
    return body, openai_body(body, model)



def anthropic_image_error(error, body):
    """A problem the pipeline found with an image, named by its path in the Anthropic request."""
    path = image_paths(body).get(error.param or "")
    if path is None:
        return error
    message = error.message.replace(f" in '{error.param}'", "")
    return ApiError(error.status, f"{path}: {message}", code=error.code, param=path)
