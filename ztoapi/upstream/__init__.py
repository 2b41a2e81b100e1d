"""The one interface between the chat pipeline and whatever answers it.

An upstream (chat.z.ai's web chat in either dialect; Z.ai's official API) offers:

    name                 "web" or "api": what the logs, metrics and x-ztoapi-upstream say
    open(chat) -> Reply  the reply to a prepared ChatRequest, its first batch already read;
                         raises ApiError for every failure before that (after its own retries)
    models()             the catalogue entries it serves (ztoapi.catalog.Model)
    status()             {"ready": bool, "reason": str, ...}: what /readyz and the dashboard show

A Reply (ztoapi.upstream.reply) is read with `next(wait)`: lists of pieces, each a (kind, value)
pair of one of the kinds below, QUIET while the upstream is silent, None at the end. The pipeline
never looks inside an upstream: it reads pieces, `usage`, `sources` and the counters.
"""

REASONING = "reasoning"         # text: what the model thought
ANSWER = "answer"               # text: what it answered
OPEN_MARKUP = "open_markup"     # text: chat.z.ai's reasoning header, kept only in THINK_TAGS_MODE=raw
CLOSE_MARKUP = "close_markup"   # text: its closing "</details>", likewise
TOOL_CALL = "tool_call"         # ToolCall: a call the upstream made natively (no emulation needed)
ACTIVITY = "activity"           # dict: the upstream's own tool use (its web search); never a client call
