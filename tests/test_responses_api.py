"""OpenAI's Responses API in process: shapes, events, input items, tools, chains, errors."""
import json

from tests.conftest import KEY
from tests.conftest import settings_for
from ztoapi import create_app

AUTH = {"Authorization": f"Bearer {KEY}"}
WEATHER = {"type": "function", "name": "get_weather", "description": "Current weather in a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"]}}
ONE_CALL = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}'
NO_THINKING = {"effort": "none"}


def post(client, body, headers=AUTH):
    return client.post("/v1/responses", json=body, headers=headers)


def directive(**script):
    return f"[[fake {json.dumps(script)}]]"


def events(response):
    """The data of each SSE frame; every frame names its type on an `event:` line too."""
    text = response.get_data(as_text=True)
    out = []
    for block in text.split("\n\n"):
        if not block or block.startswith(":"):
            continue
        head, data = block.split("\n")
        payload = json.loads(data.removeprefix("data: "))
        assert head == f"event: {payload['type']}"
        out.append(payload)
    return out


def chat_posts(fake):
    return [r["body"] for r in fake.requests if r["path"] == "/api/chat/completions"]


def error_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()["error"]


def test_a_string_input_is_answered_as_a_response_object(client):
    response = post(client, {"model": "GLM-4.5", "input": "Hello", "reasoning": {"effort": "none"}})
    assert response.status_code == 200
    assert response.content_type == "application/json"
    body = response.get_json()
    assert body["id"].startswith("resp_")
    assert body["object"] == "response" and body["status"] == "completed"
    assert body["model"] == "GLM-4.5"
    [message] = body["output"]
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["status"] == "completed" and message["id"].startswith("msg_")
    assert message["content"] == [{"type": "output_text", "annotations": [], "logprobs": [],
                                   "text": "Echo: Hello"}]
    usage = body["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens_details"] == {"cached_tokens": 0, "cache_write_tokens": 0}
    assert body["parallel_tool_calls"] is True and body["tool_choice"] == "auto" and body["tools"] == []
    assert body["text"] == {"format": {"type": "text"}} and body["store"] is True
    assert body["error"] is None and body["incomplete_details"] is None and body["metadata"] == {}


def test_instructions_and_message_items_reach_the_upstream_in_order(client, fake):
    response = post(client, {"model": "GLM-4.5", "instructions": "Be brief.", "input": [
        {"role": "developer", "content": "Answer in French."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
        {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
         "content": [{"type": "output_text", "text": "Bonjour", "annotations": []}]},
        {"role": "user", "content": "How are you?"}]})
    assert response.status_code == 200
    assert response.get_json()["output"][-1]["content"][0]["text"] == "Echo: How are you?"
    sent = json.dumps(chat_posts(fake)[-1]["messages"], ensure_ascii=False)
    assert sent.index("Be brief.") < sent.index("Answer in French.") < sent.index("Bonjour") < sent.index(
        "How are you?")


def test_the_stream_is_openai_s_event_sequence(client):
    response = post(client, {"model": "GLM-4.5", "input": "Hello", "stream": True,
                             "reasoning": {"effort": "none"}})
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    body = response.get_data(as_text=True)
    assert "[DONE]" not in body
    stream = events(response)
    assert [event["type"] for event in stream] == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.content_part.added", *["response.output_text.delta"] * (len(stream) - 8),
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.completed"]
    assert [event["sequence_number"] for event in stream] == list(range(len(stream)))
    assert stream[0]["response"]["status"] == "in_progress" and stream[0]["response"]["output"] == []
    text = "".join(event["delta"] for event in stream if event["type"] == "response.output_text.delta")
    assert text == "Echo: Hello"
    completed = stream[-1]["response"]
    assert completed["status"] == "completed" and completed["id"] == stream[0]["response"]["id"]
    assert completed["output"][0]["content"][0]["text"] == "Echo: Hello"
    assert completed["usage"]["output_tokens"] > 0


def test_reasoning_becomes_a_reasoning_item_with_a_summary(client):
    response = post(client, {"model": "GLM-4.5", "reasoning": {"effort": "high", "summary": "auto"},
                             "input": directive(reasoning="Let me think.", answer="42")})
    body = response.get_json()
    reasoning, message = body["output"]
    assert reasoning["type"] == "reasoning" and reasoning["id"].startswith("rs_")
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Let me think."}]
    assert message["content"][0]["text"] == "42"
    assert body["reasoning"] == {"effort": "high", "summary": "auto"}
    first = post(client, {"model": "GLM-4.5", "input": "Hello", "reasoning": {"effort": "none"}})
    assert [item["type"] for item in first.get_json()["output"]] == ["message"]
    assert body["usage"]["output_tokens_details"]["reasoning_tokens"] > 0


def test_reasoning_streams_as_summary_text_before_the_answer(client):
    response = post(client, {"model": "GLM-4.5", "stream": True, "reasoning": {"effort": "low"},
                             "input": directive(reasoning="Hmm.", answer="Yes")})
    kinds = [event["type"] for event in events(response)]
    assert kinds.index("response.reasoning_summary_part.added") < kinds.index(
        "response.reasoning_summary_text.delta") < kinds.index("response.reasoning_summary_text.done") < kinds.index(
        "response.output_text.delta")


def test_effort_none_turns_thinking_off(client, fake):
    post(client, {"model": "GLM-4.5", "input": "Hi", "reasoning": {"effort": "none"}})
    assert chat_posts(fake)[-1]["features"]["enable_thinking"] is False
    post(client, {"model": "GLM-4.5", "input": "Hi", "reasoning": {"effort": "medium"}})
    assert chat_posts(fake)[-1]["features"]["enable_thinking"] is True


def test_a_function_call_is_an_output_item(client):
    response = post(client, {"model": "GLM-4.5", "reasoning": NO_THINKING, "tools": [WEATHER], "input": directive(answer=ONE_CALL)})
    body = response.get_json()
    [call] = body["output"]
    assert call["type"] == "function_call" and call["status"] == "completed"
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"city": "Paris"}
    assert call["call_id"].startswith("call_") and call["id"].startswith("fc_")
    assert body["tools"] == [{"strict": True, **WEATHER}]


def test_a_streamed_function_call_has_its_argument_events(client):
    response = post(client, {"model": "GLM-4.5", "reasoning": NO_THINKING, "tools": [WEATHER], "stream": True,
                             "input": directive(answer=ONE_CALL)})
    stream = events(response)
    kinds = [event["type"] for event in stream]
    assert kinds[-5:] == ["response.output_item.added", "response.function_call_arguments.delta",
                          "response.function_call_arguments.done", "response.output_item.done",
                          "response.completed"]
    done = stream[-2]["item"]
    assert stream[-3]["arguments"] == done["arguments"] and json.loads(done["arguments"]) == {"city": "Paris"}
    assert stream[-1]["response"]["output"] == [done]


def test_a_tool_round_trip_sends_the_call_and_its_output_back(client, fake):
    response = post(client, {"model": "GLM-4.5", "tools": [WEATHER], "input": [
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "reasoning", "id": "rs_1", "summary": [], "content": None, "encrypted_content": None},
        {"type": "function_call", "id": "fc_1", "status": "completed", "call_id": "call_1",
         "name": "get_weather", "arguments": '{"city": "Paris"}'},
        {"type": "function_call_output", "id": "fco_1", "call_id": "call_1", "output": "sunny, 24 C"}]})
    assert response.status_code == 200, response.get_data(as_text=True)
    sent = json.dumps(chat_posts(fake)[-1]["messages"])
    assert "get_weather" in sent and "sunny, 24 C" in sent


def test_namespace_tools_are_offered_and_web_search_turns_search_on(client, fake):
    namespace = {"type": "namespace", "name": "agents", "description": "Sub-agents.",
                 "tools": [{"type": "function", "name": "spawn_agent", "parameters": {"type": "object"}}]}
    response = post(client, {"model": "GLM-4.5", "input": "Hi",
                             "tools": [WEATHER, namespace, {"type": "web_search"}]})
    assert response.status_code == 200
    sent = chat_posts(fake)[-1]
    assert "spawn_agent" in json.dumps(sent["messages"]) and "get_weather" in json.dumps(sent["messages"])
    assert sent["features"]["web_search"] is True
    post(client, {"model": "GLM-4.5", "input": "Hi", "tools": [{"type": "web_search", "external_web_access": False}]})
    assert chat_posts(fake)[-1]["features"]["web_search"] is False


def test_a_tool_type_it_cannot_serve_is_a_clear_400(client, fake):
    error = error_of(post(client, {"model": "GLM-4.5", "input": "Hi", "tools": [
        WEATHER, {"type": "code_interpreter", "container": {"type": "auto"}}]}), 400)
    assert error["param"] == "tools[1].type" and "'code_interpreter'" in error["message"]
    assert error["type"] == "invalid_request_error"
    assert chat_posts(fake) == []


def test_json_schema_output_is_asked_for_and_unfenced(client, fake):
    fenced = '```json\n{"city": "Paris"}\n```'
    response = post(client, {"model": "GLM-4.5", "reasoning": NO_THINKING, "input": directive(answer=fenced), "text": {"format": {
        "type": "json_schema", "name": "place", "schema": {"type": "object", "properties": {
            "city": {"type": "string"}}}}}})
    body = response.get_json()
    assert json.loads(body["output"][0]["content"][0]["text"]) == {"city": "Paris"}
    assert body["text"]["format"]["strict"] is True and body["text"]["format"]["name"] == "place"
    instruction = chat_posts(fake)[-1]["messages"][0]["content"]
    assert "valid against this JSON Schema" in instruction and '"city"' in instruction


def test_a_chain_continues_from_the_stored_response(client, fake):
    first = post(client, {"model": "GLM-4.5", "instructions": "Be brief.", "input": "My name is Ada."}).get_json()
    second = post(client, {"model": "GLM-4.5", "input": "What is my name?",
                           "previous_response_id": first["id"]})
    assert second.status_code == 200
    assert second.get_json()["previous_response_id"] == first["id"]
    sent = json.dumps(chat_posts(fake)[-1]["messages"])
    assert "My name is Ada." in sent and "Echo: My name is Ada." in sent and "What is my name?" in sent
    assert "Be brief." not in sent   # instructions are not carried over


def test_a_chain_continues_a_function_call_with_only_its_output(client, fake):
    first = post(client, {"model": "GLM-4.5", "reasoning": NO_THINKING, "tools": [WEATHER], "input": directive(answer=ONE_CALL)}).get_json()
    call = first["output"][0]
    second = post(client, {"model": "GLM-4.5", "tools": [WEATHER], "previous_response_id": first["id"],
                           "input": [{"type": "function_call_output", "call_id": call["call_id"],
                                      "output": "rainy"}]})
    assert second.status_code == 200, second.get_data(as_text=True)
    assert "rainy" in json.dumps(chat_posts(fake)[-1]["messages"])


def test_a_streamed_response_is_stored_too(client):
    stream = events(post(client, {"model": "GLM-4.5", "input": "Hello", "stream": True}))
    response_id = stream[-1]["response"]["id"]
    stored = client.get(f"/v1/responses/{response_id}", headers=AUTH)
    assert stored.status_code == 200
    assert stored.get_json() == stream[-1]["response"]


def test_store_false_keeps_nothing(client):
    body = post(client, {"model": "GLM-4.5", "input": "Hello", "store": False}).get_json()
    assert body["store"] is False
    error = error_of(client.get(f"/v1/responses/{body['id']}", headers=AUTH), 404)
    assert error["message"] == f"Response with id '{body['id']}' not found."
    error = error_of(post(client, {"model": "GLM-4.5", "input": "Hi", "previous_response_id": body["id"]}), 404)
    assert error["param"] == "previous_response_id"
    assert error["message"] == f"Previous response with id '{body['id']}' not found."


def test_another_key_cannot_read_or_continue_a_stored_response(fake):
    client = create_app(settings_for(fake, api_keys="alice:sk-alice-0123456789,bob:sk-bob-0123456789")).test_client()
    alice, bob = ({"Authorization": "Bearer sk-alice-0123456789"}, {"Authorization": "Bearer sk-bob-0123456789"})
    made = post(client, {"model": "GLM-4.5", "input": "secret plans"}, headers=alice).get_json()
    assert client.get(f"/v1/responses/{made['id']}", headers=alice).status_code == 200
    assert client.get(f"/v1/responses/{made['id']}", headers=bob).status_code == 404
    assert post(client, {"model": "GLM-4.5", "input": "go on", "previous_response_id": made["id"]},
                headers=bob).status_code == 404
    assert client.delete(f"/v1/responses/{made['id']}", headers=bob).status_code == 404
    deleted = client.delete(f"/v1/responses/{made['id']}", headers=alice)
    assert deleted.get_json() == {"id": made["id"], "object": "response.deleted", "deleted": True}
    assert client.get(f"/v1/responses/{made['id']}", headers=alice).status_code == 404


def test_without_a_key_it_is_a_401_in_openai_s_envelope(client):
    error = error_of(post(client, {"model": "GLM-4.5", "input": "Hi"}, headers={}), 401)
    assert error["type"] == "invalid_request_error"


def test_bad_input_is_a_400_naming_the_item(client, fake):
    cases = [
        ({"input": "Hi"}, "model"),
        ({"model": "GLM-4.5", "input": 42}, "input"),
        ({"model": "GLM-4.5", "input": [{"role": "robot", "content": "Hi"}]}, "input[0].role"),
        ({"model": "GLM-4.5", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
         "input[0].call_id"),
        ({"model": "GLM-4.5", "input": [{"type": "computer_call", "id": "c"}]}, "input[0].type"),
        ({"model": "GLM-4.5", "input": [{"role": "user", "content": [{"type": "input_audio"}]}]},
         "input[0].content[0].type"),
        ({"model": "GLM-4.5", "input": "Hi", "temperature": 3}, "temperature"),
        ({"model": "GLM-4.5", "input": "Hi", "reasoning": {"effort": "extreme"}}, "reasoning.effort"),
        ({"model": "GLM-4.5", "input": "Hi", "background": True}, "background"),
        ({"model": "GLM-4.5", "input": "Hi", "tools": [{"type": "function"}]}, "tools[0].name"),
        ({"model": "GLM-4.5"}, "input"),
    ]
    for body, param in cases:
        error = error_of(post(client, body), 400)
        assert error["param"] == param, (body, error)
    assert chat_posts(fake) == []


def test_an_unknown_model_is_a_404(client):
    error = error_of(post(client, {"model": "GLM-9", "input": "Hi"}), 404)
    assert "GLM-9" in error["message"]


def test_unknown_fields_are_ignored(client):
    response = post(client, {"model": "GLM-4.5", "input": "Hi", "prompt_cache_key": "abc",
                             "client_metadata": {"x": "y"}, "include": ["reasoning.encrypted_content"],
                             "service_tier": "auto", "context_management": [{"type": "compaction"}]})
    assert response.status_code == 200


def test_an_upstream_failure_mid_stream_ends_with_response_failed(client):
    response = post(client, {"model": "GLM-4.5", "stream": True,
                             "input": directive(answer="partial answer here", fault="error_mid")})
    stream = events(response)
    assert [event["type"] for event in stream[-2:]] == ["error", "response.failed"]
    failed = stream[-1]["response"]
    assert failed["status"] == "failed" and failed["error"]["message"]
    assert [event["sequence_number"] for event in stream] == list(range(len(stream)))


def test_an_upstream_failure_before_the_first_byte_is_an_openai_error(client):
    error = error_of(post(client, {"model": "GLM-4.5", "stream": True,
                                   "input": directive(fault="http500")}), 502)
    assert error["code"] == "upstream_error"


def test_item_references_name_stored_output_items(client, fake):
    first = post(client, {"model": "GLM-4.5", "tools": [WEATHER], "input": directive(answer=ONE_CALL)}).get_json()
    reasoning, call = first["output"]
    response = post(client, {"model": "GLM-4.5", "tools": [WEATHER], "input": [
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "item_reference", "id": reasoning["id"]},
        {"type": "item_reference", "id": call["id"]},
        {"type": "function_call_output", "call_id": call["call_id"], "output": "foggy"}]})
    assert response.status_code == 200, response.get_data(as_text=True)
    sent = json.dumps(chat_posts(fake)[-1]["messages"])
    assert "get_weather" in sent and "foggy" in sent


def test_a_reasoning_reference_needs_no_stored_response(client):
    response = post(client, {"model": "GLM-4.5", "input": [
        {"role": "user", "content": "Hi"}, {"type": "item_reference", "id": "rs_unknown_0"}]})
    assert response.status_code == 200


def test_an_unknown_item_reference_is_a_404(client, fake):
    for item_id in ("msg_nothing_0", "fc_abc", "msg_" + "0" * 48 + "_7"):
        error = error_of(post(client, {"model": "GLM-4.5", "input": [
            {"role": "user", "content": "Hi"}, {"type": "item_reference", "id": item_id}]}), 404)
        assert error["message"] == f"Item with id '{item_id}' not found." and error["param"] == "input[1].id"
    assert chat_posts(fake) == []


def test_a_stored_response_lapses_after_responses_ttl(fake):
    import time
    client = create_app(settings_for(fake, responses_ttl=0.3)).test_client()
    made = post(client, {"model": "GLM-4.5", "input": "Hello"}).get_json()
    assert client.get(f"/v1/responses/{made['id']}", headers=AUTH).status_code == 200
    time.sleep(0.4)
    assert client.get(f"/v1/responses/{made['id']}", headers=AUTH).status_code == 404
