"""Answers of the demo upstream (`make demo`): a conversation-aware sibling of the echo.

With `FakeZai(demo=True)` a request that offers tools (ZtoApi's tool instruction lists each as
`## <name>` and `Parameters (JSON Schema): {...}`) and ends with the user's question gets a call of
the tool the question names last, or of the only tool offered when it names none; its string
arguments are filled from the question's last `backticked text` ("Run `echo hi` with Bash" → Bash
{"command": "echo hi"}), else from its last capitalised word ("What is the weather in Paris?" →
{"city": "Paris"}), and an array gets that text as a shell command line (["bash", "-lc",
"echo hi"]). A conversation that ends with a tool result gets a sentence built on it ("Bash says:
hi"). Anything else gets the usual echo, a question that names none of several tools included
(coding agents offer a dozen). System turns after the last user turn (coding agents send some)
are not the end. The fake API's demo mode (tests/fakeapi/demo.py) calls native tools by the same
rules: `arguments` and `named_at`."""
import json
import re

from .transcript import sections

TOOL_HEADING = re.compile(r"^## ([A-Za-z0-9_-]+)$", re.M)
PARAMETERS = "Parameters (JSON Schema): "
TOOLS_START = "You can call these tools:"   # ZtoApi's tool instruction, between these two lines
TOOLS_END = "To call tools, answer with only this JSON object"
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
    """(name, parameters schema) of each tool the system turns' tool instruction describes (a
    developer prompt's own `## Personality` heading is not a tool)."""
    text = "\n".join(body for role, body in conversation if role == "system")
    start = text.rfind(TOOLS_START)
    if start == -1:
        return []
    end = text.find(TOOLS_END, start)
    text = text[start:end if end != -1 else None]
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
    quoted = re.findall(r"`([^`\n]+)`", question)
    words = re.findall(r"[A-Z][\w-]*", question)
    value = quoted[-1] if quoted else words[-1] if words else question.strip()
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    filled = {}
    for name in schema.get("required") or list(properties)[:1]:
        kind = (properties.get(name) or {}).get("type")
        filled[name] = 1 if kind in ("integer", "number") else True if kind == "boolean" \
            else ["bash", "-lc", value] if kind == "array" else value
    return filled


def named_at(name: str, question: str) -> int:
    """Where the question last names a tool (-1: nowhere), so the one named last is called."""
    found = [match.start() for match in re.finditer(rf"\b{re.escape(name)}\b", question)]
    return found[-1] if found else -1


def script_for(messages) -> dict:
    """The script of a demo answer ({} keeps the echo)."""
    conversation = turns(messages)
    while conversation and conversation[-1][0] == "system" and len(conversation) > 1:
        conversation = conversation[:-1]
    if not conversation:
        return {}
    role, last = conversation[-1]
    result = TOOL_RESULT.match(last)
    if result:
        return {"answer": f"{result.group(1)} says: {result.group(2).strip()}"}
    tools = tools_offered(turns(messages))
    named = [tool for tool in tools if named_at(tool[0], last) != -1]
    if role == "user" and (named or len(tools) == 1):
        name, schema = max(named or tools, key=lambda tool: named_at(tool[0], last))
        call = {"name": name, "arguments": arguments(schema, last)}
        return {"answer": json.dumps({"tool_calls": [call]})}
    return {}
