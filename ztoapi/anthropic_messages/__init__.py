"""Anthropic Messages (POST /v1/messages): request translation into the pipeline's terms, content
blocks, the message encoder and Anthropic's error wording."""
