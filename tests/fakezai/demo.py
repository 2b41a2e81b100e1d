"""Answers of the demo upstream (`make demo`): a conversation-aware sibling of the echo.

With `FakeZai(demo=True)` a request that offers tools (ZtoApi's tool instruction lists each as
`## <name>` and `Parameters (JSON Schema): {...}`) and ends with the user's question gets a call of
the first tool, its string arguments filled from the question's last capitalised word ("What is the
weather in Paris?" → {"city": "Paris"}); a conversation that ends with a tool result gets a
sentence built on that result; anything else gets the usual echo."""
import json
import re

from .transcript import sections

TOOL_HEADING = re.compile(r"^## ([A-Za-z0-9_-]+)$", re.M)
PARAMETERS = "Parameters (JSON Schema): "
TOOL_RESULT = re.compile(r"^Tool result from (\S+) \(call [^)]*\):\n(.*)", re.S)


def turns(messages) -> list[tuple[str, str]]:
    """(role, text) of each turn: a folded 2026 transcript is written out again."""
    found = []
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            content = "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        if isinstance(content, str):
            found += sections(content) or [(message.get("role", "user"), content)]
    return found


def tools_offered(conversation) -> list[tuple[str, dict]]:
    """(name, parameters schema) of each tool the system turns describe."""
    text = "\n".join(body for role, body in conversation if role == "system")
    tools = []
    for match in TOOL_HEADING.finditer(text):
        start = text.find(PARAMETERS, match.end())
        schema = {}
        if start != -1:
            line = text[start + len(PARAMETERS):].split("\n", 1)[0]
            try:
                schema = json.loads(line)
            except ValueError:
                schema = {}
        tools.append((match.group(1), schema if isinstance(schema, dict) else {}))
    return tools


def arguments(schema: dict, question: str) -> dict:
    """Values for the schema's required properties, taken from the question where they can be."""
    words = re.findall(r"[A-Z][\w-]*", question)
    value = words[-1] if words else question.strip()
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    filled = {}
    for name in schema.get("required") or list(properties)[:1]:
        kind = (properties.get(name) or {}).get("type")
        filled[name] = 1 if kind in ("integer", "number") else True if kind == "boolean" else value
    return filled


def script_for(messages) -> dict:
    """The script of a demo answer ({} keeps the echo)."""
    conversation = turns(messages)
    if not conversation:
        return {}
    role, last = conversation[-1]
    result = TOOL_RESULT.match(last)
    if result:
        return {"answer": f"{result.group(1)} says: {result.group(2).strip()}"}
    tools = tools_offered(conversation)
    if tools and role == "user":
        name, schema = tools[0]
        call = {"name": name, "arguments": arguments(schema, last)}
        return {"answer": json.dumps({"tool_calls": [call]})}
    return {}
