"""Function calling on a model with no tool API: tools are described in a system instruction,
and calls are parsed back out of the model's answer.

The model is asked to answer a call with only `{"tool_calls": [{"name": ..., "arguments": {...}}]}`.
The parser also takes that object in a fenced block or among prose, with OpenAI-shaped items,
arguments as a string, trailing commas, single quotes or Python literals. It never makes up a
call: an object that does not parse, or names a tool the request did not offer, stays text.
"""
import ast
import json
import re
import secrets
import string
from dataclasses import dataclass

import orjson

from ztoapi.errors import ApiError
from ztoapi.fairness import breathe

ID_ALPHABET = string.ascii_letters + string.digits
FENCE = "```"
KEY = "tool_calls"
TAIL = 512                  # content kept to tell a call nested in other JSON from a real one
JSON_WORDS = re.compile(r"\b(?:true|false|null)\b")
PYTHON_WORDS = {"true": "True", "false": "False", "null": "None"}


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str   # a JSON object, as text


def new_call_id():
    return "call_" + "".join(secrets.choice(ID_ALPHABET) for _ in range(24))


# ------------------------------------------------------------------ request side

def tool_instruction(tools, choice="auto", parallel=True):
    """The system text that teaches the model the tools and the call format."""
    lines = ["# Tools", "", "You can call these tools:", ""]
    for tool in tools:
        breathe()
        function = tool["function"]
        lines.append(f"## {function['name']}")
        if function.get("description"):
            lines.append(function["description"])
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        lines += [f"Parameters (JSON Schema): {orjson.dumps(parameters).decode()}", ""]
    lines += [
        "To call tools, answer with only this JSON object and nothing after it:",
        '{"tool_calls": [{"name": "<tool name>", "arguments": {<arguments as JSON>}}]}',
        "List several calls in \"tool_calls\" to run them together." if parallel
        else "Call at most one tool per answer.",
        "Without a tool, answer normally and do not write this JSON. Never invent tool results: "
        "they come back in a later message starting with \"Tool result\".",
    ]
    if choice == "required":
        lines.append("You must call at least one tool in this answer.")
    elif isinstance(choice, dict):
        lines.append(f"You must call the tool \"{choice['function']['name']}\" in this answer.")
    return "\n".join(lines)


def with_tools(messages, tools, choice="auto", parallel=True):
    """Messages as the model reads them: tool calls and results as text, the tools described."""
    check_tool_history(messages)
    names = {}
    converted = []
    for message in messages:
        breathe()
        if message["role"] == "assistant" and message.get("tool_calls"):
            converted.append({"role": "assistant", "content": call_text(message, names)})
        elif message["role"] == "tool":
            name = names.get(message["tool_call_id"], "a tool")
            converted.append({"role": "user", "content": f"Tool result from {name} "
                              f"(call {message['tool_call_id']}):\n{text_of(message.get('content'))}"})
        else:
            converted.append(message)
    if tools and choice != "none":
        instruction = tool_instruction(tools, choice, parallel)
        if converted and converted[0]["role"] in ("system", "developer"):
            first = converted[0]
            converted[0] = {**first, "content": f"{text_of(first.get('content'))}\n\n{instruction}"}
        else:
            converted.insert(0, {"role": "system", "content": instruction})
    return converted


def call_text(message, names):
    """An assistant turn with tool calls, written in the format the model was taught."""
    calls = []
    for call in message["tool_calls"]:
        breathe()
        names[call["id"]] = call["function"]["name"]
        arguments = loads_tolerant(call["function"]["arguments"])
        calls.append({"name": call["function"]["name"],
                      "arguments": arguments if isinstance(arguments, dict) else call["function"]["arguments"]})
    text = dumps({KEY: calls})
    content = text_of(message.get("content"))
    return f"{content}\n\n{text}" if content else text


def check_tool_history(messages):
    """Every tool message answers an earlier call, and every call is answered (OpenAI's 400s).

    The calls awaiting an answer are counted by id in a dict (ordered, for the message naming
    them), so the check takes one step per message and per call however long the history is."""
    pending = {}
    for i, message in enumerate(messages):
        breathe()
        if message["role"] == "tool":
            call_id = message.get("tool_call_id")
            left = pending.pop(call_id, 0) - 1
            if left < 0:
                raise ApiError(400, "Invalid parameter: messages with role 'tool' must be a response "
                                    "to a preceeding message with 'tool_calls'.", param=f"messages.[{i}].role")
            if left:
                pending[call_id] = left
            continue
        if pending:
            raise unanswered(pending)
        if message["role"] == "assistant" and message.get("tool_calls"):
            for call in message["tool_calls"]:
                pending[call["id"]] = pending.get(call["id"], 0) + 1
    if pending:
        raise unanswered(pending)


def unanswered(pending):
    ids = [call_id for call_id, count in pending.items() for _ in range(count)]
    return ApiError(400, "An assistant message with 'tool_calls' must be followed by tool messages "
                         "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                         f"response messages: {', '.join(ids)}", param="messages")


def text_of(content):
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def with_response_format(messages, response_format):
    """Messages with an instruction for JSON output (chat.z.ai has no JSON mode)."""
    kind = (response_format or {}).get("type")
    if kind == "json_object":
        instruction = "Answer with one valid JSON object only: no prose and no code fences."
    elif kind == "json_schema":
        schema = orjson.dumps(response_format["json_schema"]["schema"]).decode()
        instruction = ("Answer with one JSON value that is valid against this JSON Schema, and "
                       f"nothing else (no prose, no code fences): {schema}")
    else:
        return messages
    return [{"role": "system", "content": instruction}, *messages]


def unfenced(text):
    """A JSON answer without the code fence a model may still wrap it in."""
    stripped = text.strip()
    if stripped.startswith(FENCE) and stripped.endswith(FENCE):
        body = stripped[3:-3]
        first_line, _, rest = body.partition("\n")
        return (rest if first_line.strip().isalpha() or not first_line.strip() else body).strip()
    return text


# ------------------------------------------------------------------ response side

class ToolCallParser:
    """Splits answer text into content and tool calls, as it streams.

    Text that might begin a call is held back until it is known to be one or not."""

    def __init__(self, tool_names, parallel=True):
        self.names = set(tool_names)
        self.parallel = parallel
        self.buffer = ""
        self.calls = 0
        self.tail = ""            # the last content sent, to tell nested JSON from a call
        self.fence_open = False   # a fenced call block was read but its closing fence not yet

    def feed(self, text):
        self.buffer += text
        return self._drain(final=False)

    def finish(self):
        return self._drain(final=True)

    def _drain(self, final):
        out = []
        scan = 0
        while True:
            if self.fence_open and not self._close_fence(final):
                return out
            start = self._candidate(scan, final)
            if start is None:
                cut = len(self.buffer) if final else self._safe_end(scan)
                self._emit(out, cut)
                return out
            brace, block_start = start
            end = object_end(self.buffer, brace)
            if end is None:
                if final:
                    scan = brace + 1
                    continue
                self._emit(out, block_start)
                return out
            calls = self._calls(self.buffer[brace:end])
            if calls is None:
                scan = brace + 1
                continue
            fenced = block_start != brace or self.fence_open
            block_end = self._after_fence(end, fenced, final)
            if block_end is None:
                self._emit(out, block_start)
                return out
            self.fence_open = fenced and self.buffer[block_end - 3:block_end] != FENCE
            self._emit(out, block_start)
            if not self.parallel:
                calls = calls[:1] if not self.calls else []
            self.calls += len(calls)
            out += [("tool_call", call) for call in calls]
            self.buffer = self.buffer[block_end - block_start:]
            scan = 0

    def _close_fence(self, final):
        """After a fenced call block whose fence is still open: drop its closing fence, wait for
        more, or let another call object follow. False when it must wait."""
        rest = self.buffer.lstrip()
        if rest.startswith(FENCE):
            self.buffer = rest[3:]
            self.fence_open = False
        elif not final and (FENCE.startswith(rest) or rest == ""):
            return False
        elif not rest.startswith("{"):
            self.fence_open = False
        return True

    def _emit(self, out, end):
        """Send buffer[:end] as content and keep the rest."""
        if end > 0:
            out.append(("content", self.buffer[:end]))
            self.tail = (self.tail + self.buffer[:end])[-TAIL:]
            self.buffer = self.buffer[end:]

    def _candidate(self, scan, final):
        """(brace, block start) of the first "{" that may open a tool_calls object, or None."""
        text = self.buffer
        brace = text.find("{", scan)
        while brace != -1:
            verdict = opens_tool_calls(text, brace)
            if (verdict is True or (verdict is None and not final)) and not nested(self.tail + text[:brace]):
                return brace, fence_start(text, brace)
            brace = text.find("{", brace + 1)
        return None

    def _safe_end(self, scan):
        """How much of the buffer is surely content: up to a trailing fence opener or backticks."""
        text = self.buffer
        fence = text.rfind(FENCE, scan)
        if fence != -1 and text[fence + 3:].strip(string.ascii_letters + " \t\r\n") == "":
            return fence
        stripped = text.rstrip("`")
        return len(stripped) if len(text) - len(stripped) < 3 else len(text)

    def _after_fence(self, end, fenced, final):
        """Where a call block ends: after its closing fence when fenced (None: not seen yet)."""
        if not fenced:
            return end
        rest = self.buffer[end:]
        after = len(rest) - len(rest.lstrip())
        if rest[after:after + 3] == FENCE:
            return end + after + 3
        if not final and FENCE.startswith(rest[after:after + 3]):
            return None
        return end

    def _calls(self, text):
        """The calls in a tool_calls object, or None when it is not a valid call for this request."""
        value = loads_tolerant(text)
        items = value.get(KEY) if isinstance(value, dict) else None
        if not isinstance(items, list) or not items:
            return None
        calls = []
        for item in items:
            call = self._call(item)
            if call is None:
                return None
            calls.append(call)
        return calls

    def _call(self, item):
        if not isinstance(item, dict):
            return None
        function = item.get("function") if isinstance(item.get("function"), dict) else item
        name = function.get("name")
        arguments = next((function[key] for key in ("arguments", "parameters", "input")
                          if key in function), {})
        if isinstance(arguments, str):
            arguments = loads_tolerant(arguments) if arguments.strip() else {}
        if name not in self.names or not isinstance(arguments, dict):
            return None
        return ToolCall(new_call_id(), name, dumps(arguments))


def opens_tool_calls(text, brace):
    """True if the "{" at `brace` opens a `{"tool_calls"` object, False if not, None if unknown yet."""
    rest = text[brace + 1:].lstrip()
    if rest[:1] in ("'", '"'):
        rest = rest[1:]
    if len(rest) < len(KEY):
        return None if KEY.startswith(rest) else False
    return rest.startswith(KEY)


def nested(before):
    """True when a "{" after the text `before` sits inside other JSON: after `"key":`, `[`, `,` or
    `{`, with a bracket still open before it (so prose such as `"rate limits":` stays prose)."""
    before = before.rstrip()
    last = before[-1:]
    if last == ":" and before[:-1].rstrip()[-1:] not in ("'", '"'):
        return False
    if last not in ("[", ",", "{", ":"):
        return False
    return unclosed_bracket(before)


def unclosed_bracket(text):
    """True if `text` has a "{" or "[" that no later "}" or "]" closes."""
    pending = 0
    for char in reversed(text):
        if char in "}]":
            pending += 1
        elif char in "{[":
            if not pending:
                return True
            pending -= 1
    return False


def fence_start(text, brace):
    """Where a fenced block holding the object at `brace` begins (or `brace` when unfenced)."""
    before = text[:brace].rstrip()
    line_start = before.rfind("\n") + 1
    line = before[line_start:].strip()
    if line.startswith(FENCE) and (line[3:].isalpha() or line[3:] == ""):
        return line_start + before[line_start:].find(FENCE)
    return brace


def segments(text, start=0):
    """(offset, piece, quoted) runs of `text` from `start`, split at '…' and "…" strings."""
    quote = None
    escaped = False
    run = start
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                yield run, text[run:index + 1], True
                quote, run = None, index + 1
        elif char in "\"'":
            if index > run:
                yield run, text[run:index], False
            quote, run = char, index
    if run < len(text):
        yield run, text[run:], quote is not None


def object_end(text, start):
    """The index just past the object opening at `start` (quote-aware), or None if not closed."""
    depth = 0
    for offset, piece, quoted in segments(text, start):
        if quoted:
            continue
        for index, char in enumerate(piece):
            if char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth == 0:
                    return offset + index + 1
    return None


def loads_tolerant(text):
    """JSON, or failing that the same as a Python literal (single quotes, trailing commas,
    True/False/None and true/false/null) holding only JSON values; None when it is neither."""
    try:
        return json.loads(text)   # not orjson: it turns integers past 64 bits into floats
    except (ValueError, TypeError, RecursionError):
        pass
    try:
        value = ast.literal_eval(pythonic(text))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if json_values_only(value) else None


def json_values_only(value):
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_values_only(v) for k, v in value.items())
    if isinstance(value, list):
        return all(json_values_only(item) for item in value)
    return value is None or isinstance(value, (str, bool, int, float))


def dumps(value):
    """Compact JSON text; stdlib json for what orjson refuses (integers past 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def pythonic(text):
    """JSON's true/false/null as Python's, outside strings."""
    return "".join(piece if quoted else JSON_WORDS.sub(lambda m: PYTHON_WORDS[m.group()], piece)
                   for _, piece, quoted in segments(text))
