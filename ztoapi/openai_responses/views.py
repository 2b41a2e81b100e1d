"""POST /v1/responses, GET and DELETE /v1/responses/{id}: OpenAI's Responses API."""
from flask import Blueprint
from flask import current_app
from flask import g
from flask import request

from ztoapi import auth
from ztoapi.openai_chat.schema import ChatCompletionRequest
from ztoapi.openai_responses.encoder import ResponsesEncoder
from ztoapi.openai_responses.events import ResponseEvents
from ztoapi.openai_responses.events import item_place
from ztoapi.openai_responses.schema import ResponsesRequest
from ztoapi.openai_responses.stored import not_found
from ztoapi.openai_responses.translate import chat_body
from ztoapi.openai_responses.translate import echo
from ztoapi.pipeline.reading import Waits
from ztoapi.pipeline.reading import client_gone_check
from ztoapi.pipeline.relay import respond
from ztoapi.pipeline.request import prepare
from ztoapi.pipeline.request import reasoning_apart
from ztoapi.requestbody import json_body
from ztoapi.validation import load_or_400

bp = Blueprint("openai_responses", __name__)
responses_schema = ResponsesRequest()
chat_schema = ChatCompletionRequest()


@bp.before_request
def check_api_key():
    if request.method != "OPTIONS":
        auth.check_access(request.headers)


@bp.post("/responses")
def create_response():
    settings = current_app.config["SETTINGS"]
    extensions = current_app.extensions
    stored, key = extensions["responses"], g.client_key.name
    body = load_or_400(responses_schema, json_body())
    history = []
    if body.get("previous_response_id"):
        previous = stored.find(key, body["previous_response_id"])
        if previous is None:
            raise not_found(body["previous_response_id"], param="previous_response_id")
        history = previous["conversation"]
    converted = load_or_400(chat_schema, chat_body(body, history, stored_items(stored, key)))
    chat = prepare(converted, settings, extensions["catalog"], extensions["images"], extensions["zai"],
                   reasoning_apart(request.headers))
    g.summary = {"api": "openai", "model": chat.requested_model, "stream": chat.stream}

    def keep(response, answer):
        if body.get("store") is not False:
            asked = converted["messages"][1 if body.get("instructions") else 0:]
            stored.keep(key, response, asked + [answer])

    encoder = ResponsesEncoder(chat, ResponseEvents(echo(body)), keep)
    waits = Waits(settings, client_gone_check(request.environ))
    return respond(chat, extensions["upstream"], encoder, waits, g.outcome)


@bp.get("/responses/<response_id>")
def retrieve_response(response_id):
    found = current_app.extensions["responses"].find(g.client_key.name, response_id)
    if found is None:
        raise not_found(response_id)
    return found["response"]


@bp.delete("/responses/<response_id>")
def delete_response(response_id):
    if not current_app.extensions["responses"].forget(g.client_key.name, response_id):
        raise not_found(response_id)
    return {"id": response_id, "object": "response.deleted", "deleted": True}


def stored_items(stored, key):
    """The lookup of output items of `key`'s stored responses, by item id (for item_reference)."""
    responses = {}

    def referenced(item_id):
        place = item_place(item_id)
        if place is None:
            return None
        response_id, index = place
        if response_id not in responses:
            found = stored.find(key, response_id)
            responses[response_id] = found["response"]["output"] if found else []
        output = responses[response_id]
        return output[index] if index < len(output) else None
    return referenced
