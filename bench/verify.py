"""Reading replies back: when the first content arrives, and whether the whole text is right.

ZtoApi's OpenAI SSE stream, ZtoApi's chat.completion JSON, and the upstream's own SSE stream (the
direct baseline): chat.z.ai's 2025 or 2026 framing, or Z.ai's API, OpenAI-shaped like ZtoApi's
own. Each check returns (error kind or None, chunks).
"""
import orjson

from bench import reply


def sse_events(data):
    """The `data:` payloads of the complete SSE events in `data`, and the unparsed rest."""
    blocks = data.split(b"\n\n")
    rest = blocks.pop()
    payloads = []
    for block in blocks:
        for line in block.split(b"\n"):
            if line.startswith(b"data:"):
                payloads.append(line[5:].strip())
    return payloads, rest


class FirstContent:
    """A `watch` for the client: True at the first event carrying answer text."""

    def __init__(self, has_content):
        self.has_content = has_content
        self.pending = b""

    def __call__(self, payload):
        payloads, self.pending = sse_events(self.pending + payload)
        for data in payloads:
            try:
                if self.has_content(orjson.loads(data)):
                    return True
            except (orjson.JSONDecodeError, TypeError):
                continue
        return False


def openai_has_content(event):
    choices = event.get("choices") if isinstance(event, dict) else None
    return bool(choices) and bool((choices[0].get("delta") or {}).get("content"))


def upstream_has_content(event):
    data = event.get("data") if isinstance(event, dict) else None
    return isinstance(data, dict) and data.get("phase") == "answer" and bool(
        data.get("delta_content") or data.get("edit_content"))


def check_openai_stream(body, thinking):
    """ZtoApi's stream: every chunk parses, content (and reasoning) joined are the expected text,
    one finish_reason "stop", no error event, `[DONE]` last."""
    payloads, rest = sse_events(body)
    if rest.strip() or not payloads or payloads[-1] != b"[DONE]":
        return "no_done", len(payloads)
    content, reasoning, finishes = [], [], []
    for data in payloads[:-1]:
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            return "bad_json", len(payloads)
        if "error" in event:
            return "error_event", len(payloads)
        for choice in event.get("choices") or ():
            delta = choice.get("delta") or {}
            content.append(delta.get("content") or "")
            reasoning.append(delta.get("reasoning_content") or "")
            if choice.get("finish_reason"):
                finishes.append(choice["finish_reason"])
    chunks = len(payloads) - 1
    if "".join(content) != reply.ANSWER:
        return "wrong_text", chunks
    if thinking and "".join(reasoning).strip() != reply.REASONING:
        return "wrong_reasoning", chunks
    if finishes != ["stop"]:
        return "bad_finish", chunks
    return None, chunks


def check_completion(body, thinking):
    """ZtoApi's JSON: choices[0].message.content is the expected text."""
    try:
        message = orjson.loads(body)["choices"][0]["message"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return "bad_json", 1
    if message.get("content") != reply.ANSWER:
        return "wrong_text", 1
    if thinking and (message.get("reasoning_content") or "").strip() != reply.REASONING:
        return "wrong_reasoning", 1
    return None, 1


def check_upstream_stream(body, thinking):
    """The fake's own stream: the document built from appends and edits ends with the expected
    answer after the reasoning block, and the last event says done."""
    payloads, rest = sse_events(body)
    document, done = "", False
    for data in payloads:
        try:
            event = orjson.loads(data)["data"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return "bad_json", len(payloads)
        if isinstance(event.get("edit_index"), int) and isinstance(event.get("edit_content"), str):
            document = document[:event["edit_index"]] + event["edit_content"]
        elif event.get("delta_content"):
            document += event["delta_content"]
        done = bool(event.get("done"))
    if rest.strip() or not done:
        return "no_done", len(payloads)
    head, closed, answer = document.rpartition("</details>\n")
    if thinking != bool(closed) or answer != reply.ANSWER:
        return "wrong_text", len(payloads)
    return None, len(payloads)


def check_upstream_2026(body, thinking):
    """The fake's 2026 stream: the answer deltas joined are the expected text, the thinking deltas
    the expected reasoning (none with thinking off), no error, and the last event is `done`."""
    payloads, rest = sse_events(body)
    parts, done = {"answer": [], "thinking": []}, False
    for data in payloads:
        try:
            event = orjson.loads(data)["data"]
            phase = event.get("phase")
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            return "bad_json", len(payloads)
        if event.get("error"):
            return "error_event", len(payloads)
        if phase in parts:
            parts[phase].append(event.get("delta_content") or "")
        done = phase == "done"
    if rest.strip() or not done:
        return "no_done", len(payloads)
    if "".join(parts["answer"]) != reply.ANSWER:
        return "wrong_text", len(payloads)
    if "".join(parts["thinking"]) != (reply.REASONING if thinking else ""):
        return "wrong_reasoning", len(payloads)
    return None, len(payloads)
