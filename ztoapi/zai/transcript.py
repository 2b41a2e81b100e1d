"""A whole conversation as the one user message chat.z.ai's 2026 dialect accepts.

Since 2026 chat.z.ai takes a single user message per completion (system, assistant or tool roles
get INTERNAL_ERROR). A request that is just one user message is sent as it is. Anything more is
folded into a transcript in GLM's own chat-template markup, each turn a role line and its text:

    <|system|>
    You are terse.
    <|user|>
    What is 2+2?
    <|assistant|>
    4
    <|user|>
    And 3+3?

System and developer messages keep their place in the conversation; tool calls and tool results
arrive already written as text by the tool-calling emulation (ztoapi.pipeline.tools). Images of the
last user message travel as image parts next to the text; images of earlier turns become "[image]".

The role lines are GLM's chat-template markers written as plain text. Whether chat.z.ai turns them
into GLM's special tokens inside a user message is not known; if it does, a turn's content that
holds such a line (a web page returned by a tool, say) could pose as another turn. The content is
passed as it is, like everything a client sends.
"""
from ztoapi.fairness import breathe

SYSTEM = "<|system|>"
USER = "<|user|>"
ASSISTANT = "<|assistant|>"
MARKERS = {"system": SYSTEM, "developer": SYSTEM, "user": USER, "assistant": ASSISTANT}
IMAGE_PLACEHOLDER = "[image]"


def fold(messages):
    """(text, index of the message whose images are sent along, or None)."""
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
    if len(messages) == 1 and last_user == 0:
        return turn_text(messages[0].get("content"), keep_images=True), 0
    turns = []
    for index, message in enumerate(messages):
        text = turn_text(message.get("content"), keep_images=index == last_user)
        turns.append(f"{MARKERS.get(message['role'], USER)}\n{text}")
        breathe()
    return "\n".join(turns), last_user


def turn_text(content, keep_images=False):
    """Text parts joined by newlines; an image part is "[image]" unless it is sent along."""
    if isinstance(content, str):
        return content
    if not content:
        return ""
    texts = []
    for part in content:
        if part.get("type") == "text":
            texts.append(part["text"])
        elif part.get("type") == "image_url" and not keep_images:
            texts.append(IMAGE_PLACEHOLDER)
    return "\n".join(texts)
