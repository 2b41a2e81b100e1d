"""The OpenAI-compatible API under /v1."""
import orjson
from flask import Blueprint
from flask import current_app
from flask import g
from flask import request
from werkzeug.exceptions import HTTPException

from ztoapi import auth
from ztoapi.chat.completions import Waits
from ztoapi.chat.completions import client_gone_check
from ztoapi.chat.completions import respond
from ztoapi.chat.request import prepare
from ztoapi.errors import ApiError
from ztoapi.schemas import JSON_ERROR
from ztoapi.schemas import ChatCompletionRequest
from ztoapi.schemas import load_or_400

bp = Blueprint("openai", __name__)
chat_schema = ChatCompletionRequest()


@bp.before_request
def check_api_key():
    if request.method != "OPTIONS":
        auth.check_access(request.headers)


@bp.get("/models")
def list_models():
    models = current_app.extensions["catalog"].models()
    return {"object": "list", "data": [model.card() for model in models]}


@bp.get("/models/<path:model_id>")
def get_model(model_id):
    return current_app.extensions["catalog"].get_or_404(model_id).card()


@bp.post("/chat/completions")
def create_chat_completion():
    settings = current_app.config["SETTINGS"]
    body = load_or_400(chat_schema, json_body())
    extensions = current_app.extensions
    chat = prepare(body, settings, extensions["catalog"], extensions["images"], extensions["zai"],
                   request.headers)
    g.summary = {"model": chat.requested_model, "stream": chat.stream}
    current_app.logger.debug("chat request: model=%s stream=%s messages=%d thinking=%s params=%s",
                             chat.requested_model, chat.stream, len(chat.messages),
                             chat.enable_thinking, chat.params)
    waits = Waits(settings, client_gone_check(request.environ))
    return respond(chat, extensions["upstream"], waits, g.outcome)


def json_body():
    try:
        return orjson.loads(raw_body(current_app.config["MAX_CONTENT_LENGTH"]))
    except orjson.JSONDecodeError:
        raise ApiError(400, JSON_ERROR) from None


def raw_body(limit):
    """The request body; 413 past `limit`, also for chunked bodies that have no length."""
    if request.content_length is not None or "wsgi.input" not in request.environ:
        return request.get_data(cache=False)
    try:
        data = request.environ["wsgi.input"].read(limit + 1)
    except HTTPException:        # the worker's read deadline (408) stays what it is
        raise
    except Exception as error:   # the server's chunked-body reader (gunicorn: InvalidChunkSize, NoMoreData…)
        raise ApiError(400, f"The request body could not be read: {type(error).__name__} (malformed "
                            "chunked transfer encoding, or the body was cut short).",
                       code="invalid_body") from None
    if len(data) > limit:
        raise ApiError(413, "The request body is too large.", code="request_too_large")
    return data
