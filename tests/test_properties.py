"""Property tests: the upstream reply reader, the thinking shaper and the tool-call parser give the
same result however their input is split, and survive any input.

`FUZZ_EXAMPLES=10000` (`make fuzz`) runs each property with a tenth of that, on fresh random inputs.
"""
import contextlib
import json
import os
import sys

import pytest
from hypothesis import HealthCheck
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.fakezai import stream
from ztoapi.errors import ApiError
from ztoapi.pipeline.thinking import Shaper
from ztoapi.pipeline.tools import ToolCallParser
from ztoapi.zai.document import ANSWER
from ztoapi.zai.document import Document
from ztoapi.zai.document import REASONING
from ztoapi.zai.reply import ZaiStream as Reply

LONG = int(os.environ.get("FUZZ_EXAMPLES", "0"))
PROPERTY = settings(max_examples=LONG // 10 or 400, deadline=None, database=None, derandomize=not LONG,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
USAGE = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8,
         "prompt_tokens_details": {"cached_tokens": 0}, "words": 12}
THINK_HEAD = stream.THINK_HEAD
SERVER_RECURSION_LIMIT = sys.getrecursionlimit()    # Hypothesis raises it while a test runs
MARKUP = ("<details", THINK_HEAD, "<summary>", "</summary>", "\n</details>\n", "\n> ", "> ", "\n",
          "<glm_block", '<glm_block view="">', "</glm_block>", "<", ">", '{"url": "https://a.example"}')
# The upstream's own tool blocks are taken out of the answer, so an answer never holds one.
ANSWERS = st.text(max_size=200).filter(lambda text: "<glm_block" not in text)
TOOL_NAMES = st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


class BlockResponse:
    """A stand-in for a streamed requests.Response that yields the given byte blocks."""

    def __init__(self, blocks):
        self.blocks = blocks

    def iter_content(self, chunk_size=None):
        return iter(self.blocks)

    def close(self):
        pass


def cut(data, offsets):
    """`data` cut at the given offsets (any order, repeats and out-of-range ones allowed)."""
    points = sorted({0, len(data), *(o % (len(data) + 1) for o in offsets)})
    return [data[a:b] for a, b in zip(points, points[1:])]


def read(blocks, keep_markup=False):
    """Everything a Reply makes of the blocks: text by kind, usage, done, sources."""
    reply = Reply(BlockResponse(blocks), keep_markup, dialect="2025")
    out = {}
    for batch in reply.batches():
        for kind, text in batch:
            out[kind] = out.get(kind, "") + text
    return out, reply.usage, reply.done, reply.sources


@st.composite
def upstream_replies(draw):
    """(stream.Reply, its SSE bytes as the fake sends them: thinking, edit, answer, search, tail)."""
    search = draw(st.none() | st.text(min_size=1, max_size=30))
    results = draw(st.none() | st.lists(st.fixed_dictionaries({
        "title": st.text(min_size=1, max_size=20),
        "url": st.builds("https://example.com/{}".format, st.integers(0, 5))}), max_size=3))
    reply = stream.Reply(answer=draw(ANSWERS), reasoning=draw(st.none() | st.text(max_size=200)),
                         model="GLM-4-6-API-V1", usage=USAGE, chunk=draw(st.none() | st.integers(1, 30)),
                         seed=draw(st.integers(0, 2**16)), search_query=search, search_results=results)
    body = "".join(stream.chat_event(data) for _, data in stream.events(reply))
    return reply, body.encode()


def expected_sources(reply):
    if reply.search_query is None:
        return []
    results = stream.default_results(reply.search_query) if reply.search_results is None else reply.search_results
    sources = []
    for result in results:
        if all(result["url"] != known["url"] for known in sources):
            sources.append({"title": result["title"], "url": result["url"]})
    return sources


# ---------------------------------------------------------------- the upstream reply reader


@PROPERTY
@given(upstream_replies(), st.lists(st.integers(min_value=0), max_size=40))
def test_reply_split_anywhere_reads_the_same_as_whole(generated, offsets):
    """Any byte split of a reply gives the unsplit result, which is the fake's text."""
    reply, body = generated
    whole = read([body])
    assert read(cut(body, offsets)) == whole
    out, usage, done, sources = whole
    assert out.get(ANSWER, "") == reply.answer
    assert out.get(REASONING, "") == (reply.reasoning or "")
    assert set(out) <= {ANSWER, REASONING}
    assert usage == USAGE
    assert done is True
    assert sources == expected_sources(reply)


@PROPERTY
@given(upstream_replies(), st.lists(st.integers(min_value=0), max_size=40))
def test_reply_with_markup_split_anywhere_reads_the_same_as_whole(generated, offsets):
    """Raw mode (markup kept): any byte split gives the unsplit result."""
    reply, body = generated
    whole = read([body], keep_markup=True)
    assert read(cut(body, offsets), keep_markup=True) == whole
    out = whole[0]
    assert out.get(ANSWER, "") == reply.answer
    if reply.reasoning is not None:
        assert out["open_markup"] == THINK_HEAD
        assert out.get(REASONING, "") == "> " + reply.reasoning.replace("\n", "\n> ")
        assert out["close_markup"] == "\n</details>\n"


def sse_events():
    """Upstream-looking events with any values where the reader looks."""
    fields = st.fixed_dictionaries({}, optional={
        "phase": st.sampled_from(["thinking", "answer", "tool_call", "other", "done"]) | JSON_VALUES,
        "delta_content": st.sampled_from(MARKUP) | st.text(max_size=30) | JSON_VALUES,
        "edit_index": st.integers(-40, 400) | JSON_VALUES,
        "edit_content": st.sampled_from(MARKUP) | st.text(max_size=30) | JSON_VALUES,
        "usage": JSON_VALUES, "done": JSON_VALUES, "error": JSON_VALUES, "data": JSON_VALUES})
    event = fields | st.fixed_dictionaries({"type": st.just("chat:completion") | JSON_VALUES, "data": fields})
    line = st.builds(lambda e: f"data: {json.dumps(e, ensure_ascii=False)}\n\n".encode(), event | JSON_VALUES)
    return st.lists(line | st.binary(max_size=40) | st.sampled_from([b"data: ", b"\n", b"\r\n", b": ping\n"]),
                    max_size=25).map(b"".join)


@PROPERTY
@given(sse_events(), st.lists(st.integers(min_value=0), max_size=20), st.booleans())
def test_garbage_raises_nothing_but_api_error(body, offsets, keep_markup):
    """Arbitrary bytes and events, split anywhere: only ApiError (cut short, error event) escapes."""
    try:
        read(cut(body, offsets), keep_markup)
    except ApiError:
        pass


@contextlib.contextmanager
def server_recursion_limit():
    """Python's recursion limit as the server has it, not as Hypothesis raises it."""
    raised = sys.getrecursionlimit()
    sys.setrecursionlimit(SERVER_RECURSION_LIMIT)
    try:
        yield
    finally:
        sys.setrecursionlimit(raised)


def answer_event(text):
    return stream.chat_event({"delta_content": text, "phase": "answer"}).encode()


@PROPERTY
@example(depth=1000)
@given(st.integers(1, 1024))
def test_a_tool_block_of_any_depth_raises_nothing(depth):
    """A search block's JSON nested as deep as the JSON parser takes: skipped, the answer intact."""
    block = '<glm_block view="">' + "[" * depth + "]" * depth + "</glm_block>"
    body = answer_event("a ") + answer_event(block) + answer_event(" b") + stream.chat_event(
        {"done": True, "phase": "done"}).encode()
    with server_recursion_limit():
        out = read([body])[0]
    assert out == {ANSWER: "a  b"}


# ---------------------------------------------------------------- the thinking shaper


def shaped(mode, pieces_of_document):
    """The (field → text) a Document and a Shaper make of the document text appended in pieces."""
    document = Document(keep_markup=mode == "raw")
    shaper = Shaper(mode)
    pairs = []
    for piece in pieces_of_document:
        pairs += shaper.shape(document.append(piece))
    pairs += shaper.shape(document.finish()) + shaper.finish()
    fields = {}
    for field, text in pairs:
        fields[field] = fields.get(field, "") + text
    return fields


MODES = st.sampled_from(["reasoning", "think", "strip", "raw"])


@PROPERTY
@given(MODES, st.text(min_size=1, max_size=200), ANSWERS, st.lists(st.integers(min_value=0), max_size=30))
def test_shaper_output_is_the_same_for_any_split(mode, reasoning, answer, offsets):
    """A thinking block and an answer, appended in any pieces: each mode's fields, as expected."""
    quoted = "> " + reasoning.replace("\n", "\n> ")
    document = THINK_HEAD + quoted + "\n</details>\n" + answer
    fields = shaped(mode, cut(document, offsets))
    assert fields == shaped(mode, [document])
    expected = {
        "reasoning": {"reasoning_content": reasoning, "content": answer},
        "think": {"content": "<think>\n" + reasoning + "\n</think>\n\n" + answer},
        "strip": {"content": answer},
        "raw": {"content": document},
    }[mode]
    assert fields == {field: text for field, text in expected.items() if text}


@PROPERTY
@given(MODES, st.lists(st.sampled_from(MARKUP) | st.text(max_size=20), max_size=20).map("".join),
       st.lists(st.integers(min_value=0), max_size=30))
def test_shaper_takes_any_text_the_same_for_any_split(mode, document, offsets):
    """Any text, markup fragments included, appended in any pieces: no crash, same fields."""
    assert shaped(mode, cut(document, offsets)) == shaped(mode, [document])


@PROPERTY
@given(MODES, st.lists(st.tuples(st.sampled_from([REASONING, ANSWER, "open_markup", "close_markup"]),
                                 st.text(min_size=1, max_size=20)), max_size=12),
       st.lists(st.integers(min_value=0), max_size=10))
def test_shaper_joins_pieces_the_same_however_they_come(mode, pieces, offsets):
    """Pieces cut into smaller ones of the same kind, fed in any batches: the same joined fields."""
    def run(batches):
        shaper = Shaper(mode)
        pairs = [pair for batch in batches for pair in shaper.shape(batch)] + shaper.finish()
        return "".join(f"{field}\0{text}\0" for field, text in merge(pairs))
    smaller = [(kind, part) for kind, text in pieces for part in cut(text, offsets)]
    assert run([smaller]) == run([[piece] for piece in smaller]) == run([pieces])


def merge(pairs):
    """Adjacent pairs of the same field joined."""
    out = []
    for field, text in pairs:
        if out and out[-1][0] == field:
            out[-1] = (field, out[-1][1] + text)
        else:
            out.append((field, text))
    return out


# ---------------------------------------------------------------- the tool-call parser


def canonical(value):
    """JSON text that tells true from 1 and 1 from 1.0, with sorted keys."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def parse(names, pieces):
    """(content, [(name, arguments as canonical JSON)]) from feeding the pieces, then finish()."""
    parser = ToolCallParser(names)
    events = [event for piece in pieces for event in parser.feed(piece)] + parser.finish()
    content = "".join(value for kind, value in events if kind == "content")
    calls = [(value.name, canonical(json.loads(value.arguments))) for kind, value in events if kind == "tool_call"]
    assert all(kind in ("content", "tool_call") for kind, _ in events)
    return content, calls


CALL_TEXT = st.lists(st.sampled_from(['{"tool_calls": [', '{"name": "get_weather", "arguments": ',
                                      '{"city": "Paris"}', "}]}", "```json\n", "```", "{", "}", "[", "]",
                                      '"', "'", ",", ":", "tool_calls", "\n"])
                     | st.text(max_size=15), max_size=25).map("".join)


@PROPERTY
@given(CALL_TEXT, st.lists(st.integers(min_value=0), max_size=30))
def test_tool_parser_split_anywhere_gives_the_unsplit_result(text, offsets):
    """Any text, split anywhere: the same content and calls as fed whole, and no crash."""
    names = ["get_weather", "search"]
    assert parse(names, cut(text, offsets)) == parse(names, [text])


@PROPERTY
@given(st.text(max_size=300), st.lists(st.integers(min_value=0), max_size=30))
def test_tool_parser_arbitrary_text_split_anywhere_gives_the_unsplit_result(text, offsets):
    """Arbitrary unicode, split anywhere: the same as fed whole, and no crash."""
    assert parse(["get_weather"], cut(text, offsets)) == parse(["get_weather"], [text])


@PROPERTY
@given(st.text(max_size=300).filter(lambda text: "{" not in text),
       st.lists(st.integers(min_value=0), max_size=30))
def test_text_without_a_brace_comes_back_unchanged(text, offsets):
    """No "{", no call: the content is the text itself, however it is split."""
    assert parse(["get_weather"], cut(text, offsets)) == (text, [])


@PROPERTY
@example(depth=1000, opener="[")
@given(st.integers(1, 3000), st.sampled_from(["[", '{"a": ']))
def test_tool_parser_takes_nesting_of_any_depth_as_text(depth, opener):
    """A tool_calls object nested to any depth is no call: it comes back as content."""
    inner = "[" * depth + "]" * depth if opener == "[" else opener * depth + "1" + "}" * depth
    text = '{"tool_calls": ' + inner + "}"
    with server_recursion_limit():
        result = parse(["get_weather"], [text])
    assert result == (text, [])


# Without brackets too: a call right after an unclosed "[" is read as nested in other JSON.
PROSE = st.text(max_size=80).filter(lambda text: not set(text) & set("{}[]"))
ARGUMENTS = st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=4)


@PROPERTY
@given(PROSE, TOOL_NAMES, ARGUMENTS, PROSE, st.lists(st.integers(min_value=0), max_size=30))
def test_a_call_among_prose_is_found(before, name, arguments, after, offsets):
    """An offered tool's call between prose without braces: found, the prose kept, for any split."""
    call = json.dumps({"tool_calls": [{"name": name, "arguments": arguments}]}, ensure_ascii=False)
    text = before + call + after
    content, calls = parse([name, "other"], cut(text, offsets))
    assert calls == [(name, canonical(arguments))]
    assert content == before + after
