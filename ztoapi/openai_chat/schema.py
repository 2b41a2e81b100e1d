"""The request schema of POST /v1/chat/completions, as OpenAI defines and checks it."""
import orjson
from marshmallow import EXCLUDE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validates_schema

from ztoapi.validation import Array
from ztoapi.validation import Boolean
from ztoapi.validation import Decimal
from ztoapi.validation import Integer
from ztoapi.validation import Items
from ztoapi.validation import MAX_IMAGES
from ztoapi.validation import MAX_PARTS
from ztoapi.validation import OBJECT_EXPECTED
from ztoapi.validation import Object
from ztoapi.validation import REQUIRED
from ztoapi.validation import String
from ztoapi.validation import Typed
from ztoapi.validation import at_most
from ztoapi.validation import between
from ztoapi.validation import block_type
from ztoapi.validation import count_parts
from ztoapi.validation import each_item
from ztoapi.validation import function_name
from ztoapi.validation import non_empty_array
from ztoapi.validation import not_a_string
from ztoapi.validation import one_of
from ztoapi.validation import problem
from ztoapi.validation import supported
from ztoapi.validation import type_name

ROLES = ("system", "assistant", "user", "function", "tool", "developer")
MAX_MESSAGES = 2048      # Azure OpenAI's 400 "'$.messages' is too long. Maximum length is 2048" (OpenAI's
                         # reference gives no number)
MAX_TOOLS = 128          # API reference, `tools`: "A max of 128 functions are supported."
MAX_TOOL_CALLS = 128     # OpenAI's 400 "Invalid 'messages[2].tool_calls': array too long. Expected ... 128"
MAX_STOP = 4             # API reference, `stop`: "Up to 4 sequences"
IMAGE_DETAILS = ("auto", "low", "high")


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
