"""Answers of the fake API's demo mode (`FakeZaiApi(demo=True)`, `DEMO_UPSTREAM=api make demo`): the web
fake's demo rules (tests/fakezai/demo.py) in the API's terms.

A request with function `tools` whose last message is the user's question gets a native tool call of the
tool the question names last, or of the only function tool offered when it names none; its arguments
are filled from the question by the web fake's own rules (`arguments`: the last `backticked text`,
else the last capitalised word). A conversation that ends with a `tool` message gets "<tool name> says:
<content>", the name being that of the assistant's call the message answers. Anything else gets the
usual echo. System messages after the last user message are not the end."""
from tests.fakezai.demo import arguments, named_at

from .replies import message_text


def script_for(body: dict) -> dict:
    """The script of a demo answer to a validated body ({} keeps the echo)."""
    messages = list(body["messages"])
    while len(messages) > 1 and messages[-1]["role"] == "system":
        messages.pop()
    last = messages[-1]
    if last["role"] == "tool":
        names = {call["id"]: call["function"]["name"] for m in messages if m["role"] == "assistant"
                 for call in m.get("tool_calls") or ()}
        name = names.get(last["tool_call_id"], "the tool")
        return {"answer": f"{name} says: {message_text(last['content']).strip()}"}
    tools = [(t["function"]["name"], t["function"]["parameters"]) for t in body.get("tools") or ()
             if t.get("type") == "function"]
    question = message_text(last.get("content"))
    named = [tool for tool in tools if named_at(tool[0], question) != -1]
    if last["role"] == "user" and (named or len(tools) == 1):
        name, schema = max(named or tools, key=lambda tool: named_at(tool[0], question))
        return {"tool_calls": [{"name": name, "arguments": arguments(schema, question)}]}
    return {}
