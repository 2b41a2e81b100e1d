"""The OpenAPI 3.1 description of the public API, built by apispec from the marshmallow schemas."""
import copy
import functools
import inspect

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls

from ztoapi import response_schemas as out
from ztoapi.anthropic_messages import schema as anthropic
from ztoapi.anthropic_messages.schema import BLOCK_SCHEMAS
from ztoapi.anthropic_messages.schema import Blocks
from ztoapi.anthropic_messages.schema import CountTokensRequest
from ztoapi.anthropic_messages.schema import MessagesRequest
from ztoapi.anthropic_messages.schema import non_empty_string
from ztoapi.anthropic_messages.schema import stop_sequence_length
from ztoapi.openai_chat.schema import ChatCompletionRequest
from ztoapi.openai_chat.schema import Content
from ztoapi.openai_chat.schema import IMAGE_DETAILS
from ztoapi.openai_chat.schema import MAX_STOP
from ztoapi.openai_responses.schema import ResponsesRequest
from ztoapi.validation import Items
from ztoapi.validation import MAX_DEPTH
from ztoapi.validation import MAX_IMAGES
from ztoapi.validation import MAX_NAME
from ztoapi.validation import MAX_PARTS
from ztoapi.validation import Typed
from ztoapi.validation import function_name
from ztoapi.validation import non_empty_array

KIND_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
              dict: "object"}
VALIDATOR_PROPERTIES = {non_empty_array: {"minItems": 1}, non_empty_string: {"minLength": 1},
                        function_name: {"pattern": f"^[A-Za-z0-9_-]{{1,{MAX_NAME}}}$"},
                        stop_sequence_length: {"maxLength": anthropic.MAX_STOP_LENGTH}}
NAME_PREFIXES = {"ztoapi.openai_chat.schema": "Chat", "ztoapi.anthropic_messages.schema": "Anthropic",
                 "ztoapi.openai_responses.schema": "Responses"}
REF = "#/components/schemas/"
NOT_NULL = {"not": {"type": "null"}}
STRING = {"type": "string"}
FILLED = {"type": "string", "minLength": 1}
UNSUPPORTED = {"type": "null", "description": "Not supported by GLM: leave it out."}


def part(kind, properties, required=()):
    """One kind of content part: its `type`, and the keys the gateway keeps (others are dropped)."""
    return {"type": "object", "required": ["type", *required],
            "properties": {"type": {"const": kind}, **properties}}


CONTENT_PART = {
    "description": "A part of a message's content; images as an http(s) or data: URL. Only the keys "
                   "described are read: any other key is dropped, never forwarded.",
    "oneOf": [
        part("text", {"text": STRING}, ["text"]),
        part("refusal", {"refusal": STRING}, ["refusal"]),
        part("image_url", {"image_url": {"oneOf": [FILLED, {
            "type": "object", "required": ["url"],
            "properties": {"url": FILLED, "detail": {"enum": [*IMAGE_DETAILS, None]}}}]}}, ["image_url"]),
        part("input_audio", {"input_audio": {
            "type": "object", "required": list(Content.AUDIO_KEYS),
            "properties": {name: STRING for name in Content.AUDIO_KEYS}}}, ["input_audio"]),
        part("file", {"file": {"type": "object", "properties": {
            name: {"type": ["string", "null"]} for name in Content.FILE_KEYS}}}, ["file"])]}


def when(condition, then, otherwise=None):
    rule = {"if": condition, "then": then}
    if otherwise is not None:
        rule["else"] = otherwise
    return rule


def constant(name, value):
    """A condition: the object has `name` equal to `value`."""
    return {"required": [name], "properties": {name: {"const": value}}}


def blocks_of(kinds):
    return {"properties": {"content": {"items": {"oneOf": [
        {"allOf": [{"$ref": REF + "Anthropic" + type(BLOCK_SCHEMAS[kind]).__name__},
                   {"properties": {"type": {"const": kind}}, "required": ["type"]}]}
        for kind in kinds]}}}}


ANTHROPIC_TOOL_CHOICE = when(
    {"required": ["tool_choice"], "properties": {"tool_choice": {"type": "object", **constant("type", "tool")}}},
    {"required": ["tools"], "properties": {"tools": {"type": "array", "minItems": 1}}})
ANTHROPIC_UNSAID = (
    "Also refused with a 400, beyond what this schema can say: tool names repeated in `tools`; a "
    "`tool_choice` naming a tool not in `tools`; `thinking.budget_tokens` not below `max_tokens`; "
    f"more than {anthropic.MAX_IMAGES} images in all; free-form objects (`input_schema`, `input`, "
    f"`metadata`) nested more than {MAX_DEPTH} levels deep; a `tool_result` answering no "
    "`tool_use` of the turn before, or a `tool_use` left unanswered.")
# What the validators (ztoapi.openai_chat.schema, ztoapi.anthropic_messages.schema) check across fields, or beyond
# one field, as JSON Schema: by component, `properties` replace a field's generated schema and
# other keywords are added. REQUEST_RULES and the validators must accept the same requests
# (tests/test_openapi.py and the schemathesis runs of tests/test_fuzz_api.py hold them to it).
REQUEST_RULES = {
    "ChatCompletionRequest": {
        "description": (
            "Also refused with a 400, beyond what this schema can say: a `tool_choice` naming a "
            "function not in `tools`; `response_format` `json_object` without the word \"json\" in "
            "`messages`; `max_tokens` and `max_completion_tokens` both set and different; more than "
            f"{MAX_IMAGES} images in all; free-form objects (`parameters`, `response_format`, "
            f"`logit_bias`) nested more than {MAX_DEPTH} levels deep; a `tool` message answering "
            "no call of the assistant message before it, or a call left unanswered."),
        "properties": {
            "n": {"type": ["integer", "null"], "minimum": 1, "maximum": 1,
                  "description": "Only 1 (the default) is supported."},
            "stop": {"type": ["string", "array", "null"], "items": STRING, "maxItems": MAX_STOP},
            "logprobs": {"enum": [False, None], "description": "Not supported by GLM: false or left out."},
            "top_logprobs": UNSUPPORTED, "audio": UNSUPPORTED, "prediction": UNSUPPORTED,
            "functions": UNSUPPORTED, "function_call": UNSUPPORTED,
            "modalities": {"type": ["array", "null"], "items": {"const": "text"}},
            "tool_choice": {"anyOf": [{"type": "null"}, {"enum": ["none", "auto", "required"]}, {
                "type": "object", "required": ["function"], "properties": {"function": {
                    "type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string", "description": "A function in `tools`."}}}}}]},
            "response_format": {"anyOf": [{"type": "null"}, {
                "type": "object", "required": ["type"],
                "properties": {"type": {"enum": ["text", "json_object", "json_schema"]}},
                **when(constant("type", "json_schema"), {"required": ["json_schema"], "properties": {
                    "json_schema": {"type": "object", "required": ["schema"],
                                    "properties": {"schema": {"type": "object"}}}}})}]}},
        "allOf": [
            when({"required": ["tool_choice"], "properties": {"tool_choice": NOT_NULL}},
                 {"required": ["tools"], "properties": {"tools": {"type": "array"}}}),
            when({"required": ["stream_options"], "properties": {"stream_options": {"type": "object"}}},
                 {"required": ["stream"], "properties": {"stream": {"const": True}}})]},
    "ChatMessage": {"allOf": [
        when({"properties": {"role": {"const": "assistant"}}}, {},
             {"required": ["content"], "properties": {"content": NOT_NULL}}),
        when({"properties": {"role": {"const": "tool"}}},
             {"required": ["tool_call_id"], "properties": {"tool_call_id": FILLED}})]},
    "AnthropicMessage": {"allOf": [
        when({"properties": {"role": {"const": role}}}, blocks_of(kinds))
        for role, kinds in anthropic.ROLE_BLOCKS.items()]},
    "AnthropicImageSource": when(
        constant("type", "base64"),
        {"required": ["media_type", "data"], "properties": {
            "media_type": {"enum": list(anthropic.IMAGE_MEDIA_TYPES)}, "data": FILLED}},
        {"required": ["url"], "properties": {"url": FILLED}}),
    "AnthropicToolChoice": when(constant("type", "tool"), {"required": ["name"], "properties": {"name": FILLED}}),
    "AnthropicThinking": when(constant("type", "enabled"), {
        "required": ["budget_tokens"], "properties": {"budget_tokens": {"type": "integer"}}}),
    "AnthropicCountTokensRequest": {"description": ANTHROPIC_UNSAID, "allOf": [ANTHROPIC_TOOL_CHOICE]},
    "AnthropicMessagesRequest": {"description": ANTHROPIC_UNSAID, "allOf": [ANTHROPIC_TOOL_CHOICE]},
}
REQUEST_NOTES = {
    "ChatCompletionRequest": {
        "model": "A model id from GET /v1/models (any case), or one of its aliases.",
        "stop": "A string, or up to 4 strings.",
        "stream": "Answer as server-sent events. Left out, the server's DEFAULT_STREAM decides, "
                  "except that the OpenAI and Vercel AI SDKs and clients accepting only JSON get JSON.",
        "enable_thinking": "ZtoApi extension: let GLM think first (wins over `thinking` and "
                           "`reasoning_effort`).",
        "thinking": "ZtoApi extension: {\"type\": \"enabled\"} or {\"type\": \"disabled\"}.",
        "reasoning_effort": "`none` and `minimal` turn thinking off, the others turn it on.",
        "web_search": "ZtoApi extension: let chat.z.ai search the web (as the -Search models do)."},
    "AnthropicMessagesRequest": {
        "model": "A model id from GET /v1/models (any case), or one of its aliases."}}
ERRORS = {400: "The request is invalid.", 401: "The API key is missing or wrong.",
          404: "No model has this id.", 413: "The request body is too large.",
          429: "Rate limited; Retry-After says when to try again.",
          502: "chat.z.ai failed or answered something unusable.",
          503: "No usable chat.z.ai credential.", 504: "chat.z.ai did not answer in time."}
CHAT_STREAM = ("Server-sent events: one `data: <ChatCompletionChunk JSON>` event per chunk "
               "(#/components/schemas/ChatCompletionChunk), then `data: [DONE]`. A failure after the "
               "first byte arrives as one `data: <Error JSON>` event before `[DONE]`.")
CHAT_STREAM_EXAMPLE = (
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1760000000,'
    '"model":"GLM-4.5","choices":[{"index":0,"delta":{"role":"assistant","content":""},'
    '"logprobs":null,"finish_reason":null}]}\n\n'
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1760000000,'
    '"model":"GLM-4.5","choices":[{"index":0,"delta":{"content":"Hello"},'
    '"logprobs":null,"finish_reason":null}]}\n\n'
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1760000000,'
    '"model":"GLM-4.5","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n'
    'data: [DONE]\n\n')
MESSAGES_STREAM = ("Server-sent events as Anthropic sends them: `message_start`, then per content block "
                   "`content_block_start`, `content_block_delta`s and `content_block_stop`, then "
                   "`message_delta` (stop reason, usage) and `message_stop`; `ping` keeps the "
                   "connection alive and `error` reports a failure after the first byte. Each event "
                   "is `event: <type>` plus `data: <JSON with the same type>`.")
RESPONSES_STREAM = ("Server-sent events as OpenAI sends them, each `event: <type>` plus `data: <JSON with the "
                    "same type and a sequence_number>`: `response.created`, `response.in_progress`, per "
                    "output item `response.output_item.added`, its content or summary part, the "
                    "`response.output_text.delta` / `response.reasoning_summary_text.delta` / "
                    "`response.function_call_arguments.delta` events and their `.done`, "
                    "`response.output_item.done`, then `response.completed` with the whole Response. "
                    "A failure after the first byte is an `error` event, then `response.failed`. "
                    "No `[DONE]`.")
RESPONSE_ID = [{"name": "response_id", "in": "path", "required": True, "schema": {"type": "string"},
                "description": "The response's id (resp_…), as the same client key made it."}]
BEARER = [{"bearerAuth": []}]
API_KEY = [{"apiKeyAuth": []}, {"bearerAuth": []}]


def spec(server_url):
    """The spec as a dict, with `server_url` (the URL the request came to) as its one server."""
    static = built()
    return {"openapi": static["openapi"], "info": static["info"],
            "servers": [{"url": server_url.rstrip("/")}], **static}


@functools.cache
def built():
    """The spec without servers: static, so built once per process."""
    plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
    api = APISpec(title="ZtoApi", version="1.0.0", openapi_version="3.1.0", plugins=[plugin],
                  info={"description": "An OpenAI-compatible (and Anthropic Messages) API in front "
                                       "of Z.ai's GLM web chat. Human-readable docs: /docs."})
    plugin.converter.add_attribute_function(custom_field_properties)
    api.components.schema("ChatContentPart", CONTENT_PART)
    api.components.schema("ChatCompletionChunk", schema=out.ChatCompletionChunk)
    api.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer", "description": "The server's DEFAULT_KEY (or another "
                                                           "configured key) as a Bearer token."})
    api.components.security_scheme("apiKeyAuth", {"type": "apiKey", "in": "header", "name": "x-api-key"})
    for path, operations in paths():
        api.path(path=path, operations=operations)
    document = api.to_dict()
    add_rules(document["components"]["schemas"])
    add_notes(document["components"]["schemas"])
    return document


def schema_name(schema):
    """Component names: request schemas named by their API, since both have a `Message`."""
    cls = resolve_schema_cls(schema)
    prefix = NAME_PREFIXES.get(cls.__module__, "")
    return cls.__name__ if cls.__name__.startswith(prefix) else prefix + cls.__name__


def custom_field_properties(self, field, ret, **kwargs):
    """JSON Schema for ZtoApi's own fields and validators, which apispec cannot read."""
    properties = {}
    if isinstance(field, Typed):
        types = {KIND_TYPES[kind] for kind in field.kinds}
        properties["type"] = sorted(types - {"integer"} if "number" in types else types)
    elif isinstance(field, Content):
        properties.update(type=["string", "array"], items={"$ref": "#/components/schemas/ChatContentPart"},
                          minItems=1, maxItems=MAX_PARTS)
    elif isinstance(field, Blocks):
        properties.update(type=["string", "array"], items={"oneOf": [
            block_schema(self, kind) for kind in field.kinds]}, maxItems=anthropic.MAX_BLOCKS)
        if not field.allow_empty:
            properties["minItems"] = 1
    elif isinstance(field, Items):
        properties["maxItems"] = field.most
    if field.allow_none and "type" in properties:
        properties["type"].append("null")
    if len(properties.get("type", ())) == 1:
        properties["type"] = properties["type"][0]
    for validator in field.validators:
        properties.update(validator_properties(validator, field.allow_none))
    return properties


def block_schema(converter, kind):
    """An Anthropic content block: its schema plus the `type` that selects it."""
    return {"allOf": [converter.resolve_nested_schema(BLOCK_SCHEMAS[kind]),
                      {"properties": {"type": {"const": kind}}, "required": ["type"]}]}


def validator_properties(validator, nullable):
    """Limits set by ztoapi.validation's validator factories, read from their closures."""
    name = getattr(validator, "__qualname__", "")
    if name == "between.<locals>.validate":
        bounds = inspect.getclosurevars(validator).nonlocals
        return {"minimum": bounds["low"], "maximum": bounds["high"]}
    if name == "one_of.<locals>.validate":
        choices = list(inspect.getclosurevars(validator).nonlocals["choices"])
        return {"enum": choices + [None] if nullable else choices}
    return VALIDATOR_PROPERTIES.get(validator, {})


def add_rules(schemas):
    for name, rules in copy.deepcopy(REQUEST_RULES).items():
        schema = schemas[name]
        for key, value in rules.items():
            if key == "properties":
                schema["properties"].update(value)
            elif key == "allOf":
                schema.setdefault("allOf", []).extend(value)
            else:
                schema[key] = value


def add_notes(schemas):
    for schema, notes in REQUEST_NOTES.items():
        for name, note in notes.items():
            schemas[schema]["properties"][name]["description"] = note


def paths():
    """(path, operations) for every public route."""
    yield "/v1/chat/completions", {"post": chat_completion()}
    yield "/v1/responses", {"post": create_response()}
    yield "/v1/responses/{response_id}", {
        "get": operation("getResponse", "OpenAI", "Retrieve a stored response", BEARER,
                         json_ok("The response.", out.Response), errors(out.Error, 401, 404, 503),
                         parameters=RESPONSE_ID),
        "delete": operation("deleteResponse", "OpenAI", "Delete a stored response", BEARER,
                            json_ok("Deleted.", out.ResponseDeleted), errors(out.Error, 401, 404, 503),
                            parameters=RESPONSE_ID)}
    for prefix, suffix in (("/v1", ""), ("/anthropic/v1", "UnderAnthropic")):
        yield f"{prefix}/models", {"get": operation(
            f"listModels{suffix}", "OpenAI", "List the models (Anthropic's shape with anthropic-version)",
            BEARER, json_ok("The models.", out.ModelList), errors(out.Error, 401))}
        yield f"{prefix}/models/{{model}}", {"get": operation(
            f"retrieveModel{suffix}", "OpenAI", "Retrieve a model (Anthropic's shape with anthropic-version)",
            BEARER, json_ok("The model.", out.Model), errors(out.Error, 401, 404), parameters=[{
                "name": "model", "in": "path", "required": True, "schema": {"type": "string"},
                "description": "A model id or alias (it may contain `/`)."}])}
    for prefix, suffix in (("/v1", ""), ("/anthropic/v1", "UnderAnthropic")):
        yield f"{prefix}/messages", {"post": create_message(suffix)}
        yield f"{prefix}/messages/count_tokens", {"post": operation(
            f"countTokens{suffix}", "Anthropic", "Count the tokens of a message request", API_KEY,
            json_ok("The estimated prompt tokens.", out.TokenCount),
            errors(out.AnthropicError, 400, 401, 404, 413), body=CountTokensRequest)}
    yield "/healthz", {"get": operation(
        "healthz", "Operations", "Liveness: the process answers", None,
        json_ok("Alive.", out.Health))}
    yield "/readyz", {"get": operation(
        "readyz", "Operations", "Readiness: a usable chat.z.ai credential and a reachable store",
        None, json_ok("Ready.", out.Readiness),
        {"503": {"description": "Not ready; `checks` says why.", "content": json_content(out.Readiness)}})}
    yield "/metrics", {"get": operation(
        "metrics", "Operations", "Prometheus metrics (with METRICS_KEY set, only for Bearer <METRICS_KEY>)",
        [{}, {"bearerAuth": []}],
        {"200": {"description": "The Prometheus text exposition format.", "content": {
            "text/plain": {"schema": {"type": "string"}}}}},
        {"401": {"description": "METRICS_KEY is set and was not presented.", "content": json_content(out.Error)}})}
    yield "/", {"get": operation(
        "root", "Documentation", "Where to go: a browser (Accept: text/html) is sent to /docs", None,
        {"200": {"description": "Where the API, its documents and the health check are.",
                 "content": {"application/json": {"schema": {"type": "object", "properties": {
                     "name": {"type": "string"}, "api": {"type": "object"}, "docs": {"type": "string"},
                     "openapi": {"type": "string"}, "health": {"type": "string"}}}}}},
         "302": {"description": "To /docs, for a browser."}})}
    yield "/docs", {"get": operation(
        "docs", "Documentation", "This API's documentation as an HTML page", None,
        {"200": {"description": "The page.", "content": {"text/html": {"schema": {"type": "string"}}}}})}
    yield "/openapi.json", {"get": operation(
        "openapi", "Documentation", "This OpenAPI description", None,
        {"200": {"description": "OpenAPI 3.1; `servers` is the host the request was sent to.",
                 "content": {"application/json": {"schema": {"type": "object"}}}}})}


def chat_completion():
    return operation(
        "createChatCompletion", "OpenAI", "Create a chat completion", BEARER,
        {"200": {"description": "The reply: a chat.completion object, or with `stream` a stream "
                                "of chat.completion.chunk events.",
                 "content": {"application/json": {"schema": out.ChatCompletion},
                             "text/event-stream": {"schema": {"type": "string", "description": CHAT_STREAM},
                                                   "example": CHAT_STREAM_EXAMPLE}}}},
        errors(out.Error, 400, 401, 404, 413, 429, 502, 503, 504), body=ChatCompletionRequest)


def create_response():
    return operation(
        "createResponse", "OpenAI", "Create a response (OpenAI Responses API)", BEARER,
        {"200": {"description": "The reply: a Response object, or with `stream` a stream of events. "
                                "Unless `store` is false it is kept (RESPONSES_TTL) for "
                                "`previous_response_id`, `item_reference` and GET.",
                 "content": {"application/json": {"schema": out.Response},
                             "text/event-stream": {"schema": {"type": "string",
                                                              "description": RESPONSES_STREAM}}}}},
        errors(out.Error, 400, 401, 404, 413, 429, 502, 503, 504), body=ResponsesRequest)


def create_message(suffix):
    return operation(
        f"createMessage{suffix}", "Anthropic", "Create a message (Anthropic Messages API)", API_KEY,
        {"200": {"description": "The reply: a message object, or with `stream` a stream of events.",
                 "content": {"application/json": {"schema": out.AnthropicMessageResponse},
                             "text/event-stream": {"schema": {"type": "string",
                                                              "description": MESSAGES_STREAM}}}}},
        errors(out.AnthropicError, 400, 401, 404, 413, 429, 502, 503, 504), body=MessagesRequest)


def operation(operation_id, tag, summary, security, responses, more_responses=None, body=None,
              parameters=None):
    result = {"operationId": operation_id, "tags": [tag], "summary": summary,
              "responses": {**responses, **(more_responses or {})}}
    if security:
        result["security"] = security
    if body is not None:
        result["requestBody"] = {"required": True, "content": json_content(body)}
    if parameters:
        result["parameters"] = parameters
    return result


def json_content(schema):
    return {"application/json": {"schema": schema}}


def json_ok(description, schema):
    return {"200": {"description": description, "content": json_content(schema)}}


def errors(schema, *statuses):
    return {str(status): {"description": ERRORS[status], "content": json_content(schema)} for status in statuses}
