"""The upstream message document, split into reasoning and answer as it grows.

chat.z.ai streams one Markdown document per reply: `delta_content` appends to it and
`edit_index`/`edit_content` replace it from a code-point offset. While GLM thinks, the document is
a `<details type="reasoning" …>` block with a `<summary>` line and every reasoning line quoted with
`> `; the answer follows `</details>\\n`. The think→answer edit rewrites the header and carries the
first answer words, so edits must be applied, not skipped.

Appends, the hot path, are parsed incrementally; an edit that rewrites text already read (once per
reply) re-reads the whole document and emits only what is new.
"""
import orjson

from ztoapi.upstream import ANSWER
from ztoapi.upstream import CLOSE_MARKUP
from ztoapi.upstream import OPEN_MARKUP
from ztoapi.upstream import REASONING

_START, _HEADER, _THINKING, _ANSWERING = range(4)
_DETAILS = "<details"
_CLOSE = "</details>"
_HOLD = ("\n" + _CLOSE, "\n> ")
_SUMMARY = ("\n<summary>", "<summary>")
_BLOCK = "<glm_block"
_BLOCK_END = "</glm_block>"


class Splitter:
    """Turns document text, fed in order, into (kind, text) pieces.

    `thinking` says whether the document opens with a reasoning block: True, False, or None to
    decide from the first event's phase (and, without one, from the text)."""

    def __init__(self, keep_markup=False, thinking=None):
        self.keep_markup = keep_markup
        self.thinking = thinking
        self.state = _START
        self.pending = ""
        self.line_start = False
        self.skip_newline = False
        self.sources = []

    def feed(self, text, phase=None):
        pieces = []
        text = self.pending + text
        self.pending = ""
        if self.state == _START:
            if self.thinking is None and phase:
                self.thinking = phase == "thinking"
            if self.thinking is not False and text.startswith(_DETAILS):
                self.state = _HEADER
                self.thinking = True
            elif self.thinking is not False and _DETAILS.startswith(text):
                self.pending = text
                return pieces
            else:
                self.state = _ANSWERING
                self.thinking = False
        if self.state == _HEADER:
            text = self._read_header(text, pieces)
        if self.state == _THINKING:
            text = self._read_reasoning(text, pieces)
        if self.state == _ANSWERING and text:
            if self.skip_newline:
                self.skip_newline = False
                text = text[1:] if text[0] == "\n" else text
            self._read_answer(text, pieces)
        return pieces

    def finish(self):
        """Pieces still held back when the document is complete."""
        text, self.pending = self.pending, ""
        if not text or self.state == _HEADER:
            return []
        if self.state == _THINKING:
            return [(REASONING, text if self.keep_markup else text.replace("\n> ", "\n"))]
        if text.startswith(_BLOCK):
            return []   # a tool block the upstream never closed: markup, not answer
        return [(ANSWER, text)]

    def _read_answer(self, text, pieces):
        """Answer text, without the upstream's <glm_block> tool/search blocks (their sources are kept)."""
        while text:
            start = text.find(_BLOCK)
            if start == -1:
                bracket = text.rfind("<")
                cut = bracket if bracket != -1 and _BLOCK.startswith(text[bracket:]) else len(text)
                text, self.pending = text[:cut], text[cut:]
                if text:
                    pieces.append((ANSWER, text))
                return
            if start:
                pieces.append((ANSWER, text[:start]))
            end = text.find(_BLOCK_END, start)
            if end == -1:
                self.pending = text[start:]
                return
            self._note_sources(text[start:end])
            text = text[end + len(_BLOCK_END):]

    def _note_sources(self, block):
        body = block[block.find(">") + 1:]
        try:
            found = list(links(orjson.loads(body)))
        except (ValueError, RecursionError):   # sources nested past any sense are dropped
            return
        for link in found:
            if all(link["url"] != known["url"] for known in self.sources):
                self.sources.append(link)

    def _read_header(self, text, pieces):
        tag_end = text.find(">")
        after = text[tag_end + 1:]
        if tag_end == -1 or any(s.startswith(after) for s in _SUMMARY):
            self.pending = text
            return ""
        end = tag_end + 1
        if after.startswith(_SUMMARY):
            end = text.find("</summary>", tag_end)
            if end == -1:
                self.pending = text
                return ""
            end += len("</summary>")
        if end == len(text):
            self.pending = text   # a newline may still follow the header
            return ""
        if text[end] == "\n":
            end += 1
        if self.keep_markup:
            pieces.append((OPEN_MARKUP, text[:end]))
        self.state = _THINKING
        self.line_start = True
        return text[end:]

    def _read_reasoning(self, text, pieces):
        if self.line_start:
            if len(text) < len(_CLOSE) and any(m.startswith(text) for m in (_CLOSE, "> ")):
                self.pending = text
                return ""
            self.line_start = False
            if text.startswith(_CLOSE):
                text = "\n" + text   # an empty reasoning block
            elif text.startswith("> ") and not self.keep_markup:
                text = text[2:]
        close = text.find("\n" + _CLOSE)
        if close != -1:
            body, rest = text[:close], text[close + 1 + len(_CLOSE):]
            self._add_reasoning(body, pieces)
            if self.keep_markup:
                pieces.append((CLOSE_MARKUP, "\n" + _CLOSE + "\n"))
            self.state = _ANSWERING
            self.skip_newline = True
            return rest
        cut = _held_tail(text)
        self.pending = text[cut:]
        self._add_reasoning(text[:cut], pieces)
        return ""

    def _add_reasoning(self, body, pieces):
        if not self.keep_markup:
            body = body.replace("\n> ", "\n")
        if body:
            pieces.append((REASONING, body))


def links(value):
    """Every {title, url} found in a tool block's data, including JSON held in strings."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            value = orjson.loads(value)
        except ValueError:
            return
    if isinstance(value, dict):
        url = value.get("url") or value.get("link")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            yield {"title": str(value.get("title") or value.get("name") or url), "url": url}
        for item in value.values():
            yield from links(item)
    elif isinstance(value, list):
        for item in value:
            yield from links(item)


def _held_tail(text):
    """Where the text stops being safe to emit: a last line that may begin `> ` or `</details>`."""
    newline = text.rfind("\n")
    if newline != -1 and any(marker.startswith(text[newline:]) for marker in _HOLD):
        return newline
    return len(text)


class Document:
    """Applies appends and edits, and reports the new reasoning and answer text of each."""

    def __init__(self, keep_markup=False):
        self.keep_markup = keep_markup
        self.parts = []
        self.length = 0
        self.splitter = Splitter(keep_markup)
        self.sent = {REASONING: 0, ANSWER: 0, OPEN_MARKUP: 0, CLOSE_MARKUP: 0}

    def append(self, text, phase=None):
        self.parts.append(text)
        self.length += len(text)
        return self._count(self.splitter.feed(text, phase))

    def edit(self, index, text, phase=None):
        if index >= self.length:
            return self.append(text, phase)
        document = "".join(self.parts)[:index] + text
        self.parts = [document]
        self.length = len(document)
        self.splitter = Splitter(self.keep_markup, self.splitter.thinking)
        whole = {}
        for kind, piece in self.splitter.feed(document):
            whole[kind] = whole.get(kind, "") + piece
        pieces = []
        for kind, piece in whole.items():
            if kind in (OPEN_MARKUP, CLOSE_MARKUP):
                new = "" if self.sent[kind] else piece
            else:
                new = piece[self.sent[kind]:]
            self.sent[kind] = max(self.sent[kind], len(piece))
            if new:
                pieces.append((kind, new))
        return pieces

    def finish(self):
        return self._count(self.splitter.finish())

    @property
    def sources(self):
        """Search results the upstream's tool blocks named, in order: [{title, url}]."""
        return self.splitter.sources

    def _count(self, pieces):
        for kind, piece in pieces:
            self.sent[kind] += len(piece)
        return pieces
