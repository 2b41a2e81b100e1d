"""OpenAI's Responses API through the official Python SDK (strict validation) against ZtoApi under
gunicorn with two gevent workers: create, stream, chains across workers, tools, parse, errors."""
import json

import openai
import pydantic
import pytest

WEATHER = {"type": "function", "name": "get_weather", "description": "Current weather in a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                          "additionalProperties": False}, "strict": True}
ONE_CALL = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}'


def directive(**script):
    return f"[[fake {json.dumps(script)}]]"


def test_create_answers_with_output_text_and_usage(sdk):
    response = sdk.responses.create(model="GLM-4.5", input="Hello", instructions="Be brief.")
    assert response.status == "completed"
    assert response.output_text == "Echo: Hello"
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.output[0].summary[0].text.startswith("The user wrote")
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens > 0
    assert response.instructions == "Be brief."


def test_stream_helper_yields_deltas_and_the_final_response(sdk):
    with sdk.responses.stream(model="GLM-4.5", input="Hello", reasoning={"effort": "none"}) as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "Echo: Hello"
    assert final.output_text == "Echo: Hello" and final.status == "completed"


def test_a_chain_continues_on_either_worker(sdk):
    first = sdk.responses.create(model="GLM-4.5", input="My name is Ada.")
    previous = first.id
    for turn in range(4):   # two workers: the chain is read from the shared store
        response = sdk.responses.create(model="GLM-4.5", input=f"Turn {turn}", previous_response_id=previous)
        assert response.previous_response_id == previous
        previous = response.id
    assert sdk.responses.retrieve(previous).output_text == "Echo: Turn 3"


def test_a_streamed_chain_continues_too(sdk):
    with sdk.responses.stream(model="GLM-4.5", input="Remember 7.") as stream:
        first = stream.get_final_response()
    with sdk.responses.stream(model="GLM-4.5", input="Which number?", previous_response_id=first.id) as stream:
        second = stream.get_final_response()
    assert second.output_text == "Echo: Which number?"
    assert second.previous_response_id == first.id


def test_a_function_tool_round_trip_with_and_without_a_chain(sdk):
    first = sdk.responses.create(model="GLM-4.5", tools=[WEATHER], reasoning={"effort": "none"},
                                 input=directive(answer=ONE_CALL))
    [call] = first.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    output = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
    chained = sdk.responses.create(model="GLM-4.5", tools=[WEATHER], previous_response_id=first.id,
                                   input=[output])
    assert chained.status == "completed" and chained.output_text
    whole = sdk.responses.create(model="GLM-4.5", tools=[WEATHER], input=[
        {"role": "user", "content": directive(answer=ONE_CALL)}, *[item.model_dump() for item in first.output],
        output])
    assert whole.status == "completed" and whole.output_text


def test_parse_returns_the_model_object(sdk):
    class Place(pydantic.BaseModel):
        city: str

    fenced = '```json\n{"city": "Paris"}\n```'
    parsed = sdk.responses.parse(model="GLM-4.5", input=directive(answer=fenced), text_format=Place,
                                 reasoning={"effort": "none"})
    assert parsed.output_parsed == Place(city="Paris")


def test_retrieve_and_delete(sdk):
    response = sdk.responses.create(model="GLM-4.5", input="Keep me")
    assert sdk.responses.retrieve(response.id).id == response.id
    sdk.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(response.id)


def test_an_unknown_previous_response_is_not_found(sdk):
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.responses.create(model="GLM-4.5", input="Hi", previous_response_id="resp_nothing")
    assert caught.value.param == "previous_response_id"


def test_a_failure_mid_stream_raises_in_the_sdk(sdk):
    with pytest.raises(openai.APIError):
        with sdk.responses.stream(model="GLM-4.5", input=directive(answer="partial", fault="error_mid")) as stream:
            for _ in stream:
                pass


def node_responses(server, scenario):
    from tests.conftest import KEY
    from tests.e2e.test_node_clients import node

    result = node("responses.mjs", scenario, env={"BASE_URL": f"{server}/v1", "API_KEY": KEY})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_node_sdk_create(server):
    seen = node_responses(server, "create")
    assert seen["id"].startswith("resp_") and seen["status"] == "completed"
    assert seen["text"] == "Echo: Hello"
    assert seen["types"] == ["reasoning", "message"]
    assert seen["usage"]["total_tokens"] > 0


def test_node_sdk_stream(server):
    seen = node_responses(server, "stream")
    assert seen["text"] == seen["finalText"] == "Echo: Hello"
    assert seen["summary"].startswith("The user wrote")
    assert seen["types"][0] == "response.created" and seen["types"][-1] == "response.completed"
    assert seen["status"] == "completed"


def test_node_sdk_chain(server):
    seen = node_responses(server, "chain")
    assert seen["second"] == "Echo: What is my name?" and seen["secondPrevious"] == seen["firstId"]
    assert seen["third"] == "Echo: And again?" and seen["thirdPrevious"] == seen["secondId"]
    assert seen["missing"] == {"name": "NotFoundError", "status": 404, "param": "previous_response_id"}


def test_the_ai_sdk_default_openai_model_speaks_responses(server):
    seen = node_responses(server, "aiSdk")
    assert seen["plain"] == "Echo: Hello" and seen["streamed"] == "Echo: Hello"
    assert seen["reasoning"].startswith("The user wrote")
    assert seen["executed"] == ["Paris"] and seen["steps"] == 2
    assert seen["toolResults"] == ["sunny in Paris"]
