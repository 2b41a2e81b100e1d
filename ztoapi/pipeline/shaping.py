"""The reply as the client's fields: reasoning apart from the answer (THINK_TAGS_MODE), tool calls
parsed from the answer text, search sources closing the answer."""
from ztoapi.pipeline.reading import batches
from ztoapi.pipeline.thinking import CONTENT
from ztoapi.pipeline.thinking import Shaper
from ztoapi.pipeline.tools import ToolCallParser
from ztoapi.upstream.reply import QUIET


def shaped(chat, reply, waits, keepalives=False):
    """The reply as lists of (field, value) pairs, one list per upstream block, QUIET when a
    keep-alive is due: ("reasoning_content" | "content", text) and ("tool_call", ToolCall).
    Tool calls are parsed from the answer text unless the upstream made them natively."""
    shaper = Shaper(chat.think_mode)
    parser = ToolCallParser(chat.tools, chat.parallel_tool_calls) \
        if chat.tools and not reply.native_tools else None
    for batch in batches(reply, waits, keepalives):
        if batch is QUIET:
            yield QUIET
            continue
        pairs = shaper.shape(batch)
        if parser:
            pairs = parse_calls(parser, pairs)
        if pairs:
            yield pairs
    closing = shaper.finish()
    if parser:
        closing = parse_calls(parser, closing) + parser.finish()
    closing.append((CONTENT, citations(reply.sources)))
    closing = [pair for pair in closing if pair[1]]
    if closing:
        yield closing


def parse_calls(parser, pairs):
    out = []
    for field, text in pairs:
        out += parser.feed(text) if field == CONTENT else [(field, text)]
    return out


def citations(sources):
    """Search sources as a readable Markdown list to close the answer with."""
    if not sources:
        return ""
    lines = "\n".join(f"{n}. [{source['title']}]({source['url']})" for n, source in enumerate(sources, 1))
    return f"\n\nSources:\n{lines}"
