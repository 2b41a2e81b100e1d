import json
import random
from pathlib import Path

import pytest

from ztoapi.pipeline.thinking import Shaper
from ztoapi.zai.document import Document

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "zai-glm46-thinking.sse"
ANSWER = ("Hey there! I'm doing great, thanks for asking. As an AI, I'm always ready and eager to "
          "help.\n\nWhat can I do for you today?")


def fixture_events():
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    return [json.loads(line[6:])["data"] for line in lines if line.startswith("data: ")]


def replay(events, keep_markup=False):
    document = Document(keep_markup)
    out = {}
    for data in events:
        if data.get("edit_index") is not None:
            pieces = document.edit(data["edit_index"], data["edit_content"], data.get("phase"))
        elif data.get("delta_content"):
            pieces = document.append(data["delta_content"], data.get("phase"))
        else:
            pieces = []
        for kind, text in pieces + (document.finish() if data.get("phase") == "done" else []):
            out[kind] = out.get(kind, "") + text
    return document, out


def test_capture_replays_to_the_documented_length_and_answer():
    document, out = replay(fixture_events())
    assert document.length == 6308
    assert out["answer"] == ANSWER


def test_capture_reasoning_is_unquoted_with_spacing_intact():
    _, out = replay(fixture_events())
    reasoning = out["reasoning"]
    assert reasoning.startswith("1.  **Analyze the User's Input:**\n    *   \"Hi hello,\"")
    assert "\n> " not in reasoning
    assert "<details" not in reasoning and "</details>" not in reasoning
    assert "<summary>" not in reasoning
    assert reasoning.endswith("It hits all the right notes.")
    assert "Redundant, but common in casual conversation." in reasoning


def test_capture_final_event_edit_index_matches_document():
    events = fixture_events()
    document, _ = replay(events[:-1])
    assert events[-1]["edit_index"] == document.length


def resplit(events, rng):
    """The same document, appended in different random pieces (edits stay whole)."""
    text, out, phase = "", [], None
    for data in events:
        if data.get("delta_content"):
            text += data["delta_content"]
            phase = data.get("phase")
            continue
        while text:
            size = rng.randint(1, 9)
            out.append({"delta_content": text[:size], "phase": phase})
            text = text[size:]
        out.append(data)
    return out


@pytest.mark.parametrize("seed", range(20))
def test_random_chunk_splits_give_identical_output(seed):
    events = fixture_events()
    _, expected = replay(events)
    _, actual = replay(resplit(events, random.Random(seed)))
    assert actual == expected


@pytest.mark.parametrize("seed", range(10))
def test_multibyte_and_quote_markers_survive_any_split(seed):
    header = '<details type="reasoning" done="false" view="" last_tool_call_name="">\n<summary>Thinking…</summary>\n'
    body = "> 世界 🌍 first line\n> \n>     indented </b> line\n> last"
    events = [{"delta_content": header + body},
              {"edit_index": len(header) + len(body), "edit_content": "\n</details>\n答案 🌍 ok"},
              {"phase": "done"}]
    _, out = replay(resplit(events, random.Random(seed)))
    assert out["reasoning"] == "世界 🌍 first line\n\n    indented </b> line\nlast"
    assert out["answer"] == "答案 🌍 ok"


def test_no_thinking_block_is_all_answer():
    _, out = replay([{"delta_content": "<"}, {"delta_content": "b>bold</b> text"}, {"phase": "done"}])
    assert out == {"answer": "<b>bold</b> text"}


def test_short_answer_held_as_possible_details_is_flushed_at_the_end():
    _, out = replay([{"delta_content": "<de"}, {"phase": "done"}])
    assert out == {"answer": "<de"}


def test_raw_mode_keeps_markup_once():
    _, out = replay(fixture_events(), keep_markup=True)
    assert out["open_markup"].startswith('<details type="reasoning" done="false"')
    assert out["reasoning"].startswith("> 1.  **Analyze")
    assert out["close_markup"] == "\n</details>\n"
    assert out["answer"] == ANSWER


def shaped(mode, keep_markup=False):
    document = Document(keep_markup)
    shaper = Shaper(mode)
    pairs = []
    for data in fixture_events():
        if data.get("edit_index") is not None:
            pairs += shaper.shape(document.edit(data["edit_index"], data["edit_content"]))
        elif data.get("delta_content"):
            pairs += shaper.shape(document.append(data["delta_content"]))
    pairs += shaper.shape(document.finish()) + shaper.finish()
    fields = {}
    for field, text in pairs:
        fields[field] = fields.get(field, "") + text
    return fields


def test_reasoning_mode_separates_fields():
    fields = shaped("reasoning")
    assert fields["content"] == ANSWER
    assert fields["reasoning_content"].startswith("1.  **Analyze")


def test_think_mode_wraps_reasoning_in_content():
    content = shaped("think")["content"]
    assert content.startswith("<think>\n1.  **Analyze")
    assert content.endswith("\n</think>\n\n" + ANSWER)


def test_strip_mode_drops_reasoning():
    assert shaped("strip") == {"content": ANSWER}


def test_raw_mode_passes_markup_in_content():
    content = shaped("raw", keep_markup=True)["content"]
    assert content.startswith('<details type="reasoning"')
    assert "\n> " in content
    assert content.endswith("\n</details>\n" + ANSWER)


def test_closing_tag_inside_reasoning_text_does_not_end_the_block():
    header = '<details type="reasoning" done="false" view="" last_tool_call_name="">\n<summary>Thinking…</summary>\n'
    events = [{"delta_content": header + "> Use <details> then </details> to close.\n> Second line.", "phase": "thinking"},
              {"delta_content": "\n</details>\nFinal.", "phase": "answer"}, {"phase": "done"}]
    _, out = replay(events)
    assert out == {"reasoning": "Use <details> then </details> to close.\nSecond line.", "answer": "Final."}


def test_answer_that_starts_with_details_is_an_answer_when_not_thinking():
    answer = "<details><summary>More</summary>\nHidden text\n</details>\nAfter"
    _, out = replay([{"delta_content": answer[:5], "phase": "answer"},
                     {"delta_content": answer[5:], "phase": "answer"}, {"phase": "done"}])
    assert out == {"answer": answer}


def test_empty_reasoning_block():
    header = '<details type="reasoning" done="true" view="">\n<summary>Thought for 0 seconds</summary>\n'
    _, out = replay([{"delta_content": header + "</details>\nHi", "phase": "thinking"}, {"phase": "done"}])
    assert out == {"answer": "Hi"}
