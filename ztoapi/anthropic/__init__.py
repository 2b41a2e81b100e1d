"""The Anthropic Messages API on top of the chat pipeline: request translation, content blocks, events."""
