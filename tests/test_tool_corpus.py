"""The measured corpus for the tool-call parser (issue 5, item 3).

`tests/tool_corpus.json` is a list of model outputs, each with what the parser must make of it:

    {"id": "...", "category": "plain|fenced|prose|several|malformed_recoverable|narration|decoy|
                               unknown_tool|unparseable|mixed",
     "tools": ["get_weather", ...],          # names of the request's tools
     "output": "<what the model said>",
     "expect": {"content": "<expected content>",
                "calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}, ...]}}

Each case is run three ways: the whole output in one `feed`, the output split into two pieces at
every boundary (`feed(out[:i]); feed(out[i:])` for i in 1..len-1), and one character per `feed`;
every run ends with `finish()`. Every run must give:

- calls: the expected names in the expected order; each `arguments` is a JSON string whose
  `json.loads` is a dict equal to the expected one (strictly: `true` is not `1`, `1` is not `1.0`);
  each id starts with `call_`, and ids are unique within the run;
- content: the concatenation of all "content" events equals `expect.content`, compared after
  `.strip()` of both sides. Where a recognised call was removed between two pieces of text, the
  expected content holds the marker ⟨call⟩ (SEAM below): the whitespace around a removed call block
  may be kept or trimmed, so at a seam any run of whitespace (even none) is accepted, and the text
  on each side must match exactly. Anything that is not a recognised call (narration, decoys,
  unknown tools, unparseable attempts) must come out unchanged: for a case without calls,
  `expect.content` is the output itself.

`test_corpus_score` prints "corpus: N/M cases pass under every split".
"""
import functools
import json
import re
from collections import Counter
from pathlib import Path

import pytest

CORPUS_PATH = Path(__file__).resolve().parent / "tool_corpus.json"
CASES = json.loads(CORPUS_PATH.read_text(encoding="utf-8"))
BY_ID = {case["id"]: case for case in CASES}
SEAM = "\u27e8call\u27e9"
CATEGORIES = ("plain", "fenced", "prose", "several", "malformed_recoverable", "narration", "decoy",
              "unknown_tool", "unparseable", "mixed")
WITH_CALLS = {"plain", "fenced", "prose", "several", "malformed_recoverable"}
WITHOUT_CALLS = {"narration", "decoy", "unknown_tool", "unparseable"}
MAX_OUTPUT = 2000          # splitting at every boundary is O(n²) feeds: keep the outputs short


def parser_class():
    from ztoapi.pipeline.tools import ToolCallParser
    return ToolCallParser


# ---------------------------------------------------------------- comparing


def same_value(a, b):
    """Deep equality that also compares types (json true is not 1, 1 is not 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return a == b


def content_matches(actual, expected):
    parts = [re.escape(part.strip()) for part in expected.split(SEAM)]
    return re.fullmatch(r"\s*" + r"\s*".join(parts) + r"\s*", actual) is not None


def short(text, limit=300):
    text = repr(text)
    return text if len(text) <= limit else text[:limit - 20] + " ... " + text[-15:]


def run(case, pieces):
    """Feed the pieces to a fresh parser; return (content, calls) or raise."""
    parser = parser_class()(list(case["tools"]))
    events = []
    for piece in pieces:
        events += parser.feed(piece)
    events += parser.finish()
    content, calls = [], []
    for event in events:
        kind, value = event
        if kind == "content":
            assert isinstance(value, str), f"content event carries {type(value).__name__}"
            content.append(value)
        elif kind == "tool_call":
            calls.append(value)
        else:
            raise AssertionError(f"unknown event kind {kind!r}")
    return "".join(content), calls


def problems(case, content, calls):
    """What is wrong with one run's result (empty list: nothing)."""
    found = []
    expected = case["expect"]["calls"]
    got = []
    for call in calls:
        try:
            arguments = json.loads(call.arguments)
        except (TypeError, ValueError) as exc:
            found.append(f"call {call.name!r}: arguments {short(call.arguments)} is not JSON ({exc})")
            arguments = None
        else:
            if not isinstance(arguments, dict):
                found.append(f"call {call.name!r}: arguments {short(call.arguments)} is not an object")
        got.append({"name": call.name, "arguments": arguments})
    if not same_value(got, expected):
        found.append(f"calls {short(json.dumps(got, ensure_ascii=False), 400)} "
                     f"!= expected {short(json.dumps(expected, ensure_ascii=False), 400)}")
    ids = [call.id for call in calls]
    bad = [i for i in ids if not (isinstance(i, str) and i.startswith("call_"))]
    if bad:
        found.append(f"ids not starting with 'call_': {bad}")
    if len(set(ids)) != len(ids):
        found.append(f"ids not unique: {ids}")
    if not content_matches(content, case["expect"]["content"]):
        found.append(f"content {short(content)} != expected {short(case['expect']['content'])}")
    return found


def runs(output):
    yield "whole", [output]
    for i in range(1, len(output)):
        yield f"split@{i}", [output[:i], output[i:]]
    yield "char-by-char", list(output)


@functools.lru_cache(maxsize=None)
def evaluate(case_id):
    """Failure descriptions for one case over all its runs (empty list: it passes everywhere)."""
    parser_class()                      # an ImportError here fails the test as it is
    case = BY_ID[case_id]
    output = case["output"]
    failures = []                       # (run name, [problems])
    for name, pieces in runs(output):
        try:
            content, calls = run(case, pieces)
            found = problems(case, content, calls)
        except Exception as exc:        # a crash is a failure of that run, not of the whole suite
            found = [f"raised {type(exc).__name__}: {exc}"]
        if found:
            failures.append((name, found))
    report = []
    splits = [(name, found) for name, found in failures if name.startswith("split@")]
    for name, found in failures:
        if not name.startswith("split@"):
            report.append(f"[{name}] " + "; ".join(found))
    if splits:
        report.append(f"[split] {len(splits)} of {len(output) - 1} two-piece splits fail; first ones:")
        for name, found in splits[:3]:
            i = int(name.split("@")[1])
            report.append(f"  {name} ({short(output[max(0, i - 12):i], 40)} | {short(output[i:i + 12], 40)}): "
                          + "; ".join(found))
    return report


# ---------------------------------------------------------------- the corpus itself


def test_corpus_is_well_formed():
    assert len(CASES) >= 70
    assert len(BY_ID) == len(CASES), "case ids must be unique"
    counts = Counter(case["category"] for case in CASES)
    assert set(counts) == set(CATEGORIES), counts
    assert min(counts.values()) >= 5, counts
    for case in CASES:
        cid = case["id"]
        assert set(case) == {"id", "category", "tools", "output", "expect"}, cid
        assert set(case["expect"]) == {"content", "calls"}, cid
        assert all(isinstance(name, str) for name in case["tools"]), cid
        assert isinstance(case["output"], str) and 0 < len(case["output"]) < MAX_OUTPUT, cid
        calls = case["expect"]["calls"]
        for call in calls:
            assert set(call) == {"name", "arguments"} and isinstance(call["arguments"], dict), cid
            assert call["name"] in case["tools"], cid
        if case["category"] in WITH_CALLS:
            assert calls, f"{cid}: a {case['category']} case expects a call"
        if case["category"] in WITHOUT_CALLS:
            assert not calls, f"{cid}: a {case['category']} case expects no call"
        if not calls:
            assert case["expect"]["content"] == case["output"], f"{cid}: no call, so the output is unchanged"
        else:
            # the expected content is the output with call blocks taken out: its pieces occur in order
            position = 0
            for part in case["expect"]["content"].split(SEAM):
                part = part.strip()
                at = case["output"].find(part, position)
                assert at >= 0, f"{cid}: expected content {part[:40]!r} is not in the output"
                position = at + len(part)


def test_content_comparison_rules():
    assert content_matches("  Let me check.\n", "Let me check.")
    assert content_matches("A\n\n\n\nB", "A\n\n" + SEAM + "\n\nB")
    assert content_matches("AB", "A" + SEAM + "B")
    assert not content_matches("A\nB", "A\n\nB")              # no seam: inner whitespace is exact
    assert not content_matches("A B C", "A" + SEAM + "C")
    assert not same_value({"x": 1}, {"x": True})
    assert not same_value({"x": 1}, {"x": 1.0})


# ---------------------------------------------------------------- the parser against the corpus


@pytest.mark.parametrize("case_id", list(BY_ID))
def test_case(case_id):
    report = evaluate(case_id)
    if report:
        case = BY_ID[case_id]
        pytest.fail(f"{case_id} ({case['category']}), output {short(case['output'], 200)}\n"
                    + "\n".join(report), pytrace=False)


def test_corpus_score(capsys):
    """Prints the score by kind, and holds it: every case passes under every split."""
    passed = Counter()
    total = Counter(case["category"] for case in CASES)
    for case in CASES:
        if not evaluate(case["id"]):
            passed[case["category"]] += 1
    detail = ", ".join(f"{cat} {passed[cat]}/{total[cat]}" for cat in CATEGORIES)
    with capsys.disabled():
        print(f"\ncorpus: {sum(passed.values())}/{len(CASES)} cases pass under every split ({detail})")
    assert passed == total
