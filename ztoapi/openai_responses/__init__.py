"""OpenAI Responses (POST /v1/responses, GET /v1/responses/{id}): input items translated into the
pipeline's terms, the response encoder and its events, and stored responses for chains."""
