"""Reading the events of one chat.z.ai reply into pieces, whichever dialect wrote them.

The 2025 dialect edits one Markdown document (`<details>` reasoning block, `edit_index` edits,
`<glm_block>` tool blocks): ztoapi.zai.document reads it. The 2026 dialect tags plain deltas with
phases: `thinking` and `answer` text, `tool_call` (chat.z.ai's own tool, its arguments in
fragments), `tool_response` (the tool's result text, search results as `[ref_id=…†title†url]`
lines), `other` (one usage frame per model hop, possibly before the last answer delta) and
`done`. A 2025 reply is always read as the document. A 2026 reply is read by phases unless its
first content event is an edit or opens a `<details` or `<glm_block` block (the 2025 markup, which
2026 replies may still use): then it is the document too.

Answers cite search results as 【turn0search0】; they become [1], [2]… numbered in the order of
first citation, and `sources` lists what they point to (every result when none is cited).
"""
import logging
import re

from ztoapi.upstream import ACTIVITY
from ztoapi.upstream import ANSWER
from ztoapi.upstream import REASONING
from ztoapi.zai.document import Document
from ztoapi.zai.document import Splitter

log = logging.getLogger("ztoapi.upstream")
REFERENCE = re.compile(r"\[ref_id=([^†\]\s]+)†([^†\]]*)†(https?://[^\]\s]+)\]")
CITATION = re.compile(r"【([^】†]+)(?:†[^】]*)?】")
LONGEST_CITATION = 64   # an opening 【 held back longer than this is just text


class Citations:
    """Search results by reference id, and the answer text with its citations numbered."""

    def __init__(self):
        self.results = {}     # ref id → {"title", "url"}, in the order they arrived
        self.cited = []       # ref ids in the order the answer first cites them
        self.held = ""

    def note(self, text):
        for ref, title, url in REFERENCE.findall(text):
            if ref not in self.results:
                self.results[ref] = {"title": title.strip() or url, "url": url}

    def feed(self, text):
        """Answer text with complete citations numbered; a citation still open is held back."""
        text = self.held + text
        self.held = ""
        opening = text.rfind("【")
        if opening != -1 and "】" not in text[opening:] and len(text) - opening <= LONGEST_CITATION:
            text, self.held = text[:opening], text[opening:]
        return CITATION.sub(self._number, text) if "【" in text else text

    def flush(self):
        held, self.held = self.held, ""
        return held

    @property
    def sources(self):
        refs = self.cited or list(self.results)
        return [self.results[ref] for ref in refs]

    def _number(self, match):
        ref = match.group(1)
        if ref not in self.results:
            return match.group(0)
        if ref not in self.cited:
            self.cited.append(ref)
        return f"[{self.cited.index(ref) + 1}]"


class UpstreamTool:
    """One of chat.z.ai's own tool calls, as its fragments arrive, and its result's text."""

    def __init__(self, name, call_id):
        self.name = name
        self.id = call_id
        self.arguments = ""
        self.response = ""   # a result header may be split across frames: read whole
        self.reported = False

    def activity(self, status):
        self.reported = True
        return (ACTIVITY, {"type": "upstream_tool", "id": self.id, "name": self.name,
                           "arguments": self.arguments, "status": status})


class Reading:
    """Pieces, usage and sources of one reply. `read(data)` takes each chat:completion event's
    data; `done` turns true at the terminal event."""

    def __init__(self, keep_markup=False, dialect="2026"):
        self.keep_markup = keep_markup
        self.document = Document(keep_markup) if dialect == "2025" else None   # the 2025 reading
        self.phased = False    # the 2026 reading
        self.citations = Citations()
        self.answers = Splitter(keep_markup, thinking=False)   # drops <glm_block>s answers may hold
        self.tool = None
        self.usage = None
        self.hops = None       # the summed usage of the `other` frames, one per model hop
        self.done = False

    @property
    def sources(self):
        if self.document is not None:
            return self.document.sources
        return self.answers.sources + self.citations.sources

    def read(self, data):
        phase = data.get("phase")
        usage = data.get("usage")
        if isinstance(usage, dict):
            self._note_usage(usage, phase, data.get("done"))
        if data.get("done") or phase == "done":
            self.done = True
            return self.finish()
        edit_index, edit_content = data.get("edit_index"), data.get("edit_content")
        delta = data.get("delta_content")
        is_edit = type(edit_index) is int and isinstance(edit_content, str)
        if self.document is None and not self.phased:
            if is_edit or (isinstance(delta, str) and opens_markup(delta)):
                self.document = Document(self.keep_markup)
            elif (delta and isinstance(delta, str)) or phase in ("tool_call", "tool_response"):
                self.phased = True
        if self.document is not None:
            if is_edit:
                return self.document.edit(edit_index, edit_content, phase)
            if delta and isinstance(delta, str):
                return self.document.append(delta, phase)
            return []
        if not self.phased:
            return []
        if is_edit:
            log.debug("skipped an edit in a reply without markup (phase %s)", phase)
        return self._read_phase(phase, data, delta if isinstance(delta, str) else "")

    def finish(self):
        """Pieces held back until the reply is complete."""
        if self.document is not None:
            return self.document.finish()
        pieces = self._end_tool() + self._cited(self.answers.finish())
        held = self.citations.flush()
        return pieces + ([(ANSWER, held)] if held else [])

    def _read_phase(self, phase, data, delta):
        if phase == "thinking":
            return [(REASONING, delta)] if delta else []
        if phase == "answer":
            return self._end_tool() + self._cited(self.answers.feed(delta)) if delta else self._end_tool()
        if phase == "tool_call":
            return self._read_tool_call(data)
        if phase == "tool_response":
            if self.tool is None:
                self.citations.note(delta)
                return []
            self.tool.response += delta
            self.citations.note(self.tool.response)
            if not self.tool.reported:
                return [self.tool.activity(data.get("status") or "completed")]
        return []

    def _cited(self, pieces):
        cited = [(kind, self.citations.feed(text)) for kind, text in pieces]
        return [(kind, text) for kind, text in cited if text]

    def _read_tool_call(self, data):
        pieces = []
        name = data.get("delta_name")
        if isinstance(name, str) and name:
            pieces = self._end_tool()
            metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
            self.tool = UpstreamTool(name, metadata.get("tool_call_id"))
        arguments = data.get("delta_arguments")
        if self.tool is not None and isinstance(arguments, str):
            self.tool.arguments += arguments
        return pieces

    def _end_tool(self):
        tool, self.tool = self.tool, None
        if tool is None or tool.reported:
            return []
        return [tool.activity("called")]

    def _note_usage(self, usage, phase, done):
        """The 2026 dialect counts each model hop in its own `other` frame: they add up. The 2025
        tail repeats one count in several events (an `other` frame, a chunk, the final event)."""
        if phase == "other" and not done:
            self.hops = usage if self.hops is None else add_usage(self.hops, usage)
            self.usage = self.hops
        elif self.hops is None:
            self.usage = usage


MARKUP = ("<details", "<glm_block")


def opens_markup(text):
    """True when text opens a 2025 block (or is the start of one, cut short)."""
    return text.startswith(MARKUP) or any(tag.startswith(text) for tag in MARKUP)


def add_usage(total, more):
    """Two usage objects added field by field (numbers only; nested details too)."""
    added = dict(total)
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(total.get(key), dict):
            added[key] = add_usage(total[key], value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            previous = total.get(key)
            added[key] = value + (previous if isinstance(previous, (int, float))
                                  and not isinstance(previous, bool) else 0)
        elif key not in added:
            added[key] = value
    return added
