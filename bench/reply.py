"""The benchmark's fixed reply: 60 words in exactly 50 answer events, and an optional reasoning phase."""

ANSWER = (
    "Benchmarks measure what a gateway adds to every token: latency before the first word, "
    "processor time per relayed event, memory held by each open stream, and whether thousands "
    "of slow streams survive together. This reply has sixty words in fifty events, so every "
    "piece is counted and checked; a few characters, café and 世界, keep the encoders quite honest today."
)
REASONING = (
    "The user asked for the fixed benchmark text.\n"
    "I will think for a short while, in a few quoted lines,\n"
    "then answer with exactly sixty words so that the load generator can check them."
)
ANSWER_EVENTS = 50
REASONING_EVENTS = 25
PROMPT = "Reply with the ZtoApi benchmark text."


def split_even(text, parts):
    """Cut text into `parts` pieces of nearly equal length (pieces may split words, as tokens do)."""
    size, extra = divmod(len(text), parts)
    pieces, at = [], 0
    for i in range(parts):
        end = at + size + (1 if i < extra else 0)
        pieces.append(text[at:end])
        at = end
    return pieces


def answer_pieces():
    return split_even(ANSWER, ANSWER_EVENTS)


def reasoning_pieces():
    return split_even(REASONING, REASONING_EVENTS)


assert len(ANSWER.split()) == 60, "the benchmark answer must have 60 words"
