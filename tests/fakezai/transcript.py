"""Folded transcripts: a whole conversation sent as one user message, one `<|role|>` marker line per turn."""

MARKERS = {"<|system|>": "system", "<|user|>": "user", "<|assistant|>": "assistant"}


def sections(text: str) -> list[tuple[str, str]]:
    """Split text into (role, section text) pairs at marker lines; [] if it has no marker line."""
    found: list[tuple[str, list[str]]] = []
    for line in text.split("\n"):
        if line in MARKERS:
            found.append((MARKERS[line], []))
        elif found:
            found[-1][1].append(line)
    return [(role, "\n".join(lines).strip("\n")) for role, lines in found]


def last_user_turn(text: str) -> str:
    """The text the fake answers: the last `<|user|>` section of a transcript, else the whole text."""
    users = [body for role, body in sections(text) if role == "user"]
    return users[-1] if users else text
