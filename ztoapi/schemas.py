"""Request schemas for the OpenAI endpoints, and how their failures read to clients.

Leaf error messages are written as "<code>|<message>", where the message may name the failing
field as <param>; `load_or_400` turns the first one into an OpenAI-shaped ApiError. A problem may
also carry the words Anthropic uses for it, naming the field as <path> (`messages.0.content`).
"""
import functools
import re
import time

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
# Limits of POST /v1/chat/completions, as OpenAI sets them:
MAX_MESSAGES = 2048      # Azure OpenAI's 400 "'$.messages' is too long. Maximum length is 2048" (OpenAI's
                         # reference gives no number)
MAX_TOOLS = 128          # API reference, `tools`: "A max of 128 functions are supported."
MAX_TOOL_CALLS = 128     # OpenAI's 400 "Invalid 'messages[2].tool_calls': array too long. Expected ... 128"
MAX_STOP = 4             # API reference, `stop`: "Up to 4 sequences"
MAX_NAME = 64            # API reference, function `name`: "a maximum length of 64"
MAX_IMAGES = 500         # vision guide: "Up to 500 individual images per request"
# ...and where OpenAI documents none, limits no real client reaches:
MAX_PARTS = 2048         # content parts of one message (500 images and their captions fit twice)
MAX_DEPTH = 64           # nesting of free-form JSON (schemas, tool inputs); orjson refuses past 254
SLICE = 0.002            # seconds one request may compute on the event loop before others run
PAUSE = 0.0001           # seconds it then pauses for (see breathe)
IMAGE_DETAILS = ("auto", "low", "high")
NAME = re.compile(r"[A-Za-z0-9_-]+")


class Problem(str):
    """A leaf error message, with the same problem as Anthropic words it (or None)."""

    anthropic = None


def problem(code, message, anthropic=None):
    text = Problem(f"{code or ''}|{message}")
    text.anthropic = anthropic
    return text


def type_name(value):
    return next(name for kind, name in TYPE_NAMES if isinstance(value, kind))


OBJECT_EXPECTED = {"type": problem(
    "invalid_type", "Invalid type for '<param>': expected an object, but got something else instead.")}
REQUIRED = problem("missing_required_parameter", "Missing required parameter: '<param>'.")


@functools.cache
def cooperative():
    """True in a gevent worker, where one greenlet computing holds up every other request."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")


_slice_start = 0.0


def breathe():
    """Let other requests run when this one has computed for SLICE without a pause (gevent only).

    Long loops over what a client sent (items, nesting, stop sequences) call it as they go, so
    that no single request holds the event loop for more than a few milliseconds at a time. The
    pause is PAUSE, not 0: gevent.sleep(0) may resume this greenlet before the loop polls any
    socket, and a client waiting for /healthz or its next chunk would keep waiting."""
    global _slice_start
    now = time.perf_counter()
    if now - _slice_start < SLICE:
        return
    if cooperative():
        import gevent
        gevent.sleep(PAUSE)
    _slice_start = time.perf_counter()


def too_deep(value, limit=MAX_DEPTH):
    """True when arrays and objects in `value` nest more than `limit` levels (checked without
    recursion, so that no depth can exhaust the stack)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, (dict, list)):
                pending.append((child, depth + 1))
        breathe()
    return False


def at_most(values, most):
    """A 400 for an array longer than `most`, before any of its items is read."""
    if len(values) > most:
        raise ValidationError(problem(
            "array_above_max_length",
            f"Invalid '<param>': array too long. Expected an array with maximum length {most}, "
            f"but got an array with length {len(values)} instead.",
            f"<path>: List should have at most {most} items after validation, not {len(values)}"))


class Typed(fields.Field):
    """A field that accepts only JSON values of the given kinds, never coercing (but a whole
    number written 1.0 is an integer, as JSON Schema has it). Arrays and objects may nest at most
    MAX_DEPTH levels."""

    def __init__(self, kinds, expected, **kwargs):
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)
        self.kinds = kinds
        self.expected = expected
        self.error_messages["required"] = REQUIRED
        self.error_messages["null"] = problem(
            "invalid_type", f"Invalid type for '<param>': expected {expected}, but got null instead.")

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float) and float not in self.kinds and int in self.kinds and value.is_integer():
            return int(value)
        is_bool = isinstance(value, bool)
        if not isinstance(value, self.kinds) or (is_bool and bool not in self.kinds):
            raise ValidationError(problem(
                "invalid_type",
                f"Invalid type for '<param>': expected {self.expected}, but got {type_name(value)} instead."))
        if isinstance(value, (dict, list)) and too_deep(value):
            raise ValidationError(problem(
                "invalid_value", f"Invalid '<param>': nested too deeply (more than {MAX_DEPTH} levels).",
                f"<path>: nested too deeply (more than {MAX_DEPTH} levels)"))
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
    """1 to 64 ASCII letters, digits, underscores or dashes, as both APIs require."""
    pattern = f"^[a-zA-Z0-9_-]{{1,{MAX_NAME}}}$"
    if len(value) > MAX_NAME:
        raise ValidationError(problem(
            "string_above_max_length",
            f"Invalid '<param>': string too long. Expected a string with maximum length {MAX_NAME}, "
            f"but got a string with length {len(value)} instead.",
            f"<path>: String should match pattern '{pattern}'"))
    if not NAME.fullmatch(value):
        raise ValidationError(problem(
            "invalid_value", f"Invalid '<param>': '{value}'. Expected a string of 1 to {MAX_NAME} "
                             "letters, digits, underscores or dashes.",
            f"<path>: String should match pattern '{pattern}'"))


def non_empty_array(value):
    if value == []:
        raise ValidationError(problem(
            "empty_array", "Invalid '<param>': empty array. Expected an array with minimum length 1, "
                           "but got an empty array instead."))


def each_item(values, check):
    """[check(item) for each item]; the first problem is raised under its item's index."""
    results = []
    for index, item in enumerate(values):
        breathe()
        try:
            results.append(check(item))
        except ValidationError as error:
            raise ValidationError({index: error.messages}) from None
    return results


class Items(fields.List):
    """An array of at most `most` items, each loaded by `inner`: a longer one is refused before
    any item is read, and the first bad item is the one reported."""

    def __init__(self, inner, most, **kwargs):
        super().__init__(inner, **kwargs)
        self.most = most

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise self.make_error("invalid")
        at_most(value, self.most)
        return each_item(value, lambda item: self.inner.deserialize(item, **kwargs))


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


def not_a_string(name, value):
    return ValidationError({name: [problem(
        "invalid_type", f"Invalid type for '<param>': expected a string, but got {type_name(value)} "
                        "instead.")]})


class Content(fields.Field):
    """Message content: a string, null, or a non-empty array of typed parts. A part keeps only
    the keys the gateway reads, each checked; anything else in it is dropped, never forwarded."""

    PART_TYPES = ("text", "image_url", "input_audio", "file", "refusal")
    AUDIO_KEYS = ("data", "format")                    # both required
    FILE_KEYS = ("file_data", "file_id", "filename")   # each optional

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None or isinstance(value, str):
            return value
        if not isinstance(value, list):
            raise ValidationError(problem(
                "invalid_type", "Invalid type for '<param>': expected one of a string or array of "
                                f"objects, but got {type_name(value)} instead."))
        non_empty_array(value)
        at_most(value, MAX_PARTS)
        return each_item(value, self._part)

    def _part(self, part):
        kind = block_type(part, self.PART_TYPES)
        if kind in ("text", "refusal"):
            if not isinstance(part.get(kind), str):
                raise not_a_string(kind, part.get(kind))
            return {"type": kind, kind: part[kind]}
        if kind == "image_url":
            return {"type": kind, "image_url": self._image(part.get("image_url"))}
        inner = part.get(kind)
        if not isinstance(inner, dict):
            raise ValidationError({kind: [problem(
                "invalid_type", f"Invalid type for '<param>': expected an object, but got "
                                f"{type_name(inner)} instead.")]})
        if kind == "input_audio":
            for name in self.AUDIO_KEYS:
                if not isinstance(inner.get(name), str):
                    raise ValidationError({kind: not_a_string(name, inner.get(name)).messages})
            return {"type": kind, kind: {name: inner[name] for name in self.AUDIO_KEYS}}
        for name in self.FILE_KEYS:
            if inner.get(name) is not None and not isinstance(inner[name], str):
                raise ValidationError({kind: not_a_string(name, inner[name]).messages})
        return {"type": kind, kind: {name: inner[name] for name in self.FILE_KEYS if inner.get(name) is not None}}

    @staticmethod
    def _image(image):
        """{"url", "detail"} from an image_url object, or from a bare URL string."""
        url = image.get("url") if isinstance(image, dict) else image
        if not isinstance(url, str) or not url:
            raise ValidationError({"image_url": [problem(
                "invalid_type", "Invalid type for '<param>': expected an object with a "
                                "string 'url'.")]})
        detail = image.get("detail") if isinstance(image, dict) else None
        if detail is not None and detail not in IMAGE_DETAILS:
            raise ValidationError({"image_url": {"detail": [problem(
                "invalid_value", f"Invalid value: '{detail}'. Supported values are: "
                                 f"{supported(IMAGE_DETAILS)}.")]}})
        return {"url": url, "detail": detail} if detail else {"url": url}


def count_parts(messages, kind):
    """How many content parts (or blocks) of type `kind` validated messages hold."""
    count = 0
    for message in messages:
        breathe()
        if isinstance(message.get("content"), list):
            count += sum(1 for part in message["content"] if part["type"] == kind)
    return count


def stop_strings(value):
    """`stop`: a string, or at most MAX_STOP strings."""
    if isinstance(value, list):
        at_most(value, MAX_STOP)
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise ValidationError({index: [problem(
                    "invalid_type", f"Invalid type for '<param>': expected a string, but got "
                                    f"{type_name(item)} instead.")]})


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
    tool_calls = Items(fields.Nested(ToolCall), MAX_TOOL_CALLS, allow_none=True, error_messages={
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


def unsupported(name):
    return ValidationError(problem(
        "unsupported_parameter", f"Unsupported parameter: '{name}' is not supported with this model."), name)


class ChatCompletionRequest(Schema):
    """POST /v1/chat/completions. Unknown top-level fields are ignored, known ones are strict."""

    class Meta:
        unknown = EXCLUDE

    model = String(required=True, allow_none=False)
    messages = Items(fields.Nested(Message), MAX_MESSAGES, required=True, validate=non_empty_array,
                     error_messages={"required": REQUIRED, "null": REQUIRED, "invalid": problem(
                         "invalid_type", "Invalid type for '<param>': expected an array of objects.")})
    stream = Boolean()
    stream_options = fields.Nested(StreamOptions, allow_none=True)
    temperature = Decimal(validate=between(0, 2))
    top_p = Decimal(validate=between(0, 1))
    presence_penalty = Decimal(validate=between(-2, 2))
    frequency_penalty = Decimal(validate=between(-2, 2))
    n = Integer(validate=between(1, 128, "integer"))
    max_tokens = Integer(validate=between(1, 10**7, "integer"))
    max_completion_tokens = Integer(validate=between(1, 10**7, "integer"))
    stop = Typed((str, list), "one of a string or array of strings", validate=stop_strings)
    seed = Integer()
    logit_bias = Object()
    logprobs = Boolean()
    top_logprobs = Integer(validate=between(0, 20, "integer"))
    tools = Items(fields.Nested(Tool), MAX_TOOLS, allow_none=True, validate=non_empty_array,
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
                raise unsupported(name)
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
        json_schema = response_format.get("json_schema") if kind == "json_schema" else None
        schema = json_schema.get("schema") if isinstance(json_schema, dict) else None
        if kind == "json_schema" and not isinstance(schema, dict):
            raise ValidationError(problem(
                "missing_required_parameter", "Missing required parameter: '<param>'."),
                "response_format.json_schema.schema")
        if kind == "json_object" and b"json" not in orjson.dumps(data["messages"]).lower():
            raise ValidationError(problem(
                None, "'messages' must contain the word 'json' in some form, to use "
                      "'response_format' of type 'json_object'."), "messages")
        images = count_parts(data["messages"], "image_url")
        if images > MAX_IMAGES:
            raise ValidationError(problem(
                "too_many_images", f"Invalid 'messages': too many images. Expected at most {MAX_IMAGES} "
                                   f"images in a request, but got {images} instead."), "messages")

    @validates_schema
    def check_combinations(self, data, **kwargs):
        if data.get("n") not in (None, 1):
            raise ValidationError(problem(
                "unsupported_value", "Unsupported value: 'n' does not support "
                                     f"{data['n']} with this model. Only the default (1) value is supported."), "n")
        if data.get("logprobs"):
            raise unsupported("logprobs")
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
    """Validate `body` with `schema`; the first problem becomes a 400 ApiError, in Anthropic's
    words when the schema says so (`anthropic_words`)."""
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid type for request body: expected an object, but got "
                            f"{type_name(body)} instead.", code="invalid_type")
    try:
        return schema.load(body)
    except ValidationError as error:
        path, leaf = _first_problem(error.messages)
        raise _as_api_error(path, leaf, getattr(schema, "anthropic_words", False)) from None


def _first_problem(messages, path=()):
    if isinstance(messages, dict):
        key = next(iter(messages))
        return _first_problem(messages[key], path if key == "_schema" else path + (key,))
    if isinstance(messages, list):
        return _first_problem(messages[0], path)
    return path, messages


def _as_api_error(path, leaf, anthropic=False):
    param = ""
    for key in path:
        param += f"[{key}]" if isinstance(key, int) else (f".{key}" if param else key)
    if anthropic and getattr(leaf, "anthropic", None):
        return ApiError(400, leaf.anthropic.replace("<path>", ".".join(str(key) for key in path)))
    code, _, message = leaf.partition("|") if "|" in leaf else ("", "", leaf)
    if not message:
        message = leaf
    return ApiError(400, message.replace("<param>", param), code=code or None, param=param or None)
