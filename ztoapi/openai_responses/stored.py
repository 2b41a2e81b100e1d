"""Responses kept for `previous_response_id` and GET /v1/responses/{id}: in the shared store (so
a chain continues on any worker or instance), for RESPONSES_TTL seconds, each readable only with
the client key that made it.

A stored response keeps the Response object and the conversation it ended (the chat messages
before it, its input and its answer; not its instructions, which OpenAI does not carry over
either). A response that could not be kept (the store is down) is logged and still answered."""
import logging

import orjson

from ztoapi.errors import ApiError

log = logging.getLogger("ztoapi")


def not_found(response_id, param=None):
    what = "Previous response" if param else "Response"
    return ApiError(404, f"{what} with id '{response_id}' not found.", param=param)


class StoredResponses:
    def __init__(self, store, ttl):
        self.store = store
        self.ttl = ttl

    def keep(self, key, response, conversation):
        document = orjson.dumps({"key": key, "response": response, "conversation": conversation})
        try:
            self.store.keep_document(response["id"], document, self.ttl)
        except Exception as error:   # the answer is out: a chain from it will get a 404
            log.warning("could not store response %s (%s)", response["id"], type(error).__name__)

    def find(self, key, response_id):
        """The stored document ({"response", "conversation"}) of `key`'s response, or None."""
        try:
            data = self.store.document(response_id)
        except Exception as error:
            log.warning("could not read stored response %s (%s)", response_id, type(error).__name__)
            raise ApiError(503, "Stored responses cannot be read right now (the shared store is "
                                "unavailable); try again shortly, or send the whole conversation "
                                "without previous_response_id.", code="store_unavailable") from None
        document = orjson.loads(data) if data else None
        return document if document and document["key"] == key else None

    def forget(self, key, response_id):
        """Whether `key`'s response was there to delete."""
        if self.find(key, response_id) is None:
            return False
        return self.store.forget_document(response_id)
