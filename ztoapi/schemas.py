"""Request schemas for the OpenAI endpoints, and how their failures read to clients.

Leaf error messages are written as "<code>|<message>", where the message may name the failing
field as <param>; `load_or_400` turns the first one into an OpenAI-shaped ApiError.
"""
import orjson
from marshmallow import EXCLUDE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validates_schema

from ztoapi.errors import ApiError

ROLES = ("system", "assistant", "user", "function", "tool", "developer")
TYPE_NAMES = ((bool, "a boolean"), (int, "an integer"), (float, "a decimal"), (str, "a string"),
              (list, "an array"), (dict, "an object"), (type(None), "null"))
JSON_ERROR = ("We could not parse the JSON body of your request. (HINT: This likely means you "
              "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
              "but what was sent was not valid JSON.)")


def problem(code, message):
    return f"{code or ''}|{message}"


def type_name(value):
    return next(name for kind, name in TYPE_NAMES if isinstance(value, kind))


OBJECT_EXPECTED = {"type": problem(
    "invalid_type", "Invalid type for '<param>': expected an object, but got something else instead.")}
REQUIRED = problem("missing_required_parameter", "Missing required parameter: '<param>'.")


class Typed(fields.Field):
    """A field that accepts only JSON values of the given kinds, never coercing."""

    def __init__(self, kinds, expected, **kwargs):
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)
        self.kinds = kinds
        self.expected = expected
        self.error_messages["required"] = REQUIRED
        self.error_messages["null"] = problem(
            "invalid_type", f"Invalid type for '<param>': expected {expected}, but got null instead.")

    def _deserialize(self, value, attr, data, **kwargs):
        is_bool = isinstance(value, bool)
        if not isinstance(value, self.kinds) or (is_bool and bool not in self.kinds):
            raise ValidationError(problem(
                "invalid_type",
                f"Invalid type for '<param>': expected {self.expected}, but got {type_name(value)} instead."))
        return value


def Decimal(**kwargs):
    return Typed((int, float), "a decimal", **kwargs)


def Integer(**kwargs):
    return Typed((int,), "an integer", **kwargs)


def Boolean(**kwargs):
    return Typed((bool,), "a boolean", **kwargs)


def String(**kwargs):
    return Typed((str,), "a string", **kwargs)


def Object(**kwargs):
    return Typed((dict,), "an object", **kwargs)


def Array(**kwargs):
    return Typed((list,), "an array", **kwargs)


def between(low, high, kind="decimal"):
    """A validator with OpenAI's messages for numbers out of range."""
    def validate(value):
        if value is None:
            return
        if value > high:
            raise ValidationError(problem(
                f"{kind}_above_max_value",
                f"Invalid '<param>': {kind} above maximum value. Expected a value <= {high}, "
                f"but got {value} instead."))
        if value < low:
            raise ValidationError(problem(
                f"{kind}_below_min_value",
                f"Invalid '<param>': {kind} below minimum value. Expected a value >= {low}, "
                f"but got {value} instead."))
    return validate


def one_of(choices):
    def validate(value):
        if value is not None and value not in choices:
            supported = ", ".join(f"'{choice}'" for choice in choices)
            raise ValidationError(problem(
                "invalid_value", f"Invalid value: '{value}'. Supported values are: {supported}."))
    return validate


def function_name(value):
    if not value or len(value) > 64 or not all(c.isalnum() or c in "_-" for c in value):
        raise ValidationError(problem(
            "invalid_value", f"Invalid '<param>': '{value}'. Expected a string of 1 to 64 letters, "
                             "digits, underscores or dashes."))


def non_empty_array(value):
    if value == []:
        raise ValidationError(problem(
            "empty_array", "Invalid '<param>': empty array. Expected an array with minimum length 1, "
                           "but got an empty array instead."))


def each_item(values, check):
    """check(item) for each item; the errors gathered under each item's index."""
    results, errors = [], {}
    for index, item in enumerate(values):
        try:
            results.append(check(item))
        except ValidationError as error:
            errors[index] = error.messages
    if errors:
        raise ValidationError(errors)
    return results


def block_type(block, kinds):
    """The `type` of a content part or block, which must be an object of one of `kinds`."""
    if not isinstance(block, dict):
        raise ValidationError(problem(
            "invalid_type", f"Invalid type for '<param>': expected an object, but got "
                            f"{type_name(block)} instead."))
    kind = block.get("type")
    if kind is None:
        raise ValidationError({"type": [REQUIRED]})
    if kind not in kinds:
        raise ValidationError({"type": [problem(
            "invalid_value", f"Invalid value: '{kind}'. Supported values are: {supported(kinds)}.")]})
    return kind


def supported(values):
    return ", ".join(f"'{value}'" for value in values)


class Content(fields.Field):
    """Message content: a string, null, or a non-empty array of typed parts."""

    PART_TYPES = ("text", "image_url", "input_audio", "file", "refusal")

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None or isinstance(value, str):
            return value
        if not isinstance(value, list):
            raise ValidationError(problem(
                "invalid_type", "Invalid type for '<param>': expected one of a string or array of "
                                f"objects, but got {type_name(value)} instead."))
        non_empty_array(value)
        each_item(value, self._check_part)
        return value

    def _check_part(self, part):
        kind = block_type(part, self.PART_TYPES)
        if kind in ("text", "refusal") and not isinstance(part.get(kind), str):
            raise ValidationError({kind: [problem(
                "invalid_type", f"Invalid type for '<param>': expected a string, but got "
                                f"{type_name(part.get(kind))} instead.")]})
        if kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str) or not url:
                raise ValidationError({"image_url": [problem(
                    "invalid_type", "Invalid type for '<param>': expected an object with a "
                                    "string 'url'.")]})


class FunctionCall(Schema):
    error_messages = OBJECT_EXPECTED

    class Meta:
        unknown = EXCLUDE

    name = String(required=True, allow_none=False)
    arguments = String(required=True, allow_none=False)


class ToolCall(Schema):
    error_messages = OBJECT_EXPECTED

    class Meta:
        unknown = EXCLUDE

    id = String(required=True, allow_none=False)
    type = String(load_default="function", validate=one_of(("function",)))
    function = fields.Nested(FunctionCall, required=True, error_messages={"required": REQUIRED})


class Message(Schema):
    error_messages = OBJECT_EXPECTED

    class Meta:
        unknown = EXCLUDE

    role = String(required=True, allow_none=False, validate=one_of(ROLES))
    content = Content(load_default=None)
    name = String()
    tool_calls = fields.List(fields.Nested(ToolCall), allow_none=True, error_messages={
        "invalid": problem("invalid_type", "Invalid type for '<param>': expected an array.")})
    tool_call_id = String()

    @validates_schema
    def check_content(self, data, **kwargs):
        if data["role"] == "assistant" and data.get("tool_calls"):
            return
        if data.get("content") is None and data["role"] != "assistant":
            raise ValidationError(problem(
                "missing_required_parameter", "Missing required parameter: '<param>'."), "content")
        if data["role"] == "tool" and not data.get("tool_call_id"):
            raise ValidationError(problem(
                "missing_required_parameter", "Missing required parameter: '<param>'."),
                "tool_call_id")


class Thinking(Schema):
    error_messages = OBJECT_EXPECTED

    class Meta:
        unknown = EXCLUDE

    type = String(validate=one_of(("enabled", "disabled")))


class Function(Schema):
    error_messages = OBJECT_EXPECTED

    class Meta:
        unknown = EXCLUDE

    name = String(required=True, allow_none=False, validate=function_name)
    description = String()
    parameters = Object()
    strict = Boolean()


class Tool(Schema):
    error_messages = OBJECT_EXPECTED

    class Meta:
        unknown = EXCLUDE

    type = String(required=True, allow_none=False, validate=one_of(("function",)))
    function = fields.Nested(Function, required=True, error_messages={"required": REQUIRED})


class StreamOptions(Schema):
    error_messages = OBJECT_EXPECTED

    class Meta:
        unknown = EXCLUDE

    include_usage = Boolean()
    include_obfuscation = Boolean()


class ChatCompletionRequest(Schema):
    """POST /v1/chat/completions. Unknown top-level fields are ignored, known ones are strict."""

    class Meta:
        unknown = EXCLUDE

    model = String(required=True, allow_none=False)
    messages = fields.List(fields.Nested(Message), required=True, validate=non_empty_array,
                           error_messages={"required": REQUIRED, "null": REQUIRED, "invalid": problem(
                               "invalid_type", "Invalid type for '<param>': expected an array of "
                                               "objects.")})
    stream = Boolean()
    stream_options = fields.Nested(StreamOptions, allow_none=True)
    temperature = Decimal(validate=between(0, 2))
    top_p = Decimal(validate=between(0, 1))
    presence_penalty = Decimal(validate=between(-2, 2))
    frequency_penalty = Decimal(validate=between(-2, 2))
    n = Integer(validate=between(1, 128, "integer"))
    max_tokens = Integer(validate=between(1, 10**7, "integer"))
    max_completion_tokens = Integer(validate=between(1, 10**7, "integer"))
    stop = Typed((str, list), "one of a string or array of strings")
    seed = Integer()
    logit_bias = Object()
    logprobs = Boolean()
    top_logprobs = Integer(validate=between(0, 20, "integer"))
    tools = fields.List(fields.Nested(Tool), allow_none=True, validate=non_empty_array,
                        error_messages={"invalid": problem(
                            "invalid_type", "Invalid type for '<param>': expected an array.")})
    tool_choice = Typed((str, dict), "one of a string or object")
    parallel_tool_calls = Boolean()
    response_format = Object()
    user = String()
    reasoning_effort = String(validate=one_of(
        ("none", "minimal", "low", "medium", "high", "xhigh", "max")))
    enable_thinking = Boolean()
    thinking = fields.Nested(Thinking, allow_none=True)
    web_search = Boolean()
    modalities = Array()
    audio = Object()
    prediction = Object()
    functions = Array()
    function_call = Typed((str, dict), "one of a string or object")

    @validates_schema
    def check_unsupported(self, data, **kwargs):
        for name in ("audio", "prediction", "functions", "function_call"):
            if data.get(name) is not None:
                raise ValidationError(problem(
                    "unsupported_parameter", f"Unsupported parameter: '{name}' is not supported "
                                             "with this model."), name)
        if any(mode != "text" for mode in data.get("modalities") or []):
            raise ValidationError(problem(
                "unsupported_value", "Unsupported value: 'modalities' supports only ['text'] "
                                     "with this model."), "modalities")
        response_format = data.get("response_format")
        kind = response_format.get("type") if response_format else None
        if response_format is not None and kind not in ("text", "json_object", "json_schema"):
            raise ValidationError(problem(
                "invalid_value", f"Invalid value: '{kind}'. Supported values are: 'text', "
                                 "'json_object' and 'json_schema'."), "response_format.type")
        if kind == "json_schema" and not isinstance(
                (response_format.get("json_schema") or {}).get("schema"), dict):
            raise ValidationError(problem(
                "missing_required_parameter", "Missing required parameter: '<param>'."),
                "response_format.json_schema.schema")
        if kind == "json_object" and "json" not in orjson.dumps(data["messages"]).decode().lower():
            raise ValidationError(problem(
                None, "'messages' must contain the word 'json' in some form, to use "
                      "'response_format' of type 'json_object'."), "messages")

    @validates_schema
    def check_combinations(self, data, **kwargs):
        if data.get("n") not in (None, 1):
            raise ValidationError(problem(
                "unsupported_value", "Unsupported value: 'n' does not support "
                                     f"{data['n']} with this model. Only the default (1) value is supported."), "n")
        stop = data.get("stop")
        if isinstance(stop, list) and (len(stop) > 4 or not all(isinstance(s, str) for s in stop)):
            raise ValidationError(problem(
                "invalid_value", "Invalid '<param>': expected at most 4 strings."), "stop")
        if data.get("logprobs"):
            raise ValidationError(problem(
                "unsupported_parameter", "Unsupported parameter: 'logprobs' is not supported "
                                         "with this model."), "logprobs")
        if data.get("top_logprobs") is not None:
            raise ValidationError(problem(
                None, "Invalid value for '<param>': 'top_logprobs' is only allowed when "
                      "'logprobs' is true."), "top_logprobs")
        choice = data.get("tool_choice")
        if choice is not None and not data.get("tools"):
            raise ValidationError(problem(
                None, "Invalid value for '<param>': 'tool_choice' is only allowed when 'tools' "
                      "are specified."), "tool_choice")
        if isinstance(choice, str) and choice not in ("none", "auto", "required"):
            raise ValidationError(problem(
                "invalid_value", f"Invalid value: '{choice}'. Supported values are: 'none', "
                                 "'auto' and 'required'."), "tool_choice")
        if isinstance(choice, dict):
            name = (choice.get("function") or {}).get("name") if isinstance(choice.get("function"), dict) else None
            if name not in [tool["function"]["name"] for tool in data["tools"]]:
                raise ValidationError(problem(
                    "invalid_value", f"Invalid value for '<param>': no tool named '{name}' is in "
                                     "'tools'."), "tool_choice")
        max_tokens, max_completion = data.get("max_tokens"), data.get("max_completion_tokens")
        if None not in (max_tokens, max_completion) and max_tokens != max_completion:
            raise ValidationError(problem(
                None, "Setting 'max_tokens' and 'max_completion_tokens' at the same time is "
                      "not supported."), "max_tokens")


def load_or_400(schema, body):
    """Validate `body` with `schema`; the first problem becomes a 400 ApiError."""
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid type for request body: expected an object, but got "
                            f"{type_name(body)} instead.", code="invalid_type")
    try:
        return schema.load(body)
    except ValidationError as error:
        path, leaf = _first_problem(error.messages)
        raise _as_api_error(path, leaf) from None


def _first_problem(messages, path=()):
    if isinstance(messages, dict):
        key = next(iter(messages))
        return _first_problem(messages[key], path if key == "_schema" else path + (key,))
    if isinstance(messages, list):
        return _first_problem(messages[0], path)
    return path, messages


def _as_api_error(path, leaf):
    param = ""
    for key in path:
        param += f"[{key}]" if isinstance(key, int) else (f".{key}" if param else key)
    code, _, message = leaf.partition("|") if "|" in leaf else ("", "", leaf)
    if not message:
        message = leaf
    return ApiError(400, message.replace("<param>", param), code=code or None, param=param or None)
