"""The one pipeline every client protocol shares: a validated request becomes a ChatRequest
(model, thinking, images, tool instructions), the upstream opens a Reply, and the reply is shaped
(reasoning apart, tool calls parsed) and relayed through the protocol's encoder, streamed or whole."""
