"""The fake upstream's reply as chat.z.ai frames it (protocol notes §5), built once as bytes.

Same event shapes as tests/fakezai/stream.py: `data: <Python-style JSON>` and a blank line per
event, the thinking phase as a quoted `<details>` block closed by the think→answer edit (which
carries the first answer piece), then answer deltas, usage, the OpenAI-shaped chunk, `done`, and
the final `other` event. No `[DONE]`.
"""
import json
import uuid

from bench import reply

THINK_HEAD = '<details type="reasoning" done="false" view="" last_tool_call_name="">\n<summary>Thinking…</summary>\n'
EDIT_INDEX = len('<details type="reasoning" done="')   # 32
CREATED = 1760000000


def sse(data):
    """One upstream event: the chat:completion envelope, Python-style JSON, raw UTF-8."""
    return ("data: " + json.dumps({"type": "chat:completion", "data": data}, ensure_ascii=False)
            + "\n\n").encode()


def quoted_reasoning():
    return "> " + reply.REASONING.replace("\n", "\n> ")


def event_datas(model, thinking):
    """The `data` objects of one reply, in order."""
    answers = reply.answer_pieces()
    datas, document = [], ""
    if thinking:
        quoted = quoted_reasoning()
        parts = reply.split_even(quoted[2:], reply.REASONING_EVENTS)
        parts[0] = THINK_HEAD + "> " + parts[0]
        for part in parts:
            document += part
            datas.append({"delta_content": part, "phase": "thinking"})
        edit = ('true" duration="1" view="" last_tool_call_name="">\n<summary>Thought for 1 seconds</summary>\n'
                f"{quoted}\n</details>\n{answers[0]}")
        document = document[:EDIT_INDEX] + edit
        datas.append({"edit_index": EDIT_INDEX, "edit_content": edit, "phase": "answer"})
        answers = answers[1:]
    for part in answers:
        document += part
        datas.append({"delta_content": part, "phase": "answer"})
    completion = len(reply.ANSWER.split()) + (len(reply.REASONING.split()) if thinking else 0)
    usage = {"prompt_tokens": len(reply.PROMPT.split()), "completion_tokens": completion,
             "total_tokens": len(reply.PROMPT.split()) + completion,
             "prompt_tokens_details": {"cached_tokens": 0}, "words": len(document)}
    datas.append({"usage": usage, "phase": "other"})
    datas.append({"id": "chatcmpl-bench00000", "object": "chat.completion.chunk", "created": CREATED,
                  "model": model, "choices": [{"index": 0, "delta": {"role": "assistant"},
                                               "finish_reason": "stop"}],
                  "usage": usage, "phase": "answer"})
    datas.append({"done": True, "delta_content": "", "phase": "done"})
    datas.append({"role": "assistant", "usage": usage, "message_id": str(uuid.uuid4()), "done": True,
                  "edit_index": len(document), "edit_content": "", "phase": "other"})
    return datas


def chunked(payload):
    """One HTTP/1.1 chunk."""
    return b"%X\r\n%s\r\n" % (len(payload), payload)


def frames(model, thinking, chunked_framing=True):
    """The reply as a list of byte strings, one write per event (each its own HTTP chunk when
    chunked, as chat.z.ai flushes each event)."""
    events = [sse(data) for data in event_datas(model, thinking)]
    return [chunked(event) for event in events] if chunked_framing else events
