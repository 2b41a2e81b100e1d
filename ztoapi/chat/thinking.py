"""THINK_TAGS_MODE: where GLM's reasoning goes in the OpenAI output."""
from ztoapi.zai.document import ANSWER
from ztoapi.zai.document import REASONING

CONTENT = "content"
REASONING_CONTENT = "reasoning_content"


class Shaper:
    """Maps reply pieces to (field, text) pairs for one response, in one mode.

    reasoning: reasoning in `reasoning_content`; think: `<think>…</think>` before the answer in
    `content`; strip: reasoning dropped; raw: the upstream markup kept in `content`.
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
            elif kind != REASONING:
                if self.mode == "raw":
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
