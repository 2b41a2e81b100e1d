"""Schemathesis against the app's /openapi.json: no server error, every 4xx in its route's error
envelope, status codes, content types, headers, JSON bodies and stream chunks as the spec says, every
schema-valid request accepted and every schema-invalid one refused.

The normal run sends about 750 generated requests to the app in-process (WSGI), against the fake
upstream. `FUZZ_EXAMPLES=10000` (`make fuzz`) spreads that many examples over the same tests, and
`FUZZ_TARGET=server` sends them over HTTP to ZtoApi under gunicorn instead.
"""
import collections
import json
import os
import re

import jsonschema
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance
from schemathesis.specs.openapi.checks import negative_data_rejection
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.checks import response_headers_conformance
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.checks import status_code_conformance
from werkzeug.test import Client

from tests.conftest import KEY
from tests.conftest import settings_for
from tests.conftest import start_gunicorn
from tests.conftest import stop_gunicorn
from ztoapi import create_app
from ztoapi.anthropic_messages.schema import MAX_TOKENS

LONG = int(os.environ.get("FUZZ_EXAMPLES", "0"))
TARGET = os.environ.get("FUZZ_TARGET", "wsgi")
CHAT = "POST /v1/chat/completions"
MODEL = "GET /v1/models/{model}"
MESSAGES = ("POST /v1/messages", "POST /anthropic/v1/messages")
COUNT_TOKENS = ("POST /v1/messages/count_tokens", "POST /anthropic/v1/messages/count_tokens")
WITH_INPUT = (CHAT, MODEL, *MESSAGES, *COUNT_TOKENS)
OPEN = ("GET /healthz", "GET /readyz", "GET /metrics", "GET /docs", "GET /openapi.json")
OPERATIONS = (*WITH_INPUT, "GET /v1/models", *OPEN)
KEYED = (*WITH_INPUT, "GET /v1/models")
QUICK_EXAMPLES = 20         # per test for an operation with a body or a parameter; 5 for the rest
WEIGHTS = {CHAT: 8, MODEL: 1, MESSAGES[0]: 4, MESSAGES[1]: 4, COUNT_TOKENS[0]: 2, COUNT_TOKENS[1]: 2}
MODELS = ("GLM-4.5", "glm-4.6", "GLM-4.5V", "GLM-4.5-Air", "GLM-4.6-Thinking", "GLM-4.5-Search",
          "0727-360B-API")
THINK_MODES = ("reasoning", "think", "strip", "raw")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
OPENAI_ERROR = {"message", "type", "param", "code"}
ANTHROPIC_ERROR = {"type", "message"}
SENT = collections.Counter()     # (test kind, operation, status) → requests sent


def examples(operation):
    """How many examples one test generates for `operation`."""
    if not LONG:
        return QUICK_EXAMPLES if operation in WITH_INPUT else 5
    # Three tests per operation with input share the total; the others have few distinct requests.
    return max(10, LONG * WEIGHTS.get(operation, 0) // (3 * sum(WEIGHTS.values())) + 1)


@pytest.fixture(scope="module")
def target(fake):
    """(schema, call keyword arguments): the app in-process, or gunicorn over HTTP."""
    if TARGET == "server":
        process, base = start_gunicorn({"UPSTREAM_URL": f"{fake.url}/api/chat/completions",
                                        "DEFAULT_KEY": KEY, "WEB_CONCURRENCY": "1"})
        yield read_whole_streams(schemathesis.openapi.from_url(f"{base}/openapi.json")), \
            {"base_url": base, "timeout": 30}
        stop_gunicorn(process)
        return
    app = create_app(settings_for(fake))
    # Without ZAI_TOKEN image requests stop at image_needs_token; refuse DNS all the same, so that
    # no generated image URL can make the app reach past this machine.
    app.extensions["images"].resolve = refuse_lookup
    yield read_whole_streams(schemathesis.openapi.from_wsgi("/openapi.json", app)), {}


def read_whole_streams(schema):
    """Schemathesis stops reading an event stream after 20 events; ours end, so read them whole."""
    schema.config.max_stream_events = 1_000_000
    return schema


def refuse_lookup(*args, **kwargs):
    raise OSError("the fuzz tests resolve no host names")


@pytest.fixture(scope="module")
def send(target):
    """send(method, path, headers, body) → (status, text), for requests the schema cannot describe."""
    schema, call_options = target
    if TARGET == "server":
        def over_http(method, path, headers, body):
            response = requests.request(method, call_options["base_url"] + path, headers=headers,
                                        data=body, timeout=30)
            return response.status_code, response.text
        return over_http
    client = Client(schema.app)

    def in_process(method, path, headers, body):
        response = client.open(path, method=method, headers=headers, data=body)
        return response.status_code, response.get_data(as_text=True)
    return in_process


@pytest.fixture(scope="module", autouse=True)
def report(request):
    """Print how many requests the module sent, by test kind, operation and status."""
    yield
    lines = [f"fuzz: {sum(SENT.values())} requests ({TARGET})"]
    lines += [f"  {kind} {op} {status}: {n}" for (kind, op, status), n in sorted(SENT.items())]
    with request.config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
        print("\n" + "\n".join(lines))


def key_headers(operation, key=KEY):
    """The key as the route's clients send it."""
    if "/messages" in operation:
        return {"x-api-key": key}
    return {"Authorization": f"Bearer {key}"}


def our_key_only(case, operation, key=KEY):
    """Drop the credentials schemathesis generated (a random Bearer beside our x-api-key is a 401)
    and send the key as the route's clients do."""
    case.headers = {name: value for name, value in (case.headers or {}).items()
                    if name.lower() not in ("authorization", "x-api-key")}
    return key_headers(operation, key)


def with_real_model(case, operation, data):
    """The generated body with a real model and one user turn, so the request reaches the fake
    upstream with the generated options around it; returns extra headers."""
    if operation == MODEL:
        case.path_parameters = {"model": data.draw(st.sampled_from(MODELS))}
        return {}
    body = dict(case.body)
    body["model"] = data.draw(st.sampled_from(MODELS))
    body["messages"] = [{"role": "user", "content": data.draw(st.text(min_size=1, max_size=200))}]
    if operation in MESSAGES:
        body["max_tokens"] = data.draw(st.integers(1, 100_000))
    case.body = body
    return {"X-Think-Tags-Mode": data.draw(st.sampled_from(THINK_MODES))}


def consistent(case, operation):
    """Make true of a generated body what JSON Schema cannot say, as the spec's description lists it
    (tests/test_validation.py and tests/test_bounds.py test each of these refusals): a tool_choice
    names an offered tool, tool names differ, `json_object` has "json" in the messages, the two
    max token fields agree, thinking's budget is below max_tokens."""
    if not isinstance(case.body, dict):
        return
    body = case.body
    if operation == CHAT:
        if isinstance(body.get("tool_choice"), dict):
            body["tool_choice"]["function"]["name"] = body["tools"][0]["function"]["name"]
        if (body.get("response_format") or {}).get("type") == "json_object":
            body["messages"] = [*body["messages"], {"role": "system", "content": "Answer in JSON."}]
        if None not in (body.get("max_tokens"), body.get("max_completion_tokens")):
            body["max_completion_tokens"] = body["max_tokens"]
    if operation in MESSAGES + COUNT_TOKENS:
        for index, tool in enumerate(body.get("tools") or ()):
            tool["name"] = f"tool_{index}"
        if (body.get("tool_choice") or {}).get("type") == "tool":
            body["tool_choice"]["name"] = body["tools"][0]["name"]
    thinking = body.get("thinking") or {}
    if operation in MESSAGES and thinking.get("type") == "enabled" and \
            thinking["budget_tokens"] >= body["max_tokens"]:
        thinking["budget_tokens"] = min(thinking["budget_tokens"], MAX_TOKENS - 1)
        body["max_tokens"] = thinking["budget_tokens"] + 1


def envelope_problem(operation, status, text):
    """What is wrong with a 4xx body for its route (None: it is the right envelope)."""
    try:
        body = json.loads(text)
    except ValueError:
        return f"{status} body is not JSON: {text[:200]!r}"
    if "/messages" in operation:
        error = body.get("error") if isinstance(body, dict) else None
        if not (set(body) == {"type", "error"} and body["type"] == "error" and isinstance(error, dict)
                and set(error) == ANTHROPIC_ERROR
                and all(isinstance(error[k], str) and error[k] for k in ANTHROPIC_ERROR)):
            return f"{status} is not Anthropic's error envelope: {text[:300]}"
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not (set(body) == {"error"} and isinstance(error, dict) and set(error) == OPENAI_ERROR
            and isinstance(error["message"], str) and error["message"]
            and isinstance(error["type"], str) and error["type"]
            and all(error[k] is None or isinstance(error[k], str) for k in ("param", "code"))):
        return f"{status} is not OpenAI's error envelope: {text[:300]}"
    return None


def stream_problem(operation, text, spec):
    """What is wrong with a 200 event stream (None: every chunk as the spec says, no error event,
    and the right ending)."""
    lines = re.split(r"\r\n|\r|\n", text)    # not splitlines(): JSON strings may hold U+0085, U+2028
    data = [line[6:] for line in lines if line.startswith("data: ")]
    if "/messages" in operation:
        events = [line[7:] for line in lines if line.startswith("event: ")]
        if "error" in events or events[-1:] != ["message_stop"] or len(events) != len(data):
            return f"the stream has an error, a missing data line or no message_stop: {text[-400:]!r}"
        for event, payload in zip(events, data):
            if json.loads(payload).get("type") != event:
                return f"event {event!r} carries data of another type: {payload[:400]}"
        return None
    if data[-1:] != ["[DONE]"]:
        return f"the stream does not end with [DONE]: {text[-400:]!r}"
    chunk = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/ChatCompletionChunk", "components": spec["components"]})
    for payload in data[:-1]:
        value = json.loads(payload)
        if "error" in value:
            return f"the stream carries an error event: {payload[:400]}"
        error = jsonschema.exceptions.best_match(chunk.iter_errors(value))
        if error is not None:
            return f"a chunk is not a ChatCompletionChunk ({error.message}): {payload[:400]}"
    return None


def content_type(response):
    """The response's Content-Type (schemathesis keeps headers lower-cased, as lists)."""
    return (response.headers.get("content-type") or [""])[0]


def check(case, operation, mode, response, headers):
    """Schemathesis' checks, then the error envelope, and a stream's chunks and ending."""
    negative = mode is GenerationMode.NEGATIVE
    checks = CHECKS + [negative_data_rejection if negative else positive_data_acceptance]
    kind = content_type(response)
    if kind.startswith("text/event-stream"):
        # Schemathesis reads an OpenAPI 3.1 stream schema as one event's; ours is the whole body
        # as a string, so each chunk is checked against ChatCompletionChunk below instead.
        checks.remove(response_schema_conformance)
    case.validate_response(response, checks=checks, headers=headers)
    status = response.status_code
    curl = case.as_curl_command(headers=headers)
    if 400 <= status < 500:
        problem = envelope_problem(operation, status, response.text)
        assert problem is None, f"{problem}\n{curl}"
    if status == 200 and kind.startswith("text/event-stream"):
        problem = stream_problem(operation, response.text, case.operation.schema.raw_schema)
        assert problem is None, f"{problem}\n{curl}"


def fuzz(target, kind, operation, mode, prepare, count=None, status=None):
    """Send generated cases for `operation`; `prepare(case, data)` gives each one's headers, and
    `status`, when set, is the status every answer must have."""
    schema, call_options = target
    method, path = operation.split(" ", 1)

    @settings(max_examples=count or examples(operation), deadline=None, database=None,
              derandomize=not LONG, suppress_health_check=list(HealthCheck), print_blob=True)
    @given(case=schema[path][method].as_strategy(generation_mode=mode), data=st.data())
    def one(case, data):
        headers = prepare(case, data)
        response = case.call(headers=headers, **call_options)
        SENT[(kind, operation, response.status_code)] += 1
        assert not response.stream_cut_short, case.as_curl_command(headers=headers)
        if status is not None:
            assert response.status_code == status, case.as_curl_command(headers=headers)
        check(case, operation, mode, response, headers)

    one()


@pytest.mark.parametrize("operation", OPERATIONS)
def test_generated_valid_requests(target, operation):
    """Schema-valid requests: accepted (an unknown model is a 404), never a 5xx, answers as the
    spec says."""
    def prepare(case, data):
        consistent(case, operation)
        return our_key_only(case, operation)
    fuzz(target, "valid", operation, GenerationMode.POSITIVE, prepare)


@pytest.mark.parametrize("operation", WITH_INPUT)
def test_generated_invalid_requests(target, operation):
    """Schema-invalid requests (credentials too): rejected with a 4xx in the route's envelope."""
    fuzz(target, "invalid", operation, GenerationMode.NEGATIVE, lambda case, data: key_headers(operation))


@pytest.mark.parametrize("operation", WITH_INPUT)
def test_generated_options_with_a_real_model(target, operation):
    """Generated options around a real model and user turn: reach the fake, answer in full."""
    def prepare(case, data):
        headers = {**our_key_only(case, operation), **with_real_model(case, operation, data)}
        consistent(case, operation)
        return headers
    fuzz(target, "real-model", operation, GenerationMode.POSITIVE, prepare)


@pytest.mark.parametrize("operation", KEYED)
def test_generated_requests_without_the_key(target, operation):
    """Without the key or with a wrong one: 401 in the route's envelope, whatever the body."""
    def prepare(case, data):
        headers = our_key_only(case, operation, KEY + "-wrong")
        return data.draw(st.sampled_from([{}, headers]))
    fuzz(target, "no-key", operation, GenerationMode.POSITIVE, prepare, count=10, status=401)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)
BODY_KEYS = st.sampled_from(["model", "messages", "max_tokens", "stream", "system", "tools", "tool_choice",
                             "stop", "stop_sequences", "temperature", "thinking", "response_format"])
BODIES = (st.binary(max_size=300)
          | JSON_VALUES.map(lambda value: json.dumps(value).encode())
          | st.dictionaries(BODY_KEYS, JSON_VALUES, max_size=6).map(lambda value: json.dumps(value).encode()))
POSTS = (CHAT, *MESSAGES, *COUNT_TOKENS)


@pytest.mark.parametrize("operation", POSTS)
def test_arbitrary_bodies(send, operation):
    """Bytes, JSON of any shape, and objects with the right keys and any values: never a 5xx, and
    a 4xx in the route's envelope."""
    path = operation.split(" ", 1)[1]

    @settings(max_examples=max(50, LONG // 100), deadline=None, database=None, derandomize=not LONG,
              suppress_health_check=list(HealthCheck))
    @given(body=BODIES, content_type=st.sampled_from(["application/json", "text/plain", None]))
    def one(body, content_type):
        headers = {**key_headers(operation), **({"Content-Type": content_type} if content_type else {})}
        status, text = send("POST", path, headers, body)
        SENT[("raw-body", operation, status)] += 1
        assert status < 500, f"{status} {text[:300]} for {body[:300]!r}"
        if 400 <= status < 500:
            assert envelope_problem(operation, status, text) is None, f"{text[:300]} for {body[:300]!r}"

    one()


PATHS = st.sampled_from(["/v1/chat/completions", "/v1/messages", "/anthropic/v1/messages",
                         "/anthropic/v1/messages/count_tokens", "/healthz", "/docs", "/openapi.json"])
SEGMENT = st.from_regex(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,11}", fullmatch=True)


def test_unknown_paths_and_wrong_methods(send):
    """An unknown path is a 404 and a wrong method a 405, in Anthropic's envelope under
    /v1/messages and /anthropic/ and OpenAI's elsewhere, never a 5xx."""
    @settings(max_examples=max(60, LONG // 100), deadline=None, database=None, derandomize=not LONG,
              suppress_health_check=list(HealthCheck))
    @given(path=PATHS, extra=st.lists(SEGMENT, min_size=1, max_size=3),
           method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"]), unknown=st.booleans())
    def one(path, extra, method, unknown):
        path = "/".join([path, *extra]) if unknown else path
        status, text = send(method, path, {**key_headers("GET /v1/models"), "x-api-key": KEY}, b"")
        SENT[("raw-path", "unknown" if unknown else "known", status)] += 1
        assert status < 500, f"{status} {text[:300]} for {method} {path}"
        if unknown:
            assert status == 404, f"{status} for {method} {path}"
        if status in (404, 405):
            route = "POST /v1/messages" if path.startswith(("/v1/messages", "/anthropic/")) else "GET /v1/models"
            assert envelope_problem(route, status, text) is None, f"{text[:300]} for {method} {path}"

    one()
