"""Token estimates for what chat.z.ai does not count (count_tokens, a reply without usage).

About 4 characters a token for ASCII text and 1.5 for other scripts (CJK takes far more tokens
per character), 4 tokens of framing per message and a flat 1,000 per image."""
import math

from ztoapi.fairness import breathe

ASCII_CHARS_PER_TOKEN = 4
OTHER_CHARS_PER_TOKEN = 1.5
MESSAGE_TOKENS = 4
IMAGE_TOKENS = 1000


def text_tokens(text):
    ascii_chars = len(text.encode("ascii", "ignore"))
    return math.ceil(ascii_chars / ASCII_CHARS_PER_TOKEN
                     + (len(text) - ascii_chars) / OTHER_CHARS_PER_TOKEN)


def prompt_tokens(messages):
    """The estimate for upstream messages (string content, or text and image parts)."""
    total = 0
    for message in messages:
        total += MESSAGE_TOKENS
        breathe()
        content = message["content"]
        if isinstance(content, str):
            total += text_tokens(content)
            continue
        for part in content:
            total += text_tokens(part["text"]) if part.get("type") == "text" else IMAGE_TOKENS
    return total
