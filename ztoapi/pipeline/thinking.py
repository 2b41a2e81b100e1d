"""THINK_TAGS_MODE: where GLM's reasoning goes in the OpenAI output."""
from ztoapi.upstream import ANSWER
from ztoapi.upstream import CLOSE_MARKUP
from ztoapi.upstream import OPEN_MARKUP
from ztoapi.upstream import REASONING
from ztoapi.upstream import TOOL_CALL

MARKUP = (OPEN_MARKUP, CLOSE_MARKUP)

CONTENT = "content"
REASONING_CONTENT = "reasoning_content"


class Shaper:
    """Maps reply pieces to (field, text) pairs for one response, in one mode.

    reasoning: reasoning in `reasoning_content`; think: `<think>…</think>` before the answer in
    `content`; strip: reasoning dropped; raw: the upstream markup kept in `content`. A native tool
    call passes through; the upstream's own tool activity is not the client's business.
    """

    def __init__(self, mode):
        self.mode = mode
        self.thinking = False

    def shape(self, pieces):
        out = []
        for kind, text in pieces:
            if kind == ANSWER:
                if self.thinking:
                    self.thinking = False
                    out.append((CONTENT, "\n</think>\n\n"))
                out.append((CONTENT, text))
            elif kind == TOOL_CALL:
                out.append((TOOL_CALL, text))
            elif kind != REASONING:
                if self.mode == "raw" and kind in MARKUP:
                    out.append((CONTENT, text))
            elif self.mode == "reasoning":
                out.append((REASONING_CONTENT, text))
            elif self.mode == "think":
                if not self.thinking:
                    self.thinking = True
                    out.append((CONTENT, "<think>\n"))
                out.append((CONTENT, text))
            elif self.mode == "raw":
                out.append((CONTENT, text))
        return out

    def finish(self):
        if self.thinking:
            self.thinking = False
            return [(CONTENT, "\n</think>\n\n")]
        return []
