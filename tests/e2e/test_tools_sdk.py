"""Function calling through the official OpenAI Python SDK (the fake scripts what GLM says)."""
import json

import openai
import pytest
from tests.sent import last_chat

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}}}}
ASK = [{"role": "user", "content": "What's the weather in Paris?"}]
ONE_CALL = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}'
TWO_CALLS = ('I will look both up.\n```json\n{"tool_calls": [\n  {"name": "get_weather", "arguments": {"city": "Paris"}},\n'
             '  {"name": "get_time", "arguments": {"zone": "Europe/Paris"}}\n]}\n```')


def test_one_call_non_streaming(sdk, fake):
    fake.script_next(answer=ONE_CALL)
    completion = sdk.chat.completions.create(model="GLM-4.5", messages=ASK, tools=[WEATHER])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.id.startswith("call_") and len(call.id) == 29
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    system = last_chat(fake)["messages"][0]
    assert system["role"] == "system" and "## get_weather" in system["content"]


def test_two_parallel_calls_with_the_stream_helper(sdk, fake):
    fake.script_next(answer=TWO_CALLS, chunk=3)
    with sdk.chat.completions.stream(model="GLM-4.5", messages=ASK, tools=[WEATHER, TIME]) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    message = final.choices[0].message
    assert final.choices[0].finish_reason == "tool_calls"
    assert message.content == "I will look both up.\n"
    assert [c.function.name for c in message.tool_calls] == ["get_weather", "get_time"]
    assert [json.loads(c.function.arguments) for c in message.tool_calls] == [
        {"city": "Paris"}, {"zone": "Europe/Paris"}]
    ids = [c.id for c in message.tool_calls]
    assert all(i.startswith("call_") and len(i) == 29 for i in ids) and len(set(ids)) == 2


def test_streamed_call_deltas_follow_the_client_invariants(sdk, fake):
    fake.script_next(answer=ONE_CALL, chunk=2)
    chunks = list(sdk.chat.completions.create(model="GLM-4.5", messages=ASK, tools=[WEATHER], stream=True))
    deltas = [c.choices[0].delta for c in chunks if c.choices and c.choices[0].delta.tool_calls]
    first, *rest = [d.tool_calls[0] for d in deltas]
    assert (first.index, first.type, first.function.name, first.function.arguments) == (0, "function", "get_weather", "")
    assert first.id.startswith("call_")
    assert rest and all(d.id is None and d.function.name is None and d.function is not None for d in rest)
    assert json.loads("".join(d.function.arguments for d in rest)) == {"city": "Paris"}
    assert chunks[0].choices[0].delta.content is None
    assert [c.choices[0].finish_reason for c in chunks][-1] == "tool_calls"


def test_text_answers_still_work_with_tools(sdk, fake):
    fake.script_next(answer="It is sunny in Paris, no tool needed.")
    completion = sdk.chat.completions.create(model="GLM-4.5", messages=ASK, tools=[WEATHER])
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content == "It is sunny in Paris, no tool needed."
    assert completion.choices[0].message.tool_calls is None


def test_a_call_to_a_tool_not_offered_stays_text(sdk, fake):
    text = '{"tool_calls": [{"name": "delete_everything", "arguments": {}}]}'
    fake.script_next(answer=text)
    completion = sdk.chat.completions.create(model="GLM-4.5", messages=ASK, tools=[WEATHER])
    assert completion.choices[0].message.content == text
    assert completion.choices[0].message.tool_calls is None


@pytest.mark.parametrize("choice, says", [
    ("required", "You must call at least one tool"),
    ({"type": "function", "function": {"name": "get_time"}}, 'You must call the tool "get_time"'),
    ("auto", "## get_weather"),
])
def test_tool_choice_reaches_the_instruction(sdk, fake, choice, says):
    sdk.chat.completions.create(model="GLM-4.5", messages=ASK, tools=[WEATHER, TIME], tool_choice=choice)
    assert says in last_chat(fake)["messages"][0]["content"]


def test_tool_choice_none_sends_no_tools_and_parses_nothing(sdk, fake):
    fake.script_next(answer=ONE_CALL)
    completion = sdk.chat.completions.create(model="GLM-4.5", messages=ASK, tools=[WEATHER], tool_choice="none")
    assert completion.choices[0].message.content == ONE_CALL
    assert "## get_weather" not in json.dumps(last_chat(fake)["messages"])


def test_parallel_tool_calls_false_keeps_one_call(sdk, fake):
    fake.script_next(answer=TWO_CALLS)
    completion = sdk.chat.completions.create(model="GLM-4.5", messages=ASK, tools=[WEATHER, TIME],
                                             parallel_tool_calls=False)
    assert [c.function.name for c in completion.choices[0].message.tool_calls] == ["get_weather"]
    assert "Call at most one tool per answer." in last_chat(fake)["messages"][0]["content"]


def test_full_round_trip(sdk, fake):
    fake.script_next(answer=ONE_CALL)
    first = sdk.chat.completions.create(model="GLM-4.5", messages=ASK, tools=[WEATHER])
    call = first.choices[0].message.tool_calls[0]
    fake.script_next(answer="It is 18 °C and sunny in Paris.")
    history = ASK + [first.choices[0].message.model_dump(exclude_none=True),
                     {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 18, "sky": "sunny"}'}]
    final = sdk.chat.completions.create(model="GLM-4.5", messages=history, tools=[WEATHER])
    assert final.choices[0].message.content == "It is 18 °C and sunny in Paris."
    sent = last_chat(fake)["messages"]
    assert sent[-2] == {"role": "assistant", "content": '{"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}}]}'}
    assert sent[-1]["role"] == "user"
    assert sent[-1]["content"] == f'Tool result from get_weather (call {call.id}):\n{{"temp_c": 18, "sky": "sunny"}}'
    assert last_chat(fake)["signature_prompt"] == last_chat(fake).get("folded", sent[-1]["content"])


def test_orphan_tool_message_is_a_400(sdk):
    messages = ASK + [{"role": "tool", "tool_call_id": "call_nope", "content": "x"}]
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="GLM-4.5", messages=messages, tools=[WEATHER])
    assert caught.value.param == "messages.[1].role"
    assert "must be a response to a preceeding message with 'tool_calls'" in caught.value.message


def test_unanswered_call_is_a_400(sdk):
    messages = ASK + [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "user", "content": "and?"}]
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="GLM-4.5", messages=messages, tools=[WEATHER])
    assert "did not have response messages: call_abc" in caught.value.message


def test_upstream_search_blocks_are_not_client_tool_calls(sdk, fake):
    fake.script_next(answer="Paris is sunny.", search=True)
    completion = sdk.chat.completions.create(model="GLM-4.5", messages=ASK, tools=[WEATHER])
    assert completion.choices[0].message.tool_calls is None
    assert completion.choices[0].message.content.startswith("Paris is sunny.\n\nSources:")


def test_structured_output_with_a_json_schema(sdk, fake):
    from pydantic import BaseModel

    class City(BaseModel):
        name: str
        population: int

    fake.script_next(answer='```json\n{"name": "Paris", "population": 2100000}\n```')
    completion = sdk.chat.completions.parse(model="GLM-4.5", messages=[
        {"role": "user", "content": "Describe Paris."}], response_format=City)
    assert completion.choices[0].message.parsed == City(name="Paris", population=2100000)
    instruction = last_chat(fake)["messages"][0]
    assert instruction["role"] == "system" and '"population"' in instruction["content"]


def test_langchain_structured_output_default_method(server, fake):
    from langchain_openai import ChatOpenAI
    from pydantic import BaseModel

    from tests.conftest import KEY

    class City(BaseModel):
        name: str
        population: int

    fake.script_next(answer='{"name": "Paris", "population": 2100000}')
    model = ChatOpenAI(base_url=f"{server}/v1", api_key=KEY, model="GLM-4.5", max_retries=0)
    assert model.with_structured_output(City).invoke("Describe Paris.") == City(name="Paris", population=2100000)
