"""Z.ai's official OpenAI-compatible API (ZAI_API_KEY, ZAI_API_BASE, ZAI_API_MODELS) as an upstream:
native tool calls, reasoning_content, usage; see ztoapi.upstream for the interface."""
