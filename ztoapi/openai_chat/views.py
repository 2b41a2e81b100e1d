"""POST /v1/chat/completions."""
from flask import Blueprint
from flask import current_app
from flask import g
from flask import request

from ztoapi import auth
from ztoapi.openai_chat.encoder import ChatEncoder
from ztoapi.openai_chat.fastpath import common
from ztoapi.openai_chat.schema import ChatCompletionRequest
from ztoapi.pipeline.reading import Waits
from ztoapi.pipeline.reading import client_gone_check
from ztoapi.pipeline.relay import respond
from ztoapi.pipeline.request import prepare
from ztoapi.requestbody import json_body
from ztoapi.validation import load_or_400

bp = Blueprint("openai_chat", __name__)
chat_schema = ChatCompletionRequest()


@bp.before_request
def check_api_key():
    if request.method != "OPTIONS":
        auth.check_access(request.headers)


@bp.post("/chat/completions")
def create_chat_completion():
    settings = current_app.config["SETTINGS"]
    raw = json_body()
    body = common(raw) or load_or_400(chat_schema, raw)
    extensions = current_app.extensions
    chat = prepare(body, settings, extensions["catalog"], extensions["images"], extensions["zai"],
                   request.headers, key_think=g.client_key.think)
    g.summary = {"model": chat.requested_model, "stream": chat.stream}
    current_app.logger.debug("chat request: model=%s stream=%s messages=%d thinking=%s params=%s",
                             chat.requested_model, chat.stream, len(chat.messages),
                             chat.enable_thinking, chat.params)
    waits = Waits(settings, client_gone_check(request.environ))
    return respond(chat, extensions["upstream"], ChatEncoder(chat), waits, g.outcome)
