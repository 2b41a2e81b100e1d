"""Anthropic's error wording: ApiError in Anthropic's envelope {"type": "error", "error": {"type",
"message"}} (same status), and request problems worded as Anthropic words them: `<path>: <what>`,
the path dotted (`messages.0.content.1`), as its validation errors read."""
import re

from marshmallow import ValidationError

from ztoapi.errors import ApiError
from ztoapi.validation import load_or_400

TYPES_BY_STATUS = {400: "invalid_request_error", 401: "authentication_error",
                   403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                   429: "rate_limit_error", 529: "overloaded_error"}
MISSING_KEY = "x-api-key header is required (or Authorization: Bearer <key>)."
THREAD_UNSUPPORTED = "thread_unsupported_request"
ROLES = '"user", "assistant" or "system"'
EXPECTED = re.compile(r"expected (.+?)(?:, but got .*)?\.$")
SUPPORTED = re.compile(r"Supported values are: (.+)\.$")
VALUE = re.compile(r"^Invalid value: '(.*?)'\. Supported values are")
BOUND = re.compile(r"Expected a value ([<>]=) (\S+), but")
BOUND_WORDS = {"<=": "less than", ">=": "greater than"}
PARAM_PREFIX = re.compile(r"^Invalid (?:type for |value for )?'<param>': ")


def error_type(status):
    return TYPES_BY_STATUS.get(status) or ("api_error" if status >= 500 else "invalid_request_error")


def error_body(error):
    body = {"type": "error", "error": {"type": error_type(error.status), "message": error.message}}
    if error.code == THREAD_UNSUPPORTED:
        body["error"]["details"] = {"error_code": THREAD_UNSUPPORTED, "unsupported": [error.param]}
    return body


def thread_unsupported():
    """The answer to any request carrying `thread`: ZtoApi keeps no server-side threads.

    Anthropic's API gives this error (400, `error.details.error_code` "thread_unsupported_request")
    when a request combines `thread` with something threads do not support. The anthropic SDKs'
    tool runners (`unsupported_request_behavior="continue_unthreaded"`, their default) then send
    the same turn again without `thread`, and every later turn with the whole history; SDK 2.14.0
    decides from `error.details` alone (lib/threads/_thread_state.py, `recovers_from`). A 404
    `thread_not_found` would instead make them replay under a new thread, which ZtoApi could not
    continue either."""
    return ApiError(400, "thread: ZtoApi keeps no server-side threads. Send the full conversation "
                         "without `thread`.", code=THREAD_UNSUPPORTED, param="thread")


def load(schema, body):
    """The body loaded by `schema`; its first problem a 400 in Anthropic's words."""
    if not isinstance(body, dict):
        return load_or_400(schema, body)
    try:
        return schema.load(body)
    except ValidationError as error:
        path, leaf = first_problem(error.messages)
        dotted = ".".join(str(key) for key in path)
        anthropic = getattr(leaf, "anthropic", None)   # a limit, already in Anthropic's words
        if anthropic:
            message = anthropic.replace("<path>", dotted)
        else:
            message = f"{dotted}: {words(leaf, path)}" if dotted else words(leaf, path)
        raise ApiError(400, message, param=dotted or None) from None


def first_problem(messages, path=()):
    if isinstance(messages, dict):
        key = next(iter(messages))
        return first_problem(messages[key], path if key == "_schema" else path + (key,))
    if isinstance(messages, list):
        return first_problem(messages[0], path)
    return path, messages


def words(leaf, path):
    """What is wrong, as Anthropic says it (the dotted path comes before it)."""
    code, _, message = leaf.partition("|") if "|" in leaf else ("", "", leaf)
    if code == "missing_required_parameter":
        return "Field required"
    if code == "invalid_value" and path[-1:] == ("role",) and len(path) == 3 and VALUE.search(message):
        return f'Unexpected role "{VALUE.search(message).group(1)}". Allowed roles are {ROLES}.'
    if code == "invalid_type" and EXPECTED.search(message):
        return f"Input should be {EXPECTED.search(message).group(1)}"
    if code == "invalid_value" and VALUE.search(message) and path[-1:] == ("type",):
        return (f"Input tag '{VALUE.search(message).group(1)}' found using 'type' does not match any "
                f"of the expected tags: {SUPPORTED.search(message).group(1)}")
    if code == "invalid_value" and SUPPORTED.search(message):
        choices = SUPPORTED.search(message).group(1).split(", ")
        return "Input should be " + (" or ".join([", ".join(choices[:-1]), choices[-1]])
                                     if len(choices) > 1 else choices[0])
    if code.endswith(("_above_max_value", "_below_min_value")) and BOUND.search(message):
        sign, value = BOUND.search(message).groups()
        return f"Input should be {BOUND_WORDS[sign]} or equal to {value}"
    if code == "empty_array":
        return "List should have at least 1 item after validation, not 0"
    message = PARAM_PREFIX.sub("", message)
    return message[:1].upper() + message[1:]
