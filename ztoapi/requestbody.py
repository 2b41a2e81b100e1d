"""Reading a request's JSON body within MAX_REQUEST_BYTES, also when it is chunked."""
import orjson
from flask import current_app
from flask import request
from werkzeug.exceptions import HTTPException

from ztoapi.errors import ApiError
from ztoapi.validation import JSON_ERROR


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
