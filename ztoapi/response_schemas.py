"""What the API answers, as marshmallow schemas: they only describe responses in /openapi.json."""
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate


def constant(value, **kwargs):
    return fields.String(required=True, validate=validate.Equal(value), **kwargs)


def choice(*values, **kwargs):
    return fields.String(validate=validate.OneOf(values), **kwargs)


def described(field_class, description, **kwargs):
    return field_class(metadata={"description": description}, **kwargs)


class FunctionCall(Schema):
    name = fields.String(required=True)
    arguments = described(fields.String, "The arguments as a JSON string.", required=True)


class ToolCall(Schema):
    id = fields.String(required=True)
    type = constant("function")
    function = fields.Nested(FunctionCall, required=True)


class AssistantMessage(Schema):
    role = constant("assistant")
    content = described(fields.String, "Null when the reply is only tool calls.",
                        required=True, allow_none=True)
    reasoning_content = described(fields.String, "GLM's thinking, when the model thought and "
                                                 "thinking is kept apart from the answer.")
    refusal = fields.String(required=True, allow_none=True)
    annotations = fields.List(fields.Dict())
    tool_calls = fields.List(fields.Nested(ToolCall))


class PromptTokensDetails(Schema):
    cached_tokens = fields.Integer()


class CompletionTokensDetails(Schema):
    reasoning_tokens = described(fields.Integer, "Estimated: chat.z.ai does not count them apart.")


class Usage(Schema):
    prompt_tokens = fields.Integer(required=True)
    completion_tokens = fields.Integer(required=True)
    total_tokens = fields.Integer(required=True)
    prompt_tokens_details = fields.Nested(PromptTokensDetails)
    completion_tokens_details = fields.Nested(CompletionTokensDetails)


class Choice(Schema):
    index = fields.Integer(required=True)
    message = fields.Nested(AssistantMessage, required=True)
    logprobs = fields.Dict(required=True, allow_none=True)
    finish_reason = choice("stop", "length", "tool_calls", required=True)


class ChatCompletion(Schema):
    id = fields.String(required=True)
    object = constant("chat.completion")
    created = described(fields.Integer, "Unix time, in seconds.", required=True)
    model = fields.String(required=True)
    choices = fields.List(fields.Nested(Choice), required=True)
    usage = fields.Nested(Usage, required=True)


class FunctionDelta(Schema):
    name = fields.String()
    arguments = fields.String()


class ToolCallDelta(Schema):
    index = fields.Integer(required=True)
    id = described(fields.String, "Only in the first delta of a call.")
    type = choice("function")
    function = fields.Nested(FunctionDelta, required=True)


class Delta(Schema):
    role = choice("assistant")
    content = fields.String(allow_none=True)
    reasoning_content = fields.String()
    tool_calls = fields.List(fields.Nested(ToolCallDelta))


class ChunkChoice(Schema):
    index = fields.Integer(required=True)
    delta = fields.Nested(Delta, required=True)
    logprobs = fields.Dict(required=True, allow_none=True)
    finish_reason = choice("stop", "length", "tool_calls", required=True, allow_none=True)


class ChatCompletionChunk(Schema):
    id = described(fields.String, "The same on every chunk of one stream.", required=True)
    object = constant("chat.completion.chunk")
    created = fields.Integer(required=True)
    model = fields.String(required=True)
    choices = described(fields.List, "Empty on the closing usage chunk.",
                        cls_or_instance=fields.Nested(ChunkChoice), required=True)
    usage = described(fields.Nested, "Present when stream_options.include_usage is true: null "
                                     "on every chunk but the last.", nested=Usage, allow_none=True)


class Capabilities(Schema):
    vision = fields.Boolean(required=True)
    thinking = fields.Boolean(required=True)
    thinking_forced = fields.Boolean(required=True)
    search = fields.Boolean(required=True)
    reasoning_effort = described(fields.Boolean, "The upstream takes a reasoning effort for it.",
                                 required=True)


class Model(Schema):
    id = fields.String(required=True)
    object = constant("model")
    created = fields.Integer(required=True)
    owned_by = fields.String(required=True)
    capabilities = fields.Nested(Capabilities)
    upstreams = described(fields.List, "Who serves it, in UPSTREAMS order: \"web\" (chat.z.ai's web chat), "
                                       "\"api\" (Z.ai's API).", cls_or_instance=fields.String())


class ModelList(Schema):
    object = constant("list")
    data = fields.List(fields.Nested(Model), required=True)


class ErrorDetail(Schema):
    message = fields.String(required=True)
    type = fields.String(required=True)
    param = fields.String(required=True, allow_none=True)
    code = fields.String(required=True, allow_none=True)


class Error(Schema):
    """OpenAI's error envelope."""

    error = fields.Nested(ErrorDetail, required=True)


class AnthropicContentBlock(Schema):
    type = choice("text", "thinking", "tool_use", required=True)
    text = fields.String()
    thinking = fields.String()
    signature = fields.String()
    id = fields.String()
    name = fields.String()
    input = fields.Dict()


class AnthropicUsage(Schema):
    input_tokens = fields.Integer(required=True)
    output_tokens = fields.Integer(required=True)


class AnthropicMessageResponse(Schema):
    id = fields.String(required=True)
    type = constant("message")
    role = constant("assistant")
    model = fields.String(required=True)
    content = fields.List(fields.Nested(AnthropicContentBlock), required=True)
    stop_reason = choice("end_turn", "max_tokens", "stop_sequence", "tool_use", required=True)
    stop_sequence = fields.String(required=True, allow_none=True)
    usage = fields.Nested(AnthropicUsage, required=True)


class TokenCount(Schema):
    input_tokens = fields.Integer(required=True)


class AnthropicErrorDetail(Schema):
    type = fields.String(required=True)
    message = fields.String(required=True)


class AnthropicError(Schema):
    """Anthropic's error shape."""

    type = constant("error")
    error = fields.Nested(AnthropicErrorDetail, required=True)


class OutputText(Schema):
    type = constant("output_text")
    text = fields.String(required=True)
    annotations = fields.List(fields.Dict(), required=True)


class SummaryText(Schema):
    type = constant("summary_text")
    text = fields.String(required=True)


class OutputItem(Schema):
    """One item of a response's output: a `message`, a `function_call` or a `reasoning` summary."""

    id = described(fields.String, "msg_…, fc_… or rs_…: an `item_reference` input item may name it.",
                   required=True)
    type = choice("message", "function_call", "reasoning", required=True)
    status = choice("in_progress", "completed")
    role = fields.String(validate=validate.Equal("assistant"))
    content = fields.List(fields.Nested(OutputText))
    summary = described(fields.List, "GLM's thinking (reasoning items).", cls_or_instance=fields.Nested(SummaryText))
    call_id = fields.String()
    name = fields.String()
    arguments = described(fields.String, "The arguments as a JSON string.")


class ResponseUsage(Schema):
    input_tokens = fields.Integer(required=True)
    output_tokens = fields.Integer(required=True)
    total_tokens = fields.Integer(required=True)
    input_tokens_details = fields.Dict(required=True)
    output_tokens_details = described(fields.Dict, "`reasoning_tokens`, estimated: chat.z.ai does not "
                                                   "count them apart.", required=True)


class Response(Schema):
    """A response of OpenAI's Responses API; the request's settings are echoed next to these."""

    id = fields.String(required=True)
    object = constant("response")
    created_at = fields.Integer(required=True)
    status = choice("completed", "failed", "in_progress", required=True)
    model = fields.String(required=True)
    output = fields.List(fields.Nested(OutputItem), required=True)
    error = fields.Dict(required=True, allow_none=True)
    previous_response_id = fields.String(required=True, allow_none=True)
    store = fields.Boolean(required=True)
    usage = fields.Nested(ResponseUsage, required=True, allow_none=True)


class ResponseDeleted(Schema):
    id = fields.String(required=True)
    object = constant("response.deleted")
    deleted = fields.Boolean(required=True)


class Health(Schema):
    status = constant("ok")


class Readiness(Schema):
    status = choice("ready", "not ready", required=True)
    checks = described(fields.Dict, "Each check and its result: \"ok\" or what is wrong.",
                       keys=fields.String(), values=fields.String(), required=True)
    upstream = described(fields.Dict, "Each upstream's state: for the web chat, the chat.z.ai "
                                      "dialect spoken and how it was chosen.", keys=fields.String())
