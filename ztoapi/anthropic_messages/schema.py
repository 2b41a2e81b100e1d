"""Request schemas for POST /v1/messages and /v1/messages/count_tokens (problems as in ztoapi.validation)."""
from marshmallow import EXCLUDE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validates_schema

from ztoapi.validation import Boolean
from ztoapi.validation import Decimal
from ztoapi.validation import Integer
from ztoapi.validation import Items
from ztoapi.validation import OBJECT_EXPECTED
from ztoapi.validation import Object
from ztoapi.validation import REQUIRED
from ztoapi.validation import String
from ztoapi.validation import at_most
from ztoapi.validation import between
from ztoapi.validation import block_type
from ztoapi.validation import count_parts
from ztoapi.validation import each_item
from ztoapi.validation import function_name
from ztoapi.validation import non_empty_array
from ztoapi.validation import one_of
from ztoapi.validation import problem
from ztoapi.validation import supported
from ztoapi.validation import type_name

IMAGE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
MIN_THINKING_BUDGET = 1024
MAX_TOKENS = 10**7
ROLE_BLOCKS = {"user": ("text", "image", "tool_result"),
               "assistant": ("text", "tool_use", "thinking", "redacted_thinking"),
               "system": ("text",)}   # instructions at their place in the conversation (Claude Code 2.1)
EFFORTS = ("low", "medium", "high", "xhigh", "max")
# Limits as Anthropic sets them:
MAX_MESSAGES = 100_000   # API reference, `messages`: "There is a limit of 100,000 messages in a single request."
MAX_IMAGES = 100         # vision guide: "100 per request on the API" (200k-context models)
# ...and where Anthropic documents none, limits no real client reaches (Bedrock's Converse API
# takes 2,500 stop sequences, OpenAI 4; tools past 128 do reach Anthropic from MCP-heavy clients):
MAX_STOP_SEQUENCES = 256
MAX_STOP_LENGTH = 256    # characters of one stop sequence
MAX_TOOLS = 1000
MAX_BLOCKS = 2048        # content blocks of one message, of `system` or of one tool result


class Part(Schema):
    error_messages = OBJECT_EXPECTED
    anthropic_words = True   # load_or_400 words a limit as Anthropic does

    class Meta:
        unknown = EXCLUDE


class TextBlock(Part):
    text = String(required=True, allow_none=False)


class ImageSource(Part):
    type = String(required=True, allow_none=False, validate=one_of(("base64", "url")))
    media_type = String(validate=one_of(IMAGE_MEDIA_TYPES))
    data = String()
    url = String()

    @validates_schema
    def check_kind(self, data, **kwargs):
        for name in ("media_type", "data") if data["type"] == "base64" else ("url",):
            if not data.get(name):
                raise ValidationError(REQUIRED, name)


class ImageBlock(Part):
    source = fields.Nested(ImageSource, required=True, error_messages={"required": REQUIRED})


class ToolUseBlock(Part):
    id = String(required=True, allow_none=False)
    name = String(required=True, allow_none=False)
    input = Object(required=True, allow_none=False)


class ThinkingBlock(Part):
    thinking = String(required=True, allow_none=False)
    signature = String()


class RedactedThinkingBlock(Part):
    data = String()


class Blocks(fields.Field):
    """Content: a string, or an array of at most MAX_BLOCKS blocks of the given types, each
    keeping only the keys its schema names."""

    def __init__(self, kinds, allow_empty=False, **kwargs):
        kwargs.setdefault("allow_none", False)
        super().__init__(**kwargs)
        self.kinds = kinds
        self.allow_empty = allow_empty
        self.error_messages["required"] = REQUIRED
        self.error_messages["null"] = problem(
            "invalid_type", "Invalid type for '<param>': expected one of a string or array of "
                            "objects, but got null instead.")

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            return value
        if not isinstance(value, list):
            raise ValidationError(problem(
                "invalid_type", "Invalid type for '<param>': expected one of a string or array of "
                                f"objects, but got {type_name(value)} instead."))
        if not self.allow_empty:
            non_empty_array(value)
        at_most(value, MAX_BLOCKS)
        return each_item(value, self._block)

    def _block(self, block):
        kind = block_type(block, self.kinds)
        return {"type": kind, **BLOCK_SCHEMAS[kind].load(block)}


class ToolResultBlock(Part):
    tool_use_id = String(required=True, allow_none=False)
    content = Blocks(("text",), allow_empty=True)
    is_error = Boolean()


BLOCK_SCHEMAS = {"text": TextBlock(), "image": ImageBlock(), "tool_use": ToolUseBlock(),
                 "tool_result": ToolResultBlock(), "thinking": ThinkingBlock(),
                 "redacted_thinking": RedactedThinkingBlock()}


class Message(Part):
    role = String(required=True, allow_none=False, validate=one_of(tuple(ROLE_BLOCKS)))
    content = Blocks(tuple(BLOCK_SCHEMAS), required=True)

    @validates_schema
    def check_blocks(self, data, **kwargs):
        allowed = ROLE_BLOCKS[data["role"]]
        for index, block in enumerate(data["content"] if isinstance(data["content"], list) else ()):
            if block["type"] not in allowed:
                raise ValidationError({"content": {index: {"type": [problem(
                    "invalid_value", f"Invalid value: '{block['type']}'. Blocks of {data['role']} "
                                     f"messages may be: {supported(allowed)}.")]}}})


class Tool(Part):
    # server tools (web search, bash, text editor…) are Anthropic's own: chat.z.ai cannot run them
    type = String(validate=one_of(("custom",)))
    name = String(required=True, allow_none=False, validate=function_name)
    description = String()
    input_schema = Object(required=True, allow_none=False)


class ToolChoice(Part):
    type = String(required=True, allow_none=False, validate=one_of(("auto", "any", "tool", "none")))
    name = String()
    disable_parallel_tool_use = Boolean()

    @validates_schema
    def check_name(self, data, **kwargs):
        if data["type"] == "tool" and not data.get("name"):
            raise ValidationError(REQUIRED, "name")


class Thinking(Part):
    type = String(required=True, allow_none=False, validate=one_of(("enabled", "adaptive", "disabled")))
    budget_tokens = Integer(validate=between(MIN_THINKING_BUDGET, MAX_TOKENS, "integer"))

    @validates_schema
    def check_budget(self, data, **kwargs):
        if data["type"] == "enabled" and data.get("budget_tokens") is None:
            raise ValidationError(REQUIRED, "budget_tokens")


class OutputFormat(Part):
    type = String(required=True, allow_none=False, validate=one_of(("json_schema",)))
    schema = Object(required=True, allow_none=False)


class OutputConfig(Part):
    """`format`: structured output, emulated as the chat side's response_format json_schema is;
    `effort`: turns thinking on unless `thinking` turns it off."""
    format = fields.Nested(OutputFormat, allow_none=True)
    effort = String(validate=one_of(EFFORTS))


def non_empty_string(value):
    if value == "":
        raise ValidationError(problem("invalid_value", "Invalid '<param>': expected a non-empty string."))


def stop_sequence_length(value):
    if len(value) > MAX_STOP_LENGTH:
        raise ValidationError(problem(
            "string_above_max_length",
            f"Invalid '<param>': string too long. Expected a string with maximum length "
            f"{MAX_STOP_LENGTH}, but got a string with length {len(value)} instead.",
            f"<path>: String should have at most {MAX_STOP_LENGTH} characters"))


class CountTokensRequest(Part):
    """POST /v1/messages/count_tokens: what a message request says before the model answers."""

    model = String(required=True, allow_none=False)
    messages = Items(fields.Nested(Message), MAX_MESSAGES, required=True, validate=non_empty_array,
                     error_messages={"required": REQUIRED, "null": REQUIRED, "invalid": problem(
                         "invalid_type", "Invalid type for '<param>': expected an array of objects.")})
    system = Blocks(("text",), allow_empty=True, allow_none=True)
    tools = Items(fields.Nested(Tool), MAX_TOOLS, allow_none=True, error_messages={"invalid": problem(
        "invalid_type", "Invalid type for '<param>': expected an array.")})
    tool_choice = fields.Nested(ToolChoice, allow_none=True)
    thinking = fields.Nested(Thinking, allow_none=True)
    output_config = fields.Nested(OutputConfig, allow_none=True)

    @validates_schema
    def check_tool_choice(self, data, **kwargs):
        choice = data.get("tool_choice") or {}
        names = [tool["name"] for tool in data.get("tools") or ()]
        if choice.get("type") == "tool" and choice["name"] not in names:
            raise ValidationError(problem(
                "invalid_value", f"Invalid value for '<param>': no tool named '{choice['name']}' is "
                                 "in 'tools'."), "tool_choice.name")
        if len(set(names)) != len(names):
            raise ValidationError(problem(
                "invalid_value", "Invalid '<param>': tool names must be unique."), "tools")

    @validates_schema
    def check_images(self, data, **kwargs):
        images = count_parts(data["messages"], "image")
        if images > MAX_IMAGES:
            raise ValidationError(problem(
                "too_many_images", f"Invalid 'messages': too many images. Expected at most {MAX_IMAGES} "
                                   f"images in a request, but got {images} instead.",
                f"messages: too many images: {images} > {MAX_IMAGES}"), "messages")


class MessagesRequest(CountTokensRequest):
    """POST /v1/messages. Unknown top-level fields are ignored, known ones are strict."""

    max_tokens = Integer(required=True, allow_none=False, validate=between(1, MAX_TOKENS, "integer"))
    stop_sequences = Items(String(allow_none=False, validate=[non_empty_string, stop_sequence_length]),
                           MAX_STOP_SEQUENCES, allow_none=True, error_messages={"invalid": problem(
                               "invalid_type", "Invalid type for '<param>': expected an array.")})
    temperature = Decimal(validate=between(0, 1))
    top_p = Decimal(validate=between(0, 1))
    top_k = Integer(validate=between(0, MAX_TOKENS, "integer"))
    stream = Boolean()
    metadata = Object()

    @validates_schema
    def check_budget(self, data, **kwargs):
        budget = (data.get("thinking") or {}).get("budget_tokens")
        if (data.get("thinking") or {}).get("type") == "enabled" and budget >= data["max_tokens"]:
            raise ValidationError(problem(
                "invalid_value", "'max_tokens' must be greater than 'thinking.budget_tokens'."),
                "max_tokens")
