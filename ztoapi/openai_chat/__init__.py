"""OpenAI Chat Completions (POST /v1/chat/completions): the request schema, the view, and the
encoder that writes chat.completion bodies and chat.completion.chunk events."""
