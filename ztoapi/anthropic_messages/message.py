"""One Anthropic message: its id, opening event, usage, stop reason and whole body."""
import secrets
import string

from ztoapi.anthropic_messages import tokens
from ztoapi.anthropic_messages.blocks import ContentBlocks
from ztoapi.anthropic_messages.blocks import apply

ID_ALPHABET = string.ascii_letters + string.digits


def new_message_id():
    return "msg_" + "".join(secrets.choice(ID_ALPHABET) for _ in range(24))


class Message:
    """The message being answered for `chat`; its content arrives through `blocks`."""

    def __init__(self, chat, stop_sequences=(), max_tokens=None):
        self.id = new_message_id()
        self.model = chat.requested_model
        self.blocks = ContentBlocks(stop_sequences)
        self.max_tokens = max_tokens
        self.input_estimate = tokens.prompt_tokens(chat.messages)

    def start(self):
        """message_start: no content yet; input tokens estimated, as chat.z.ai counts them last."""
        return {"type": "message_start", "message": {
            "id": self.id, "type": "message", "role": "assistant", "model": self.model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": self.input_estimate, "output_tokens": 0}}}

    def delta(self, upstream_usage):
        """message_delta: the stop reason and the final usage."""
        usage = self.usage(upstream_usage)
        return {"type": "message_delta", "delta": self._stop(usage), "usage": usage}

    def body(self, events, upstream_usage):
        """The whole message, from all of its content-block events."""
        content = []
        for event in events:
            apply(content, event)
        usage = self.usage(upstream_usage)
        return {"id": self.id, "type": "message", "role": "assistant", "model": self.model,
                "content": content, **self._stop(usage), "usage": usage}

    def usage(self, upstream_usage):
        """chat.z.ai's counts; estimates for those it did not send (or a reply cut short)."""
        upstream_usage = upstream_usage or {}
        return {"input_tokens": counted(upstream_usage.get("prompt_tokens")) or self.input_estimate,
                "output_tokens": counted(upstream_usage.get("completion_tokens"))
                or tokens.text_tokens("".join(self.blocks.output))}

    def _stop(self, usage):
        if self.blocks.stop_sequence is not None:
            reason = "stop_sequence"
        elif self.blocks.tool_uses:
            reason = "tool_use"
        elif self.max_tokens is not None and usage["output_tokens"] >= self.max_tokens:
            reason = "max_tokens"
        else:
            reason = "end_turn"
        return {"stop_reason": reason, "stop_sequence": self.blocks.stop_sequence}


def counted(value):
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else 0
