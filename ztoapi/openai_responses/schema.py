"""The request schema of POST /v1/responses, as OpenAI defines and checks it.

The top-level fields are typed here; `input` items and `tools` are read (and their problems named
by index) in translate.py, since their shape depends on their `type`. Fields this server does not
use are accepted and ignored, as OpenAI's own fields it does not need."""
from marshmallow import EXCLUDE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import validates

from ztoapi.validation import Array
from ztoapi.validation import Boolean
from ztoapi.validation import Decimal
from ztoapi.validation import Integer
from ztoapi.validation import Object
from ztoapi.validation import String
from ztoapi.validation import Typed
from ztoapi.validation import at_most
from ztoapi.validation import between
from ztoapi.validation import one_of
from ztoapi.validation import problem

MAX_INPUT_ITEMS = 4096    # OpenAI documents none; a long agent session stays far below
MAX_TOOLS = 128
MAX_METADATA = 16         # API reference, `metadata`: "up to 16 key-value pairs"
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


class Reasoning(Schema):
    class Meta:
        unknown = EXCLUDE

    effort = String(allow_none=True, validate=one_of(EFFORTS))
    summary = String(allow_none=True, validate=one_of(("auto", "concise", "detailed")))


class ResponsesRequest(Schema):
    class Meta:
        unknown = EXCLUDE

    model = String(required=True, allow_none=False)
    input = Typed((str, list), "one of a string or array of input items")
    instructions = String(allow_none=True)
    tools = Array(allow_none=True)
    tool_choice = Typed((str, dict), "one of a string or object", allow_none=True)
    parallel_tool_calls = Boolean(allow_none=True)
    text = Object(allow_none=True)
    reasoning = Typed((dict,), "an object", allow_none=True)
    max_output_tokens = Integer(allow_none=True, validate=between(16, 10**7, "integer"))
    temperature = Decimal(allow_none=True, validate=between(0, 2))
    top_p = Decimal(allow_none=True, validate=between(0, 1))
    metadata = Object(allow_none=True)
    store = Boolean(allow_none=True)
    previous_response_id = String(allow_none=True)
    include = Array(allow_none=True)
    stream = Boolean(allow_none=True)
    stream_options = Object(allow_none=True)
    background = Boolean(allow_none=True)
    truncation = String(allow_none=True, validate=one_of(("auto", "disabled")))
    user = String(allow_none=True)

    @validates("input")
    def bounded_input(self, value, **kwargs):
        if isinstance(value, list):
            at_most(value, MAX_INPUT_ITEMS)

    @validates("tools")
    def bounded_tools(self, value, **kwargs):
        if value:
            at_most(value, MAX_TOOLS)

    @validates("reasoning")
    def known_effort(self, value, **kwargs):
        if value:
            errors = Reasoning().validate(value)
            if errors:
                raise ValidationError(errors)

    @validates("metadata")
    def small_metadata(self, value, **kwargs):
        if value and len(value) > MAX_METADATA:
            raise ValidationError(problem(
                "object_above_max_length", f"Invalid '<param>': too many properties. Expected an "
                                           f"object with at most {MAX_METADATA} properties, but got "
                                           f"{len(value)} instead."))

    @validates("background")
    def foreground_only(self, value, **kwargs):
        if value:
            raise ValidationError(problem(
                "unsupported_value", "Background responses are not supported by this server: leave "
                                     "'<param>' out (or false) and read the answer as it is made."))
