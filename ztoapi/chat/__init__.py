"""Translation between the OpenAI chat API and chat.z.ai replies."""
